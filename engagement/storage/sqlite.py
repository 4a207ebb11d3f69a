"""The key-value store: the ``KVStore`` protocol and ``SqliteKV``, its implementation on sqlitedict.

Values are JSON, never pickle: sqlitedict's default decoder would unpickle whatever a tampered
file holds, so a value that is not JSON text is refused with ``CorruptRecordError``. One file holds
several tables (job records, caches); all of them go through one sqlitedict connection thread.

sqlitedict's thread has failure modes the app must never reach (sqlitedict issue #108): an error in
its ``commit`` kills the thread and every later call waits forever; an error of a queued statement
is raised in whichever thread calls next; a failed statement does not stop the ones queued after
it. So ``SqliteKV`` never uses sqlitedict's commit request: it serialises every call (reads with
writes) on one lock, sends ``BEGIN IMMEDIATE`` / ``COMMIT`` / ``ROLLBACK`` as statements, ends each
call with a round trip that surfaces any error to its own caller, waits for every answer with a
bound, and replaces a connection thread that died or stopped answering. Every failure becomes a
``StoreError`` whose message says what to do.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from queue import Empty, Queue
from typing import Any, Protocol

from sqlitedict import SqliteMultithread

from engagement.errors import CorruptRecordError, StoreError, StoreOpenError
from engagement.registry import REGISTRY

log = logging.getLogger(__name__)
# Every error of sqlitedict's thread reaches its caller here as a StoreError that names the cause; sqlitedict's
# own log of it (a traceback of the step that failed first, "view the logging namespace") would only mislead.
logging.getLogger("sqlitedict").setLevel(logging.CRITICAL)

JOBS_TABLE = "jobs"
CACHE_TABLE = "cache"
_TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")  # table names go into SQL text: identifiers only
_NO_MORE = "--no more--"  # sqlitedict's end-of-answer marker (rows are tuples, never this string)
BUSY_TIMEOUT_S = 10.0  # how long a write waits for another process's write lock
ANSWER_MARGIN_S = 20.0  # beyond the busy timeout, how long any call waits for the connection thread


class KVStore(Protocol):
    """What the job repository and the caches need from a store (one table of it).

    The contract, which every implementation keeps (``tests/test_store.py`` runs it per backend):

    - Values are JSON-able; what is read back equals what was written.
    - ``set_many`` is all or nothing: every key is written and every ``delete`` key removed, or — when
      it raises — none of it. With ``require``, it writes only if each required key exists and its
      value's top-level fields equal the given ones — or, where the requirement is ``None``, the key
      is absent — (checked in the same transaction) and returns whether it wrote.
    - ``items``/``keys``/``count``/``count_by`` see keys in key order; ``prefix`` and ``stop`` bound
      the key range, ``where`` keeps values whose top-level fields equal the given ones.
    - Every call returns or raises ``StoreError`` (with a message a person can act on) within a
      bound, in the calling thread.
    """

    def get(self, key: str) -> Any | None: ...
    def set(self, key: str, value: Any) -> None: ...
    def set_many(
        self,
        items: Mapping[str, Any],
        delete: Iterable[str] = (),
        *,
        require: Mapping[str, Mapping[str, Any] | None] | None = None,
    ) -> bool: ...
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
    def keys(
        self, prefix: str = "", *, stop: str | None = None, where: Mapping[str, Any] | None = None
    ) -> list[str]: ...
    def count(self, prefix: str = "", *, where: Mapping[str, Any] | None = None) -> int: ...
    def count_by(self, field: str, prefix: str = "") -> dict[Any, int]: ...
    def close(self) -> None: ...


def encode_value(value: Any) -> str:
    """A value as the store keeps it: compact JSON text (every backend writes this, never pickle)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def decode_value(raw: Any, key: str = "?") -> Any:
    """A stored value read back; ``CorruptRecordError`` (naming ``key``) for anything that is not JSON text."""
    if not isinstance(raw, str):
        raise CorruptRecordError(f"The stored value of {key!r} is not JSON text; it was refused.")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise CorruptRecordError(f"The stored value of {key!r} is not valid JSON; it was refused.") from None


