"""The store: the ``KVStore`` contract (run per backend), then SqliteKV's file, faults and recovery."""

from __future__ import annotations

import os
import pickle
import random
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engagement.errors import CorruptRecordError, StoreError, StoreOpenError
from engagement.storage.sqlite import KVStore, SqliteKV, open_store
from tests.support.waits import at_once, bounded

# The contract tests take ``kv`` (tests/support/redis_fixtures.py): each runs once on SqliteKV and once on
# RedisKV against the session's own redis-server.


# ---------------------------------------------------------------- the contract, per backend


def test_values_round_trip_as_json(kv: KVStore) -> None:
    """A nested JSON value comes back equal; a missing key is None."""
    value = {"status": "complete", "summary": {"themes": [{"topic": "SSO", "mentions": 3}]}, "n": 1.5, "ok": True}
    kv.set("engagement:acmecorp.com:1", value)
    assert kv.get("engagement:acmecorp.com:1") == value
    assert kv.get("engagement:acmecorp.com:2") is None


def test_items_scan_by_prefix_in_key_order(kv: KVStore) -> None:
    """items(prefix) returns only keys under the prefix, sorted, reversible, with limit and offset."""
    for key in [
        "engagement:a.com:2",
        "engagement:a.com:1",
        "engagement:ab.com:1",
        "engagement:b.com:1",
        "other:a.com:1",
    ]:
        kv.set(key, key)
    assert [k for k, _ in kv.items("engagement:a.com:")] == ["engagement:a.com:1", "engagement:a.com:2"]
    assert [k for k, _ in kv.items("engagement:", reverse=True, limit=2)] == [
        "engagement:b.com:1",
        "engagement:ab.com:1",
    ]
    assert [k for k, _ in kv.items("engagement:", limit=1, offset=1)] == ["engagement:a.com:2"]
    assert [k for k, _ in kv.items("engagement:", stop="engagement:ab")] == [
        "engagement:a.com:1",
        "engagement:a.com:2",
    ]
    assert kv.count("engagement:") == 4
    assert kv.count() == 5


def test_delete_and_delete_many_report_what_existed(kv: KVStore) -> None:
    """delete returns whether the key existed; delete_many counts the keys that were there."""
    kv.set_many({"k1": 1, "k2": 2, "k3": 3})
    assert kv.delete("k1") is True
    assert kv.delete("k1") is False
    assert kv.delete_many(["k2", "k3", "missing"]) == 2
    assert kv.count() == 0


def test_set_many_writes_and_deletes_in_one_transaction(kv: KVStore) -> None:
    """set_many can replace keys and remove others at once."""
    kv.set_many({"a": 1, "b": 2})
    kv.set_many({"a": 10, "c": 3}, delete=["b"])
    assert dict(kv.items()) == {"a": 10, "c": 3}


def test_threads_writing_at_once_lose_nothing(kv: KVStore) -> None:
    """Eight threads writing 200 keys each: every write is there afterwards."""

    def write(n: int) -> None:
        for i in range(200):
            kv.set(f"t{n}:{i:03d}", {"n": n, "i": i})

    at_once(8, write)
    assert kv.count() == 1600
    assert kv.get("t7:199") == {"n": 7, "i": 199}


def test_where_and_count_by_filter_on_json_fields(kv: KVStore) -> None:
    """items(where=...) and count(where=...) keep matching values; count_by groups by a field."""
    kv.set_many(
        {f"index:{i}": {"status": "error" if i % 3 == 0 else "complete", "domain": f"d{i % 2}.com"} for i in range(9)}
    )
    kv.set("other:1", {"status": "error"})
    assert [k for k, _ in kv.items("index:", where={"status": "error"})] == ["index:0", "index:3", "index:6"]
    assert kv.count("index:", where={"status": "error", "domain": "d0.com"}) == 2
    assert kv.count_by("status", "index:") == {"complete": 6, "error": 3}
    with pytest.raises(ValueError):
        kv.count_by("status') OR 1=1 --", "index:")


def test_set_many_with_require_writes_only_when_the_fields_match(kv: KVStore) -> None:
    """require: the write happens only if the key exists with those fields; False and nothing written otherwise."""
    kv.set("job", {"status": "processing", "n": 1})
    assert kv.set_many({"job": {"status": "complete"}, "row": 1}, require={"job": {"status": "processing"}}) is True
    assert kv.set_many({"job": {"status": "processing"}, "row": 2}, require={"job": {"status": "processing"}}) is False
    assert kv.set_many({"gone": 1}, require={"missing": {"status": "processing"}}) is False
    assert (kv.get("job"), kv.get("row"), kv.get("gone")) == ({"status": "complete"}, 1, None)


