"""The audit log: append-only entries of who did what, on both stores, from the pages and the command line."""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engagement.audit import ACTIONS, AuditEntry, AuditLog
from engagement.render.report import audit_csv
from engagement.settings import Settings
from engagement.storage.sqlite import KVStore
from tests.support.cli import run_cli
from tests.test_pages import APP, TIMEOUT, run_until
from ui.runtime import clear_runtimes, get_runtime

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_entries_are_listed_newest_first_and_filtered(kv: KVStore) -> None:
    """Entries come back newest first; action, who (a part) and account (a part) narrow them."""
    clock = Clock()
    log = AuditLog(kv, clock=clock)
    for minutes, (who, action, target) in enumerate(
        [
            ("ann@acme-sales.com", "started", "acmecorp.com"),
            ("bob@acme-sales.com", "viewed", "acmecorp.com"),
            ("ann@acme-sales.com", "exported", "globex.io"),
        ]
    ):
        clock.now = T0 + timedelta(minutes=minutes)
        log.record(who, action, target)
    assert [e.action for e in log.entries()] == ["exported", "viewed", "started"]
    assert [e.action for e in log.entries(actor="ANN@")] == ["exported", "started"]
    assert [e.action for e in log.entries(target="acme")] == ["viewed", "started"]
    assert [e.actor for e in log.entries(action="viewed")] == ["bob@acme-sales.com"]
    assert [e.action for e in log.entries(since=T0 + timedelta(minutes=1))] == ["exported", "viewed"]
    assert len(log.entries(limit=2)) == 2


def test_two_entries_in_the_same_instant_are_both_kept(kv: KVStore) -> None:
    """The key has a random tail: entries of one microsecond do not overwrite each other."""
    log = AuditLog(kv, clock=lambda: T0)
    log.record("ann", "viewed", "a.com")
    log.record("bob", "viewed", "a.com")
    assert sorted(e.actor for e in log.entries()) == ["ann", "bob"]


def test_an_unknown_action_is_refused(kv: KVStore) -> None:
    """Only the listed actions are recorded, so the admin page can name every entry."""
    with pytest.raises(ValueError, match="unknown audit action"):
        AuditLog(kv).record("ann", "edited", "a.com")
    assert kv.count() == 0


def test_purging_old_entries_is_itself_recorded(kv: KVStore) -> None:
    """A purge removes entries older than its cut-off and leaves an entry saying who purged how many."""
    clock = Clock()
    log = AuditLog(kv, clock=clock)
    log.record("ann", "started", "a.com")
    clock.now = T0 + timedelta(days=40)
    log.record("bob", "viewed", "a.com")
    assert log.purgeable(timedelta(days=30)) == 1
    clock.now += timedelta(seconds=1)
    assert log.purge(timedelta(days=30), "admin@acme-sales.com") == 1
    kept = log.entries()
    assert [(e.actor, e.action) for e in kept] == [("admin@acme-sales.com", "purged"), ("bob", "viewed")]
    assert kept[0].detail == "1 removed, older than 11 Dec 2026 09:00 UTC"


def test_the_log_offers_no_way_to_edit_or_delete_one_entry() -> None:
    """Append-only by its interface: record, read, count, purge by age, and the redaction a forget request needs
    (a name replaced, the entry kept) are all there is; and no page or command but forget calls redact."""
    public = {name for name in dir(AuditLog) if not name.startswith("_")}
    assert public == {"record", "entries", "purgeable", "purge", "count", "redact"}
    root = Path(__file__).resolve().parents[1]
    callers = [
        str(path.relative_to(root))
        for folder in ("engagement", "ui", "pages")
        for path in (root / folder).rglob("*.py")
        if ".redact(" in path.read_text()
    ]
    assert callers == ["engagement/privacy/forget.py"]


def test_the_csv_export_neutralises_formulas() -> None:
    """A target or detail that a spreadsheet would run comes out as text."""
    rows = list(
        csv.reader(io.StringIO(audit_csv([AuditEntry(at=T0, actor="ann", action="asked", target="=HYPERLINK(1)")])))
    )
    assert rows[0] == ["at (UTC)", "who", "action", "on", "detail"]
    assert rows[1][3] == "'=HYPERLINK(1)" and rows[1][0] == "2026-12-01T09:00:00.000000Z"


def test_the_command_line_records_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    """summarize, jobs purge and cache clear leave entries naming the command line."""
    assert run_cli(capsys, "summarize", "acmecorp.com")[0] == 0
    assert run_cli(capsys, "jobs", "purge", "--status", "error")[0] == 0
    assert run_cli(capsys, "cache", "clear")[0] == 0
    clear_runtimes()
    entries = get_runtime(Settings.from_env()).audit.entries()
    assert [(e.action, e.target) for e in entries] == [
        ("cleared", "analysis cache"),
        ("purged", "jobs"),
        ("started", "acmecorp.com"),
    ]
    assert all(e.actor.startswith("command line") for e in entries)


def test_the_pages_record_start_view_and_admin_actions_and_the_admin_page_lists_them() -> None:
    """A demo summary records started and viewed (once); the admin page lists both and records clearing the cache."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    at.button(key="summary_demo_acmecorp.com").click().run()
    run_until(at, lambda a: len(a.get("plotly_chart")) >= 3)
    at.run()  # another rerun of the same summary is not another view
    log = get_runtime(Settings.from_env()).audit
    assert [(e.action, e.target) for e in log.entries()] == [("viewed", "acmecorp.com"), ("started", "acmecorp.com")]
    assert {e.actor for e in log.entries()} == {"open access (no sign-in)"}

    at.switch_page("pages/admin.py").run()
    (table,) = [d.value for d in at.dataframe if "Action" in d.value.columns]
    assert list(table["Action"]) == [ACTIONS["viewed"], ACTIONS["started"]]
    at.button(key="admin_clear_cache").click().run()
    at.button(key="admin_confirm_yes").click().run()
    assert (log.entries()[0].action, log.entries()[0].target) == ("cleared", "analysis cache")
    assert os.environ["ENGAGEMENT_DB"]  # the test's own store (conftest), never data/
