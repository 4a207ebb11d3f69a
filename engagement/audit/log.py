"""The audit log: one entry per action (who, what, on which account, when), appended, never edited.

Entries live in the store's ``audit`` table under ``{ISO time}:{random}`` keys, so a listing newest first is a
reverse range read. There is no call that edits or deletes one entry: ``purge`` removes entries older than a
cut-off, all at once, and records that it did (who, how many, the cut-off) as a new entry. Entries say *that*
something happened to an account; a forget request records that a forget happened, never the name forgotten.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from engagement.models import UTCDateTime, format_utc, utcnow
from engagement.storage.sqlite import KVStore, newest_first

AUDIT_TABLE = "audit"
# What the app records, and the words the admin page shows for each.
ACTIONS = {
    "started": "started a summary",
    "viewed": "viewed a summary",
    "exported": "exported a summary",
    "asked": "asked a question",
    "shared": "shared a question with the team",
    "deleted": "deleted jobs",
    "purged": "purged",
    "cleared": "cleared the analysis cache",
    "forgot": "forgot a customer or person",
    "linked": "linked domains into one account",
    "unlinked": "unlinked domains",
    "signed_in": "signed in",
    "refused": "was refused",
    "webhook_created": "created a Fathom webhook",
    "webhook_deleted": "deleted a Fathom webhook",
    "digest_sent": "sent a digest",
}
MAX_SCAN = 100_000  # one listing reads at most this many entries: every call has a bound
PAGE = 500


class AuditEntry(BaseModel):
    """One action.

    Attributes:
        at: when (UTC).
        actor: who: a verified e-mail with single sign-on, else how they got in (``password``, ``open access``,
            ``command line (user)``), with the browser's id when known.
        action: one of ``ACTIONS``.
        target: the account (domain) or thing acted on; empty when none.
        detail: anything else worth keeping (a run id, a count, an export's format); never a customer's words.
    """

    model_config = ConfigDict(frozen=True)

    at: UTCDateTime
    actor: str
    action: str
    target: str = ""
    detail: str = ""


class AuditLog:
    """Append and read audit entries; ``store`` is the ``audit`` table (SQLite or Redis)."""

    def __init__(self, store: KVStore, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.clock = clock

    def record(self, actor: str, action: str, target: str = "", detail: str = "") -> AuditEntry:
        """Append one entry; an unknown action is a programming error (``ValueError``)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        entry = AuditEntry(at=self.clock(), actor=actor or "unknown", action=action, target=target, detail=detail)
        self.store.set(_key(entry.at), entry.model_dump(mode="json"))
        return entry

    def entries(
        self,
        *,
        actor: str = "",
        action: str = "",
        target: str = "",
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
    ) -> list[AuditEntry]:
        """Entries newest first, those matching every filter given (``actor`` and ``target``: a part of them).

        Read newest first in pages of ``PAGE`` and stopped at ``since``, at ``limit`` matches, or after ``MAX_SCAN``.
        """
        found: list[AuditEntry] = []
        for _, value in newest_first(self.store, stop=_key(until) if until else None, page=PAGE, most=MAX_SCAN):
            entry = AuditEntry.model_validate(value)
            if since and entry.at < since:
                break
            if _matches(entry, actor, action, target):
                found.append(entry)
                if len(found) >= limit:
                    break
        return found

    def purgeable(self, older_than: timedelta) -> int:
        return len(self.store.keys("", stop=_key(self.clock() - older_than)))

    def purge(self, older_than: timedelta, actor: str) -> int:
        """Remove entries older than ``older_than`` and record that (the one way entries ever leave the log)."""
        cutoff = self.clock() - older_than
        removed = self.store.delete_many(self.store.keys("", stop=_key(cutoff)))
        self.record(actor, "purged", "audit log", f"{removed} removed, older than {cutoff:%-d %b %Y %H:%M} UTC")
        return removed

    def count(self) -> int:
        return self.store.count()

    def redact(self, names: list[str], replacement: str) -> int:
        """Replace ``names`` in every entry's account and detail (a forget request: the log keeps that things
        happened, not to whom); returns how many entries changed. Not offered by any page or command."""
        lowered = [n.lower() for n in names if n]
        changed: dict[str, Any] = {}
        for key, value in self.store.items():
            entry = AuditEntry.model_validate(value)
            target, detail = entry.target, entry.detail
            if any(n in target.lower() or n in detail.lower() for n in lowered):
                for name in lowered:
                    target = _replace(target, name, replacement)
                    detail = _replace(detail, name, replacement)
                changed[key] = entry.model_copy(update={"target": target, "detail": detail}).model_dump(mode="json")
        if changed:
            self.store.set_many(changed)
        return len(changed)


def _replace(text: str, name: str, replacement: str) -> str:
    return re.sub(re.escape(name), replacement, text, flags=re.IGNORECASE)


def _matches(entry: AuditEntry, actor: str, action: str, target: str) -> bool:
    return (
        (not action or entry.action == action)
        and (not actor or actor.lower() in entry.actor.lower())
        and (not target or target.lower() in entry.target.lower())
    )


def _key(at: datetime) -> str:
    # Fixed-width UTC time sorts as text; the random tail keeps two entries of one microsecond apart.
    return f"{format_utc(at)}:{uuid.uuid4().hex[:8]}"