def _check_field(field: str) -> None:
    if not _TABLE_NAME.fullmatch(field):
        raise ValueError(f"field names are lower-case identifiers, not {field!r}")


def prefix_end(prefix: str) -> str:
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


def _full(path: str) -> str:
    return f"The disk holding {path} is full: free space and try again."


def _read_only(path: str) -> str:
    return (
        f"The job database {path} is read-only: let the app's user write the file and its folder, "
        "or set ENGAGEMENT_DB to a writable path."
    )


def store_error(path: str, exc: BaseException) -> StoreError:
    """What a SQLite failure means for the person running the app, and what to do about it."""
    if isinstance(exc, StoreError):
        return exc
    text = str(exc).lower()
    if "full" in text:
        return StoreError(_full(path))
    if "locked" in text or "busy" in text:
        return StoreError(
            f"The job database {path} is locked by another process. Try again in a moment; if it stays "
            "locked, stop the other process that uses it."
        )
    if "readonly" in text or "read-only" in text:
        return StoreError(_read_only(path))
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return StoreError(
            f"The job database {path} is damaged. Move it aside (or set ENGAGEMENT_DB to another file) and start again."
        )
    if "unable to open" in text:
        return StoreOpenError(
            f"The job database {path} cannot be opened: check that its folder exists and is writable, "
            "or set ENGAGEMENT_DB to another path."
        )
    if "i/o" in text:
        return StoreError(f"The job database {path} could not be read or written (disk I/O error). Check the disk.")
    return StoreError(
        f"The job database {path} failed ({type(exc).__name__}: {str(exc)[:200]}). Try again; if it keeps "
        "failing, move the file aside (or set ENGAGEMENT_DB to another file)."
    )


_PROBE_BYTES = 64 * 1024  # room a new WAL needs to start; less free than this is a full disk at open
_DENIED = (errno.EACCES, errno.EPERM, errno.EROFS)


def _file_cause(path: str) -> str | None:
    """What the file system says is wrong with ``path``: ``"read-only"``, ``"full"`` or None (nothing it can see).

    SQLite reports both as whatever step failed first ("disk I/O error", "unable to open"), so the file,
    its WAL files and its folder are tried directly: opened for writing, and a small probe file written.
    """
    file = Path(path)
    for side in (file, file.with_name(file.name + "-wal"), file.with_name(file.name + "-shm")):
        try:
            if side.exists():
                os.close(os.open(side, os.O_RDWR))
        except OSError as exc:
            if exc.errno in _DENIED:
                return "read-only"
    probe = file.with_name(f".{file.name}.probe-{os.getpid()}-{threading.get_ident()}")
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            left = _PROBE_BYTES
            while left > 0:
                left -= os.write(fd, b"\0" * left) or left  # a write of 0 bytes is a full disk too
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return "full"
        if exc.errno in _DENIED:
            return "read-only"
    finally:
        try:
            probe.unlink(missing_ok=True)
        except OSError:
            pass
    return None


def open_error(path: str, error: StoreError) -> StoreOpenError:
    """Why the store could not be opened, as it is: read-only, a full disk, damaged, locked (``error`` is what
    SQLite's first failing step said, already in words; the file system is asked when that step was vague)."""
    if not isinstance(error, StoreOpenError) and (
        str(error) in (_full(path), _read_only(path)) or "damaged" in str(error) or "locked" in str(error)
    ):
        return StoreOpenError(str(error))
    cause = _file_cause(path) if path != ":memory:" else None
    if cause == "full":
        return StoreOpenError(_full(path))
    if cause == "read-only":
        return StoreOpenError(_read_only(path))
    return StoreOpenError(str(error))


