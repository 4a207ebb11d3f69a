"""The process registry: one object per kind and key, made once, forgotten and closed by one reset."""

from __future__ import annotations

from pathlib import Path

from engagement.fathom.ratelimit import InProcessRateLimiter, limiter_for, use_limiter
from engagement.registry import REGISTRY, Registry
from engagement.storage.sqlite import open_store
from tests.support.waits import at_once


class Closable:
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_an_object_is_made_once_per_key_even_when_asked_for_at_once() -> None:
    """Eight threads asking for one key at once get one object; another key gets its own."""
    registry, made = Registry(), []
    got: list[object] = []
    at_once(8, lambda n: got.append(registry.get("thing", "a", lambda: made.append(n) or object())))
    assert len(made) == 1 and len({id(x) for x in got}) == 1
    assert registry.get("thing", "b", object) is not got[0]


def test_reset_closes_and_forgets_everything_held() -> None:
    """reset() closes what it held (once) and the next get makes a new one."""
    registry = Registry()
    first = registry.get("conn", "url", Closable)
    registry.reset()
    assert first.closed == 1 and registry.kinds() == {}
    assert registry.get("conn", "url", Closable) is not first


def test_a_closed_object_forgets_only_itself() -> None:
    """forget(kind, key, value) leaves a newer object under the same key in place."""
    registry = Registry()
    old = registry.get("conn", "url", Closable)
    registry.put("conn", "url", new := Closable())
    registry.forget("conn", "url", old)
    assert registry.find("conn", "url") is new


def test_the_stores_and_limiters_of_a_process_live_in_the_one_registry(tmp_path: Path) -> None:
    """open_store and the rate limiter are the registry's: one per file, and a reset starts afresh."""
    store = open_store(tmp_path / "a.sqlite")
    assert open_store(tmp_path / "a.sqlite") is store
    use_limiter(mine := InProcessRateLimiter())
    assert limiter_for() is mine and REGISTRY.kinds() == {"sqlite store": 1, "rate limiter": 1}
    REGISTRY.reset()
    assert limiter_for() is not mine
    assert open_store(tmp_path / "a.sqlite") is not store
