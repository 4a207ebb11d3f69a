"""The job repository: the keys, the record and its index row written together, listing and purging.

Two kinds of entry, always written in one transaction of the ``KVStore``:

    engagement:{domain}:{run_id}                   the ``JobRecord`` (the seed's key; the summary lives here)
    index:{created_at}:{domain}:{run_id}           its ``JobRow``: status, stage, counts, options, times, signals
    running:{domain}:{since}:{until}               the claim: ``{"run_id": ...}`` of the one job doing that work

The index keys sort by creation time, so the admin table, totals, purges, the running-job check and
the "fresh summary" check read index rows (filtered inside the store) and never load a summary.
A job is created together with its claim in one conditional write, so two processes sharing a store
(several app servers on one Redis) cannot both start the same work; its end releases the claim.
Every write of a running job is conditional: it applies only while the stored record is still
``processing``, so a record that ended (or was deleted) elsewhere is never written again.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from engagement.errors import StoreError
from engagement.models import ElementState, JobOptions, JobRecord, JobStatus, Signal, UTCDateTime, format_utc, utcnow
from engagement.storage.sqlite import KVStore

__all__ = [
    "CLAIM_PREFIX",
    "INDEX_PREFIX",
    "RECORD_PREFIX",
    "JobRepository",
    "JobRow",
    "claim_key",
    "index_key",
    "record_key",
]

log = logging.getLogger(__name__)

RECORD_PREFIX = "engagement:"
INDEX_PREFIX = "index:"
CLAIM_PREFIX = "running:"
_STILL_RUNNING = {"status": JobStatus.PROCESSING.value}
_PAGE = 20


def record_key(domain: str, run_id: str) -> str:
    """Where a job's record lives: ``engagement:{domain}:{run_id}``."""
    return f"{RECORD_PREFIX}{domain}:{run_id}"


def index_key(created_at: datetime, domain: str, run_id: str) -> str:
    """Where a job's index row lives; sorts by creation time."""
    return f"{INDEX_PREFIX}{format_utc(created_at)}:{domain}:{run_id}"


def _record_key_of(index: str) -> str:
    """The record key of the job an index key stands for (``index:{created_at}:{domain}:{run_id}``)."""
    _, domain, run_id = index.rsplit(":", 2)
    return record_key(domain, run_id)


def claim_key(domain: str, options: JobOptions) -> str:
    """The key naming the one job doing this work (de-duplication, claimed atomically)."""
    return f"{CLAIM_PREFIX}{domain}:{options.since or ''}:{options.until or ''}"


class JobRow(BaseModel):
    """One job as the index holds it: everything the admin table and the checks need, no summary.

    Attributes:
        options: what was asked besides the domain (the "fresh summary" check compares them).
        meetings: the summary's ``meetings_count`` once complete.
        duration_s: from creation to the end (or the last heartbeat while running).
        signals: the summary's signals once complete, so the accounts list reads no summary.
        qualification: each qualification element's state once complete (no quotes), for the same reason.
        index_complete: the summary's ``coverage.index_complete``: false when it was made while Fathom's workspace
            was first indexed (the accounts list marks it due a refresh once the index is complete).
    """

    domain: str
    run_id: str
    status: JobStatus
    stage: str = ""
    created_at: UTCDateTime
    updated_at: UTCDateTime
    started_at: UTCDateTime | None = None
    ended_at: UTCDateTime | None = None
    duration_s: float = 0.0
    meetings: int | None = None
    source: str = ""
    analyzer: str = ""
    error: str | None = None
    options: JobOptions = Field(default_factory=JobOptions)
    signals: list[Signal] = Field(default_factory=list)  # the summary's, so the accounts list reads no summary
    qualification: list[ElementState] = Field(default_factory=list)
    index_complete: bool | None = None

    @classmethod
    def of(cls, rec: JobRecord) -> JobRow:
        return cls(
            domain=rec.domain,
            run_id=rec.run_id,
            status=rec.status,
            stage=rec.stage,
            created_at=rec.created_at,
            updated_at=rec.updated_at,
            started_at=rec.started_at,
            ended_at=rec.ended_at,
            duration_s=round(rec.duration_s, 3),
            meetings=rec.summary.meetings_count if rec.summary else None,
            source=rec.source,
            analyzer=rec.analyzer,
            error=rec.error,
            options=rec.options,
            signals=list(rec.summary.signals) if rec.summary else [],
            qualification=rec.summary.qualification.states() if rec.summary and rec.summary.qualification else [],
            index_complete=rec.summary.coverage.index_complete if rec.summary and rec.summary.coverage else None,
        )


