"""The key-value store: the ``KVStore`` protocol and ``SqliteKV``, its implementation on sqlitedict.

Values are JSON, never pickle: sqlitedict's default decoder would unpickle whatever a tampered
file holds, so a value that is not JSON text is refused with ``CorruptRecordError``. One file holds
several tables (job records, caches); all of them go through one sqlitedict connection thread.

sqlitedict's thread has failure modes the app must never reach (sqlitedict issue #108): an error in
its ``commit`` kills the thread and every later call waits forever; an error of a queued statement
is raised in whichever thread calls next; a failed statement does not stop the ones queued after
it. So ``SqliteKV`` keeps sqlitedict's thread and file but not its request loop: it serialises every
call (reads with writes) on one lock and sends each call to the thread as one unit of work (a read,
or a whole ``BEGIN IMMEDIATE`` … ``COMMIT`` transaction that rolls back on any error), whose result or
error comes back to its own caller in one round trip; it waits for every answer with a bound and
replaces a connection thread that died or stopped answering. Every failure becomes a ``StoreError``
whose message says what to do.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import secrets
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from queue import Empty
from typing import Any, Protocol

from pydantic_core import PydanticSerializationError, from_json, to_json
from sqlitedict import _REQUEST_CLOSE, SqliteMultithread, _put

from engagement.errors import CorruptRecordError, StoreError, StoreOpenError
from engagement.registry import REGISTRY

log = logging.getLogger(__name__)
# Every error of sqlitedict's thread reaches its caller here as a StoreError that names the cause; sqlitedict's
# own log of it (a traceback of the step that failed first, "view the logging namespace") would only mislead.
logging.getLogger("sqlitedict").setLevel(logging.CRITICAL)

JOBS_TABLE = "jobs"
CACHE_TABLE = "cache"
_TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")  # table names go into SQL text: identifiers only
_NO_MORE = "--no more--"  # sqlitedict's end-of-answer marker, which its close() waits for
BUSY_TIMEOUT_S = 10.0  # how long a write waits for another process's write lock
ANSWER_MARGIN_S = 20.0  # beyond the busy timeout, how long any call waits for the connection thread
CHECKPOINT_IDLE_S = 0.2  # after a write, how long the connection thread idles before it checkpoints
CHECKPOINT_EVERY_S = 1.0  # and, busy or not, at most this long after the last one (between two calls)
MAX_KEPT_COUNTS = 8  # (field, prefix) pairs whose counts a table keeps; past that, counts scan
# An upsert, not REPLACE: REPLACE deletes the old row without firing delete triggers, and the kept
# counts' triggers must see the value a write replaces.
_UPSERT = "INSERT INTO {table} (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
_GROUP_VALUE = {"null": None, "none": None, "invalid": None, "true": 1, "false": 0}  # json_extract's value of each


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


def newest_first(
    store: KVStore, prefix: str = "", *, stop: str | None = None, page: int = 500, most: int | None = None
) -> Iterator[tuple[str, Any]]:
    """Every item under ``prefix`` (below ``stop``), newest key first, read ``page`` at a time (bounded memory);
    at most ``most`` items when given."""
    read = 0
    while most is None or read < most:
        items = store.items(prefix, stop=stop, reverse=True, limit=page if most is None else min(page, most - read))
        yield from items
        read += len(items)
        if len(items) < page:
            return
        stop = items[-1][0]


def kept_secret(store: KVStore, key: str, nbytes: int) -> str:
    """A random hex value kept under ``key`` (made by the first process that asks), the same for every process.

    Two processes that ask at once may both write one; each reads back what the store holds, so from then on
    they agree.
    """
    held = store.get(key)
    if not isinstance(held, str):
        store.set(key, secrets.token_hex(nbytes))
        held = store.get(key)
    return str(held)


def encode_value(value: Any) -> str:
    """A value as the store keeps it: compact JSON text, non-ASCII as is (every backend writes this, never pickle).

    pydantic-core's encoder writes the same text as ``json.dumps(value, separators=(",", ":"),
    ensure_ascii=False)`` for JSON-able values, some ten times faster (a job record is 14 KB, written on
    every stage and heartbeat). A value of a type with no JSON form raises ``TypeError``; a set or tuple
    is written as a list, as ``json.dumps`` writes a tuple.
    """
    try:
        return to_json(value, fallback=_no_json).decode()
    except PydanticSerializationError as exc:
        raise TypeError(f"a value of the store must be JSON-able: {exc}") from None


def _no_json(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} has no JSON form")


def decode_value(raw: Any, key: str = "?") -> Any:
    """A stored value read back; ``CorruptRecordError`` (naming ``key``) for anything that is not JSON text."""
    if not isinstance(raw, str):
        raise CorruptRecordError(f"The stored value of {key!r} is not JSON text; it was refused.")
    try:
        return from_json(raw)  # pydantic-core's parser: the same values as json.loads, in half the time
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


def _kind(column: str, field: str) -> str:
    """SQL for the JSON type of a value's top-level field: ``text``, ``integer``, ... ``none`` when missing,
    ``invalid`` for a value that is not JSON (so a planted one never fails the write that counts it)."""
    return f"CASE WHEN json_valid({column}) THEN coalesce(json_type({column}, '$.{field}'), 'none') ELSE 'invalid' END"


def _group(column: str, field: str) -> str:
    """SQL for the value a group is counted under (``''`` where the kind says null, none or invalid)."""
    return f"CASE WHEN json_valid({column}) THEN coalesce(json_extract({column}, '$.{field}'), '') ELSE '' END"


def _trigger_name(table: str, field: str, prefix: str) -> str:
    return f"{table}__count__{field}__{hashlib.blake2s(prefix.encode(), digest_size=6).hexdigest()}"


def _count_triggers(table: str, name: str, field: str, prefix: str) -> list[str]:
    """The triggers that keep ``(field, prefix)``'s counts: +1 for a value entering the range, -1 for one leaving."""
    counts = f'"{table}__counts"'
    quoted = prefix.replace("'", "''")

    def within(row: str) -> str:
        return (
            f"{row}.key >= '{quoted}' AND {row}.key < '{prefix_end(prefix).replace(chr(39), chr(39) * 2)}'"
            if prefix
            else "1"
        )

    def add(row: str) -> str:
        return (
            f"INSERT INTO {counts} (field, prefix, kind, grp, n) VALUES ('{field}', '{quoted}', "
            f"{_kind(row + '.value', field)}, {_group(row + '.value', field)}, 1) "
            "ON CONFLICT (field, prefix, kind, grp) DO UPDATE SET n = n + 1;"
        )

    def remove(row: str) -> str:
        return (
            f"UPDATE {counts} SET n = n - 1 WHERE field = '{field}' AND prefix = '{quoted}' "
            f"AND kind = {_kind(row + '.value', field)} AND grp = {_group(row + '.value', field)};"
        )

    on = f'ON "{table}"'
    return [
        f'CREATE TRIGGER "{name}_i" AFTER INSERT {on} WHEN {within("NEW")} BEGIN {add("NEW")} END',
        f'CREATE TRIGGER "{name}_d" AFTER DELETE {on} WHEN {within("OLD")} BEGIN {remove("OLD")} END',
        f'CREATE TRIGGER "{name}_uo" AFTER UPDATE {on} WHEN {within("OLD")} BEGIN {remove("OLD")} END',
        f'CREATE TRIGGER "{name}_un" AFTER UPDATE {on} WHEN {within("NEW")} BEGIN {add("NEW")} END',
    ]


