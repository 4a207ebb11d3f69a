"""The bundled demo accounts, in Fathom's own JSON, served to the real client through an in-process API.

Demo mode is ``FathomClient.from_settings(settings, transport=demo_transport())`` with the key
:data:`DEMO_API_KEY`: the same client code, retries and schema checks as production, no network.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib import resources
from typing import Any

import httpx

from engagement.fathom.demo import FathomAPI
from engagement.fathom.workspace import DEMO_API_KEY

# The demo API throttles like Fathom (RateLimit-* headers, 429 past the limit) but ten times as
# generously as Fathom's 60 a minute, so a presenter never waits.
DEMO_RATE_LIMIT = (600, 60.0)

# (domain, company name) of every bundled account, in the order the UI offers them.
DEMO_ACCOUNTS: list[tuple[str, str]] = [
    ("acmecorp.com", "Acme Corp"),
    ("brightwater.co.uk", "Brightwater Utilities"),
    ("globex.io", "Globex"),
]


@lru_cache(maxsize=1)
def _demo_meetings() -> tuple[dict[str, Any], ...]:
    data = resources.files(__package__).joinpath("data")
    if not data.is_dir():
        return ()
    meetings: list[dict[str, Any]] = []
    for entry in sorted(data.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json") and entry.is_file():
            try:
                meetings.extend(json.loads(entry.read_text(encoding="utf-8"))["meetings"])
            except (ValueError, KeyError, TypeError) as exc:
                raise RuntimeError(f"demo data file {entry.name} is not {{'meetings': [...]}}: {exc}") from exc
    return tuple(meetings)


def load_demo_meetings() -> list[dict[str, Any]]:
    """Every meeting of every bundled account, as Fathom Meeting objects (a fresh copy each call)."""
    return copy.deepcopy(list(_demo_meetings()))


def demo_transport(latency_s: float = 0.0) -> httpx.MockTransport:
    """An httpx transport that answers like Fathom from the demo data; any non-empty key is accepted.

    ``transport.handler`` is the :class:`FathomAPI` itself, so its ``calls`` can be read.
    """
    api = FathomAPI(_demo_meetings(), api_key=None, base_path=None, latency_s=latency_s, rate_limit=DEMO_RATE_LIMIT)
    return httpx.MockTransport(api)


__all__ = ["DEMO_ACCOUNTS", "DEMO_API_KEY", "FathomAPI", "demo_transport", "load_demo_meetings"]
