"""Shared fixtures: a clean environment for every test and a store in tmp_path; more come from tests/support/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engagement.registry import REGISTRY
from engagement.storage.sqlite import SqliteKV
from tests.fakes.fathom_server import ACCOUNT_START

# Settings the app reads; each test starts without any of them (httpx's clean_environ habit).
_APP_VARS = (
    "FATHOM_",
    "OPENAI_",
    "ENGAGEMENT_",
    "APP_PASSWORD",
    "ADMIN_PASSWORD",
    "APP_BASE_URL",
    "DIGEST_",
    "SMTP_",
    "QUALIFICATION_",
)

pytest_plugins = ["tests.support.fathom_fixtures", "tests.support.openai_fixtures", "tests.support.redis_fixtures"]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` by our own reading of the ``xdist_group`` marks (see tests/support/xdist_groups.py)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from tests.support.xdist_groups import GroupScheduling

    return GroupScheduling(config, log)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Every test runs with none of the app's settings, and its database in its own tmp_path."""
    for name in list(os.environ):
        if name.startswith(_APP_VARS):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ENGAGEMENT_DB", str(tmp_path / "engagement.sqlite"))
    REGISTRY.reset()  # a fresh process: no store, index or rate-limit budget left by an earlier test
    monkeypatch.setenv("ENGAGEMENT_SYNC_EVERY_S", "0")  # no background sync unless a test turns it on
    # The fakes' meetings are dated 2025: a full pass of the meeting index begins then, so its newest window holds
    # them and a pass costs its pages and one request more (for older meetings: none). Tests of the windows set
    # their index's own clock.
    monkeypatch.setattr("engagement.meetings.index.pass_clock", lambda: ACCOUNT_START)
    yield
    REGISTRY.reset()  # and what this test opened is closed (connections, threads), not left to the next


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteKV]:
    kv = SqliteKV(tmp_path / "kv.sqlite")
    yield kv
    kv.close()
