"""The command line: summarize (demo and a Fathom-compatible server), jobs list, jobs purge, cache clear."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engagement.__main__ import main
from engagement.demo import load_demo_meetings
from engagement.storage.sqlite import SqliteKV
from tests.fakes.fathom_server import FAKE_API_KEY, FathomServer
from tests.support.cli import run_cli, run_command
from tests.support.quotes import assert_quotes_were_said, folded, transcripts_of

ROOT = Path(__file__).resolve().parents[1]


def demo_meetings_at(domain: str) -> set[int]:
    """Recording ids of demo meetings with an invitee e-mail at the domain (counted from the raw JSON)."""
    return {
        m["recording_id"]
        for m in load_demo_meetings()
        if any((i.get("email") or "").lower().endswith("@" + domain) for i in m["calendar_invitees"])
    }


def test_summarize_demo_prints_a_complete_record_with_exact_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """With no keys, summarize https://www.acmecorp.com --json completes on demo data with the exact meeting count."""
    code, out, err = run_cli(capsys, "summarize", "https://www.acmecorp.com", "--json")
    assert code == 0, err
    record = json.loads(out)
    assert (record["status"], record["domain"], record["source"], record["analyzer"]) == (
        "complete",
        "acmecorp.com",
        "demo",
        "offline",
    )
    summary = record["summary"]
    assert summary["company"] == "Acme Corp"
    expected = demo_meetings_at("acmecorp.com")
    assert summary["meetings_count"] == len(expected) == 13  # A13 too, which Fathom files under the partner
    assert {m["recording_id"] for m in summary["meetings"]} == expected
    kevin = next(p for p in summary["people"] if p["email"] == "kevin.walsh@acmecorp.com")
    assert (kevin["count"], kevin["invited"]) == (7, 7)
    assert summary["themes"] and summary["goals"] and summary["risks"] and 3 <= len(summary["recommendations"]) <= 7
    assert all(p["count"] >= 1 for p in summary["people"])


