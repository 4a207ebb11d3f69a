"""Transcript search shared through Redis: the transcripts are kept there, each process's FTS5 index caches them.

With ``ENGAGEMENT_REDIS_URL`` set, ``SharedTranscriptIndex`` stands where ``TranscriptIndex`` stands
(the pipeline and Ask see a ``TranscriptSearch``). Redis holds what the jobs fetched, in the
``transcripts`` table of the Redis store (``RedisKV``, so failures are ``StoreError`` naming it)::

    transcripts:hash:{recording_id}   the transcript's content hash (JSON text, about 70 bytes)
    transcripts:data:{recording_id}   {"zlib": base64 of zlib-compressed Meeting JSON, transcript included}

Both keys of a meeting are written in one transaction, so a hash always names the data beside it.
Redis is the truth; the local index is a cache of it. Before any read for a set of recordings
(``lacking``, ``coverage``, ``search``, ``meeting``, ``version``) the local index is brought in line
with Redis for those recordings: their hashes by ``MGET`` (``RedisKV.get_many``), then the ones missing locally
or with another hash are pulled, ``PULL_CHUNK`` at a time, each chunk added in one local transaction;
the ones Redis no longer holds (cleared elsewhere) are dropped. A worker anywhere therefore skips
Fathom for a transcript any process fetched, and Ask anywhere answers from it. ``add`` writes Redis
first, then the local index; ``clear`` empties both.
"""

from __future__ import annotations

import base64
import binascii
import logging
import zlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from engagement.account.domains import Account
from engagement.analysis.cache import content_hash
from engagement.models import Meeting
from engagement.questions.search import Coverage, Hit, Query, TranscriptIndex

if TYPE_CHECKING:
    from engagement.storage.redis import RedisKV

__all__ = ["TRANSCRIPTS_TABLE", "SharedTranscriptIndex"]

log = logging.getLogger(__name__)

TRANSCRIPTS_TABLE = "transcripts"
HASH, DATA = "hash:", "data:"
PULL_CHUNK = 50  # transcripts per round trip, pulled or written (a few hundred KB)
MAX_MEETING_BYTES = 64 * 2**20  # a stored meeting never inflates past this (a damaged value is refused)


def pack(meeting: Meeting) -> dict[str, str]:
    """The stored form of a meeting with its transcript: compact JSON, zlib-compressed, base64 text."""
    raw = zlib.compress(meeting.model_dump_json().encode(), 6)
    return {"zlib": base64.b64encode(raw).decode("ascii")}


def unpack(recording_id: int, value: Any) -> Meeting | None:
    """The meeting of a stored value; None (logged) when the value is missing or damaged."""
    if value is None:
        return None  # deleted between the hash read and this one
    try:
        inflate = zlib.decompressobj()
        raw = inflate.decompress(base64.b64decode(value["zlib"], validate=True), MAX_MEETING_BYTES)
        if inflate.unconsumed_tail:
            raise ValueError(f"more than {MAX_MEETING_BYTES:,} bytes")
        meeting = Meeting.model_validate_json(raw)
    except (KeyError, TypeError, ValueError, ValidationError, binascii.Error, zlib.error) as exc:
        log.warning("the shared transcript of recording %s cannot be read and was skipped: %s", recording_id, exc)
        return None
    if meeting.recording_id != recording_id or meeting.transcript is None:
        log.warning("the shared transcript of recording %s holds another meeting and was skipped", recording_id)
        return None
    return meeting


