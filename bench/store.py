"""Store: get and set of a realistic job record (a complete summary), p50/p99."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from bench.measure import Result, latency, time_calls
from engagement.storage.sqlite import SqliteKV
from tests.support.summary_factory import make_record


def run(runs: int = 2000) -> list[Result]:
    record = make_record().to_json()
    size_kb = len(json.dumps(record)) / 1024
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteKV(Path(tmp) / "bench.sqlite")
        keys = [f"engagement:acmecorp.com:{i:06d}" for i in range(runs + 20)]
        sets = time_calls(lambda i: store.set(keys[i], record), runs)
        gets = time_calls(lambda i: store.get(keys[i]), runs)
        store.close()
    note = f"record of {size_kb:.1f} KB JSON; seed KV: get 5–15 ms, set 10–20 ms"
    return [
        latency("Store", "get a complete job record", gets, 0.5, note),
        latency("Store", "set a complete job record", sets, 1.0, note),
    ]
