"""Freshness without webhooks: one sync of a workspace at a time across processes on one file, and the periodic
incremental sync each process runs in one background thread."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engagement.errors import StoreError
from engagement.meetings.freshness import PeriodicSync
from engagement.meetings.index import MeetingIndex, SqliteIndexStorage
from engagement.runtime import fathom_client, workspace_of
from tests.fakes.fathom_server import FathomServer, make_account
from tests.support.cli import ROOT
from tests.support.fathom_fixtures import settings_for


def listing_requests(server: FathomServer) -> int:
    return sum(1 for _, path, _ in server.request_log if path.endswith("/meetings"))


def test_two_processes_indexing_one_file_list_the_workspace_once(tmp_path: Path) -> None:
    """Two `index --full` processes on one file: the second waits for the first's listing (the lock is in the file),
    then asks only for what is new — one request, not a second full listing."""
    with FathomServer(make_account(count=60), rate_limit=None) as server:
        server.gate = threading.Event()  # the first listing's first page waits until the second process waits too
        settings = settings_for(server, tmp_path)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "FATHOM_API_KEY": settings.fathom_api_key,
            "FATHOM_BASE_URL": server.base_url,
            "ENGAGEMENT_DB": settings.engagement_db,
        }
        command = [sys.executable, "-m", "engagement", "index", "--full"]
        first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_until(lambda: listing_requests(server) == 1 or first.poll() is not None, "the first listing to start")
        second = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert second.stderr is not None
        shown = b""
        while shown.count(b"indexing Fathom") < 2 and second.poll() is None:  # it reports every second it waits
            shown += second.stderr.read1(256) if hasattr(second.stderr, "read1") else second.stderr.read(1)
        server.gate.set()
        outs = [p.communicate(timeout=120) for p in (first, second)]
        assert [p.returncode for p in (first, second)] == [0, 0], outs
        assert b"full index: 60 meetings listed" in outs[0][0]
        assert re.match(rb"incremental index: \d+ meetings? listed in 1 page,", outs[1][0]), outs


def wait_until(done: Callable[[], bool], what: str, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_the_files_sync_lock_is_held_across_processes_and_expires_when_its_holder_dies(tmp_path: Path) -> None:
    """Another process's storage on the same file cannot take a held lock; a holder that died (no renewal) loses it
    after its time-to-live, and its late page write is refused instead of overwriting the new holder's state."""
    path = tmp_path / "i.sqlite"
    mine, theirs = SqliteIndexStorage(path), SqliteIndexStorage(path)
    lock = mine.sync_lock("ws")
    assert lock.acquire(timeout=1)
    assert not theirs.sync_lock("ws").acquire(timeout=0.2)
    lock.release()
    dead = theirs.sync_lock("ws")
    dead.ttl_s = 0.3
    assert dead.acquire(timeout=1)
    dead._stop.set()  # the holder froze: nobody renews its lock
    taker = mine.sync_lock("ws")
    assert taker.acquire(timeout=5)
    with pytest.raises(StoreError, match="taken over"):
        theirs.save("ws", {"cursor": "stale"}, lock=dead)
    mine.save("ws", {"cursor": "fresh"}, lock=taker)
    taker.release()
    assert mine.state("ws") == {"cursor": "fresh"}
    mine.close()
    theirs.close()


def test_an_index_sync_waits_for_anothers_then_lists_only_what_is_new(tmp_path: Path) -> None:
    """In one process too: a full sync asked for while another full sync runs, once it ends, lists incrementally."""
    with FathomServer(make_account(count=25), rate_limit=None) as server:
        from engagement.fathom.client import FathomClient

        settings = settings_for(server, tmp_path)
        index = MeetingIndex(tmp_path / "i.sqlite")
        with FathomClient.from_settings(settings) as client:
            lock = index.storage.sync_lock(client.workspace)
            assert lock.acquire(timeout=1)
            results = []
            waiter = threading.Thread(target=lambda: results.append(index.sync(client, full=True, poll_s=0.05)))
            waiter.start()
            time.sleep(0.2)  # the waiter is queued on the lock
            lock.release()
            index.sync(client, full=True)  # may run before or after the waiter; one of them lists everything
            waiter.join(30)
        kinds = sorted([results[0].kind, "full"])
        assert kinds in (["full", "full"], ["full", "incremental"])
        index.close()


