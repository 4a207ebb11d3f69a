"""Forgetting a customer or a person: every trace gone from the files and Redis, a receipt, and a tombstone that
keeps a re-index and a new summary from bringing them back (until an admin lifts it)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engagement.demo import load_demo_meetings
from engagement.jobs.service import InlineExecutor
from engagement.runtime import create_runtime
from engagement.settings import Settings
from tests.support.cli import run_cli

DOMAIN = "acmecorp.com"


def _acme() -> tuple[list[dict], list[dict]]:
    meetings = load_demo_meetings()
    acme = [
        m
        for m in meetings
        if any((i.get("email") or "").lower().endswith("@" + DOMAIN) for i in m["calendar_invitees"])
    ]
    return acme, [m for m in meetings if m not in acme]


def traces() -> list[bytes]:
    """What must not survive: the domain, a customer's name, and a sentence said only in Acme's meetings (each
    absent from every other demo meeting, so finding it can only mean a leftover)."""
    acme, other = _acme()
    elsewhere = json.dumps(other).lower()
    name = next(
        i["name"]
        for m in acme
        for i in m["calendar_invitees"]
        if (i.get("email") or "").endswith("@" + DOMAIN) and i["name"].lower() not in elsewhere
    )
    phrase = next(
        t["text"]
        for m in acme
        for t in (m.get("transcript") or [])
        if len(t["text"]) > 60 and t["text"].lower() not in elsewhere
    )
    assert DOMAIN not in elsewhere
    return [DOMAIN.encode(), name.encode(), phrase[:50].encode()]


def files_holding(folder: Path, needles: list[bytes]) -> dict[str, list[bytes]]:
    found: dict[str, list[bytes]] = {}
    for path in folder.iterdir():
        if path.is_file() and path.name.startswith("engagement.sqlite"):
            data = path.read_bytes().lower()
            hits = [n for n in needles if n.lower() in data]
            if hits:
                found[path.name] = hits
    return found


def fill(capsys: pytest.CaptureFixture[str], *extra: str) -> None:
    """A summary of Acme and of Globex, and a question about Acme, through the command line."""
    for domain in (DOMAIN, "globex.io"):
        code, _, err = run_cli(capsys, "summarize", domain, *extra)
        assert code == 0, err
    code, _, err = run_cli(capsys, "ask", DOMAIN, "What did they say about pricing?")
    assert code == 0, err


def test_forget_leaves_no_byte_of_the_customer_in_the_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """After forget, no file of the store holds the domain, a person's name or a phrase they said; Globex stays."""
    fill(capsys)
    needles = traces()
    assert files_holding(tmp_path, needles), "the test must first see the traces it then looks for"

    code, out, err = run_cli(capsys, "forget", "https://www.acmecorp.com", "--json")
    assert code == 0, err
    receipt = json.loads(out)
    acme, _ = _acme()
    assert receipt["kind"] == "domain" and receipt["meetings"] == len(acme)
    assert receipt["jobs"] >= 1 and receipt["questions"] == 1 and receipt["cached_analyses"] >= 1
    assert receipt["transcripts"] == sum(1 for m in acme if m.get("transcript"))
    assert DOMAIN not in out  # the receipt counts, it does not repeat the name

    assert files_holding(tmp_path, needles) == {}
    code, out, _ = run_cli(capsys, "jobs", "list", "--json")
    assert [row["domain"] for row in json.loads(out)] == ["globex.io"]
    runtime = create_runtime(Settings.from_env(), executor=InlineExecutor())
    try:  # the audit log keeps that things happened, and that a forget happened, not to whom
        kept = [(e.action, e.target) for e in runtime.audit.entries()]
    finally:
        runtime.close()
    assert kept[0] == ("forgot", "a customer")
    assert ("started", "a forgotten account") in kept and ("asked", "a forgotten account") in kept
    assert ("started", "globex.io") in kept


