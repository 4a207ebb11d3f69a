"""Webhooks created, listed and deleted through Fathom's API (``POST /webhooks``, ``DELETE /webhooks/{id}``).

Fathom's API has no listing of webhooks, so the list is ours: each webhook created here is kept in the store
with its secret (the receiver checks deliveries against it), and ``list`` reads them back, never the secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from engagement.errors import FathomNotFoundError, SettingsError
from engagement.fathom.client import WEBHOOK_TRIGGERS, FathomClient
from engagement.webhooks.store import WebhookStore

__all__ = ["check_url", "create", "delete", "shown"]


def check_url(url: str) -> str:
    """The destination as Fathom needs it: an absolute http(s) URL (Fathom must reach it: https in production)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(
            f"{url!r} is not a web address Fathom can send to; give the receiver's public URL, such as "
            "https://engagement.example.com/webhooks/fathom."
        )
    return url.strip()


def create(
    client: FathomClient, store: WebhookStore, url: str, triggers: Sequence[str] = WEBHOOK_TRIGGERS
) -> dict[str, Any]:
    """Create the webhook in Fathom (transcript, summary and action items included) and keep it, secret and all."""
    unknown = sorted(set(triggers) - set(WEBHOOK_TRIGGERS))
    if unknown or not triggers:
        raise SettingsError(
            f"Triggers must be among {', '.join(WEBHOOK_TRIGGERS)} (not {', '.join(unknown) or 'none'})."
        )
    hook = client.create_webhook(check_url(url), triggered_for=list(dict.fromkeys(triggers)))
    kept = hook.model_dump()
    store.save_hook(kept)
    return kept


def delete(client: FathomClient, store: WebhookStore, hook_id: str) -> bool:
    """Delete the webhook in Fathom and here; False when Fathom had none by that id (it is forgotten here too)."""
    try:
        client.delete_webhook(hook_id)
    except FathomNotFoundError:
        store.delete_hook(hook_id)
        return False
    store.delete_hook(hook_id)
    return True


def shown(hook: dict[str, Any]) -> dict[str, Any]:
    """A kept webhook without its secret (for ``list``)."""
    return {k: v for k, v in hook.items() if k != "secret"}
