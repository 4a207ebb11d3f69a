"""``wait_until()``: the one way a test waits for another thread or process — polling a condition, with a bound.

The bound is against hanging, never a timing claim: a test that needs time to pass moves a fake clock
instead (``tests/test_jobs.py``'s ``Clock``, ``JobService.beat``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

WAIT_S = 60.0  # how long anything may take on a loaded 2-core machine before the test says it hangs


def wait_until(condition: Callable[[], object], what: str, timeout_s: float = WAIT_S, every_s: float = 0.02) -> None:
    """Poll ``condition`` every ``every_s`` until it is true; fail the test naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what} after {timeout_s:g} s")
        time.sleep(every_s)
