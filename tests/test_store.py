"""SqliteKV: JSON round trips, prefix scans, JSON-only on disk, threads, reopen, bad files."""

from __future__ import annotations

import pickle
import sqlite3
import threading
from pathlib import Path

import pytest

from engagement.errors import CorruptRecordError, StoreOpenError
from engagement.store import SqliteKV, open_store


def test_values_round_trip_as_json(store: SqliteKV) -> None:
    """A nested JSON value comes back equal; a missing key is None."""
    value = {"status": "complete", "summary": {"themes": [{"topic": "SSO", "mentions": 3}]}, "n": 1.5, "ok": True}
    store.set("engagement:acmecorp.com:1", value)
    assert store.get("engagement:acmecorp.com:1") == value
    assert store.get("engagement:acmecorp.com:2") is None


def test_items_scan_by_prefix_in_key_order(store: SqliteKV) -> None:
    """items(prefix) returns only keys under the prefix, sorted, reversible, with limit and offset."""
    for key in [
        "engagement:a.com:2",
        "engagement:a.com:1",
        "engagement:ab.com:1",
        "engagement:b.com:1",
        "other:a.com:1",
    ]:
        store.set(key, key)
    assert [k for k, _ in store.items("engagement:a.com:")] == ["engagement:a.com:1", "engagement:a.com:2"]
    assert [k for k, _ in store.items("engagement:", reverse=True, limit=2)] == [
        "engagement:b.com:1",
        "engagement:ab.com:1",
    ]
    assert [k for k, _ in store.items("engagement:", limit=1, offset=1)] == ["engagement:a.com:2"]
    assert [k for k, _ in store.items("engagement:", stop="engagement:ab")] == [
        "engagement:a.com:1",
        "engagement:a.com:2",
    ]
    assert store.count("engagement:") == 4
    assert store.count() == 5


def test_delete_and_delete_many_report_what_existed(store: SqliteKV) -> None:
    """delete returns whether the key existed; delete_many counts the keys that were there."""
    store.set_many({"k1": 1, "k2": 2, "k3": 3})
    assert store.delete("k1") is True
    assert store.delete("k1") is False
    assert store.delete_many(["k2", "k3", "missing"]) == 2
    assert store.count() == 0


def test_set_many_writes_and_deletes_in_one_transaction(store: SqliteKV) -> None:
    """set_many can replace keys and remove others at once."""
    store.set_many({"a": 1, "b": 2})
    store.set_many({"a": 10, "c": 3}, delete=["b"])
    assert dict(store.items()) == {"a": 10, "c": 3}


def test_tables_are_separate(store: SqliteKV) -> None:
    """Job records and caches live in separate tables of one file."""
    cache = store.table("cache")
    store.set("k", "job")
    cache.set("k", "cached")
    assert store.get("k") == "job"
    assert cache.get("k") == "cached"
    assert cache.delete("k")
    assert store.get("k") == "job"


def test_the_file_holds_json_text_only(store: SqliteKV) -> None:
    """Every stored value is JSON text on disk, never a pickle blob."""
    store.set("engagement:a.com:1", {"quote": "we need SSO"})
    rows = sqlite3.connect(store.path).execute('SELECT key, value, typeof(value) FROM "jobs"').fetchall()
    assert rows == [("engagement:a.com:1", '{"quote":"we need SSO"}', "text")]


def test_a_planted_pickle_is_refused_not_executed(store: SqliteKV, tmp_path: Path) -> None:
    """A pickle payload written into the file raises CorruptRecordError and runs no code."""
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):  # noqa: ANN204
            return (marker.write_text, ("executed",))

    store.set("engagement:ok.com:1", {"ok": 1})
    db = sqlite3.connect(store.path)
    db.execute('REPLACE INTO "jobs" (key, value) VALUES (?, ?)', ("engagement:evil.com:1", pickle.dumps(Exploit())))
    db.commit()
    db.close()
    with pytest.raises(CorruptRecordError):
        store.get("engagement:evil.com:1")
    assert [k for k, _ in store.items("engagement:")] == ["engagement:ok.com:1"]
    assert not marker.exists()


def test_threads_writing_at_once_lose_nothing(store: SqliteKV) -> None:
    """Eight threads writing 200 keys each: every write is there afterwards."""

    def write(n: int) -> None:
        for i in range(200):
            store.set(f"t{n}:{i:03d}", {"n": n, "i": i})

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count() == 1600
    assert store.get("t7:199") == {"n": 7, "i": 199}


def test_reopen_after_close_keeps_the_data(tmp_path: Path) -> None:
    """Data written, closed and reopened is still there; the file passes SQLite's integrity check."""
    path = tmp_path / "db.sqlite"
    kv = SqliteKV(path)
    kv.set("k", [1, 2, 3])
    kv.table("cache").set("c", "x")
    kv.close()
    again = SqliteKV(path)
    assert again.get("k") == [1, 2, 3]
    assert again.table("cache").get("c") == "x"
    assert again.integrity_check() == "ok"
    again.close()


def test_a_missing_folder_is_created(tmp_path: Path) -> None:
    """ENGAGEMENT_DB may point into a folder that does not exist yet (data/ on a fresh clone)."""
    kv = SqliteKV(tmp_path / "data" / "nested" / "db.sqlite")
    kv.set("k", 1)
    assert kv.get("k") == 1
    kv.close()


def test_a_corrupt_file_gives_a_clear_error(tmp_path: Path) -> None:
    """A file that is not SQLite raises StoreOpenError that says what to do."""
    path = tmp_path / "broken.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreOpenError) as info:
        SqliteKV(path)
    assert "ENGAGEMENT_DB" in str(info.value)


def test_a_folder_in_place_of_the_file_gives_a_clear_error(tmp_path: Path) -> None:
    """ENGAGEMENT_DB naming a folder raises StoreOpenError."""
    with pytest.raises(StoreOpenError):
        SqliteKV(tmp_path)


def test_open_store_returns_one_instance_per_file(tmp_path: Path) -> None:
    """The process shares one SqliteKV per file."""
    first = open_store(tmp_path / "one.sqlite")
    assert open_store(tmp_path / "one.sqlite") is first
    first.close()
    assert open_store(tmp_path / "one.sqlite") is not first


def test_where_and_count_by_filter_on_json_fields_inside_sqlite(store: SqliteKV) -> None:
    """items(where=...) and count(where=...) keep matching values; count_by groups by a field."""
    store.set_many(
        {f"index:{i}": {"status": "error" if i % 3 == 0 else "complete", "domain": f"d{i % 2}.com"} for i in range(9)}
    )
    store.set("other:1", {"status": "error"})
    assert [k for k, _ in store.items("index:", where={"status": "error"})] == ["index:0", "index:3", "index:6"]
    assert store.count("index:", where={"status": "error", "domain": "d0.com"}) == 2
    assert store.count_by("status", "index:") == {"complete": 6, "error": 3}
    with pytest.raises(ValueError):
        store.count_by("status') OR 1=1 --", "index:")
