"""Timing helpers and the result row every benchmark returns."""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Result:
    """One line of the table.

    Attributes:
        name: what was measured.
        value: the headline figure (p50 for latencies), in ``unit``.
        p99: the 99th percentile when the figure is a distribution.
        goal: the goal as text (``≤ 0.5 ms``); ``met`` is whether ``value`` reaches it.
        note: the cause of a miss, or context.
    """

    group: str
    name: str
    value: float
    unit: str
    goal: str = ""
    met: bool | None = None
    p99: float | None = None
    runs: int = 1
    note: str = ""


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def time_calls(fn: Callable[[int], object], runs: int, warmup: int = 20) -> list[float]:
    """Milliseconds of each call of ``fn(i)``."""
    for i in range(warmup):
        fn(i)
    samples = []
    for i in range(runs):
        began = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def latency(group: str, name: str, samples_ms: list[float], goal_ms: float | None = None, note: str = "") -> Result:
    p50 = statistics.median(samples_ms)
    return Result(
        group=group,
        name=name,
        value=p50,
        unit="ms",
        p99=percentile(samples_ms, 0.99),
        runs=len(samples_ms),
        goal=f"p50 ≤ {goal_ms:g} ms" if goal_ms is not None else "",
        met=None if goal_ms is None else p50 <= goal_ms,
        note=note,
    )


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        mem = f", {pages / 2**30:.0f} GiB RAM"
    except (ValueError, OSError):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{mem}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )
