"""The key-value store: a small ``KVStore`` protocol and ``SqliteKV`` on sqlitedict.

Values are JSON, never pickle: sqlitedict's default decoder would unpickle whatever a tampered
file holds, so a value that is not JSON text is refused with ``CorruptRecordError``. One file holds
several tables (job records, caches); all of them go through one sqlitedict connection thread,
and every write commits before it returns.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from sqlitedict import SqliteDict

from engagement.errors import CorruptRecordError, StoreOpenError

log = logging.getLogger(__name__)

JOBS_TABLE = "jobs"
_TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")  # table names go into SQL text: identifiers only
CACHE_TABLE = "cache"


class KVStore(Protocol):
    """What the job service and the caches need from a store (one table of it)."""

    def get(self, key: str) -> Any | None: ...
    def set(self, key: str, value: Any) -> None: ...
    def set_many(self, items: Mapping[str, Any], delete: Iterable[str] = ()) -> None: ...
    def delete(self, key: str) -> bool: ...
    def delete_many(self, keys: Iterable[str]) -> int: ...
    def items(
        self,
        prefix: str = "",
        *,
        stop: str | None = None,
        where: Mapping[str, Any] | None = None,
        reverse: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[tuple[str, Any]]: ...
    def keys(self, prefix: str = "", *, stop: str | None = None) -> list[str]: ...
    def count(self, prefix: str = "", *, where: Mapping[str, Any] | None = None) -> int: ...
    def count_by(self, field: str, prefix: str = "") -> dict[Any, int]: ...


def _encode(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _decode(raw: Any, key: str = "?") -> Any:
    if not isinstance(raw, str):
        raise CorruptRecordError(f"The stored value of {key!r} is not JSON text; it was refused.")
    try:
        return json.loads(raw)
    except ValueError:
        raise CorruptRecordError(f"The stored value of {key!r} is not valid JSON; it was refused.") from None


def _check_field(field: str) -> None:
    if not _TABLE_NAME.fullmatch(field):
        raise ValueError(f"field names are lower-case identifiers, not {field!r}")


def _prefix_end(prefix: str) -> str:
    """The smallest string greater than every string that starts with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


SQLITE_HEADER = b"SQLite format 3\x00"


def _check_file(path: str) -> None:
    """Refuse a file that is not SQLite before sqlitedict's thread trips over it."""
    file = Path(path)
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        if file.is_dir():
            raise StoreOpenError(f"The job database {path} is a folder; set ENGAGEMENT_DB to a file path.")
        if file.exists() and file.stat().st_size > 0:
            with file.open("rb") as fh:
                header = fh.read(len(SQLITE_HEADER))
            if header != SQLITE_HEADER:
                raise StoreOpenError(
                    f"The job database {path} is not a SQLite file. Move it aside (or set "
                    "ENGAGEMENT_DB to another file) and start again."
                )
    except OSError as exc:
        raise StoreOpenError(f"The job database {path} cannot be opened: {exc.strerror}.") from None