class _ConnectionThread(SqliteMultithread):
    """sqlitedict's connection thread, remembering why it died (its loop does not say)."""

    def __init__(self, path: str) -> None:
        self.died: BaseException | None = None
        super().__init__(path, autocommit=False, journal_mode="WAL", outer_stack=False)

    def run(self) -> None:
        try:
            super().run()
        except BaseException as exc:  # noqa: BLE001 - recorded for the caller that waits on us
            self.died = exc
            log.warning("the store's connection thread stopped: %s", exc)

    def take_error(self) -> BaseException | None:
        """The error of an earlier statement, if any (and forget it)."""
        with self._lock:
            error: Any = getattr(self, "exception", None)
            self.exception = None
        return None if error is None else error[1]


class _Connection:
    """One sqlitedict connection thread for a file, shared by the tables that live in it.

    Every call holds ``lock`` (reads are serialised with writes), sends one statement and waits for
    its answer at most ``answer_s``; a thread that died or stopped answering is replaced.
    """

    def __init__(self, path: str, *, busy_timeout_s: float = BUSY_TIMEOUT_S, answer_s: float | None = None) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s
        self.answer_s = busy_timeout_s + ANSWER_MARGIN_S if answer_s is None else answer_s
        self.lock = threading.RLock()
        self.tables: set[str] = set()
        self.thread: _ConnectionThread | None = None
        if path != ":memory:":
            _check_file(path)
        with self._locked():
            self._open()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        if not self.lock.acquire(timeout=self.answer_s):
            raise StoreError(f"The job database {self.path} is busy in this process; try again in a moment.")
        try:
            yield
        finally:
            self.lock.release()

    def _open(self) -> None:
        self.thread = _ConnectionThread(self.path)
        try:
            self.statement(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
            self.statement("PRAGMA synchronous=NORMAL")  # WAL: durable across a crash of the app
            check = self.statement("PRAGMA quick_check(1)")
        except StoreError as exc:
            self._abandon()
            raise open_error(self.path, exc) from None
        if check and check[0][0] != "ok":
            self._abandon()
            raise StoreOpenError(
                f"The job database {self.path} is damaged. Move it aside (or set ENGAGEMENT_DB to another file) "
                "and start again."
            )
        for table in self.tables:
            self.statement(f'CREATE TABLE IF NOT EXISTS "{table}" (key TEXT PRIMARY KEY, value BLOB)')

    def _abandon(self) -> None:
        """Let a dead or stuck thread go (it closes its connection when it gets to it)."""
        thread, self.thread = self.thread, None
        if thread is not None:
            thread.close(force=True)

    def _live(self) -> _ConnectionThread:
        if self.thread is None or not self.thread.is_alive():
            if self.thread is not None:
                log.warning("replacing the store's dead connection thread (%s)", self.thread.died)
                self._abandon()
            self._open()
        assert self.thread is not None
        return self.thread

    def statement(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """One statement and its answer; raises the statement's (or an earlier queued one's) error here.

        The caller holds ``lock``: inside ``transaction()`` (how ``SqliteKV`` writes), or through ``call()``.
        """
        thread = self.thread
        if thread is None:
            raise StoreError(f"The job database {self.path} is closed.")
        answer: Queue[Any] = Queue()
        try:
            thread.execute(sql, tuple(args), answer)  # raises an earlier queued statement's error first
        except Exception as exc:  # noqa: BLE001 - sqlitedict re-raises whatever its thread caught
            raise store_error(self.path, exc) from None
        rows: list[tuple[Any, ...]] = []
        deadline = time.monotonic() + self.answer_s
        while True:
            try:
                row = answer.get(timeout=max(0.0, min(0.25, deadline - time.monotonic())))
            except Empty:
                if not thread.is_alive():
                    died = thread.died or thread.take_error()
                    self._abandon()
                    raise store_error(self.path, died or RuntimeError("the connection thread stopped")) from None
                if time.monotonic() >= deadline:
                    self._abandon()
                    raise StoreError(
                        f"The job database {self.path} did not answer within {self.answer_s:g} s. Check the disk "
                        "and try again."
                    ) from None
                continue
            if row == _NO_MORE:
                break
            rows.append(row)
        error = thread.take_error()
        if error is not None:
            raise store_error(self.path, error)
        return rows

    def queue(self, sql: str, args: Iterable[Any] = ()) -> None:
        """Queue a statement without waiting (inside ``transaction()``); its error surfaces at the next ``statement``."""
        thread = self.thread
        assert thread is not None
        try:
            thread.execute(sql, tuple(args))
        except Exception as exc:  # noqa: BLE001 - sqlitedict re-raises whatever its thread caught
            raise store_error(self.path, exc) from None

    def call(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """One statement (a read, or a write that is a transaction on its own) and its rows."""
        with self._locked():
            self._live()
            return self.statement(sql, args)

    @contextmanager
    def transaction(self) -> Iterator[_Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; on any failure ``ROLLBACK`` and nothing is applied.

        ``BEGIN IMMEDIATE`` takes the write lock first (waiting at most the busy timeout), so a lock held
        by another process fails the whole write before any of it is applied.
        """
        with self._locked():
            self._live()
            self.statement("BEGIN IMMEDIATE")
            try:
                yield self
                self.statement("SELECT 1")  # a round trip: every queued statement ran; their errors surface here
                self.statement("COMMIT")
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        if self.thread is None or not self.thread.is_alive():
            return  # a closed connection rolls back by itself
        try:
            self.statement("ROLLBACK")
        except StoreError:
            pass  # SQLite already rolled back (e.g. after a full disk): nothing is left to undo

    def ensure_table(self, table: str) -> None:
        if table not in self.tables:
            with self._locked():
                self.call(f'CREATE TABLE IF NOT EXISTS "{table}" (key TEXT PRIMARY KEY, value BLOB)')
                self.tables.add(table)

    def close(self) -> None:
        with self._locked():
            thread, self.thread = self.thread, None
            if thread is not None and thread.is_alive():
                thread.close(force=True)
                thread.join(self.answer_s)


class SqliteKV:
    """One table of a sqlitedict file, as a ``KVStore``. Cheap to open in a ``tmp_path``.

    ``SqliteKV(path)`` is the job table; ``.table("cache")`` is another table of the same file on
    the same connection. Safe to share between threads. ``busy_timeout_s`` is how long a write waits
    for another process's lock before it fails.
    """

    shared = False  # one machine's file: a silent job's process is judged on this machine

    def __init__(
        self,
        path: str | os.PathLike[str],
        table: str = JOBS_TABLE,
        *,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
        _conn: _Connection | None = None,
    ) -> None:
        if not _TABLE_NAME.fullmatch(table):
            raise ValueError(f"table names are lower-case identifiers, not {table!r}")
        self.path = str(path)
        self.name = table
        self._c = _conn or _Connection(self.path, busy_timeout_s=busy_timeout_s)
        self._c.ensure_table(table)
        self._t = f'"{table}"'

    def table(self, name: str) -> SqliteKV:
        """Another table of the same file, sharing this connection."""
        return SqliteKV(self.path, name, _conn=self._c)

    # -- reads
    def get(self, key: str) -> Any | None:
        rows = self._c.call(f"SELECT value FROM {self._t} WHERE key = ?", (key,))
        return None if not rows else decode_value(rows[0][0], key)

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
        for key, raw in self._c.call(sql, (*args, -1 if limit is None else limit, offset)):
            try:
                out.append((key, decode_value(raw, key)))
            except CorruptRecordError as exc:
                log.warning("%s", exc)
        return out

    def keys(self, prefix: str = "", *, stop: str | None = None, where: Mapping[str, Any] | None = None) -> list[str]:
        """Keys under ``prefix`` (and below ``stop``) in key order; ``where`` filters inside SQLite."""
        clause, args = self._range(prefix, stop, where)
        return [row[0] for row in self._c.call(f"SELECT key FROM {self._t}{clause} ORDER BY key", args)]

    def count(self, prefix: str = "", *, where: Mapping[str, Any] | None = None) -> int:
        sql, args = self._range(prefix, None, where)
        rows = self._c.call(f"SELECT COUNT(*) FROM {self._t}{sql}", args)
        return int(rows[0][0]) if rows else 0

    def count_by(self, field: str, prefix: str = "") -> dict[Any, int]:
        """How many values under ``prefix`` have each value of a top-level field (in SQLite)."""
        _check_field(field)
        sql, args = self._range(prefix)
        rows = self._c.call(f"SELECT json_extract(value, '$.{field}'), COUNT(*) FROM {self._t}{sql} GROUP BY 1", args)
        return {value: int(n) for value, n in rows}

    @staticmethod
    def _range(
        prefix: str, stop: str | None = None, where: Mapping[str, Any] | None = None
    ) -> tuple[str, tuple[Any, ...]]:
        clauses: list[str] = []
        args: list[Any] = []
        if prefix:
            clauses += ["key >= ?", "key < ?"]
            args += [prefix, prefix_end(prefix)]
        if stop is not None:
            clauses.append("key < ?")
            args.append(stop)
        for field, value in (where or {}).items():
            _check_field(field)
            clauses.append(f"json_extract(value, '$.{field}') = ?")
            args.append(value)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(args)

    # -- writes (each is one transaction, committed before it returns)
    def set(self, key: str, value: Any) -> None:
        self.set_many({key: value})

    def set_many(
        self,
        items: Mapping[str, Any],
        delete: Iterable[str] = (),
        *,
        require: Mapping[str, Mapping[str, Any] | None] | None = None,
    ) -> bool:
        """Write several keys (and delete others) all or nothing; see ``KVStore`` for ``require``."""
        rows = [
            (key, encode_value(value)) for key, value in items.items()
        ]  # a value that cannot be encoded stops it here
        gone = list(delete)
        with self._c.transaction() as conn:
            for key, fields in (require or {}).items():
                found = conn.statement(f"SELECT value FROM {self._t} WHERE key = ?", (key,))
                if fields is None:  # the key must be absent
                    if found:
                        return False
                    continue
                value = decode_value(found[0][0], key) if found else None
                if not isinstance(value, dict) or any(value.get(f) != v for f, v in fields.items()):
                    return False  # leaving the block commits an empty transaction
            for row in rows:
                conn.queue(f"REPLACE INTO {self._t} (key, value) VALUES (?, ?)", row)
            for key in gone:
                conn.queue(f"DELETE FROM {self._t} WHERE key = ?", (key,))
        return True

    def delete(self, key: str) -> bool:
        return self.delete_many([key]) == 1

    def delete_many(self, keys: Iterable[str]) -> int:
        """Delete keys in one transaction; returns how many existed."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return 0
        existing = 0
        with self._c.transaction() as conn:
            for start in range(0, len(keys), 5000):
                chunk = keys[start : start + 5000]
                marks = ",".join("?" * len(chunk))
                conn.statement(f"DELETE FROM {self._t} WHERE key IN ({marks})", chunk)
                existing += int(conn.statement("SELECT changes()")[0][0])
        return existing

    def integrity_check(self) -> str:
        """SQLite's own verdict on the file (``"ok"`` when healthy)."""
        rows = self._c.call("PRAGMA integrity_check")
        return str(rows[0][0]) if rows else "no answer"

    def close(self) -> None:
        self._c.close()
        REGISTRY.forget(STORE_KIND, self.path, self)


STORE_KIND = "sqlite store"


def open_store(path: str | os.PathLike[str]) -> SqliteKV:
    """The process's one ``SqliteKV`` for a file (the job table); opened on first use."""
    key = str(Path(path).resolve()) if str(path) != ":memory:" else ":memory:"
    return REGISTRY.get(STORE_KIND, key, lambda: SqliteKV(key))
