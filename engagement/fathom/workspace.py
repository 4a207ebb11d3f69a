"""Which Fathom a process talks to: the demo key and address in demo mode, and the workspace id (a hash of the
key and address, never the key) that names the meeting index's rows."""

from __future__ import annotations

import dataclasses

from engagement.fathom.ratelimit import key_id
from engagement.settings import Settings

DEMO_API_KEY = "demo"
DEMO_BASE_URL = "https://fathom.demo.invalid/external/v1"  # never resolved: the transport is in-process


def fathom_settings(settings: Settings) -> Settings:
    """The settings the Fathom client uses: the demo key and address in demo mode."""
    if settings.source == "demo":
        return dataclasses.replace(settings, fathom_api_key=DEMO_API_KEY, fathom_base_url=DEMO_BASE_URL)
    return settings


def workspace_of(settings: Settings) -> str:
    """``FathomClient.workspace`` for these settings, without building a client (no TLS set-up)."""
    effective = fathom_settings(settings)
    return key_id(effective.fathom_api_key.strip(), effective.fathom_base_url.rstrip("/"))
