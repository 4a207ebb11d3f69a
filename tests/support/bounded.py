"""``bounded()``: run a call in a thread and fail the test, rather than hang, if it never returns."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest


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
