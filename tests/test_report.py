"""Exports: Markdown facts and evidence, JSON round trip, self-contained escaped HTML, guarded CSV."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from plotly.offline import get_plotlyjs

from engagement import present, report
from engagement.models import JobRecord, JobStatus
from tests.support.summary_factory import (
    FORMULA_CELLS,
    HOSTILE_ROLE,
    HOSTILE_URL,
    LONG_WORD,
    UNVERIFIED_QUOTE,
    make_record,
    make_summary,
)


@pytest.fixture(scope="module")
def plotlyjs() -> str:
    return get_plotlyjs()


@pytest.fixture(scope="module")
def hostile_html() -> str:
    return report.to_html(make_record(make_summary(hostile=True)))


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


# ---------------------------------------------------------------- Markdown


def test_markdown_has_headline_facts() -> None:
    """The Markdown opens with the company, meeting count, first and last meeting, and people by side."""
    summary = make_summary(meetings=12, people=6)
    md = report.to_markdown(make_record(summary))
    assert md.startswith("# Engagement summary: Acme\n")
    assert "- **Meetings:** 12" in md
    assert f"- **First meeting:** {summary.first_meeting}" in md
    assert f"- **Last meeting:** {summary.last_meeting}" in md
    assert "- **People:** 6 (3 customer, 2 our team, 1 other)" in md


def test_markdown_lists_people_and_themes_with_mentions() -> None:
    """Every person is a row of the people table and every theme is listed with its mentions."""
    summary = make_summary(people=6, themes=8)
    md = report.to_markdown(summary)
    for person in summary.people:
        assert re.search(rf"^\| {re.escape(person.name)} \| .* \| {person.count} \|", md, re.M)
    for theme in summary.themes:
        assert f"**{theme.topic}** — {theme.mentions} mentions" in md


def test_markdown_quotes_evidence_with_speaker_date_and_link() -> None:
    """A verified quote reads > "quote" — Speaker, date, [meeting at time](link to the moment)."""
    summary = make_summary()
    evidence = summary.goals_detail[1].evidence[0]
    md = report.to_markdown(summary)
    expected = (
        f'> "{evidence.quote}" — {evidence.speaker}, {evidence.meeting_date}, '
        f"[{evidence.meeting_title} at {evidence.timestamp}]({evidence.url})"
    )
    assert expected in md
    assert "## Goals" in md and "## Challenges" in md and "## Risks" in md and "## Recommendations" in md


def test_markdown_accepts_a_summary_or_a_record() -> None:
    """``to_markdown`` takes a summary or a record; a record adds its status, and an error record its error."""
    summary = make_summary()
    assert "**Status:**" not in report.to_markdown(summary)
    assert "**Status:** complete" in report.to_markdown(make_record(summary))
    failed = make_record(None, status=JobStatus.ERROR, error="Fathom rejected the API key")
    md = report.to_markdown(failed)
    assert "Fathom rejected the API key" in md and "No summary yet" in md


def test_markdown_escapes_hostile_text() -> None:
    """Markup and Markdown syntax from data are inert, and a ``javascript:`` link is never made."""
    md = report.to_markdown(make_record(make_summary(hostile=True)))
    assert "<img" not in md and "<script" not in md and "<i>" not in md
    assert "&lt;img src=x onerror=alert(1)&gt;" in md
    assert HOSTILE_URL not in md
    assert r"\| \*now\*" in md  # a pipe cannot split a table cell, stars cannot embolden


def test_markdown_makes_no_link_image_or_autolink_from_data() -> None:
    """Markdown links, images and bare URLs in insights and quotes stay text in the Markdown export."""
    md = report.to_markdown(make_record(make_summary(hostile=True)))
    data_lines = [line for line in md.splitlines() if "evil" in line]
    assert data_lines
    for line in data_lines:
        assert not re.search(r"(?<!\\)\]\((?!https://fathom\.video/)", line), line
        assert not re.search(r"(?i)https?://evil|(?<![\w.])www\.evil|\w@evil", line), line
    assert LONG_WORD not in md and LONG_WORD[: present.TEXT_MAX - 1] in md  # capped, with an ellipsis


def test_html_links_only_to_meetings_and_wraps_long_words(hostile_html: str) -> None:
    """No href or src from data text in the HTML report, and an unbroken word wraps instead of widening the page."""
    assert "evil.example" in hostile_html  # shown, as text
    assert not re.search(r"(?:href|src)=\"[^\"]*evil", hostile_html)
    assert "overflow-wrap: anywhere" in hostile_html
    assert LONG_WORD not in hostile_html


# ---------------------------------------------------------------- JSON


def test_json_round_trips_to_the_record() -> None:
    """``to_json`` is the stored record, pretty-printed, and validates back to an equal ``JobRecord``."""
    record = make_record(make_summary(hostile=True))
    text = report.to_json(record)
    assert JobRecord.model_validate_json(text) == record
    assert json.loads(text) == record.model_dump(mode="json")
    assert '\n  "domain": "acme.com"' in text


def test_json_keeps_unverified_evidence_flagged() -> None:
    """The JSON keeps unverified evidence as data with ``verified: false``, so nothing reads it as checked."""
    data = json.loads(report.to_json(make_record(make_summary())))
    evidence = [
        e for goal in data["summary"]["goals_detail"] for e in goal["evidence"] if e["quote"] == UNVERIFIED_QUOTE
    ]
    assert [e["verified"] for e in evidence] == [False]


# ---------------------------------------------------------------- HTML


def test_html_is_self_contained(plotlyjs: str) -> None:
    """The HTML loads nothing: no external script, stylesheet or image, plotly.js inlined exactly once."""
    page = report.to_html(make_record(make_summary()))
    assert page.startswith("<!DOCTYPE html>")
    assert page.count(plotlyjs) == 1
    rest = page.replace(plotlyjs, "")
    assert not re.search(r"<script[^>]*\ssrc=", rest, re.I)
    assert not re.search(r"<link\b", rest, re.I)
    assert not re.search(r"<img\b", rest, re.I)
    assert "cdn." not in rest
    assert "<style>" in page
    assert rest.count("Plotly.newPlot(") == 3


def test_html_escapes_hostile_text(hostile_html: str, plotlyjs: str) -> None:
    """A meeting title ``<img src=x onerror=alert(1)>`` appears escaped and never as markup."""
    page = hostile_html.replace(plotlyjs, "")
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img src=x" not in page
    assert "<script>alert" not in page
    assert "<i>Corp" not in page
    assert 'href="javascript:' not in page.lower()
    assert len(re.findall(r"<script\b", page)) == 4  # plotly.js and the three charts, nothing from data


def test_html_has_facts_sections_and_print_layout(plotlyjs: str) -> None:
    """The HTML shows the facts, every insight section, the tables, and a print stylesheet."""
    summary = make_summary()
    page = report.to_html(make_record(summary)).replace(plotlyjs, "")
    assert "<dt>Meetings</dt><dd>12</dd>" in page
    for heading in ("Goals", "Challenges", "Risks", "Recommendations", "Themes", "People", "Meetings"):
        assert f"<h2>{heading}</h2>" in page
    assert "@media print" in page
    evidence = summary.goals_detail[1].evidence[0]
    assert f"<p>“{evidence.quote}”</p>" in page
    assert f'href="{evidence.url}"' in page


def test_html_for_a_failed_job_shows_the_error_without_charts(plotlyjs: str) -> None:
    """A job that failed exports its error and no charts (so no plotly.js either)."""
    page = report.to_html(make_record(None, status=JobStatus.ERROR, error="Fathom rejected the API key"))
    assert "Fathom rejected the API key" in page
    assert plotlyjs not in page and "Plotly.newPlot" not in page


# ---------------------------------------------------------------- CSV


def test_csv_neutralises_formulas() -> None:
    """Cells starting with = + - @ get a leading quote, so a spreadsheet shows them instead of running them."""
    summary = make_summary(hostile=True)
    titles = [row[3] for row in _rows(report.meetings_csv(summary))[1:]]
    for formula in FORMULA_CELLS:
        assert "'" + formula in titles
        assert formula not in titles
    roles = [row[3] for row in _rows(report.people_csv(summary))[1:]]
    assert "'" + HOSTILE_ROLE in roles
    for rows in (_rows(report.meetings_csv(summary)), _rows(report.people_csv(summary))):
        assert not any(cell[:1] in "=+-@" and cell for row in rows for cell in row)


def test_csv_leaves_ordinary_values_alone() -> None:
    """Names, dates and counts come through unchanged, one row a person or meeting, under the page's labels."""
    summary = make_summary(meetings=12, people=6)
    people = _rows(report.people_csv(summary))
    assert people[0] == [
        "Name",
        "E-mail",
        "Side",
        "Role",
        "Meetings",
        "Invited",
        "Spoke in",
        "First seen",
        "Last seen",
        "Also shown as",
        "Matched by",
    ]
    assert len(people) == 7
    top = summary.people[0]
    assert people[1][:5] == [top.name, top.email, "Customer", top.role, str(top.count)]
    meetings = _rows(report.meetings_csv(make_record(summary)))
    assert len(meetings) == 13
    first = summary.meetings[0]
    assert meetings[1][:5] == [
        str(first.recording_id),
        first.date,
        first.started_at,
        first.title,
        str(first.duration_min),
    ]


