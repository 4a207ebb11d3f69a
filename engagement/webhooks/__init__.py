"""Fathom webhooks: the signature check, the receiver, what a delivery changes, and the webhooks registered."""

from __future__ import annotations

from engagement.webhooks.signature import SignatureError, Verifier
from engagement.webhooks.store import Delivery, WebhookStore

__all__ = ["Delivery", "SignatureError", "Verifier", "WebhookStore"]