def test_a_write_that_fails_part_way_applies_nothing(kv: KVStore) -> None:
    """A multi-key write whose second value cannot be stored leaves every key as it was."""
    kv.set("x", "old")
    with pytest.raises(TypeError):
        kv.set_many({"x": "new", "y": object()})
    assert (kv.get("x"), kv.get("y")) == ("old", None)


def test_require_none_means_absent_and_only_one_racing_claim_wins(kv: KVStore) -> None:
    """require={key: None} writes only while the key is absent: of eight threads claiming at once, one wins."""
    won: list[int] = []

    def claim(n: int) -> None:
        if kv.set_many({"claim": {"run_id": n}, f"record:{n}": n}, require={"claim": None}):
            won.append(n)

    at_once(8, claim)
    assert len(won) == 1
    assert kv.get("claim") == {"run_id": won[0]}
    assert kv.keys("record:") == [f"record:{won[0]}"]
    # compare-and-delete: only the holder's release removes the claim
    assert kv.set_many({}, delete=["claim"], require={"claim": {"run_id": won[0] + 1}}) is False
    assert kv.set_many({}, delete=["claim"], require={"claim": {"run_id": won[0]}}) is True
    assert kv.get("claim") is None


def test_ranges_filters_and_pages_combine(kv: KVStore) -> None:
    """where combines with reverse, limit, offset and stop; keys() and count() see the same range."""
    kv.set_many(
        {f"index:{i}": {"status": "error" if i % 3 == 0 else "complete", "domain": f"d{i % 2}.com"} for i in range(9)}
    )
    assert [k for k, _ in kv.items("index:", where={"status": "error"}, reverse=True, limit=1, offset=1)] == ["index:3"]
    assert [k for k, _ in kv.items("index:", stop="index:5", where={"domain": "d1.com"})] == ["index:1", "index:3"]
    assert kv.keys("index:", stop="index:2") == ["index:0", "index:1"]
    assert kv.count_by("domain") == {"d0.com": 5, "d1.com": 4}
    with pytest.raises(ValueError):
        kv.items("index:", where={"status') OR 1=1 --": "x"})


def test_keys_take_the_same_filters_as_items(kv: KVStore) -> None:
    """keys(where=...) lists exactly the keys items(where=...) returns, within the prefix and below stop."""
    kv.set_many(
        {f"index:{i}": {"status": "error" if i % 3 == 0 else "complete", "domain": f"d{i % 2}.com"} for i in range(9)}
    )
    kv.set("other:0", {"status": "error"})
    assert kv.keys("index:", where={"status": "error"}) == ["index:0", "index:3", "index:6"]
    assert kv.keys("index:", stop="index:4", where={"status": "complete"}) == ["index:1", "index:2"]
    assert kv.keys("index:", where={"status": "error", "domain": "d1.com"}) == ["index:3"]
    assert kv.keys(where={"status": "gone"}) == []


def _recount(kv: KVStore, field: str, prefix: str) -> dict[Any, int]:
    """What count_by should say, counted here from every value under the prefix."""
    counted = Counter(v.get(field) if isinstance(v, dict) else None for _, v in kv.items(prefix))
    return dict(counted)


def test_counts_equal_a_recount_after_every_kind_of_write(kv: KVStore) -> None:
    """count_by and count(where=) equal a recount after writes, overwrites changing a field, deletes,
    writes that delete, and conditional writes that win or lose, in a random mix."""
    rng = random.Random(15)
    statuses = ["processing", "complete", "error"]
    assert kv.count_by("status", "index:") == {}  # asked before anything is there, then kept up to date
    assert kv.count("index:", where={"domain": "d0.com"}) == 0

    def value() -> Any:
        kind = rng.random()
        if kind < 0.8:
            return {"status": rng.choice(statuses), "domain": f"d{rng.randrange(3)}.com"}
        return rng.choice([{"domain": "d0.com"}, {"status": None}, "text", 7, None])

    for step in range(300):
        key = f"index:{rng.randrange(30):02d}"
        action = rng.randrange(6)
        if action == 0:
            kv.set(key, value())
        elif action == 1:
            kv.set_many({key: value(), f"index:{rng.randrange(30):02d}": value(), "other:1": value()})
        elif action == 2:
            kv.delete(key)
        elif action == 3:
            kv.delete_many([key, f"index:{rng.randrange(30):02d}", "other:1", "missing"])
        elif action == 4:
            kv.set_many({key: value()}, delete=[f"index:{rng.randrange(30):02d}"])
        else:  # compare-and-set: ends a running job, or does nothing
            kv.set_many({key: {"status": rng.choice(statuses[1:])}}, require={key: {"status": "processing"}})
        if step % 10 == 9:
            assert kv.count_by("status", "index:") == _recount(kv, "status", "index:")
            assert kv.count_by("domain", "index:") == _recount(kv, "domain", "index:")
            for status in statuses:
                assert kv.count("index:", where={"status": status}) == _recount(kv, "status", "index:").get(status, 0)
    assert kv.count_by("status") == _recount(kv, "status", "")


