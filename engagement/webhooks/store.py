"""What the webhooks keep in the store: the webhooks registered here, each delivery received, accounts changed.

One table of the job store (``webhooks``: the sqlitedict file, or Redis), so every process of a deployment
sees the same::

    hook:{id}                       a webhook created through ``webhooks register`` (Fathom's ``Webhook``: its secret too)
    delivery:{webhook-id}           one delivery: queued | done | error, when, which recording, why it failed
    changed:{at}:{domain}:{rid}     an account a delivery touched (``at`` ISO 8601 UTC, so keys sort by time)

A delivery's key is claimed with a conditional write (``require={key: None}``): of two deliveries with the
same ``webhook-id`` — Fathom re-sends a message with the same id — exactly one is processed, across processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from engagement.models import format_utc, utcnow
from engagement.storage.sqlite import KVStore

__all__ = ["WEBHOOKS_TABLE", "Change", "Delivery", "WebhookStore"]

WEBHOOKS_TABLE = "webhooks"
KEEP_DELIVERIES = timedelta(days=30)  # Fathom re-sends a failed message for hours, not weeks
KEEP_CHANGES = timedelta(days=90)  # a digest reads at most a quarter back
MAX_ID_CHARS = 200  # Fathom's ids look like msg_2x2zwLOcWaRTzsLK8KtbQt1FTk9; a longer one is refused


@dataclass(frozen=True)
class Delivery:
    """One delivery as stored.

    Attributes:
        webhook_id: the ``webhook-id`` header (the same on a re-delivery).
        status: ``queued`` (accepted, not yet applied), ``done`` or ``error``.
        received_at: when it was accepted (ISO 8601 UTC).
        recording_id: the meeting it carried.
        error: why applying it failed (``error`` only).
    """

    webhook_id: str
    status: str
    received_at: str
    recording_id: int | None
    error: str | None = None


@dataclass(frozen=True)
class Change:
    """An account a delivered meeting touched. Attributes: at (ISO 8601 UTC), domain, recording_id."""

    at: str
    domain: str
    recording_id: int


class WebhookStore:
    """The ``webhooks`` table: registered webhooks, deliveries and account changes. Every call is a store call
    (bounded; ``StoreError`` on failure)."""

    def __init__(self, table: KVStore) -> None:
        self._t = table

    # ------------------------------------------------------------ registered webhooks

    def save_hook(self, hook: dict[str, Any]) -> None:
        self._t.set(f"hook:{hook['id']}", hook)

    def hooks(self) -> list[dict[str, Any]]:
        return [value for _, value in self._t.items("hook:")]

    def delete_hook(self, hook_id: str) -> bool:
        return self._t.delete(f"hook:{hook_id}")

    def secrets(self) -> list[str]:
        """The secrets of every webhook registered here."""
        return [str(hook["secret"]) for hook in self.hooks() if hook.get("secret")]

    # ------------------------------------------------------------ deliveries

    def claim(self, webhook_id: str, recording_id: int | None, *, now: datetime | None = None) -> bool:
        """Record a delivery as ``queued``; False when one with this ``webhook-id`` was received before."""
        value = {"status": "queued", "received_at": format_utc(now or utcnow()), "recording_id": recording_id}
        key = f"delivery:{webhook_id}"
        return self._t.set_many({key: value}, require={key: None})

    def release(self, webhook_id: str) -> None:
        """Forget a claimed delivery that was refused after all (busy): Fathom's retry is processed."""
        self._t.delete(f"delivery:{webhook_id}")

    def finish(self, webhook_id: str, *, error: str | None = None) -> None:
        key = f"delivery:{webhook_id}"
        value = dict(self._t.get(key) or {})
        value.update(status="error" if error else "done", error=error, ended_at=format_utc(utcnow()))
        self._t.set(key, value)

    def delivery(self, webhook_id: str) -> Delivery | None:
        value = self._t.get(f"delivery:{webhook_id}")
        if not isinstance(value, dict):
            return None
        return Delivery(
            webhook_id=webhook_id,
            status=str(value.get("status")),
            received_at=str(value.get("received_at")),
            recording_id=value.get("recording_id"),
            error=value.get("error"),
        )

    def failed(self, limit: int = 20) -> list[Delivery]:
        """The latest deliveries that could not be applied (the admin page)."""
        out = []
        for key, _ in self._t.items("delivery:", where={"status": "error"}):
            found = self.delivery(key.removeprefix("delivery:"))
            if found is not None:
                out.append(found)
        return sorted(out, key=lambda d: d.received_at, reverse=True)[:limit]

    # ------------------------------------------------------------ accounts changed

    def mark_changed(self, domains: set[str], recording_id: int, *, now: datetime | None = None) -> None:
        at = format_utc(now or utcnow())
        self._t.set_many(
            {
                f"changed:{at}:{domain}:{recording_id}": {"at": at, "domain": domain, "recording_id": recording_id}
                for domain in sorted(domains)
            }
        )

    def changes(self, since: datetime | None = None) -> list[Change]:
        """Accounts changed by deliveries, oldest first (``since``: from that moment on)."""
        start = f"changed:{format_utc(since)}" if since is not None else ""
        return [
            Change(at=str(v["at"]), domain=str(v["domain"]), recording_id=int(v["recording_id"]))
            for k, v in self._t.items("changed:")
            if k >= start and isinstance(v, dict)
        ]

    def prune(self, *, now: datetime | None = None) -> int:
        """Forget deliveries older than :data:`KEEP_DELIVERIES` and changes older than :data:`KEEP_CHANGES`; returns
        how many rows went. Reads every delivery's value once (the processor calls it at most once a day)."""
        now = now or utcnow()
        old_changes = self._t.keys("changed:", stop=f"changed:{format_utc(now - KEEP_CHANGES)}")
        cutoff = format_utc(now - KEEP_DELIVERIES)
        old_deliveries = [
            key
            for key, value in self._t.items("delivery:")
            if isinstance(value, dict) and str(value.get("received_at", "")) < cutoff
        ]
        return self._t.delete_many([*old_changes, *old_deliveries])

    def last_change(self) -> str | None:
        """When a delivery last changed an account (the Accounts page refreshes when it moves)."""
        rows = self._t.items("changed:", reverse=True, limit=1)
        return str(rows[0][1].get("at")) if rows else None
