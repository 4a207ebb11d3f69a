"""Forget a customer (a domain) or a person (an e-mail address): every trace in every store, then a tombstone.

What goes, in order (the tombstone first, so a sync or webhook running meanwhile cannot store them again):
the workspace meeting index's meetings with them among the invitees (SQLite and Redis); those meetings'
transcripts in the search index (and in Redis when shared); their analyses in the cache, and any cached
account analysis that names them; every job record and question that names them (a summary of another
account that met them too included); their name in the audit log, replaced by "a forgotten account" (the
log keeps that things happened, not to whom); the roles reps set for them (SQLite and Redis); and, in the
SQLite file, any other row of any key-value table
that names them. The file is then rebuilt (``VACUUM``, FTS5 ``optimize`` first) and its write-ahead log
checkpointed and truncated, so the bytes are gone from the files, not just unreachable.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from engagement.errors import StoreError
from engagement.jobs.repository import RECORD_PREFIX
from engagement.privacy.tombstones import TOMBSTONES_TABLE, Tombstones
from engagement.questions.answers import QUESTION_PREFIX
from engagement.storage.sqlite import KVStore, encode_value, newest_first

if TYPE_CHECKING:
    from engagement.account.rep_roles import RepRoles
    from engagement.analysis.cache import InsightCache
    from engagement.audit.log import AuditLog
    from engagement.jobs.repository import JobRepository
    from engagement.meetings.index import MeetingIndex
    from engagement.questions.search import TranscriptSearch
    from engagement.settings import Settings
    from engagement.storage.redis import RedisKV
    from engagement.storage.sqlite import SqliteKV

log = logging.getLogger(__name__)

PAGE = 200  # values read at once while scanning a table
LOCK_WAIT_S = 30.0  # how long the rebuild waits for other connections of the file


class ProcessStores(Protocol):
    """What a forget reaches: every store of the process. ``engagement.runtime.Runtime`` is one; a protocol, so
    this package needs nothing above it (``tests/test_layout.py``)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> SqliteKV | RedisKV: ...
    @property
    def index(self) -> MeetingIndex: ...
    @property
    def search(self) -> TranscriptSearch | None: ...
    @property
    def cache(self) -> InsightCache: ...
    @property
    def repo(self) -> JobRepository: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def roles(self) -> RepRoles | None: ...


@dataclass(frozen=True)
class Receipt:
    """What a forget removed (counts only: a receipt never repeats the name).

    Attributes:
        kind: ``domain`` or ``person``.
        meetings: meetings removed from the workspace meeting index.
        transcripts: transcripts removed from the search index.
        cached_analyses: entries removed from the analysis cache.
        jobs: job records removed (with their index rows).
        questions: questions removed.
        audit_entries_redacted: audit entries whose account or detail named them.
        other_rows: rows of other key-value tables in the SQLite file that named them.
        files_rebuilt: SQLite files rebuilt so no freed page keeps a byte of them.
    """

    kind: str
    meetings: int = 0
    transcripts: int = 0
    cached_analyses: int = 0
    jobs: int = 0
    questions: int = 0
    audit_entries_redacted: int = 0
    other_rows: int = 0
    files_rebuilt: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "files_rebuilt": list(self.files_rebuilt)}