def test_summarize_stores_the_job_like_the_ui(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The record lands in ENGAGEMENT_DB under engagement:{domain}:{run_id}, and jobs list shows it."""
    code, out, _ = run_cli(capsys, "summarize", "brightwater.co.uk", "--json")
    record = json.loads(out)
    run_id = record["run_id"]
    store = SqliteKV(tmp_path / "engagement.sqlite")
    assert store.get(f"engagement:brightwater.co.uk:{run_id}")["status"] == "complete"
    # B9 was recorded without a transcript: counted, shown as such, not analysed.
    (b9,) = [m for m in record["summary"]["meetings"] if m["recording_id"] == 132745112]
    assert b9["no_transcript"] == "no transcript" and b9["analysed"] is False
    assert record["summary"]["meetings_count"] == 10 and record["stats"]["meetings_without_transcript"] == 1
    store.close()
    code, out, _ = run_cli(capsys, "jobs", "list", "--json")
    assert code == 0
    assert [(r["domain"], r["run_id"], r["status"]) for r in json.loads(out)] == [
        ("brightwater.co.uk", run_id, "complete")
    ]
    code, out, _ = run_cli(capsys, "jobs", "list")
    assert "brightwater.co.uk" in out and run_id in out


def test_summarize_readable_report(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --json the report names the counts, people, themes and insights in plain text."""
    code, out, _ = run_cli(capsys, "summarize", "globex.io")
    assert code == 0
    assert "globex.io" in out and "meetings: " in out and "people:" in out and "themes:" in out
    assert "qualification: MEDDPICC 7/8 evidenced" in out  # paper process: only our side spoke of it


def test_summarize_rejects_bad_input_and_stores_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """An invalid website exits 2 with the normaliser's message on stderr; no job is stored."""
    code, out, err = run_cli(capsys, "summarize", "localhost")
    assert code == 2 and out == ""
    assert "localhost" in err and "acmecorp.com" in err
    assert not (tmp_path / "engagement.sqlite").exists() or SqliteKV(tmp_path / "engagement.sqlite").count() == 0


def test_summarize_date_range(capsys: pytest.CaptureFixture[str]) -> None:
    """--since/--until keep only the meetings in the range; a reversed range is refused."""
    code, out, _ = run_cli(
        capsys, "summarize", "acmecorp.com", "--since", "2026-09-01", "--until", "2026-09-30", "--json"
    )
    assert code == 0
    summary = json.loads(out)["summary"]
    dates = [m["date"] for m in summary["meetings"]]
    assert dates and all("2026-09-01" <= d <= "2026-09-30" for d in dates)
    assert summary["meetings_count"] == len(dates) < 12
    code, _, err = run_cli(capsys, "summarize", "acmecorp.com", "--since", "2026-10-01", "--until", "2026-09-01")
    assert code == 2 and "after" in err


def test_summarize_an_unknown_company_completes_with_zero_meetings(capsys: pytest.CaptureFixture[str]) -> None:
    """A company with no meetings completes with meetings_count 0 and a note, no invented content."""
    code, out, _ = run_cli(capsys, "summarize", "nobody-here.com", "--json")
    summary = json.loads(out)["summary"]
    assert code == 0
    assert summary["meetings_count"] == 0 and summary["themes"] == [] and summary["goals"] == []
    assert "No recorded Fathom meetings" in summary["notes"][0]


def test_summarize_against_a_fathom_compatible_server(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fathom_server: FathomServer
) -> None:
    """With FATHOM_API_KEY and FATHOM_BASE_URL the CLI counts exactly the server's 23 acmecorp.com meetings."""
    monkeypatch.setenv("FATHOM_API_KEY", FAKE_API_KEY)
    monkeypatch.setenv("FATHOM_BASE_URL", fathom_server.base_url)
    code, out, err = run_cli(capsys, "summarize", "acmecorp.com", "--json")
    assert code == 0, err
    record = json.loads(out)
    assert record["source"] == "fathom"
    assert record["summary"]["meetings_count"] == 23  # make_account() builds 23; the 7 noise meetings are others'
    # 3 pages and a look for older meetings index the workspace's 29 external meetings; 3 pages of Fathom's own
    # acmecorp.com filter bring the 23 transcripts, ten a request.
    assert record["stats"]["fathom_requests"] == 7


def test_summarize_reports_a_rejected_key_on_stderr(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fathom_server: FathomServer
) -> None:
    """A wrong key exits 1 with "Fathom rejected the API key" on stderr, and the stored job is error."""
    monkeypatch.setenv("FATHOM_API_KEY", "wrong-key-value")
    monkeypatch.setenv("FATHOM_BASE_URL", fathom_server.base_url)
    code, out, err = run_cli(capsys, "summarize", "acmecorp.com", "--json")
    assert code == 1
    assert "Fathom rejected the API key" in err and "wrong-key-value" not in err + out
    assert json.loads(out)["status"] == "error"


def test_jobs_purge_and_cache_clear(capsys: pytest.CaptureFixture[str]) -> None:
    """jobs purge removes finished jobs by age or status; cache clear empties the analysis cache only."""
    run_cli(capsys, "summarize", "acmecorp.com", "--json")
    run_cli(capsys, "summarize", "globex.io", "--json")
    code, _, err = run_cli(capsys, "jobs", "purge")
    assert code == 2 and "--older-than" in err
    assert run_cli(capsys, "jobs", "purge", "--older-than", "7d")[1].strip() == "purged 0 jobs"
    assert run_cli(capsys, "jobs", "purge", "--status", "error")[1].strip() == "purged 0 jobs"
    assert run_cli(capsys, "jobs", "purge", "--older-than", "0m")[1].strip() == "purged 2 jobs"
    assert json.loads(run_cli(capsys, "jobs", "list", "--json")[1]) == []
    out = run_cli(capsys, "cache", "clear")[1]
    assert out.startswith("cleared ") and not out.startswith("cleared 0 ")
    assert run_cli(capsys, "cache", "clear")[1].strip() == "cleared 0 cached meeting analyses"


def test_bad_durations_and_dates_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """argparse refuses a malformed --older-than or --since with a message."""
    with pytest.raises(SystemExit):
        main(["jobs", "purge", "--older-than", "soon"])
    assert "7d" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["summarize", "acmecorp.com", "--since", "yesterday"])
    assert "2026-06-01" in capsys.readouterr().err