class _ConnectionThread(SqliteMultithread):
    """sqlitedict's connection thread, serving units of work: each answer (or error) goes to its own caller.

    sqlitedict's loop runs one statement per request, puts each row on the caller's queue and keeps a
    failed statement's error for whichever call comes next. Here a request is a function of the
    connection (a read, or a whole transaction): it runs on this thread and its result or its error
    travels back in one message to the caller that sent it, so a call costs one round trip however
    many statements or rows it has, and no error ever reaches another caller.
    """

    def __init__(self, path: str) -> None:
        self.died: BaseException | None = None
        self._changes = 0  # the connection's total_changes at the last checkpoint
        self._checkpointed_at = time.monotonic()
        super().__init__(path, autocommit=False, journal_mode="WAL", outer_stack=False)

    def run(self) -> None:
        try:
            self._serve()
        except BaseException as exc:  # noqa: BLE001 - recorded for the caller that waits on us
            self.died = exc
            log.warning("the store's connection thread stopped: %s", exc)

    def _checkpoint(self, conn: sqlite3.Connection) -> bool:
        """Copy the write-ahead log into the database file (PASSIVE: never waits for readers or writers).

        SQLite's automatic checkpoint runs inside the COMMIT that crosses 1,000 log pages, so the
        caller of that write waits for it: a purge of 10,000 jobs (some 150 MB of zeroed pages with
        ``secure_delete`` on) spent as long in its checkpoint as in its delete. Here the thread runs
        it once it has been idle for ``CHECKPOINT_IDLE_S`` after a write, when no call is waiting, and
        between two calls when ``CHECKPOINT_EVERY_S`` has passed since the last one with writes in
        between, so a store that is never idle still keeps its log short (a long log slows every read).
        Returns whether pages are left to copy (a reader held them back), so it runs again later; a
        failed one is tried again after the next write.
        """
        self._changes, self._checkpointed_at = conn.total_changes, time.monotonic()
        try:
            busy, logged, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            log.warning("the store's checkpoint failed (it is tried again after the next write): %s", exc)
            return False
        return bool(busy) or copied < logged

    def _serve(self) -> None:
        try:
            conn, _ = self._connect()  # sqlitedict's: the file, WAL
        finally:
            self._lock.release()  # sqlitedict's start-up handshake
        conn.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints run here between calls, see _checkpoint
        answer_to = None
        written = False  # since the last checkpoint
        while True:
            try:
                work, _, answer_to, _ = self.reqs.get(timeout=CHECKPOINT_IDLE_S if written else None)
            except Empty:  # idle after writes: copy the WAL into the file now, with nobody waiting
                written = self._checkpoint(conn)
                continue
            if work == _REQUEST_CLOSE:
                break
            try:
                answer: tuple[BaseException | None, Any] = (None, work(conn))
            except Exception as exc:  # noqa: BLE001 - handed to the one caller that asked
                answer = (exc, None)
            _put(answer_to, answer)
            written = written or conn.total_changes != self._changes
            if written and time.monotonic() - self._checkpointed_at >= CHECKPOINT_EVERY_S:
                written = self._checkpoint(conn)  # busy without a pause: the log must not grow without bound
        conn.close()
        _put(answer_to, _NO_MORE)  # sqlitedict's close() waits for this


