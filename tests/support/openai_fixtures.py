"""Fixtures for the OpenAI path: the fake server, a client pointed at it, and analysers built on both.

``tests/conftest.py`` registers this module as a plugin (``pytest_plugins``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from openai import OpenAI

from engagement.analysis.openai_analyzer import OpenAIAnalyzer
from tests.fakes.openai_server import FakeOpenAI

__all__ = ["FAKE_OPENAI_KEY", "openai_server", "openai_client", "make_openai_analyzer"]

FAKE_OPENAI_KEY = "sk-test-2f9c1e7a0b5d4c3e9f8a7b6c"


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAI]:
    """A started fake server that accepts only ``FAKE_OPENAI_KEY``; fails the test if a default answer broke its schema."""
    with FakeOpenAI(api_key=FAKE_OPENAI_KEY) as server:
        yield server
    assert server.errors == [], server.errors


@pytest.fixture
def make_openai_analyzer(openai_server: FakeOpenAI) -> Iterator[Callable[..., OpenAIAnalyzer]]:
    """Build an ``OpenAIAnalyzer`` on the fake: ``make_openai_analyzer(timeout=, max_retries=, api_key=, **analyser kwargs)``."""
    clients: list[OpenAI] = []

    def make(
        *, timeout: float = 5.0, max_retries: int = 0, api_key: str = FAKE_OPENAI_KEY, **kwargs: Any
    ) -> OpenAIAnalyzer:
        client = OpenAI(api_key=api_key, base_url=openai_server.base_url, timeout=timeout, max_retries=max_retries)
        clients.append(client)
        kwargs.setdefault("model", "gpt-4.1-mini")
        return OpenAIAnalyzer(client, **kwargs)

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def openai_client(openai_server: FakeOpenAI) -> Iterator[OpenAI]:
    """An SDK client on the fake (no retries, short time-out)."""
    client = OpenAI(api_key=FAKE_OPENAI_KEY, base_url=openai_server.base_url, timeout=5.0, max_retries=0)
    yield client
    client.close()
