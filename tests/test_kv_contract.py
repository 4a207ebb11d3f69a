"""The KVStore contract, run against both backends: SqliteKV (embedded) and RedisKV (several machines)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from engagement.store import KVStore


def test_values_round_trip_as_json(kv: KVStore) -> None:
    """A nested JSON value comes back equal; a missing key is None."""
    value = {"status": "complete", "summary": {"themes": [{"topic": "SSO", "mentions": 3}]}, "n": 1.5, "ok": True}
    kv.set("engagement:acmecorp.com:1", value)
    assert kv.get("engagement:acmecorp.com:1") == value
    assert kv.get("engagement:acmecorp.com:2") is None


def test_items_scan_by_prefix_in_key_order(kv: KVStore) -> None:
    """items(prefix) returns only keys under the prefix, sorted, reversible, with limit, offset and stop."""
    for key in [
        "engagement:a.com:2",
        "engagement:a.com:1",
        "engagement:ab.com:1",
        "engagement:b.com:1",
        "other:a.com:1",
    ]:
        kv.set(key, key)
    assert [k for k, _ in kv.items("engagement:a.com:")] == ["engagement:a.com:1", "engagement:a.com:2"]
    assert [v for _, v in kv.items("engagement:a.com:")] == ["engagement:a.com:1", "engagement:a.com:2"]
    assert [k for k, _ in kv.items("engagement:", reverse=True, limit=2)] == [
        "engagement:b.com:1",
        "engagement:ab.com:1",
    ]
    assert [k for k, _ in kv.items("engagement:", limit=1, offset=1)] == ["engagement:a.com:2"]
    assert [k for k, _ in kv.items("engagement:", stop="engagement:ab")] == ["engagement:a.com:1", "engagement:a.com:2"]
    assert kv.keys("engagement:a") == ["engagement:a.com:1", "engagement:a.com:2", "engagement:ab.com:1"]
    assert kv.count("engagement:") == 4
    assert kv.count() == 5


def test_delete_and_delete_many_report_what_existed(kv: KVStore) -> None:
    """delete returns whether the key existed; delete_many counts the keys that were there."""
    kv.set_many({"k1": 1, "k2": 2, "k3": 3})
    assert kv.delete("k1") is True
    assert kv.delete("k1") is False
    assert kv.delete_many(["k2", "k3", "missing"]) == 2
    assert kv.count() == 0
    assert kv.items() == []


def test_set_many_writes_and_deletes_in_one_call(kv: KVStore) -> None:
    """set_many can replace keys and remove others at once."""
    kv.set_many({"a": 1, "b": 2})
    kv.set_many({"a": 10, "c": 3}, delete=["b"])
    assert dict(kv.items()) == {"a": 10, "c": 3}


def test_set_many_if_writes_only_when_the_expected_values_hold(kv: KVStore) -> None:
    """A conditional write happens when every expected key is absent or equal, and not otherwise."""
    assert kv.set_many_if({"claim": None}, {"claim": "run-1", "record": {"n": 1}}) is True
    assert kv.set_many_if({"claim": None}, {"claim": "run-2", "record": {"n": 2}}) is False
    assert (kv.get("claim"), kv.get("record")) == ("run-1", {"n": 1})
    assert kv.set_many_if({"claim": "run-2"}, {"claim": "run-3"}) is False
    assert kv.set_many_if({"claim": "run-1"}, {"record": {"n": 3}}, delete=["claim"]) is True
    assert (kv.get("claim"), kv.get("record")) == (None, {"n": 3})
    assert kv.keys() == ["record"]


def test_only_one_of_many_racing_claims_wins(kv: KVStore) -> None:
    """Eight threads claim the same key at once: exactly one conditional write succeeds."""
    barrier = threading.Barrier(8)
    won: list[int] = []

    def claim(n: int) -> None:
        barrier.wait()
        if kv.set_many_if({"claim": None}, {"claim": n}):
            won.append(n)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    assert kv.get("claim") == won[0]


def test_tables_are_separate(kv: KVStore) -> None:
    """Job records and caches live in separate tables of one store."""
    cache = kv.table("cache")  # type: ignore[attr-defined]
    kv.set("k", "job")
    cache.set("k", "cached")
    assert kv.get("k") == "job"
    assert cache.get("k") == "cached"
    assert cache.delete_prefix("") == 1
    assert kv.get("k") == "job"
    assert cache.count() == 0


def test_threads_writing_at_once_lose_nothing(kv: KVStore) -> None:
    """Eight threads writing 100 keys each: every write is there afterwards."""

    def write(n: int) -> None:
        for i in range(100):
            kv.set(f"t{n}:{i:03d}", {"n": n, "i": i})

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert kv.count() == 800
    assert kv.get("t7:099") == {"n": 7, "i": 99}


def test_where_and_count_by_filter_on_json_fields(kv: KVStore) -> None:
    """items(where=...) and count(where=...) keep matching values; count_by groups by a field."""
    kv.set_many(
        {f"index:{i}": {"status": "error" if i % 3 == 0 else "complete", "domain": f"d{i % 2}.com"} for i in range(9)}
    )
    kv.set("other:1", {"status": "error"})
    assert [k for k, _ in kv.items("index:", where={"status": "error"})] == ["index:0", "index:3", "index:6"]
    assert [k for k, _ in kv.items("index:", where={"status": "error"}, reverse=True, limit=1, offset=1)] == ["index:3"]
    assert [k for k, _ in kv.items("index:", stop="index:5", where={"domain": "d1.com"})] == ["index:1", "index:3"]
    assert kv.count("index:", where={"status": "error", "domain": "d0.com"}) == 2
    assert kv.count_by("status", "index:") == {"complete": 6, "error": 3}
    assert kv.count_by("domain") == {"d0.com": 5, "d1.com": 4, None: 1}
    with pytest.raises(ValueError):
        kv.count_by("status') OR 1=1 --", "index:")
    with pytest.raises(ValueError):
        kv.items("index:", where={"status') OR 1=1 --": "x"})


def test_text_survives_as_written(kv: KVStore) -> None:
    """Non-ASCII text, quotes and JSON-looking strings come back exactly as stored."""
    value: Any = {"quote": 'We "need" SSO — ça marche, 日本語', "raw": '{"status":"error"}', "none": None}
    kv.set("q", value)
    assert kv.get("q") == value
    assert kv.items(where={"raw": '{"status":"error"}'}) == [("q", value)]


def test_set_many_with_require_checks_fields_of_existing_values(kv: KVStore) -> None:
    """set_many(require=...) writes only when each required value exists with those field values."""
    if not hasattr(kv, "set_many_if") or "require" not in kv.set_many.__code__.co_varnames:
        pytest.skip("this backend has no require= yet")
    kv.set("job", {"status": "processing", "n": 1})
    assert kv.set_many({"job": {"status": "complete"}}, require={"job": {"status": "error"}}) is False
    assert kv.set_many({"other": 1}, require={"missing": {}}) is False
    assert kv.get("other") is None
    assert kv.set_many({"job": {"status": "complete"}}, delete=["x"], require={"job": {"status": "processing"}})
    assert kv.get("job") == {"status": "complete"}
