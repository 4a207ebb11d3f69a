"""Bounded waits, the only ways a test waits: for a condition (``wait_until``), a call (``bounded``), racing threads (``at_once``).

Each bound is against hanging, never a timing claim: a test that needs time to pass moves a fake clock
instead (``tests/test_jobs.py``'s ``Clock``, ``JobService.beat``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

WAIT_S = 60.0  # how long anything may take on a loaded 2-core machine before the test says it hangs


def wait_until(condition: Callable[[], object], what: str, timeout_s: float = WAIT_S, every_s: float = 0.02) -> None:
    """Poll ``condition`` every ``every_s`` until it is true; fail the test naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what} after {timeout_s:g} s")
        time.sleep(every_s)


def bounded(fn: Callable[[], Any], seconds: float = 60) -> Any:
    """Run ``fn`` in a thread and return (or raise) what it does; fail the test if it never returns."""
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            out["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"still running after {seconds} s: the call hangs")
    if "error" in out:
        raise out["error"]
    return out.get("value")


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
