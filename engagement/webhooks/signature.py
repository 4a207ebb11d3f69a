"""The Standard Webhooks signature Fathom signs each delivery with, checked by the ``standardwebhooks`` library.

Fathom's docs (``shared/reference/fathom-webhooks.md``): headers ``webhook-id``, ``webhook-timestamp``
(seconds) and ``webhook-signature`` (``v1,<base64>``, possibly several separated by spaces); the key is the
base64 after ``whsec_``; the signed content is ``"{id}.{timestamp}.{raw body}"``; a delivery is authentic when
any ``v1`` signature matches (constant-time), and a timestamp more than 5 minutes from now is refused.
Fathom's own SDK checks it with Svix's library; ``standardwebhooks`` is the same scheme's reference library.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable, Mapping

from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook, WebhookVerificationError

from engagement.errors import EngagementError, SettingsError

__all__ = ["HEADERS", "SignatureError", "Verifier"]

HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


class SignatureError(EngagementError):
    """A delivery that is not authentic (or not fresh): no header, no matching signature, a timestamp off."""


class Verifier:
    """Checks deliveries against one or more secrets (``FATHOM_WEBHOOK_SECRET`` and the webhooks registered here).

    A secret that is not ``whsec_`` + base64 is refused when the verifier is built (``SettingsError``),
    never at the first delivery.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        self._hooks: list[Webhook] = []
        for secret in dict.fromkeys(s.strip() for s in secrets if s and s.strip()):
            try:
                self._hooks.append(Webhook(secret))
            except (binascii.Error, ValueError, EmptyWebhookSecretError):
                raise SettingsError(
                    "A webhook secret is not of the form whsec_<base64> (FATHOM_WEBHOOK_SECRET, or a webhook "
                    "registered here). Copy it again from the answer Fathom gave when the webhook was created."
                ) from None

    def __len__(self) -> int:
        return len(self._hooks)

    def verify(self, body: bytes, headers: Mapping[str, str]) -> str:
        """The delivery's ``webhook-id`` when ``body`` and ``headers`` are authentic and fresh; else ``SignatureError``."""
        lowered = {k.lower(): v for k, v in headers.items()}
        missing = [name for name in HEADERS if not lowered.get(name)]
        if missing:
            raise SignatureError(f"the delivery has no {', '.join(missing)} header")
        problem = "no secret is configured"
        for hook in self._hooks:
            try:
                hook.verify(body, lowered, json_parse=False)
            except WebhookVerificationError as exc:
                problem = str(exc) or "no matching signature"
                if "timestamp" in problem.lower() or "header" in problem.lower():
                    break  # the same for every secret
                continue
            return lowered["webhook-id"]
        raise SignatureError(f"the delivery was refused: {problem.lower()}")