class JobRepository:
    """Reads and writes job records and their index rows in a ``KVStore``. Thread-safe if the store is.

    ``clock`` stamps ``updated_at`` and measures ages (purges, the fresh-summary window).
    """

    def __init__(self, store: KVStore, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.clock = clock

    # ------------------------------------------------------------------ write
    @staticmethod
    def _entries(record: JobRecord) -> dict[str, Any]:
        return {
            record_key(record.domain, record.run_id): record.to_json(),
            index_key(record.created_at, record.domain, record.run_id): JobRow.of(record).model_dump(mode="json"),
        }

    def create(self, *records: JobRecord) -> None:
        """Store new records (and their index rows) as they are, in one transaction."""
        entries: dict[str, Any] = {}
        for record in records:
            entries.update(self._entries(record))
        self.store.set_many(entries)

    def claim(self, record: JobRecord, holder: str | None) -> bool:
        """Store a new record, its index row and its claim in one transaction, only if the claim is still
        held by ``holder`` (``None``: nobody). False (nothing written) when another process got there first."""
        claim = claim_key(record.domain, record.options)
        entries = {**self._entries(record), claim: {"run_id": record.run_id}}
        return self.store.set_many(entries, require={claim: None if holder is None else {"run_id": holder}})

    def claimant(self, domain: str, options: JobOptions) -> str | None:
        """The run id the claim for this work names (it may have ended since); None when unclaimed."""
        claim = claim_key(domain, options)
        held = self.store.get(claim)
        holder = held.get("run_id") if isinstance(held, dict) else None
        if held is not None and holder is None:
            self.store.delete(claim)  # not a claim this code wrote: drop it, the work is unclaimed
        return None if holder is None else str(holder)

    def save(self, record: JobRecord, *, owner: str | None = None) -> bool:
        """Write a job's record and index row over a stored record that is still ``processing``
        (a running job's progress, or its end), refreshing ``updated_at``. With ``owner``, only while
        the stored record's owner is that one (a worker taking over a queued job: ``owner=""``).

        Returns False (and writes nothing) when it ended, was deleted or was taken elsewhere. A
        terminal write also releases the job's claim.
        """
        record.updated_at = self.clock()
        key = record_key(record.domain, record.run_id)
        require = _STILL_RUNNING if owner is None else {**_STILL_RUNNING, "owner": owner}
        wrote = self.store.set_many(self._entries(record), require={key: require})
        if wrote and record.status.terminal:
            self._release(record)
        return wrote

    def _release(self, record: JobRecord) -> None:
        """Delete the job's claim if it still names the job. Best effort: a claim left behind names a
        finished job, and the next start takes it over."""
        claim = claim_key(record.domain, record.options)
        try:
            self.store.set_many({}, delete=[claim], require={claim: {"run_id": record.run_id}})
        except StoreError as exc:
            log.warning("job %s ended; its claim stays until the next start replaces it: %s", claim, exc)

    # ------------------------------------------------------------------ read
    def load(self, domain: str, run_id: str) -> JobRecord | None:
        value = self.store.get(record_key(domain, run_id))
        return None if value is None else JobRecord.model_validate(value)

    def processing(self, domain: str | None = None) -> builtins.list[JobRecord]:
        """Records still ``processing`` (of one domain, or all), found through their index rows: only
        those records are read, never every summary (on Redis the filter runs in Redis, so it matters)."""
        records = []
        for row in self.rows(domain=domain, status=JobStatus.PROCESSING, limit=None):
            record = self.load(row.domain, row.run_id)
            if record is not None and record.status is JobStatus.PROCESSING:
                records.append(record)
        return records

    def rows(
        self,
        *,
        domain: str | None = None,
        status: JobStatus | str | None = None,
        limit: int | None = 50,
        offset: int = 0,
    ) -> builtins.list[JobRow]:
        """Jobs newest first, a page at a time, from the index."""
        items = self.store.items(
            INDEX_PREFIX, where=self._where(domain, status), reverse=True, limit=limit, offset=offset
        )
        return [JobRow.model_validate(v) for _, v in items]

    def count(self, *, domain: str | None = None, status: JobStatus | str | None = None) -> int:
        return self.store.count(INDEX_PREFIX, where=self._where(domain, status))

    def totals(self) -> dict[str, int]:
        """Jobs per status (every status present, zero included)."""
        counted = self.store.count_by("status", INDEX_PREFIX)
        return {s.value: counted.get(s.value, 0) for s in JobStatus}

    def domains(self) -> builtins.list[str]:
        return sorted(str(d) for d in self.store.count_by("domain", INDEX_PREFIX))

    def latest_complete(
        self, domain: str, options: JobOptions | None = None, max_age: timedelta | None = None
    ) -> JobRow | None:
        """The newest completed job of the domain (and options), if younger than ``max_age``; index rows only."""
        since = index_key(self.clock() - max_age, "", "") if max_age is not None else INDEX_PREFIX
        where = self._where(domain, JobStatus.COMPLETE)
        offset = 0
        while True:  # newest first, a few rows at a time: usually the first one is the answer
            page = self.store.items(INDEX_PREFIX, where=where, reverse=True, limit=_PAGE, offset=offset)
            for key, value in page:
                if key < since:
                    return None
                row = JobRow.model_validate(value)
                if options is None or row.options == options:
                    return row
            if len(page) < _PAGE:
                return None
            offset += _PAGE

    @staticmethod
    def _where(domain: str | None, status: JobStatus | str | None) -> dict[str, str]:
        where = {}
        if domain is not None:
            where["domain"] = domain
        if status is not None:
            where["status"] = JobStatus(status).value
        return where

    # ------------------------------------------------------------------ delete and purge
    def delete(self, domain: str, run_id: str) -> bool:
        """Delete one job (a running one stops at its next write). Returns whether it existed."""
        record = self.load(domain, run_id)
        if record is None:
            return False
        return self.store.delete_many([record_key(domain, run_id), index_key(record.created_at, domain, run_id)]) > 0

    def delete_many(self, jobs: Iterable[tuple[str, str]]) -> int:
        return sum(self.delete(domain, run_id) for domain, run_id in jobs)

    def _purge_keys(self, older_than: timedelta | None, status: JobStatus | str | None) -> builtins.list[str]:
        """Index keys of finished jobs created before ``now - older_than`` and/or with ``status``.

        Keys only, filtered inside the store: no row is decoded here. Without a status, the running
        jobs in the range are read after the range (so a job that ends in between is purged, and one
        still running is not), and only when the store counts any.
        """
        if older_than is None and status is None:
            raise ValueError("purge needs older_than, status or both")
        if status is not None and JobStatus(status) is JobStatus.PROCESSING:
            return []  # running jobs are never purged
        stop = index_key(self.clock() - older_than, "", "") if older_than is not None else None
        keys = self.store.keys(INDEX_PREFIX, stop=stop, where=self._where(None, status))
        if status is None and keys and self.store.count(INDEX_PREFIX, where=_STILL_RUNNING):
            running = set(self.store.keys(INDEX_PREFIX, stop=stop, where=_STILL_RUNNING))
            keys = [key for key in keys if key not in running]
        return keys

    def purgeable(self, *, older_than: timedelta | None = None, status: JobStatus | str | None = None) -> int:
        """How many jobs ``purge`` would remove: finished ones, older than the age and/or of the status."""
        return len(self._purge_keys(older_than, status))

    def purge(self, *, older_than: timedelta | None = None, status: JobStatus | str | None = None) -> int:
        """Delete finished jobs older than ``older_than`` and/or with ``status``; returns how many.

        Running jobs are never purged. The analysis cache is not touched. One range read of keys and
        one delete of the index rows with their records, each row beside its record (a store that deletes
        in batches keeps the two together).
        """
        keys = self._purge_keys(older_than, status)
        self.store.delete_many([name for key in keys for name in (key, _record_key_of(key))])
        return len(keys)