def test_a_forgotten_customer_stays_out_of_a_reindex_and_a_new_summary_until_lifted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A full re-index does not bring the meetings back; a summary is refused saying why; lifting allows it again."""
    fill(capsys)
    assert run_cli(capsys, "forget", DOMAIN)[0] == 0
    code, _, err = run_cli(capsys, "index", "--full")
    assert code == 0, err
    assert files_holding(tmp_path, traces()) == {}

    code, out, err = run_cli(capsys, "summarize", DOMAIN)
    assert code == 2 and "forgotten on request" in err and "--lift" in err
    code, out, _ = run_cli(capsys, "jobs", "list", "--json", "--domain", DOMAIN)
    assert json.loads(out) == []  # refused before anything was stored

    code, out, _ = run_cli(capsys, "forget", DOMAIN, "--lift")
    assert code == 0 and "may be summarised again" in out
    code, _, err = run_cli(capsys, "summarize", DOMAIN)
    assert code == 0, err


def test_forget_a_person_removes_their_meetings_and_address(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """forget --person removes every meeting they were invited to and every record naming their address."""
    fill(capsys)
    email = b"greg.thompson@acmecorp.com"
    assert files_holding(tmp_path, [email])
    code, out, err = run_cli(capsys, "forget", "--person", "Greg.Thompson@acmecorp.com", "--json")
    assert code == 0, err
    receipt = json.loads(out)
    with_him = [
        m for m in load_demo_meetings() if any(i.get("email") == email.decode() for i in m["calendar_invitees"])
    ]
    assert receipt["kind"] == "person" and receipt["meetings"] == len(with_him)
    assert files_holding(tmp_path, [email]) == {}


@pytest.mark.parametrize(
    "argv", [["forget"], ["forget", "acmecorp.com", "--person", "a@b.com"], ["forget", "--person", "not-an-address"]]
)
def test_forget_with_bad_input_says_what_to_do_and_removes_nothing(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    """Neither or both of a website and --person, or a person that is not an address: exit 2, a message, nothing gone."""
    fill(capsys)
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and err.startswith(("forget needs", "error: --person needs"))
    code, out, _ = run_cli(capsys, "jobs", "list", "--json", "--domain", DOMAIN)
    assert len(json.loads(out)) == 1


def test_forget_on_redis_leaves_no_key_or_value_naming_the_customer(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With Redis, every key and value (jobs, cache, questions, shared transcripts, the meeting index) is clean too."""
    import redis

    monkeypatch.setenv("ENGAGEMENT_REDIS_URL", redis_url)
    fill(capsys, "--inline")
    needles = traces()
    client = redis.Redis.from_url(redis_url)

    def redis_holding() -> list[str]:
        found = []
        for key in client.scan_iter(count=1000):
            kind = client.type(key).decode()
            if kind == "string":
                values = [client.get(key) or b""]
            elif kind == "hash":
                values = [k + b"=" + v for k, v in client.hgetall(key).items()]
            elif kind == "set":
                values = list(client.smembers(key))
            elif kind == "zset":
                values = list(client.zrange(key, 0, -1))
            elif kind == "list":
                values = list(client.lrange(key, 0, -1))
            else:
                values = []
            blob = (key + b" " + b" ".join(values)).lower()
            found += [f"{key.decode()}: {n.decode()}" for n in needles if n.lower() in blob]
        return found

    assert redis_holding(), "the test must first see the traces it then looks for"
    code, out, err = run_cli(capsys, "forget", DOMAIN, "--json")
    assert code == 0, err
    assert json.loads(out)["meetings"] == len(_acme()[0])
    assert redis_holding() == []
    assert files_holding(tmp_path, needles) == {}
    assert Settings.from_env().redis_url == redis_url and os.environ["ENGAGEMENT_DB"].startswith(str(tmp_path))


def test_the_admin_page_forgets_after_a_confirmation_and_shows_the_receipt() -> None:
    """Admin: type the website, Forget…, confirm; the receipt counts the meetings and the job is gone."""
    from streamlit.testing.v1 import AppTest

    from tests.test_pages import APP, TIMEOUT, run_until
    from ui.runtime import get_runtime

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    at.button(key="summary_demo_acmecorp.com").click().run()
    run_until(at, lambda a: len(a.get("plotly_chart")) >= 3)
    at.switch_page("pages/admin.py").run()
    at.text_input(key="admin_forget_text").set_value("https://www.acmecorp.com").run()
    at.button(key="admin_forget").click().run()
    assert any("will be removed" in w.value for w in at.warning)
    assert get_runtime(Settings.from_env()).repo.count(domain=DOMAIN) == 1, "nothing goes before the confirmation"
    at.button(key="admin_forget_yes").click().run()
    assert any(s.value.startswith("Forgot acmecorp.com") for s in at.success)
    (table,) = at.table
    counts = dict(zip(table.value["removed"], table.value["count"], strict=True))
    assert counts["meetings removed from the index"] == len(_acme()[0])
    assert get_runtime(Settings.from_env()).repo.count(domain=DOMAIN) == 0