def forget(runtime: ProcessStores, *, domain: str = "", email: str = "") -> Receipt:
    """Forget the customer at ``domain`` or the person at ``email`` (exactly one), everywhere; returns the receipt."""
    if bool(domain) == bool(email):
        raise ValueError("forget one domain or one e-mail address")
    kind, name = ("domain", domain.lower()) if domain else ("person", email.lower())
    Tombstones(runtime.store.table(TOMBSTONES_TABLE)).add(kind, name)

    meetings = 0
    removed_ids: list[int] = []
    for workspace, ids in runtime.index.recordings_with(domain=domain, email=email).items():
        meetings += runtime.index.forget(workspace, ids)
        removed_ids += ids
    transcripts = runtime.search.remove(removed_ids) if runtime.search is not None and removed_ids else 0

    needles = [name]
    id_needles = [f'"recording_id": {rid}' for rid in removed_ids] + [f'"recording_id":{rid}' for rid in removed_ids]
    # a meeting's insights and its qualification (quotes of what was said) are cached under its recording id
    insight_prefixes = tuple(f"{entry}:{rid}:" for rid in removed_ids for entry in ("insights", "qualification"))

    cache_keys = [
        key
        for key, text in _scan(runtime.cache.store)
        if key.startswith(insight_prefixes) or _names(key, text, needles + id_needles)
    ]
    cached = runtime.cache.store.delete_many(cache_keys)

    jobs = [
        _job_of(key) for key, text in _scan(runtime.store, RECORD_PREFIX) if _names(key, text, needles + id_needles)
    ]
    removed_jobs = runtime.repo.delete_many(jobs)
    question_keys = [
        key for key, text in _scan(runtime.store, QUESTION_PREFIX) if _names(key, text, needles + id_needles)
    ]
    questions = runtime.store.delete_many(question_keys)
    redacted = runtime.audit.redact([name], f"a forgotten {'account' if kind == 'domain' else 'person'}")
    role_keys = [key for key, text in _scan(runtime.roles.table) if _names(key, text, needles)] if runtime.roles else []
    rep_roles = runtime.roles.table.delete_many(role_keys) if runtime.roles and role_keys else 0  # Redis too

    files: list[str] = []
    other = 0
    path = _sqlite_file(runtime)
    if path is not None:
        other = _sweep_kv_tables(path, [name])
        _rebuild(path)
        files.append(path)
    return Receipt(
        kind=kind,
        meetings=meetings,
        transcripts=transcripts,
        cached_analyses=cached,
        jobs=removed_jobs,
        questions=questions,
        audit_entries_redacted=redacted,
        other_rows=other + rep_roles,
        files_rebuilt=tuple(files),
    )


def _scan(store: KVStore, prefix: str = "") -> Iterable[tuple[str, str]]:
    """Every (key, value as lower-cased JSON) under ``prefix``, read newest key first in pages (bounded memory)."""
    for key, value in newest_first(store, prefix, page=PAGE):
        yield key, encode_value(value).lower()


def _names(key: str, text: str, needles: list[str]) -> bool:
    low = key.lower()
    return any(n in low or n in text for n in needles)


def _job_of(key: str) -> tuple[str, str]:
    domain, _, run_id = key.removeprefix(RECORD_PREFIX).rpartition(":")
    return domain, run_id


def _sqlite_file(runtime: ProcessStores) -> str | None:
    """The SQLite file of this machine (the store's, or with Redis the local search and index file)."""
    path = runtime.settings.engagement_db
    return path if path and path != ":memory:" and Path(path).exists() else None


def _connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=LOCK_WAIT_S, isolation_level=None)
    db.execute("PRAGMA secure_delete=ON")  # a deleted row's bytes are zeroed in its page, not just unlinked
    return db


def _sweep_kv_tables(path: str, names: list[str]) -> int:
    """Delete the rows of every key-value table of the file whose key or value names them (tables added later
    by other features included); returns how many."""
    db = _connect(path)
    try:
        tables = [
            row[0]
            for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if {c[1] for c in db.execute(f'PRAGMA table_info("{row[0]}")')} == {"key", "value"}
        ]
        removed = 0
        for table in tables:
            for name in names:
                pattern = f"%{name.lower()}%"
                removed += db.execute(
                    f'DELETE FROM "{table}" WHERE lower(key) LIKE ? OR lower(value) LIKE ?',  # noqa: S608 - names from the schema
                    (pattern, pattern),
                ).rowcount
        return removed
    except sqlite3.Error as exc:
        raise StoreError(f"The forget could not finish in {path} ({exc}). Run it again.") from None
    finally:
        db.close()


def _rebuild(path: str) -> None:
    """Merge the FTS5 index's segments, rebuild the file and truncate its write-ahead log."""
    db = _connect(path)
    try:
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'search_fts'").fetchone():
            db.execute("INSERT INTO search_fts (search_fts) VALUES ('optimize')")
        db.execute("VACUUM")
        deadline = time.monotonic() + LOCK_WAIT_S
        while db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] and time.monotonic() < deadline:
            time.sleep(0.1)  # another connection is reading: its snapshot ends soon
    except sqlite3.Error as exc:
        raise StoreError(f"The forget removed everything but could not rebuild {path} ({exc}). Run it again.") from None
    finally:
        db.close()