class _Connection:
    """One sqlitedict connection thread for a file, shared by the tables that live in it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.RLock()  # makes each multi-statement write one transaction
        if path != ":memory:":
            _check_file(path)
        try:
            self.dict = SqliteDict(
                path,
                tablename=JOBS_TABLE,
                journal_mode="WAL",
                encode=_encode,
                decode=_decode,
                autocommit=False,
                outer_stack=False,
            )
            self.conn = self.dict.conn
            self.conn.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across a crash of the app
            self.conn.execute("PRAGMA busy_timeout=10000")  # other processes (the CLI) may write too
            list(self.conn.select("PRAGMA quick_check(1)"))
        except (sqlite3.Error, RuntimeError) as exc:
            raise StoreOpenError(
                f"The job database {path} cannot be opened ({exc}). If it is damaged, move it "
                "aside (or set ENGAGEMENT_DB to another file) and start again."
            ) from None
        self.tables: set[str] = set()

    def ensure_table(self, table: str) -> None:
        if table not in self.tables:
            with self.lock:
                self.conn.execute(f'CREATE TABLE IF NOT EXISTS "{table}" (key TEXT PRIMARY KEY, value BLOB)')
                self.conn.commit()
                self.tables.add(table)

    def close(self) -> None:
        self.dict.close()


class SqliteKV:
    """One table of a sqlitedict file, as a ``KVStore``. Cheap to open in a ``tmp_path``.

    ``SqliteKV(path)`` is the job table; ``.table("cache")`` is another table of the same file on
    the same connection. Safe to share between threads.
    """

    def __init__(
        self, path: str | os.PathLike[str], table: str = JOBS_TABLE, *, _conn: _Connection | None = None
    ) -> None:
        if not _TABLE_NAME.fullmatch(table):
            raise ValueError(f"table names are lower-case identifiers, not {table!r}")
        self.path = str(path)
        self.name = table
        self._c = _conn or _Connection(self.path)
        self._c.ensure_table(table)
        self._t = f'"{table}"'

    def table(self, name: str) -> SqliteKV:
        """Another table of the same file, sharing this connection."""
        return SqliteKV(self.path, name, _conn=self._c)

    # -- reads
    def get(self, key: str) -> Any | None:
        row = self._c.conn.select_one(f"SELECT value FROM {self._t} WHERE key = ?", (key,))
        return None if row is None else _decode(row[0], key)

    def items(
        self,
        prefix: str = "",
        *,
        stop: str | None = None,
        where: Mapping[str, Any] | None = None,
        reverse: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[tuple[str, Any]]:
        """Items whose key starts with ``prefix`` (and is below ``stop``), in key order.

        A range scan on the primary key; ``where`` keeps values whose top-level fields equal the
        given ones (filtered inside SQLite). A value that is not JSON is skipped with a warning, so
        one bad record cannot hide the rest.
        """
        clause, args = self._range(prefix, stop, where)
        order = "DESC" if reverse else "ASC"
        sql = f"SELECT key, value FROM {self._t}{clause} ORDER BY key {order} LIMIT ? OFFSET ?"
        out = []
        for key, raw in self._c.conn.select(sql, (*args, -1 if limit is None else limit, offset)):
            try:
                out.append((key, _decode(raw, key)))
            except CorruptRecordError as exc:
                log.warning("%s", exc)
        return out

    def keys(self, prefix: str = "", *, stop: str | None = None) -> list[str]:
        where, args = self._range(prefix, stop)
        return [row[0] for row in self._c.conn.select(f"SELECT key FROM {self._t}{where} ORDER BY key", args)]

    def count(self, prefix: str = "", *, where: Mapping[str, Any] | None = None) -> int:
        sql, args = self._range(prefix, None, where)
        row = self._c.conn.select_one(f"SELECT COUNT(*) FROM {self._t}{sql}", args)
        return int(row[0]) if row else 0

    def count_by(self, field: str, prefix: str = "") -> dict[Any, int]:
        """How many values under ``prefix`` have each value of a top-level field (in SQLite)."""
        _check_field(field)
        sql, args = self._range(prefix)
        rows = self._c.conn.select(
            f"SELECT json_extract(value, '$.{field}'), COUNT(*) FROM {self._t}{sql} GROUP BY 1", args
        )
        return {value: int(n) for value, n in rows}

    @staticmethod
    def _range(
        prefix: str, stop: str | None = None, where: Mapping[str, Any] | None = None
    ) -> tuple[str, tuple[Any, ...]]:
        clauses: list[str] = []
        args: list[Any] = []
        if prefix:
            clauses += ["key >= ?", "key < ?"]
            args += [prefix, _prefix_end(prefix)]
        if stop is not None:
            clauses.append("key < ?")
            args.append(stop)
        for field, value in (where or {}).items():
            _check_field(field)
            clauses.append(f"json_extract(value, '$.{field}') = ?")
            args.append(value)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(args)

    # -- writes (each commits before it returns)
    def set(self, key: str, value: Any) -> None:
        self.set_many({key: value})

    def set_many(self, items: Mapping[str, Any], delete: Iterable[str] = ()) -> None:
        """Write several keys (and delete others) in one transaction."""
        rows = [(key, _encode(value)) for key, value in items.items()]
        gone = [(key,) for key in delete]
        with self._c.lock:
            if rows:
                self._c.conn.executemany(f"REPLACE INTO {self._t} (key, value) VALUES (?, ?)", rows)
            if gone:
                self._c.conn.executemany(f"DELETE FROM {self._t} WHERE key = ?", gone)
            self._c.conn.commit()

    def delete(self, key: str) -> bool:
        return self.delete_many([key]) == 1

    def delete_many(self, keys: Iterable[str]) -> int:
        """Delete keys in one transaction; returns how many existed."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return 0
        with self._c.lock:
            existing = 0
            for start in range(0, len(keys), 5000):
                chunk = keys[start : start + 5000]
                marks = ",".join("?" * len(chunk))
                self._c.conn.execute(f"DELETE FROM {self._t} WHERE key IN ({marks})", chunk)
                row = self._c.conn.select_one("SELECT changes()")  # same connection, right after the DELETE
                existing += int(row[0]) if row else 0
            self._c.conn.commit()
        return existing

    def integrity_check(self) -> str:
        """SQLite's own verdict on the file (``"ok"`` when healthy)."""
        row = self._c.conn.select_one("PRAGMA integrity_check")
        return str(row[0]) if row else "no answer"

    def close(self) -> None:
        self._c.close()
        _OPEN.pop(self.path, None)


_OPEN: dict[str, SqliteKV] = {}
_OPEN_LOCK = threading.Lock()


def open_store(path: str | os.PathLike[str]) -> SqliteKV:
    """The process's one ``SqliteKV`` for a file (the job table); opened on first use."""
    key = str(Path(path).resolve()) if str(path) != ":memory:" else ":memory:"
    with _OPEN_LOCK:
        store = _OPEN.get(key)
        if store is None:
            store = _OPEN[key] = SqliteKV(key)
        return store