def test_python_dash_m_engagement_runs(tmp_path: Path) -> None:
    """`python -m engagement summarize acmecorp.com --json` works as a real process with no keys."""
    env = {"PATH": "/usr/bin:/bin", "ENGAGEMENT_DB": str(tmp_path / "cli.sqlite"), "PYTHONPATH": str(ROOT)}
    done = run_command("summarize", "acmecorp.com", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["meetings_count"] == 13


def test_summarize_with_an_openai_compatible_server_quotes_only_what_was_said(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With OPENAI_API_KEY and OPENAI_BASE_URL, every quote occurs in a transcript; a second run makes no map call."""
    from tests.fakes.openai_server import FakeOpenAI

    transcripts = transcripts_of(load_demo_meetings())
    with FakeOpenAI(api_key="sk-cli-test") as model:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-cli-test")
        monkeypatch.setenv("OPENAI_BASE_URL", model.base_url)
        code, out, err = run_cli(capsys, "summarize", "acmecorp.com", "--json")
        assert code == 0, err
        record = json.loads(out)
        assert (
            record["analyzer"] == "openai:gpt-5.4-mini" and record["stats"]["llm_calls"] == 27
        )  # 13 maps, 13 qualifications, 1 reduce
        # the fake cites every third quote on the line before the right one: verification moved them
        assert record["stats"]["qualification_quotes_moved"] > 0
        summary = record["summary"]
        for element in summary["qualification"]["elements"]:  # the model's evidence: the customer's, verbatim
            assert all(ev["side"] == "customer" for ev in element["evidence"])
            assert all(folded(ev["quote"]) in folded(transcripts[ev["recording_id"]]) for ev in element["evidence"])
        assert summary["themes"] and summary["goals"] and summary["risks"] and summary["recommendations"]
        assert_quotes_were_said(summary, transcripts)
        requests = len(model.requests)
        code, out, _ = run_cli(capsys, "summarize", "acmecorp.com", "--json")
        assert code == 0 and json.loads(out)["stats"]["llm_calls"] == 0
        assert len(model.requests) == requests


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["jobs", "list", "--limit", "99999999999999999999"], "not between 1 and"),
        (["jobs", "list", "--limit", "0"], "not between 1 and"),
        (["summarize", "acmecorp.com", "--until", "9999-12-31"], "outside 1970-01-01 to 2100-12-31"),
        (["summarize", "acmecorp.com", "--since", "0001-01-01"], "outside 1970-01-01 to 2100-12-31"),
        (["jobs", "purge", "--older-than", "99999999999w"], "longer than 36,500 days"),
    ],
)
def test_out_of_range_numbers_and_dates_are_refused_with_what_to_type(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], says: str
) -> None:
    """Huge limits, far dates and ages give a usage error saying the range, never a traceback; nothing is stored."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and says in err and "Traceback" not in err
    assert not (tmp_path / "engagement.sqlite").exists() or SqliteKV(tmp_path / "engagement.sqlite").count() == 0


def test_summarize_refuses_our_own_domain_from_fathom(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The demo recorders' domain (signalpath.io) is ours: the first run (index empty) ends in error once the index
    knows it, saying why; later ones are refused before any job. Never a "summary" of every customer."""
    why = "signalpath.io is our own domain (the people who record our Fathom meetings"
    code, out, err = run_cli(capsys, "summarize", "signalpath.io", "--json")
    assert code == 1 and why in err
    record = json.loads(out)
    assert record["status"] == "error" and record["summary"] is None and why in record["error"]
    code, _, err = run_cli(capsys, "summarize", "signalpath.io")
    assert code == 2 and why in err


def test_summarize_refuses_a_domain_of_the_setting_at_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A domain in ENGAGEMENT_OUR_DOMAINS is refused before any job, even before the index knows it."""
    monkeypatch.setenv("ENGAGEMENT_OUR_DOMAINS", "signalpath.io, sp-labs.com")
    code, _, err = run_cli(capsys, "summarize", "https://www.sp-labs.com")
    assert code == 2 and "sp-labs.com is our own domain (it is listed in ENGAGEMENT_OUR_DOMAINS)" in err
    assert run_cli(capsys, "jobs", "list", "--json")[1].strip() in ("[]", "")
    code, _, err = run_cli(capsys, "ask", "sp-labs.com", "pricing")
    assert code == 2 and "is our own domain" in err


def test_a_look_alike_domain_is_summarised_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    """An all-Cyrillic 'apple' is not refused, but the CLI and the summary's notes warn that it imitates a Latin name."""
    code, out, err = run_cli(capsys, "summarize", "xn--80ak6aa92e.com", "--json")
    assert code == 0, err
    assert "warning: аррӏе.com (xn--80ak6aa92e.com) is written in Cyrillic letters" in err
    notes = json.loads(out)["summary"]["notes"]
    assert any("look like the Latin 'apple'" in n for n in notes)


def test_summarize_json_gives_every_quote_its_side_and_greg_his_role(capsys: pytest.CaptureFixture[str]) -> None:
    """Acme's --json: every quote under themes, goals, challenges, risks is the customer's; Greg is CRO, with the words."""
    code, out, err = run_cli(capsys, "summarize", "acmecorp.com", "--json")
    assert code == 0, err
    summary = json.loads(out)["summary"]
    lists = [*summary["goals_detail"], *summary["challenges_detail"], *summary["risks_detail"], *summary["themes"]]
    sides = {ev["side"] for item in lists for ev in item["evidence"]}
    assert sides == {"customer"}
    assert all(ev["side"] for item in summary["recommendations_detail"] for ev in item["evidence"])
    greg = next(p for p in summary["people"] if p["email"] == "greg.thompson@acmecorp.com")
    assert greg["role"] == "CRO" and greg["role_source"] == "meeting"
    assert greg["role_evidence"] and "CRO" in greg["role_evidence"][0]["quote"]
    assert "no_senior_voice" not in [s["kind"] for s in summary["signals"]]


def test_a_filtered_run_keeps_roles_said_in_the_accounts_other_meetings(capsys: pytest.CaptureFixture[str]) -> None:
    """Jun–Sep of Acme after a full run: Greg is still CRO, from words said in October, outside the dates asked for."""
    assert run_cli(capsys, "summarize", "acmecorp.com", "--json")[0] == 0
    code, out, err = run_cli(
        capsys, "summarize", "acmecorp.com", "--since", "2026-06-01", "--until", "2026-09-30", "--json"
    )
    assert code == 0, err
    summary = json.loads(out)["summary"]
    window = {m["recording_id"] for m in summary["meetings"]}
    greg = next(p for p in summary["people"] if p["email"] == "greg.thompson@acmecorp.com")
    assert greg["role"] == "CRO"
    assert all(ev["recording_id"] not in window for ev in greg["role_evidence"])