class SharedTranscriptIndex:
    """A ``TranscriptSearch`` whose transcripts live in Redis and whose local FTS5 index caches them.

    Thread-safe (both layers are). Every Redis failure raises ``StoreError`` naming the store; the
    local index is changed only by whole transactions, so a failure leaves it consistent.

    Attributes:
        local: this process's ``TranscriptIndex`` (a file per machine: ``ENGAGEMENT_DB``).
        shared: the ``transcripts`` table of the Redis store.
    """

    def __init__(self, local: TranscriptIndex, shared: RedisKV) -> None:
        self.local = local
        self.shared = shared
        self.path = local.path

    # -- the one decision: the local cache follows Redis for the recordings asked about

    def _hashes(self, ids: Sequence[int]) -> dict[int, str]:
        values = self.shared.get_many([f"{HASH}{rid}" for rid in ids])
        return {rid: value for rid, value in zip(ids, values, strict=True) if isinstance(value, str)}

    def _sync(self, recording_ids: Iterable[int]) -> list[int]:
        """Bring the local index in line with Redis for these recordings; returns them (each once, in order)."""
        ids = list(dict.fromkeys(recording_ids))
        if not ids:
            return ids
        held = self.local.held(ids)  # read before Redis: what is held here was in Redis before
        remote = self._hashes(ids)
        gone = [rid for rid in held if rid not in remote]
        if gone:
            self.local.remove(gone)
        stale = [rid for rid, digest in remote.items() if held.get(rid) != digest]
        for start in range(0, len(stale), PULL_CHUNK):
            chunk = stale[start : start + PULL_CHUNK]
            values = self.shared.get_many([f"{DATA}{rid}" for rid in chunk])
            meetings = [m for rid, v in zip(chunk, values, strict=True) if (m := unpack(rid, v)) is not None]
            self.local.add(meetings)
        return ids

    # -- filling

    def add(self, meetings: Iterable[Meeting]) -> int:
        """Share every meeting that has a transcript (Redis first), then index it here; returns how many changed here."""
        todo = [m for m in meetings if m.transcript is not None]
        for start in range(0, len(todo), PULL_CHUNK):
            chunk = todo[start : start + PULL_CHUNK]
            rows: dict[str, Any] = {}
            for meeting in chunk:
                rows[f"{HASH}{meeting.recording_id}"] = content_hash(meeting)
                rows[f"{DATA}{meeting.recording_id}"] = pack(meeting)
            self.shared.set_many(rows)
        return self.local.add(todo) if todo else 0

    def remove(self, recording_ids: Iterable[int]) -> int:
        """Forget these transcripts, in Redis and here; returns how many Redis held."""
        ids = list(dict.fromkeys(recording_ids))
        held = sum(isinstance(v, str) for v in self.shared.get_many([f"{HASH}{rid}" for rid in ids]))
        self.shared.delete_many([f"{prefix}{rid}" for rid in ids for prefix in (HASH, DATA)])
        self.local.remove(ids)
        return held

    def clear(self) -> int:
        """Forget every shared transcript, in Redis and here; returns how many Redis held."""
        keys = self.shared.keys()
        self.shared.delete_many(keys)
        self.local.clear()
        return sum(key.startswith(HASH) for key in keys)

    # -- reading: each brings the recordings it reads up to date first

    def lacking(self, recording_ids: Iterable[int]) -> set[int]:
        return self.local.lacking(self._sync(recording_ids))

    def version(self, recording_ids: Iterable[int]) -> str:
        return self.local.version(self._sync(recording_ids))

    def count(self) -> int:
        """How many transcripts are shared (Redis's count, not this machine's)."""
        return self.shared.count(HASH)

    def coverage(self, recording_ids: Sequence[int]) -> Coverage:
        return self.local.coverage(self._sync(recording_ids))

    def meeting(self, recording_id: int) -> Meeting | None:
        self._sync([recording_id])
        return self.local.meeting(recording_id)

    def search(
        self,
        query: Query,
        recording_ids: Sequence[int],
        domain: str | Account,
        *,
        every_term: bool,
        limit: int | None = None,
    ) -> list[Hit]:
        if query.empty or not recording_ids:
            return []
        ids = self._sync(recording_ids)
        return self.local.search(query, ids, domain, every_term=every_term, limit=limit)

    def close(self) -> None:
        self.local.close()
