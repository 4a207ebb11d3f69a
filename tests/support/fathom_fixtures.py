"""Fathom fixtures: the in-process API and the real loopback server, both over a realistic workspace.

``tests/conftest.py`` loads this module as a plugin (``pytest_plugins``). The workspace is ``sample_meetings()``: 23
weekly acmecorp.com meetings mixed with 7 that belong to other companies or to nobody. ``settings_for()`` gives
the app's settings against a fake server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engagement.fathom.demo import FathomAPI
from engagement.settings import Settings
from tests.fakes.fathom_server import BASE_PATH, FAKE_API_KEY, FathomServer, sample_meetings


@pytest.fixture
def fathom_api() -> FathomAPI:
    """An in-process Fathom API (key ``FAKE_API_KEY``) for ``httpx.MockTransport(fathom_api)``."""
    return FathomAPI(sample_meetings(), api_key=FAKE_API_KEY, base_path=BASE_PATH)


@pytest.fixture
def fathom_server() -> Iterator[FathomServer]:
    """A Fathom API on 127.0.0.1 (key ``FAKE_API_KEY``), stopped after the test."""
    with FathomServer(sample_meetings(), api_key=FAKE_API_KEY) as server:
        yield server


def settings_for(server: FathomServer, tmp_path: Path, **env: str) -> Settings:
    """The app's settings against the fake ``server`` (its key and address), the store a file in ``tmp_path``,
    retries backing off 10 ms; ``env`` adds or replaces settings."""
    return Settings.from_env(
        {
            "FATHOM_API_KEY": FAKE_API_KEY,
            "FATHOM_BASE_URL": server.base_url,
            "ENGAGEMENT_DB": str(tmp_path / "engagement.sqlite"),
            "FATHOM_BACKOFF_S": "0.01",
            **env,
        }
    )
