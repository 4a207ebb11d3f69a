"""Exports leave Streamlit's media store on their own: two sweeps after each build, whatever the traffic."""

from __future__ import annotations

import threading

from ui.media import expiring, schedule_sweeps


class FakeStore:
    """Counts sweeps; the second one sets ``done``."""

    def __init__(self) -> None:
        self.sweeps = 0
        self.done = threading.Event()

    def remove_orphaned_files(self) -> None:
        self.sweeps += 1
        if self.sweeps == 2:
            self.done.set()


def test_each_build_is_followed_by_two_sweeps() -> None:
    """The first sweep marks an orphaned download, the second deletes it: both come without any rerun."""
    store = FakeStore()
    schedule_sweeps(store, ttl_s=0.02)
    assert store.done.wait(timeout=10)
    assert store.sweeps == 2


def test_a_failing_sweep_still_lets_the_second_one_run() -> None:
    """A sweep that raises is logged, and the one after it still runs."""
    store = FakeStore()
    calls = 0

    def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("store busy")
        store.done.set()

    store.remove_orphaned_files = flaky  # type: ignore[method-assign]
    schedule_sweeps(store, ttl_s=0.02)
    assert store.done.wait(timeout=10)


def test_expiring_returns_the_build_unchanged_outside_a_server() -> None:
    """Outside ``streamlit run`` (no media store) the export is built as it is, and nothing is scheduled."""
    assert expiring(lambda: "# report")() == "# report"
