"""The receiver wired to a ``Runtime``: its store's ``webhooks`` table, its meeting index and search, the secrets."""

from __future__ import annotations

from typing import Protocol

from engagement.errors import SettingsError
from engagement.fathom.workspace import workspace_of
from engagement.meetings.index import MeetingIndex
from engagement.questions.search import TranscriptSearch
from engagement.settings import Settings
from engagement.storage.redis import RedisKV
from engagement.storage.sqlite import SqliteKV
from engagement.webhooks.processing import DeliveryProcessor
from engagement.webhooks.receiver import WebhookReceiver
from engagement.webhooks.signature import Verifier
from engagement.webhooks.store import WEBHOOKS_TABLE, WebhookStore

__all__ = ["build_receiver", "webhook_store"]


class Runtime(Protocol):
    """What the receiver writes to: ``engagement.runtime.Runtime`` is one (a protocol, so this package imports
    nothing above it: ``tests/test_layout.py``)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> SqliteKV | RedisKV: ...
    @property
    def index(self) -> MeetingIndex: ...
    @property
    def search(self) -> TranscriptSearch | None: ...


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
