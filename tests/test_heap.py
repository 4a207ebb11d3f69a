"""The heap is frozen once per process, after the first page run, without keeping what was already garbage."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui import heap
from ui.heap import settle_heap
from ui.runtime import clear_runtimes

APP = Path(__file__).resolve().parent.parent / "streamlit_app.py"


class Node:
    """An object that can sit in a reference cycle and be watched through a weak reference."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def unfrozen(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test starts with nothing frozen; the process's frozen state is put back after it."""
    was_frozen = gc.get_freeze_count() > 0
    gc.unfreeze()
    monkeypatch.setattr(heap, "_settled", threading.Event())
    yield
    gc.unfreeze()
    if was_frozen:
        gc.freeze()


def test_settle_heap_freezes_what_lives_and_collects_garbage_first(unfrozen: None) -> None:
    """The first call freezes the live objects and frees cycles already unreachable; a second call does nothing."""
    live, dead = Node(), Node()
    dead_ref = weakref.ref(dead)
    del dead  # a cycle: only a collection frees it
    assert settle_heap() is True
    assert dead_ref() is None
    assert gc.get_freeze_count() > 0
    assert live.me is live  # kept, and now frozen
    frozen = gc.get_freeze_count()
    Node()  # more objects, made after the freeze, stay the collector's
    assert settle_heap() is False
    # nothing frozen again (a frozen object freed meanwhile, by another thread of this process, may lower the count)
    assert gc.get_freeze_count() <= frozen


def test_a_settled_heap_costs_a_page_run_nothing(unfrozen: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once frozen, a call asks the collector nothing: counting the frozen objects walks all of them (ms a run)."""
    assert settle_heap() is True

    def walked(*args: object) -> int:
        raise AssertionError("the collector was asked again")

    with monkeypatch.context() as patched:
        for name in ("get_freeze_count", "collect", "freeze"):
            patched.setattr(heap.gc, name, walked)
        assert settle_heap() is False


def test_the_app_freezes_the_heap_after_its_first_page_run(unfrozen: None) -> None:
    """A page run through the entry script leaves the process's heap frozen (polls then skip those objects)."""
    clear_runtimes()
    try:
        at = AppTest.from_file(str(APP), default_timeout=30).run()
        assert not at.exception
        assert gc.get_freeze_count() > 0
    finally:
        clear_runtimes()
