"""Fathom fixtures: the in-process API and the real loopback server, both over a realistic workspace.

``tests/conftest.py`` loads this module as a plugin (``pytest_plugins``). The workspace is ``sample_meetings()``: 23
weekly acmecorp.com meetings mixed with 7 that belong to other companies or to nobody.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engagement.demo.api import FathomAPI
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