def test_text_survives_as_written(kv: KVStore) -> None:
    """Non-ASCII text, quotes and JSON-looking strings come back exactly as stored, and filter exactly."""
    value: Any = {"quote": 'We "need" SSO — ça marche, 日本語', "raw": '{"status":"error"}', "none": None}
    kv.set("q", value)
    assert kv.get("q") == value
    assert kv.items(where={"raw": '{"status":"error"}'}) == [("q", value)]


def test_tables_of_one_store_are_separate(kv: KVStore) -> None:
    """Job records and caches live in separate tables of one store."""
    cache = kv.table("cache")  # type: ignore[attr-defined]
    kv.set("k", "job")
    cache.set("k", "cached")
    assert (kv.get("k"), cache.get("k")) == ("job", "cached")
    assert cache.delete_many(cache.keys()) == 1
    assert kv.get("k") == "job"
    assert cache.count() == 0


# ---------------------------------------------------------------- SqliteKV: the file


def test_tables_are_separate(store: SqliteKV) -> None:
    """Job records and caches live in separate tables of one file."""
    cache = store.table("cache")
    store.set("k", "job")
    cache.set("k", "cached")
    assert store.get("k") == "job"
    assert cache.get("k") == "cached"
    assert cache.delete("k") is True
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


# ---------------------------------------------------------------- SqliteKV: faults and recovery

_HOLD_LOCK = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
"""


def test_a_lock_held_by_another_process_fails_the_whole_write_in_the_writer(tmp_path: Path) -> None:
    """Another process holds BEGIN IMMEDIATE past busy_timeout: set_many raises StoreError, nothing is written."""
    path = tmp_path / "locked.sqlite"
    kv = SqliteKV(path, busy_timeout_s=0.2)
    kv.set("x", 0)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(StoreError, match="locked by another process"):
            bounded(lambda: kv.set_many({"x": 1, "y": 2}))
        assert bounded(lambda: (kv.get("x"), kv.get("y"))) == (0, None)  # a reader never gets the writer's error
    finally:
        holder.communicate("\n", timeout=10)
    kv.set_many({"x": 1, "y": 2})
    assert (kv.get("x"), kv.get("y")) == (1, 2)
    kv.close()


def test_a_dead_connection_thread_is_replaced(store: SqliteKV) -> None:
    """When sqlitedict's connection thread dies, the next call opens a new one instead of waiting forever."""
    store.set("k", 1)
    thread = store._c.thread
    assert thread is not None
    thread.close(force=True)  # the thread ends as it does after an unguarded commit fails
    thread.join(5)
    assert bounded(lambda: store.get("k")) == 1
    store.set("k", 2)
    assert store.get("k") == 2


def test_a_file_damaged_past_its_first_page_gives_the_designed_message(tmp_path: Path) -> None:
    """A file that opens but is malformed further in raises StoreError 'damaged', never a raw SQLite error or a hang."""
    path = tmp_path / "damaged.sqlite"
    kv = SqliteKV(path)
    kv.set_many({f"k{i:05d}": "x" * 200 for i in range(2000)})
    kv.close()
    os.remove(str(path) + "-wal") if os.path.exists(str(path) + "-wal") else None
    with path.open("r+b") as fh:  # overwrite pages deep in the table's b-tree with noise
        fh.seek(4096 * 20)
        fh.write(os.urandom(4096 * 40))
    try:
        damaged = SqliteKV(path)
    except StoreOpenError as exc:
        assert "ENGAGEMENT_DB" in str(exc)
        return
    with pytest.raises(StoreError, match="damaged"):
        bounded(lambda: damaged.items("k"))
    damaged.close()


_WRITE_READ_ONLY = """
import sys
from engagement.storage.sqlite import SqliteKV
from engagement.errors import StoreError
kv = SqliteKV(sys.argv[1])
print(kv.get("k"))
try:
    kv.set("k", 2)
except StoreError as exc:
    print(exc)
from engagement.jobs.service import JobService
from engagement.models import EngagementSummary
from engagement.jobs.repository import JobRepository
try:
    JobService(JobRepository(kv), lambda ctx: EngagementSummary()).start("acmecorp.com")
except StoreError as exc:
    print(exc)
"""


