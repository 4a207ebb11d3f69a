"""Exports: Markdown facts and evidence, JSON round trip, self-contained escaped HTML, guarded CSV."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from engagement.models import EngagementSummary, Evidence, Insight, JobOptions, JobRecord, JobStatus, MonthCount
from engagement.render import present, report
from tests.support.summary_factory import (
    FORMULA_CELLS,
    HOSTILE_ROLE,
    HOSTILE_URL,
    LONG_WORD,
    UNVERIFIED_QUOTE,
    make_record,
    make_summary,
    qualified_summary,
)

pytestmark = pytest.mark.xdist_group("report")  # under xdist one worker builds the module's fixtures once


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
    assert f"- **First meeting:** {present.nice_date(summary.first_meeting)}" in md  # the page's "3 Nov 2025"
    assert f"- **Last meeting:** {present.nice_date(summary.last_meeting)}" in md
    assert "- **People:** 6 (3 customer, 2 our team, 1 other)" in md


def test_markdown_lists_people_and_themes_with_mentions() -> None:
    """Every person is a row of the people table and every theme is listed with the meetings that raised it."""
    summary = make_summary(people=6, themes=8)
    md = report.to_markdown(summary)
    for person in summary.people:
        assert re.search(rf"^\| {re.escape(person.name)} \| .* \| {person.count} \|", md, re.M)
    for theme in summary.themes:
        assert f"**{theme.topic}** — meetings that raised it: {theme.mentions}" in md


def test_markdown_quotes_evidence_with_speaker_date_and_link() -> None:
    """A verified quote reads > "quote" — Speaker (their side), date, [meeting at time](link to the moment)."""
    summary = make_summary()
    evidence = summary.goals_detail[1].evidence[0]
    md = report.to_markdown(summary)
    expected = (
        f'> "{evidence.quote}" — {evidence.speaker} (Customer), {present.nice_date(evidence.meeting_date)}, '
        f"[{evidence.meeting_title} at {evidence.timestamp}]({evidence.url})"
    )
    assert expected in md
    assert "## Goals" in md and "## Challenges" in md and "## Risks" in md and "## Recommendations" in md


def test_markdown_accepts_a_summary_or_a_record() -> None:
    """``to_markdown`` takes a summary or a record; a record adds a footer about its run, an error record its error."""
    summary = make_summary()
    record = make_record(summary)
    assert "run " not in report.to_markdown(summary)
    md = report.to_markdown(record)
    assert "**Status:**" not in md and "**Source:**" not in md  # the run's own fields are no headline facts
    assert md.rstrip().endswith(
        f"_source demo · analysis offline · run {record.run_id} · updated 4 May 2026, 09:30 UTC_"
    )
    failed = make_record(None, status=JobStatus.ERROR, error="Fathom rejected the API key")
    md = report.to_markdown(failed)
    assert "Fathom rejected the API key" in md and "No summary yet" in md


def test_markdown_escapes_hostile_text() -> None:
    """Markup and Markdown syntax from data are inert, and a ``javascript:`` link is never made."""
    md = report.to_markdown(make_record(make_summary(hostile=True)))
    assert not re.search(r"(?<!\\)<(img|script|i>)", md)  # a tag needs an unescaped "<"
    assert "\\<img src=x onerror=alert(1)\\>" in md
    assert "[\\<img src=x onerror=alert(1)\\> at" in md  # link text: escaped, not an entity
    assert HOSTILE_URL not in md
    assert r"\| \*now\*" in md  # a pipe cannot split a table cell, stars cannot embolden


def test_markdown_makes_no_link_image_or_autolink_from_data() -> None:
    """Markdown links, images and bare URLs in insights and quotes stay text in the Markdown export."""
    md = report.to_markdown(make_record(make_summary(hostile=True)))
    data_lines = [line for line in md.splitlines() if "evil" in line]
    assert data_lines
    for line in data_lines:
        assert not re.search(r"(?<!\\)\]\((?!https://fathom\.video/)", line), line
        outside_code = re.sub(r"(`+).*?\1", "", line)  # a code span is never a link
        assert not re.search(r"(?i)https?://evil|(?<![\w.])www\.evil|\w@evil", outside_code), line
    assert LONG_WORD not in md and LONG_WORD[: present.TEXT_MAX - 1] in md  # capped, with an ellipsis


def test_html_links_only_to_meetings_and_wraps_long_words(hostile_html: str) -> None:
    """No href or src from data text in the HTML report, and an unbroken word wraps instead of widening the page."""
    assert "evil.example" in hostile_html  # shown, as text
    assert not re.search(r"(?:href|src)=\"[^\"]*evil", hostile_html)
    assert "overflow-wrap: break-word" in hostile_html  # a word breaks only when nothing else fits
    assert "<wbr>" in hostile_html  # an unbroken token gets places to wrap
    assert LONG_WORD not in hostile_html


def test_markdown_has_no_invisible_characters_and_no_needless_escapes() -> None:
    """The Markdown file reads as it was said when copied: no word joiner or control character, snake_case and
    times unescaped, and a bare address set in a code span instead of a link."""
    summary = make_summary(hostile=True)
    summary.goals_detail[0].text = "Move the report_date field by 10:30 -- then e-mail eve@evil.example"
    md = report.to_markdown(make_record(summary))
    assert not re.search("[\u200b-\u200f\u2060-\u2064\ufeff\x00-\x08\x0b-\x1f]", md)
    assert "Move the report_date field by 10:30 -- then e-mail `eve@evil.example`" in md


def test_export_names_carry_the_domain_the_dates_and_the_day() -> None:
    """A file name says whose summary it is, which dates it covers and when it was made."""
    record = make_record(make_summary())
    made = f"{record.created_at:%Y-%m-%d}"
    assert report.export_stem(record) == f"engagement-{record.domain}-all-meetings-made-{made}"
    ranged = record.model_copy(update={"options": record.options.model_copy(update={"since": "2026-06-01"})})
    assert report.export_stem(ranged) == f"engagement-{record.domain}-2026-06-01-to-today-made-{made}"


def test_the_printed_report_breaks_pages_between_parts_and_never_mid_word(hostile_html: str) -> None:
    """Print CSS: the big parts start a page, headings stay with what follows, and words are not broken."""
    assert "section.page { break-before: page" in hostile_html
    assert hostile_html.count('<section class="page">') >= 4
    body = re.search(r"\nbody \{[^}]*\}", hostile_html)
    assert body and "overflow-wrap: break-word" in body[0] and "word-break: normal" in body[0]
    assert "overflow-wrap: anywhere" not in hostile_html
    assert "<svg" in hostile_html and "<script" not in hostile_html


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


def test_html_is_self_contained() -> None:
    """The HTML loads nothing and runs nothing: no script at all, no external stylesheet or image; charts are SVG."""
    page = report.to_html(make_record(make_summary()))
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script\b", page, re.I)
    assert not re.search(r"<link\b", page, re.I)
    assert not re.search(r"<img\b", page, re.I)
    assert "cdn." not in page
    assert "<style>" in page
    assert page.count("<svg ") == 3


def test_html_escapes_hostile_text(hostile_html: str) -> None:
    """A meeting title ``<img src=x onerror=alert(1)>`` appears escaped and never as markup."""
    page = hostile_html
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img src=x" not in page
    assert "<script>alert" not in page
    assert "<i>Corp" not in page
    assert 'href="javascript:' not in page.lower()
    assert not re.search(r"<script\b", page)


def test_html_has_facts_sections_and_print_layout() -> None:
    """The HTML shows the facts, every insight section, the tables, and a print stylesheet."""
    summary = make_summary()
    page = report.to_html(make_record(summary))
    assert "<dt>Meetings</dt><dd>12</dd>" in page
    for heading in ("Goals", "Challenges", "Risks", "Recommendations", "Themes", "People", "Meetings"):
        assert f"<h2>{heading}</h2>" in page
    assert "@media print" in page
    evidence = summary.goals_detail[1].evidence[0]
    assert f"<p>“{evidence.quote}”</p>" in page
    assert f'href="{evidence.url}"' in page
    assert '<th class="num">Meetings that raised it</th>' in page
    assert "<dt>Status</dt>" not in page and "<dt>Source</dt>" not in page


def test_html_for_a_failed_job_shows_the_error_without_charts() -> None:
    """A job that failed exports its error and no charts."""
    page = report.to_html(make_record(None, status=JobStatus.ERROR, error="Fathom rejected the API key"))
    assert "Fathom rejected the API key" in page
    assert "<svg " not in page


def test_an_insight_that_is_its_quote_is_said_once() -> None:
    """When an insight is its own first quote (the offline analyser's way) the exports say it once, as the page does."""
    said = "We need the rollout finished before the January planning cycle."
    quote = Evidence(recording_id=1000, timestamp="00:01:00", speaker="Dana Reyes", quote=said, verified=True)
    summary = make_summary().model_copy(update={"goals_detail": [Insight(text=said, evidence=[quote])]})
    for text in (report.to_markdown(summary), report.to_html(summary, include_charts=False)):
        assert text.count(said) == 1


def test_the_busiest_months_are_all_named_when_they_tie() -> None:
    """Two months with the most meetings: "Busiest months: Jun 2026, Aug 2026 (3 meetings each)"."""
    months = [
        MonthCount(month="2026-06", count=3),
        MonthCount(month="2026-07", count=1),
        MonthCount(month="2026-08", count=3),
    ]
    summary = make_summary().model_copy(update={"meetings_by_month": months})
    assert "- **Busiest months:** Jun 2026, Aug 2026 (3 meetings each)" in report.to_markdown(summary)
    one = summary.model_copy(update={"meetings_by_month": months[:2]})
    assert "- **Busiest month:** Jun 2026 (3 meetings)" in report.to_markdown(one)


def test_a_filtered_run_says_which_dates_it_asked_for() -> None:
    """A run for 1 Jun – 31 Aug 2026 names its range among the facts of both reports."""
    record = make_record(make_summary()).model_copy(
        update={"options": JobOptions(since="2026-06-01", until="2026-08-31")}
    )
    assert "- **Dates asked for:** 1 Jun 2026 – 31 Aug 2026" in report.to_markdown(record)
    assert "<dt>Dates asked for</dt><dd>1 Jun 2026 – 31 Aug 2026</dd>" in report.to_html(record)


def test_a_large_account_makes_a_small_html_report() -> None:
    """168 meetings, 100 people and 100 themes: the HTML report stays under 1.5 MB (charts are SVG, no plotly.js)."""
    page = report.to_html(make_record(make_summary(meetings=168, people=100, themes=100, months=30)))
    assert len(page.encode()) < 1_500_000


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
        "Role from",
        "Role said in",
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
    assert people[1][:4] + people[1][6:7] == [top.name, top.email, "Customer", top.role, str(top.count)]
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
    assert "## Since 20 Apr 2026" in markdown and "- **Resolved signals:** Cadence drop" in markdown
    page = report.to_html(summary, include_charts=False)
    assert "<h2>Signals</h2>" in page and "No meeting for 64 days" in page
    assert f'href="{last.share_url}"' in page.split("<h2>Signals</h2>")[1].split("</section>")[0]
    assert "<h2>Since 20 Apr 2026</h2>" in page and "Cadence drop" in page


def test_the_exports_carry_the_qualification_and_our_commitments() -> None:
    """Markdown and HTML list every element's state with its quotes or what was searched, and our commitments; the
    JSON keeps summary.qualification and summary.commitments whole."""
    summary = qualified_summary()
    markdown = report.to_markdown(summary)
    assert "## Qualification: MEDDPICC (6/8 evidenced)" in markdown
    assert "Since the restructure, the CFO signs off on anything with a three-year term, not me." in markdown
    assert (
        "_Our side said (not evidence):_" not in markdown.split("## Our commitments")[0].split("Decision criteria")[0]
    )
    assert "No customer statement in 10 meetings (9 transcripts" in markdown
    assert "## Our commitments" in markdown and "**Done** — " in markdown and "**Open**" not in markdown
    assert "seen done, " in markdown.split("## Our commitments")[1]
    assert '"Will do."' in markdown and "_in answer to " in markdown.split("## Our commitments")[1]
    page = report.to_html(summary, include_charts=False)
    assert "<h2>Qualification: MEDDPICC (6/8 evidenced)</h2>" in page and "<h2>Our commitments</h2>" in page
    assert "the CFO signs off on anything with a three-year term" in page
    assert '<p class="note">in answer to ' in page.split("<h2>Our commitments</h2>")[1]
    again = EngagementSummary.model_validate(json.loads(report.to_json(summary)))
    assert again.qualification == summary.qualification and again.commitments == summary.commitments