# ---------------------------------------------------------------- the periodic incremental sync


def periodic_on(server: FathomServer, tmp_path: Path, every_s: float = 300, **kwargs: Any) -> PeriodicSync:
    settings = settings_for(server, tmp_path)
    index = MeetingIndex(tmp_path / "i.sqlite")
    return PeriodicSync(index, workspace_of(settings), lambda: fathom_client(settings), every_s, **kwargs)


def test_a_round_syncs_when_no_process_did_within_the_interval_and_skips_otherwise(tmp_path: Path) -> None:
    """The first round lists the workspace; a round within the interval of the last sync (by any process) sends
    nothing; one past the interval sends one incremental request."""
    clock = {"now": datetime(2026, 12, 1, 9, 0, tzinfo=UTC)}
    with FathomServer(make_account(count=12), rate_limit=None) as server:
        periodic = periodic_on(server, tmp_path, now=lambda: clock["now"])
        first = periodic.tick()
        assert first is not None and first.kind == "full" and first.listed == 12
        full = listing_requests(server)
        synced_at = datetime.fromisoformat(str(periodic.index.status(periodic.workspace).synced_at))
        clock["now"] = synced_at + timedelta(seconds=299)
        assert periodic.tick() is None and listing_requests(server) == full
        clock["now"] = synced_at + timedelta(seconds=300)
        again = periodic.tick()
        assert again is not None and again.kind == "incremental" and listing_requests(server) == full + 1
        periodic.index.close()


def test_a_failed_round_is_kept_and_the_next_one_tries_again(tmp_path: Path) -> None:
    """Fathom answering 401 fails a round without stopping the thread's work: the error is kept, the next round
    succeeds and clears it."""
    with FathomServer(make_account(count=3), rate_limit=None) as server:
        periodic = periodic_on(server, tmp_path)
        server.fail_next(401)
        assert periodic.tick() is None and periodic.last_error is not None and "API key" in periodic.last_error
        assert periodic.tick() is not None and periodic.last_error is None and periodic.rounds == 1
        periodic.index.close()


def test_the_thread_brings_a_new_meeting_into_the_index_and_stops(tmp_path: Path) -> None:
    """Started, the thread's first round indexes the workspace; a meeting recorded later is in the index after a
    later round; stop() ends the thread."""
    with FathomServer(make_account(count=3), rate_limit=None) as server:
        periodic = periodic_on(server, tmp_path, every_s=0.05)
        periodic.start()
        try:
            wait_until(lambda: periodic.rounds >= 1, "the first round")
            server.api.add(make_account("freshfield-robotics.com", count=1, first_id=777, start=datetime.now(UTC))[0])
            wait_until(
                lambda: (
                    [m.recording_id for m in periodic.index.meetings_for(periodic.workspace, "freshfield-robotics.com")]
                    == [777]
                ),
                "the new meeting in the index",
            )
        finally:
            periodic.stop()
        assert periodic._thread is not None and not periodic._thread.is_alive()
        periodic.index.close()


def test_the_runtime_starts_no_periodic_sync_in_demo_mode_or_at_zero(tmp_path: Path) -> None:
    """Demo data never changes and 0 turns it off: no thread then; with a key and an interval, one thread, stopped by
    close()."""
    from engagement.runtime import create_runtime
    from engagement.settings import Settings

    demo = create_runtime(Settings.from_env({"ENGAGEMENT_DB": str(tmp_path / "a.sqlite")}), enqueue=False)
    assert demo.start_periodic_sync() is None
    demo.close()
    with FathomServer(make_account(count=3), rate_limit=None) as server:
        off = create_runtime(settings_for(server, tmp_path, ENGAGEMENT_SYNC_EVERY_S="0"), enqueue=False)
        assert off.start_periodic_sync() is None
        off.close()
        on = create_runtime(settings_for(server, tmp_path, ENGAGEMENT_SYNC_EVERY_S="600"), enqueue=False)
        periodic = on.start_periodic_sync()
        assert periodic is not None and on.start_periodic_sync() is periodic
        wait_until(lambda: periodic.rounds >= 1, "the first round")
        on.close()
        assert periodic._thread is not None and not periodic._thread.is_alive()