def test_a_read_only_database_file_gives_the_designed_message(tmp_path: Path) -> None:
    """A database file the app cannot write (in a folder it can) reads fine and refuses writes with what to do."""
    path = tmp_path / "ro.sqlite"
    kv = SqliteKV(path)
    kv.set("k", 1)
    kv.close()
    path.chmod(0o444)
    command = [sys.executable, "-c", _WRITE_READ_ONLY, str(path)]
    if os.geteuid() == 0:  # root writes any file: drop the capability that lets it
        command = ["setpriv", "--bounding-set=-dac_override", "--inh-caps=-dac_override", *command]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert "Traceback" not in out.stderr, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "1"
    assert "read-only" in lines[1] and "ENGAGEMENT_DB" in lines[1]
    assert lines[2] == lines[1]  # starting a job says the same, in the caller


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs (needs root: CI runs as root)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs the suite as root)")
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_fails_the_write_with_what_to_do_and_the_store_recovers(small_disk: Path) -> None:
    """Disk full: the writer gets 'free space' in its own thread, other calls still answer, and once space is
    freed writes work again without a restart."""
    kv = SqliteKV(small_disk / "engagement.sqlite")
    kv.set("before", 1)
    filler = small_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass  # the disk is full
    finally:
        os.close(fd)
    with pytest.raises(StoreError, match="is full: free space and try again"):
        bounded(lambda: kv.set_many({"big": "x" * 200_000, "other": 1}))
    assert bounded(lambda: (kv.get("before"), kv.get("big"), kv.get("other"))) == (1, None, None)
    filler.unlink()
    bounded(lambda: kv.set_many({"big": "x" * 200_000, "other": 1}))
    assert kv.get("other") == 1 and len(kv.get("big")) == 200_000
    kv.close()


_OPEN_READ_ONLY = """
import logging, sys
logging.basicConfig()
from engagement.storage.sqlite import SqliteKV
from engagement.errors import StoreOpenError
try:
    SqliteKV(sys.argv[1])
except StoreOpenError as exc:
    print(exc)
"""


def test_opening_a_store_in_a_read_only_folder_says_read_only_without_a_traceback(tmp_path: Path) -> None:
    """File and folder the app cannot write: opening says "read-only" and what to do, not "damaged", no traceback."""
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "engagement.sqlite"
    kv = SqliteKV(path)
    kv.set("k", 1)
    kv.close()
    for file in folder.iterdir():
        file.chmod(0o444)
    folder.chmod(0o555)
    command = [sys.executable, "-c", _OPEN_READ_ONLY, str(path)]
    if os.geteuid() == 0:  # root writes any file: drop the capability that lets it
        command = ["setpriv", "--bounding-set=-dac_override", "--inh-caps=-dac_override", *command]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    try:
        out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    finally:
        folder.chmod(0o755)
    assert "Traceback" not in out.stderr and "sqlitedict" not in out.stderr, out.stderr
    assert out.stdout.strip() == (
        f"The job database {path} is read-only: let the app's user write the file and its folder, "
        "or set ENGAGEMENT_DB to a writable path."
    )


@pytest.mark.parametrize("existing", [False, True])
def test_opening_a_store_on_a_full_disk_says_the_disk_is_full_without_a_traceback(
    small_disk: Path, existing: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """A new file, or one already there, on a full disk: "full: free space", never "damaged" or "disk I/O error"."""
    path = small_disk / "engagement.sqlite"
    if existing:
        kv = SqliteKV(path)
        kv.set("k", 1)
        kv.close()
        for side in ("-wal", "-shm"):
            Path(f"{path}{side}").unlink(missing_ok=True)
    filler = small_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 1024):
            pass
    except OSError:
        pass  # the disk is full
    finally:
        os.close(fd)
    with pytest.raises(StoreOpenError) as caught:
        bounded(lambda: SqliteKV(path))
    assert str(caught.value) == f"The disk holding {path} is full: free space and try again."
    assert not [r for r in caplog.records if r.exc_info or r.name.startswith("sqlitedict")]
    filler.unlink()
    kv = SqliteKV(path)  # space freed: it opens
    kv.close()


def test_kept_counts_follow_another_process_s_writes(store: SqliteKV) -> None:
    """Counts kept in the file move with writes made outside this store (another process's connection)."""
    store.set("index:1", {"status": "processing"})
    assert store.count_by("status", "index:") == {"processing": 1}  # registered: kept from here on
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute('INSERT INTO "jobs" (key, value) VALUES (?, ?)', ("index:2", '{"status":"error"}'))
    other.execute('UPDATE "jobs" SET value = ? WHERE key = ?', ('{"status":"complete"}', "index:1"))
    other.execute('INSERT INTO "jobs" (key, value) VALUES (?, ?)', ("other:1", '{"status":"error"}'))
    assert store.count_by("status", "index:") == {"complete": 1, "error": 1}
    other.execute('DELETE FROM "jobs" WHERE key = ?', ("index:2",))
    other.close()
    assert store.count("index:", where={"status": "error"}) == 0
    assert store.count_by("status", "index:") == _recount(store, "status", "index:") == {"complete": 1}