_Work = Callable[[sqlite3.Connection], Any]


class _Reply:
    """Where the connection thread leaves one answer for the caller waiting on it (a lighter ``Queue``:
    one lock, created per call)."""

    __slots__ = ("__weakref__", "_ready", "answer")

    def __init__(self) -> None:
        self._ready = threading.Lock()
        self._ready.acquire()
        self.answer: tuple[BaseException | None, Any] | None = None

    def put(self, answer: tuple[BaseException | None, Any]) -> None:
        self.answer = answer
        self._ready.release()

    def wait(self, timeout: float) -> bool:
        """Whether the answer came within ``timeout`` seconds."""
        return self._ready.acquire(timeout=timeout)


class _Connection:
    """One sqlitedict connection thread for a file, shared by the tables that live in it.

    Every call holds ``lock`` (reads are serialised with writes), sends one unit of work and waits for
    its answer at most ``answer_s``; a thread that died or stopped answering is replaced.
    """

    def __init__(self, path: str, *, busy_timeout_s: float = BUSY_TIMEOUT_S, answer_s: float | None = None) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s
        self.answer_s = busy_timeout_s + ANSWER_MARGIN_S if answer_s is None else answer_s
        self.lock = threading.RLock()
        self.tables: set[str] = set()
        self.kept: set[tuple[str, str, str]] = set()  # (table, field, prefix) whose counts the file keeps
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

    def run(self, work: _Work) -> Any:
        """``work(connection)`` on the connection thread: its result, or its error raised here as a ``StoreError``.

        The caller holds ``lock`` (through ``call()`` or ``write()``). One round trip, bounded by ``answer_s``.
        """
        thread = self.thread
        if thread is None:
            raise StoreError(f"The job database {self.path} is closed.")
        reply = _Reply()
        thread.reqs.put((work, None, weakref.ref(reply), None))
        deadline = time.monotonic() + self.answer_s
        while not reply.wait(max(0.0, min(0.25, deadline - time.monotonic()))):
            if not thread.is_alive():
                died = thread.died
                self._abandon()
                raise store_error(self.path, died or RuntimeError("the connection thread stopped")) from None
            if time.monotonic() >= deadline:
                self._abandon()
                raise StoreError(
                    f"The job database {self.path} did not answer within {self.answer_s:g} s. Check the disk "
                    "and try again."
                ) from None
        assert reply.answer is not None
        error, result = reply.answer
        if error is not None:
            raise store_error(self.path, error) from None
        return result

    def statement(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """One statement and all its rows (the caller holds ``lock``)."""
        params = tuple(args)
        rows: list[tuple[Any, ...]] = self.run(lambda conn: conn.execute(sql, params).fetchall())
        return rows

    def call(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """One statement (a read, or a write that is a transaction on its own) and its rows."""
        with self._locked():
            self._live()
            return self.statement(sql, args)

    def write(self, work: _Work) -> Any:
        """``work`` inside ``BEGIN IMMEDIATE`` … ``COMMIT``, in one round trip; on any failure ``ROLLBACK``,
        and nothing is applied.

        ``BEGIN IMMEDIATE`` takes the write lock first (waiting at most the busy timeout), so a lock held
        by another process fails the whole write before any of it is applied.
        """

        def transaction(conn: sqlite3.Connection) -> Any:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):  # SQLite may have rolled back already (a full disk)
                        conn.execute("ROLLBACK")
                raise
            return result

        with self._locked():
            self._live()
            return self.run(transaction)

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
        # The text's UTF-8 bytes as stored: the parser reads them without a str made first (a fifth
        # faster on a 14 KB record); a value stored as anything but text is refused as decode_value does.
        rows = self._c.call(
            f"SELECT CASE WHEN typeof(value) = 'text' THEN CAST(value AS BLOB) END, value IS NULL "
            f"FROM {self._t} WHERE key = ?",
            (key,),
        )
        if not rows:
            return None
        text, null = rows[0]
        if text is None:
            return decode_value(None if null else b"", key)  # not JSON text: CorruptRecordError
        try:
            return from_json(text)
        except (ValueError, RecursionError):
            return decode_value(text.decode("utf-8", "replace"), key)  # the same error as any bad value

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
        """How many keys are under ``prefix`` (and match ``where``).

        One text field in ``where``: the kept count of its group (see ``count_by``); no ``where`` on a
        range whose counts are kept: the sum of its groups; otherwise a count inside SQLite (the key
        index for a bare range, ``json_extract`` on each value for a filter).
        """
        if not where:
            kept = next((f for t, f, p in self._c.kept if t == self.name and p == prefix), None)
            if kept is not None:  # a kept count of the same range: its groups add up to the range
                return sum(self._kept(kept, prefix).values())
        elif len(where) == 1:
            ((field, value),) = where.items()
            if isinstance(value, str):
                _check_field(field)
                return self._kept(field, prefix).get(("text", value), 0)
        sql, args = self._range(prefix, None, where)
        rows = self._c.call(f"SELECT COUNT(*) FROM {self._t}{sql}", args)
        return int(rows[0][0]) if rows else 0

    def count_by(self, field: str, prefix: str = "") -> dict[Any, int]:
        """How many values under ``prefix`` have each value of a top-level field (``json_extract``'s value;
        ``None`` for a missing or null field).

        Kept, not recounted: the first call for a ``(field, prefix)`` pair counts the range once and adds
        triggers to the file that move the counts with every insert, update and delete of a key in the
        range, in the writer's own transaction, whichever process writes. So the admin page's totals
        and domain list read a few rows, however many jobs there are. At most ``MAX_KEPT_COUNTS`` pairs
        a table; past that, counts scan (``RedisKV`` keeps its counts the same way).
        """
        _check_field(field)
        counts: dict[Any, int] = {}
        for (kind, group), n in self._kept(field, prefix).items():
            value = _GROUP_VALUE.get(kind, group)
            counts[value] = counts.get(value, 0) + n
        return counts

    def _kept(self, field: str, prefix: str) -> dict[tuple[str, Any], int]:
        """(json_type, value) → how many values under ``prefix`` have it in ``field``: kept counts, or a scan."""
        if not self._keep(field, prefix):
            sql, args = self._range(prefix)
            rows = self._c.call(
                f"SELECT {_kind('value', field)}, {_group('value', field)}, COUNT(*) FROM {self._t}{sql} GROUP BY 1, 2",
                args,
            )
        else:
            rows = self._c.call(
                f"SELECT kind, grp, n FROM {self._counts} WHERE field = ? AND prefix = ? AND n > 0", (field, prefix)
            )
        return {(kind, group): int(n) for kind, group, n in rows}

    def _keep(self, field: str, prefix: str) -> bool:
        """Whether the counts of ``(field, prefix)`` are kept (registering them on first use, when there is room)."""
        pair = (self.name, field, prefix)
        if pair in self._c.kept:
            return True
        name = _trigger_name(self.name, field, prefix)
        table, counts = self._t, self._counts

        def register(conn: sqlite3.Connection) -> bool:
            found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?", (name + "_i",))
            if found.fetchone():
                return True
            held = conn.execute(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? AND name LIKE '%\\_i' ESCAPE '\\'",
                (self.name,),
            ).fetchone()[0]
            if held >= MAX_KEPT_COUNTS:
                return False
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {counts} "
                "(field TEXT, prefix TEXT, kind TEXT, grp, n INTEGER, PRIMARY KEY (field, prefix, kind, grp))"
            )
            for statement in _count_triggers(self.name, name, field, prefix):
                conn.execute(statement)
            conn.execute(f"DELETE FROM {counts} WHERE field = ? AND prefix = ?", (field, prefix))
            sql, args = self._range(prefix)
            conn.execute(
                f"INSERT INTO {counts} (field, prefix, kind, grp, n) SELECT ?, ?, {_kind('value', field)}, "
                f"{_group('value', field)}, COUNT(*) FROM {table}{sql} GROUP BY 3, 4",
                (field, prefix, *args),
            )
            return True

        if not self._c.write(register):
            return False
        self._c.kept.add(pair)
        return True

    @property
    def _counts(self) -> str:
        return f'"{self.name}__counts"'

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
        gone = [(key,) for key in delete]
        table = self._t

        def write(conn: sqlite3.Connection) -> bool:
            for key, fields in (require or {}).items():
                found = conn.execute(f"SELECT value FROM {table} WHERE key = ?", (key,)).fetchone()
                if fields is None:  # the key must be absent
                    if found:
                        return False
                    continue
                value = decode_value(found[0], key) if found else None
                if not isinstance(value, dict) or any(value.get(f) != v for f, v in fields.items()):
                    return False  # commits an empty transaction
            if rows:
                conn.executemany(_UPSERT.format(table=table), rows)
            if gone:
                conn.executemany(f"DELETE FROM {table} WHERE key = ?", gone)
            return True

        return bool(self._c.write(write))

    def delete(self, key: str) -> bool:
        return self.delete_many([key]) == 1

    def delete_many(self, keys: Iterable[str]) -> int:
        """Delete keys in one transaction; returns how many existed."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return 0
        table = self._t

        def delete(conn: sqlite3.Connection) -> int:
            existing = 0
            for start in range(0, len(keys), 5000):
                chunk = keys[start : start + 5000]
                marks = ",".join("?" * len(chunk))
                existing += conn.execute(f"DELETE FROM {table} WHERE key IN ({marks})", chunk).rowcount
            return existing

        return int(self._c.write(delete))

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
