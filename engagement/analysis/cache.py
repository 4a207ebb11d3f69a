"""The analysis cache: one meeting's insights per analyser fingerprint, so a re-run pays only for what is new.

Keys (in the store's ``cache`` table)::

    insights:{recording_id}:{sha256(fingerprint + meeting version)[:16]}   {"content_hash", "insights", ...}
    domain:{domain}                                                         {"recording_ids", "updated_at"}
    account:{domain}:{sha256(fingerprint + inputs)[:16]}                    {"account", "stored_at"}
    qualification:{recording_id}:{sha256(fingerprint + meeting version)[:16]}  {"content_hash", "qualification", ...}

The qualification of a meeting (``engagement.qualification``) is cached like its insights; its
fingerprint holds the qualifier's and the rubric's, so an edited rubric is evaluated again.

A finished recording's transcript does not change, so the meeting version (recording id, creation
time, recording end time) identifies it without fetching the transcript. The stored value also
keeps a hash of the transcript: when one is at hand and differs, the entry is a miss.

The reduce step's answer is cached too, keyed by everything it reads (the fingerprint, the
company, each meeting's insights and the people), so an unchanged account costs no model call.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable

from pydantic import ValidationError

from engagement.models import (
    AccountInsights,
    Meeting,
    MeetingInsights,
    MeetingQualification,
    Person,
    format_utc,
    utcnow,
)
from engagement.storage.sqlite import KVStore

__all__ = ["InsightCache", "content_hash", "meeting_version"]

log = logging.getLogger(__name__)

INSIGHTS_PREFIX = "insights:"
DOMAIN_PREFIX = "domain:"
ACCOUNT_PREFIX = "account:"
QUALIFICATION_PREFIX = "qualification:"


def meeting_version(meeting: Meeting) -> str:
    """What identifies a recording's content without its transcript."""
    end = format_utc(meeting.recording_end_time) if meeting.recording_end_time else ""
    return f"{meeting.recording_id}|{format_utc(meeting.created_at)}|{end}"


def content_hash(meeting: Meeting) -> str | None:
    """SHA-256 of the transcript (speaker, e-mail, timestamp, text of every turn); None without one."""
    if meeting.transcript is None:
        return None
    turns = [[t.speaker, t.email, t.timestamp, t.text] for t in meeting.transcript]
    raw = json.dumps(turns, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


class InsightCache:
    """Meeting insights stored by recording and analyser fingerprint in a ``KVStore`` table."""

    def __init__(self, store: KVStore, *, on_clear: Callable[[], object] | None = None) -> None:
        self.store = store
        self.on_clear = on_clear  # what is cleared with the analyses (the transcript search index)

    @staticmethod
    def key(meeting: Meeting, fingerprint: str) -> str:
        digest = hashlib.sha256((fingerprint + meeting_version(meeting)).encode()).hexdigest()[:16]
        return f"{INSIGHTS_PREFIX}{meeting.recording_id}:{digest}"

    def get(self, meeting: Meeting, fingerprint: str) -> MeetingInsights | None:
        """The cached insights, or None (never stored, another fingerprint, or a changed transcript)."""
        key = self.key(meeting, fingerprint)
        value = self.store.get(key)
        if not isinstance(value, dict):
            return None
        current = content_hash(meeting)
        if current is not None and value.get("content_hash") != current:
            return None
        try:
            insights = MeetingInsights.model_validate(value.get("insights"))
        except ValidationError:
            log.warning("Cached insights under %s do not match the model any more; analysing again.", key)
            return None
        return insights if insights.recording_id == meeting.recording_id else None

    def put(self, meeting: Meeting, fingerprint: str, insights: MeetingInsights) -> None:
        self.store.set(
            self.key(meeting, fingerprint),
            {
                "recording_id": meeting.recording_id,
                "fingerprint": fingerprint,
                "content_hash": content_hash(meeting),
                "stored_at": format_utc(utcnow()),
                "insights": insights.model_dump(mode="json"),
            },
        )

    # -- each meeting's qualification, cached like its insights

    @staticmethod
    def qualification_key(meeting: Meeting, fingerprint: str) -> str:
        digest = hashlib.sha256((fingerprint + meeting_version(meeting)).encode()).hexdigest()[:16]
        return f"{QUALIFICATION_PREFIX}{meeting.recording_id}:{digest}"

    def get_qualification(self, meeting: Meeting, fingerprint: str) -> MeetingQualification | None:
        """The cached qualification of a meeting, or None (never stored, another rubric or analyser, a changed transcript)."""
        value = self.store.get(self.qualification_key(meeting, fingerprint))
        if not isinstance(value, dict):
            return None
        current = content_hash(meeting)
        if current is not None and value.get("content_hash") != current:
            return None
        try:
            found = MeetingQualification.model_validate(value.get("qualification"))
        except ValidationError:
            return None
        return found if found.recording_id == meeting.recording_id else None

    def put_qualification(self, meeting: Meeting, fingerprint: str, found: MeetingQualification) -> None:
        self.store.set(
            self.qualification_key(meeting, fingerprint),
            {
                "recording_id": meeting.recording_id,
                "content_hash": content_hash(meeting),
                "stored_at": format_utc(utcnow()),
                "qualification": found.model_dump(mode="json"),
            },
        )

    # -- the reduce step's answer, keyed by all it reads

    @staticmethod
    def account_key(
        domain: str, fingerprint: str, company: str, insights: Iterable[MeetingInsights], people: Iterable[Person]
    ) -> str:
        inputs = {
            "fingerprint": fingerprint,
            "company": company,
            "insights": [i.model_dump(mode="json") for i in sorted(insights, key=lambda i: i.recording_id)],
            "people": sorted((p.key, p.name, p.side.value) for p in people),
        }
        raw = json.dumps(inputs, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return f"{ACCOUNT_PREFIX}{domain}:{hashlib.sha256(raw.encode()).hexdigest()[:16]}"

    def get_account(self, key: str) -> AccountInsights | None:
        value = self.store.get(key)
        if not isinstance(value, dict):
            return None
        try:
            return AccountInsights.model_validate(value.get("account"))
        except ValidationError:
            return None

    def put_account(self, key: str, account: AccountInsights) -> None:
        self.store.set(key, {"account": account.model_dump(mode="json"), "stored_at": format_utc(utcnow())})

    def count(self) -> int:
        """How many meeting analyses are stored (every fingerprint)."""
        return self.store.count(INSIGHTS_PREFIX)

    def clear(self) -> int:
        """Forget every analysis and every domain (and what ``on_clear`` clears); returns how many analyses went."""
        analyses = self.store.keys(INSIGHTS_PREFIX)
        others = (
            self.store.keys(DOMAIN_PREFIX) + self.store.keys(ACCOUNT_PREFIX) + self.store.keys(QUALIFICATION_PREFIX)
        )
        self.store.delete_many([*analyses, *others])
        if self.on_clear is not None:
            self.on_clear()
        return len(analyses)

    # -- whether a domain has been analysed before (a cold cache versus a warm one)

    def remember_domain(self, domain: str, recording_ids: Iterable[int]) -> None:
        """Record that ``domain``'s meetings were analysed (adds to what was recorded before)."""
        key = f"{DOMAIN_PREFIX}{domain}"
        old = self.store.get(key)
        known = set(old.get("recording_ids", [])) if isinstance(old, dict) else set()
        self.store.set(key, {"recording_ids": sorted(known | set(recording_ids)), "updated_at": format_utc(utcnow())})

    def knows_domain(self, domain: str) -> bool:
        return self.store.get(f"{DOMAIN_PREFIX}{domain}") is not None
