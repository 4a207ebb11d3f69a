"""Exports built on click and gone from Streamlit's media store within ``EXPORT_TTL_S``.

What Streamlit 1.67 keeps (measured, see docs/DESIGN.md "Exports"): a download button whose ``data`` is
a callable stores nothing until it is clicked. On the click the callable runs and its bytes go to the
in-memory media store under ``/media/<128-bit fingerprint of content, type and name>.<ext>``, a URL that route
serves to anyone, session or not. The file belongs to no session, so the store deletes it on the
second orphan sweep after it was built; sweeps run only when some script run ends or some session
shuts down, so on an idle server the file stayed there for as long as the process lived.

So each build here also schedules two sweeps of its own, ``EXPORT_TTL_S / 2`` apart: whatever the
traffic, an export's URL answers 404 at most ``EXPORT_TTL_S`` after it was built. The browser fetches
it at once (the sweep never cuts a response short: the route holds the bytes it is sending).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol, TypeVar

from streamlit import runtime

log = logging.getLogger(__name__)

EXPORT_TTL_S = 10.0


class Sweeper(Protocol):
    def remove_orphaned_files(self) -> None: ...


def _media_store() -> Sweeper | None:
    return runtime.get_instance().media_file_mgr if runtime.exists() else None


def schedule_sweeps(store: Sweeper, ttl_s: float = EXPORT_TTL_S) -> None:
    """Sweep ``store`` at ``ttl_s / 2`` (marks orphaned downloads) and at ``ttl_s`` (deletes them)."""

    def sweep(then: Callable[[], None] | None) -> None:
        try:
            store.remove_orphaned_files()
        except Exception:  # noqa: BLE001 - a sweep that fails must not take a timer thread's error anywhere
            log.exception("sweeping the media store failed")
        if then is not None:
            then()

    def second() -> None:
        _start(ttl_s / 2, lambda: sweep(None))

    _start(ttl_s / 2, lambda: sweep(second))


def _start(delay_s: float, action: Callable[[], None]) -> None:
    timer = threading.Timer(delay_s, action)
    timer.daemon = True
    timer.name = "engagement-export-sweep"
    timer.start()


Data = TypeVar("Data", bound=str | bytes)


def expiring(build: Callable[[], Data]) -> Callable[[], Data]:
    """``build`` for ``st.download_button(data=...)``: run on click, its file swept within ``EXPORT_TTL_S``."""

    def built() -> Data:
        data = build()
        store = _media_store()
        if store is not None:
            schedule_sweeps(store)
        return data

    return built
