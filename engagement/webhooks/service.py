"""The receiver wired to a ``Runtime``: its store's ``webhooks`` table, its meeting index and search, the secrets."""

from __future__ import annotations

from engagement.errors import SettingsError
from engagement.runtime import Runtime, workspace_of
from engagement.webhooks.processing import DeliveryProcessor
from engagement.webhooks.receiver import WebhookReceiver
from engagement.webhooks.signature import Verifier
from engagement.webhooks.store import WEBHOOKS_TABLE, WebhookStore

__all__ = ["build_receiver", "webhook_store"]


def webhook_store(runtime: Runtime) -> WebhookStore:
    """The ``webhooks`` table of the runtime's store (the file, or Redis)."""
    return WebhookStore(runtime.store.table(WEBHOOKS_TABLE))


def build_receiver(runtime: Runtime) -> WebhookReceiver:
    """A receiver that checks deliveries against ``FATHOM_WEBHOOK_SECRET`` and every webhook registered here, and
    applies them to the runtime's meeting index (the configured workspace) and search. ``SettingsError`` without
    any secret."""
    store = webhook_store(runtime)
    verifier = Verifier([runtime.settings.fathom_webhook_secret, *store.secrets()])
    if not len(verifier):
        raise SettingsError(
            "No webhook secret: set FATHOM_WEBHOOK_SECRET to the whsec_… secret of the webhook, or create one with "
            "`python -m engagement webhooks register URL`."
        )
    processor = DeliveryProcessor(
        index=runtime.index, workspace=workspace_of(runtime.settings), search=runtime.search, store=store
    )
    return WebhookReceiver(verifier, store, processor)
