"""Freshness without webhooks: one sync of a workspace at a time across processes on one file, and the periodic
incremental sync each process runs in one background thread."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from engagement.errors import StoreError
from engagement.meetings.index import MeetingIndex, SqliteIndexStorage
from tests.fakes.fathom_server import FathomServer, make_account
from tests.support.cli import ROOT
from tests.support.fathom_fixtures import settings_for


def listing_requests(server: FathomServer) -> int:
    return sum(1 for _, path, _ in server.request_log if path.endswith("/meetings"))


def test_two_processes_indexing_one_file_list_the_workspace_once(tmp_path: Path) -> None:
    """Two `index --full` processes on one file: the second waits for the first's listing (the lock is in the file),
    then asks only for what is new — 6 pages and 1 request, not 12 pages."""
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
        assert listing_requests(server) < 6 + 6, "the second process listed the workspace again"
        assert listing_requests(server) == 6 + 1
        assert b"full index: 60 meetings listed" in outs[0][0]
        assert b"incremental index" in outs[1][0]


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