# ---------------------------------------------------------------- unverified evidence


def test_unverified_evidence_is_never_quoted() -> None:
    """Evidence with ``verified=False`` is marked unverified and its words appear in no human-readable export."""
    summary = make_summary()
    md, page = report.to_markdown(summary), report.to_html(summary, include_charts=False)
    for text in (md, page, report.people_csv(summary), report.meetings_csv(summary)):
        assert UNVERIFIED_QUOTE not in text
    assert "Unverified" in md and "Unverified" in page


def test_exports_carry_coverage_signals_and_what_changed() -> None:
    """Markdown and HTML show the coverage line, each signal with its meetings' links, and the Since list."""
    summary = make_summary()
    last = summary.meetings[0]
    markdown = report.to_markdown(summary)
    assert "_Coverage: 11 of 12 meetings analysed · 1 without a transcript · 2 speakers unmatched._" in markdown
    assert "## Signals" in markdown and "High · No meeting for 64 days" in markdown
    assert f"]({last.share_url})" in markdown.split("## Signals")[1].split("##")[0]
    assert "## Since 2026-04-20" in markdown and "- **Resolved signals:** Cadence drop" in markdown
    page = report.to_html(summary, include_charts=False)
    assert "<h2>Signals</h2>" in page and "No meeting for 64 days" in page
    assert f'href="{last.share_url}"' in page.split("<h2>Signals</h2>")[1].split("</section>")[0]
    assert "<h2>Since 2026-04-20</h2>" in page and "Cadence drop" in page
