"""``at_once()``: run the same call in several threads released together, and wait for all of them."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest


def at_once(count: int, fn: Callable[[int], object], seconds: float = 60) -> None:
    """Call ``fn(0)`` … ``fn(count - 1)``, each in its own thread, all released by one barrier so they race;
    return when every one has returned. Fail the test if one is still running after ``seconds``."""
    barrier = threading.Barrier(count)

    def run(n: int) -> None:
        barrier.wait()
        fn(n)

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds)
        if thread.is_alive():
            pytest.fail(f"a thread still runs after {seconds} s")
