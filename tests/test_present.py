"""The presentation layer: inert Markdown, bounded lines, citations, and table rows with the page's labels."""

from __future__ import annotations

import pytest

from engagement.models import Evidence, Side
from engagement.render import present, report
from tests.support.summary_factory import HOSTILE_URL, make_summary

WJ = present.WORD_JOINER


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
        ("see https://evil.example/login", f"see https:{WJ}//evil.example/login"),
        ("go to www.evil.example", f"go to www{WJ}.evil.example"),
        ("mail eve@evil.example", f"mail eve@{WJ}evil.example"),
        ("[Click here](https://evil.example)", f"\\[Click here\\](https:{WJ}//evil.example)"),
        ("![x](https://evil.example/i.png)", f"!\\[x\\](https:{WJ}//evil.example/i.png)"),
        (":red[alarm] :material/warning: :smile:", f":{WJ}red\\[alarm\\] :{WJ}material/warning:{WJ} :{WJ}smile:{WJ}"),
        ("# Heading", r"\# Heading"),
        ("- item", r"\- item"),
        ("1. item", r"1\. item"),
        ("a | b *c* _d_ ~~e~~ `f` $g$ \\ &amp;", r"a \| b \*c\* \_d\_ \~\~e\~\~ \`f\` \$g\$ \\ \&amp;"),
        ("at 00:12:30, 10:30 sharp", "at 00:12:30, 10:30 sharp"),
        ("line one\n\n# two", "line one # two"),
    ],
)
def test_md_makes_data_text_inert(text: str, escaped: str) -> None:
    """Tags, links, autolinks, Streamlit directives, block markers and emphasis come out as literal text."""
    assert present.md(text) == escaped


def test_one_line_caps_every_shown_string() -> None:
    """A string longer than ``TEXT_MAX`` is cut to that many characters, ending in an ellipsis."""
    shown = present.one_line("x" * (present.TEXT_MAX * 5))
    assert len(shown) == present.TEXT_MAX and shown.endswith("…")
    assert len(present.md("<" * (present.TEXT_MAX * 2))) <= present.TEXT_MAX * len("&lt;")


def test_one_line_drops_control_characters() -> None:
    """A terminal escape sequence or a right-to-left override from data never reaches a screen or a file."""
    assert present.one_line("red\x1b[31m alert\x07 \u202egnp.exe") == "red[31m alert gnp.exe"


def test_plural_counts_one_and_many() -> None:
    """``1 meeting``, ``2 meetings``, and an irregular plural when given."""
    assert present.plural(1, "meeting") == "1 meeting"
    assert present.plural(0, "meeting") == "0 meetings"
    assert present.plural(3, "analysis", "analyses") == "3 analyses"


def test_the_indexing_stage_counts_with_separators_and_one_meeting() -> None:
    """The index's progress reads "indexing Fathom: 3,400 meetings", and "1 meeting" for one."""
    assert present.indexing_stage(3400) == "indexing Fathom: 3,400 meetings"
    assert present.indexing_stage(1) == "indexing Fathom: 1 meeting"


def test_a_citation_never_quotes_unverified_words_or_links_unsafely() -> None:
    """An unverified quote has no quote to show; a ``javascript:`` link has no link."""
    evidence = Evidence(recording_id=7, timestamp="00:01:00", quote="We will sign", verified=False, url=HOSTILE_URL)
    citation = present.cite(evidence)
    assert citation.quote is None and citation.url is None
    assert citation.title == "Recording 7"


def test_every_renderer_uses_the_page_side_labels() -> None:
    """The people CSV names each side as the page does ("Our team", "Personal e-mail"), never the enum value."""
    summary = make_summary(people=12)
    csv_text = report.people_csv(summary)
    sides = {p.side for p in summary.people}
    assert Side.INTERNAL in sides
    for side in sides:
        assert f",{present.SIDE_LABELS[side]}," in csv_text
    assert ",internal," not in csv_text and ",customer," not in csv_text
    assert {row.side for row in present.people_rows(summary)} == {present.SIDE_LABELS[s] for s in sides}


def test_table_rows_cap_every_text() -> None:
    """A name or title of any length is one line of at most TEXT_MAX characters in every table."""
    summary = make_summary(people=2, meetings=2)
    summary.people[0].name = "n" * (present.TEXT_MAX * 3)
    summary.meetings[0].title = "line one\nline two " + "t" * (present.TEXT_MAX * 3)
    longest = max(len(row.name) for row in present.people_rows(summary))
    title = next(row.title for row in present.meeting_rows(summary) if row.title.startswith("line one"))
    assert longest == present.TEXT_MAX and len(title) == present.TEXT_MAX and "\n" not in title
    assert all(
        len(cell) <= present.TEXT_MAX for line in report.people_csv(summary).splitlines() for cell in line.split(",")
    )


def test_the_timeline_has_a_row_a_meeting_with_its_sides_themes_and_quotes() -> None:
    """Every meeting is a row, oldest first, with who came from each side, the themes it raised and its verified quotes."""
    summary = make_summary()
    rows = present.timeline_rows(summary)
    assert [r.recording_id for r in rows] == [
        m.recording_id for m in sorted(summary.meetings, key=lambda m: m.started_at)
    ]
    first = summary.themes[0]
    raised = [r for r in rows if r.recording_id in first.meetings]
    assert raised and all(present.one_line(first.topic) in r.themes for r in raised)
    quoted = {e.recording_id for t in summary.themes for e in t.evidence if e.verified}
    assert quoted and all(r.quotes for r in rows if r.recording_id in quoted)
    assert all(q.quote is not None for r in rows for q in r.quotes)
    assert all(
        r.transcript is (not m.no_transcript)
        for r, m in zip(rows, sorted(summary.meetings, key=lambda m: m.started_at), strict=True)
    )


def test_the_timeline_filters_by_person_and_theme() -> None:
    """A person keeps the meetings they attended; a theme the meetings that raised it; both together, both rules."""
    summary = make_summary()
    name = summary.meetings[0].customer_people[0]
    topic = summary.themes[0].topic
    by_person = present.timeline_rows(summary, person=name)
    assert by_person and all(name in r.customer + r.ours for r in by_person)
    assert len(by_person) == sum(name in (*m.customer_people, *m.internal_people) for m in summary.meetings)
    by_theme = present.timeline_rows(summary, theme=topic)
    assert {r.recording_id for r in by_theme} == set(summary.themes[0].meetings)
    both = present.timeline_rows(summary, person=name, theme=topic)
    assert {r.recording_id for r in both} == {r.recording_id for r in by_person} & {r.recording_id for r in by_theme}
    assert present.timeline_rows(summary, person="Nobody At All") == []
