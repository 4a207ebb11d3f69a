"""Chart builders: titles and labels, zero months, sides, top-N with others, sizes, empty input, escaping."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import plotly.graph_objects as go
import pytest

from engagement.models import EngagementSummary, MonthCount, Person, Side
from engagement.render import charts
from engagement.render.present import timeline_rows
from tests.support.summary_factory import HOSTILE_NAME, HOSTILE_TITLE, HOSTILE_TOPIC, make_summary

BUILDERS: list[Callable[..., go.Figure]] = [
    charts.meetings_over_time,
    charts.people_by_meetings,
    charts.themes_by_mentions,
]
SIZES = {
    "typical": {},
    "one": {"meetings": 1, "people": 1, "themes": 1, "months": 1},
    "hundred": {"meetings": 100, "people": 100, "themes": 100, "months": 30},
    "empty": {"meetings": 0},
}


def _bars(fig: go.Figure) -> list[tuple[str, Any, str]]:
    """(category, value, trace name) for every bar of a horizontal bar chart, in the order drawn."""
    return [(y, x, trace.name) for trace in fig.data for x, y in zip(trace.x, trace.y, strict=True)]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "template":
                yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _text(fig: go.Figure) -> list[str]:
    """Every string the figure would hand to plotly.js (data and layout, not the theme template)."""
    return list(_strings(fig.to_plotly_json()))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("build", BUILDERS, ids=lambda f: f.__name__)
def test_every_chart_has_title_and_axis_labels(build: Callable[..., go.Figure], size: str) -> None:
    """Every chart, at every size (empty, one item, a hundred), has a title and both axis labels."""
    fig = build(make_summary(**SIZES[size]))
    assert fig.layout.title.text
    assert fig.layout.xaxis.title.text
    assert fig.layout.yaxis.title.text


def test_months_without_meetings_are_shown_as_zero() -> None:
    """A month with no meetings between busy months is a zero bar, not a missing one."""
    summary = make_summary(meetings=12, months=7)
    fig = charts.meetings_over_time(summary)
    months = dict(zip(fig.data[0].x, fig.data[0].y, strict=True))
    assert list(months) == ["Nov 2025", "Dec 2025", "Jan 2026", "Feb 2026", "Mar 2026", "Apr 2026", "May 2026"]
    assert months["Dec 2025"] == 0
    assert sum(months.values()) == 12


def test_gaps_in_monthly_counts_are_filled() -> None:
    """Months missing from ``meetings_by_month`` are filled in as zero, whatever the input left out."""
    summary = EngagementSummary(
        meetings_count=3,
        meetings_by_month=[MonthCount(month="2026-01", count=1), MonthCount(month="2026-04", count=2)],
    )
    fig = charts.meetings_over_time(summary)
    assert list(fig.data[0].x) == ["Jan 2026", "Feb 2026", "Mar 2026", "Apr 2026"]
    assert list(fig.data[0].y) == [1, 0, 0, 2]


def test_meetings_hover_names_month_and_count() -> None:
    """Hovering a month reads "May 2026: 2 meetings" (and "1 meeting" in the singular)."""
    fig = charts.meetings_over_time(make_summary(meetings=12, months=7))
    assert "May 2026: 2 meetings" in fig.data[0].hovertext
    assert "Dec 2025: 0 meetings" in fig.data[0].hovertext
    single = charts.meetings_over_time(make_summary(meetings=1, months=1))
    assert list(single.data[0].hovertext) == ["Nov 2025: 1 meeting"]


def test_people_are_coloured_by_side() -> None:
    """Each person's bar sits in their side's trace, drawn in that side's colour; customer and our side differ."""
    summary = make_summary(people=8)
    fig = charts.people_by_meetings(summary)
    colour_of = {trace.name: trace.marker.color for trace in fig.data}
    assert colour_of["Customer"] == charts.SIDE_COLOURS[Side.CUSTOMER]
    assert colour_of["Our team"] == charts.SIDE_COLOURS[Side.INTERNAL]
    assert charts.SIDE_COLOURS[Side.CUSTOMER] != charts.SIDE_COLOURS[Side.INTERNAL]
    side_of_bar = {label: name for label, _, name in _bars(fig)}
    for person in summary.people:
        assert side_of_bar[person.name] == charts.SIDE_LABELS[person.side]


def test_people_hover_tells_role_side_counts_and_dates() -> None:
    """A person's hover names them, their role, side, invited and spoke-in counts, and first and last seen."""
    summary = make_summary()
    person = summary.people[0]
    fig = charts.people_by_meetings(summary)
    hover = next(t.hovertext[list(t.y).index(person.name)] for t in fig.data if person.name in t.y)
    for part in (person.name, person.role, "Customer", f"invited to {person.invited}", f"spoke in {person.spoke_in}"):
        assert part in hover
    assert person.first_seen in hover and person.last_seen in hover


@pytest.mark.parametrize(
    ("build", "kwargs", "field"),
    [(charts.people_by_meetings, {"people": 100}, "people"), (charts.themes_by_mentions, {"themes": 100}, "themes")],
    ids=["people", "themes"],
)
def test_top_n_and_one_others_bar(build: Callable[..., go.Figure], kwargs: dict[str, int], field: str) -> None:
    """With 100 items the chart shows the top N, largest first, and one "N others" bar for the rest."""
    summary = make_summary(meetings=100, **kwargs)
    fig = build(summary, top=10)
    order = list(fig.layout.yaxis.categoryarray)
    assert len(order) == 11
    assert order[-1] == "90 others"
    values = {label: value for label, value, _ in _bars(fig)}
    assert len(values) == 11
    named = [values[label] for label in order[:-1]]
    assert named == sorted(named, reverse=True)
    assert values["90 others"] <= min(named)  # the rest never outgrow the named bars


def test_one_item_makes_one_bar_and_no_others() -> None:
    """One person and one theme give one bar each and no "others" bar."""
    summary = make_summary(meetings=1, people=1, themes=1, months=1)
    for fig in (charts.people_by_meetings(summary), charts.themes_by_mentions(summary)):
        assert len(_bars(fig)) == 1
        assert not any("others" in label for label in fig.layout.yaxis.categoryarray)
    assert list(charts.meetings_over_time(summary).data[0].y) == [1]


@pytest.mark.parametrize("build", BUILDERS, ids=lambda f: f.__name__)
def test_empty_summary_says_so(build: Callable[..., go.Figure]) -> None:
    """An empty summary draws no data and says "No meetings in this period" instead of raising."""
    fig = build(EngagementSummary())
    assert len(fig.data) == 0
    assert [a.text for a in fig.layout.annotations] == ["No meetings in this period"]


def test_meetings_without_themes_say_so() -> None:
    """Meetings with no themes found draw a friendly note, not an empty axis."""
    fig = charts.themes_by_mentions(make_summary(themes=0))
    assert len(fig.data) == 0
    assert "No themes" in fig.layout.annotations[0].text


@pytest.mark.parametrize("build", BUILDERS, ids=lambda f: f.__name__)
def test_presentation_fonts_are_projector_sized(build: Callable[..., go.Figure]) -> None:
    """``presentation=True`` gives a title of at least 28px and ticks of at least 18px, larger than on screen."""
    summary = make_summary()
    screen, projector = build(summary), build(summary, presentation=True)
    assert projector.layout.title.font.size >= 28
    assert projector.layout.xaxis.tickfont.size >= 18
    assert projector.layout.yaxis.tickfont.size >= 18
    assert projector.layout.title.font.size > screen.layout.title.font.size
    assert projector.layout.xaxis.tickfont.size > screen.layout.xaxis.tickfont.size
    assert projector.layout.height > screen.layout.height


def test_height_grows_with_items() -> None:
    """A bar list gets taller with more bars, so 100 bars stay readable."""
    summary = make_summary(meetings=100, people=100)
    assert charts.people_by_meetings(summary, top=100).layout.height > charts.people_by_meetings(summary).layout.height
    assert len(_bars(charts.people_by_meetings(summary, top=100))) == 100


def test_long_labels_are_truncated_with_full_text_in_hover() -> None:
    """A long theme is cut to ``LABEL_MAX`` characters on the axis and shown in full in its hover."""
    summary = make_summary(themes=5)
    long_topic = max((t.topic for t in summary.themes), key=len)
    fig = charts.themes_by_mentions(summary)
    label = next(y for y in fig.data[0].y if y.endswith("…"))
    assert len(label) <= charts.LABEL_MAX
    assert long_topic.startswith(label[:-1])
    assert any(long_topic in hover for hover in fig.data[0].hovertext)


def test_same_names_get_separate_bars() -> None:
    """Two people with the same display name keep a bar each."""
    people = [Person(key=f"alex{i}@acme.com", name="Alex Kim", side=Side.CUSTOMER, count=3 - i) for i in range(2)]
    fig = charts.people_by_meetings(EngagementSummary(meetings_count=3, people=people))
    assert [value for _, value, _ in _bars(fig)] == [3, 2]
    assert len(set(fig.layout.yaxis.categoryarray)) == 2


@pytest.mark.parametrize("build", BUILDERS, ids=lambda f: f.__name__)
def test_hostile_labels_are_escaped(build: Callable[..., go.Figure]) -> None:
    """Markup in titles, names and topics reaches plotly.js escaped, so it renders as text, never as tags."""
    text = "\n".join(_text(build(make_summary(hostile=True))))
    for raw in ("<img", "<script", "<b onmouseover", "<i>"):
        assert raw not in text


def test_hostile_text_is_shown_as_text() -> None:
    """Escaped hostile text is still there for the reader (``&lt;img src=x ...``), not dropped."""
    summary = make_summary(hostile=True)
    people = "\n".join(_text(charts.people_by_meetings(summary)))
    themes = "\n".join(_text(charts.themes_by_mentions(summary)))
    assert "&lt;script&gt;" in people and HOSTILE_NAME not in people
    assert "&lt;img src=x onerror=alert(1)&gt;" in themes and HOSTILE_TITLE not in themes
    assert "&lt;b onmouseover=alert(1)&gt;" in themes and HOSTILE_TOPIC not in themes


def test_apply_theme_styles_in_place() -> None:
    """``apply_theme`` returns the figure it was given, with the app's fonts for the chosen mode."""
    fig = go.Figure(go.Bar(x=[1], y=[1]))
    assert charts.apply_theme(fig, presentation=True) is fig
    assert fig.layout.title.font.size == charts.PROJECTOR.title
    assert fig.layout.yaxis.tickfont.size == charts.PROJECTOR.tick


@pytest.mark.parametrize("build", BUILDERS, ids=lambda f: f.__name__)
def test_small_counts_get_whole_number_ticks(build: Callable[..., go.Figure]) -> None:
    """With one of everything, every count axis steps by 1 from 0 (no "0 0 1 1" tick labels)."""
    fig = build(make_summary(**SIZES["one"]))
    layout = fig.to_plotly_json()["layout"]
    count_axes = [a for a in (layout.get("xaxis", {}), layout.get("yaxis", {})) if a.get("tickformat") == ",d"]
    assert count_axes, "no count axis"
    for axis in count_axes:
        assert axis["dtick"] == 1 and axis["rangemode"] == "tozero"


def test_the_timeline_draws_a_row_a_meeting_on_a_date_axis() -> None:
    """One marker a meeting on a date axis, newest row at the top; a meeting without a transcript is an open dot."""
    from engagement.render.present import timeline_rows

    summary = make_summary()
    summary.meetings[0].no_transcript = "no transcript"
    rows = timeline_rows(summary)
    fig = charts.meeting_timeline(rows)
    assert fig.layout.xaxis.type == "date"
    assert len(fig.layout.yaxis.categoryarray) == len(rows)
    assert sum(len(trace.x) for trace in fig.data) == len(rows)
    assert {trace.name: trace.marker.symbol for trace in fig.data} == {
        "Transcript": "circle",
        "No transcript": "circle-open",
    }
    assert fig.layout.yaxis.categoryarray[-1].startswith(
        charts.nice_date(rows[-1].date)
    )  # the last category is drawn on top
    empty = charts.meeting_timeline([])
    assert empty.layout.annotations[0].text == "No meetings match these filters"


EVERY_CHART: dict[str, Callable[[EngagementSummary, bool], go.Figure]] = {
    "meetings_over_time": lambda s, p: charts.meetings_over_time(s, presentation=p),
    "people_by_meetings": lambda s, p: charts.people_by_meetings(s, top=10, presentation=p),
    "themes_by_mentions": lambda s, p: charts.themes_by_mentions(s, top=10, presentation=p),
    "meeting_timeline": lambda s, p: charts.meeting_timeline(timeline_rows(s), presentation=p),
    "stakeholder_map": lambda s, p: charts.stakeholder_map(s, date(2026, 6, 1), presentation=p),
}


@pytest.mark.parametrize("presentation", [False, True], ids=["screen", "projector"])
@pytest.mark.parametrize("name", EVERY_CHART)
def test_every_chart_already_has_the_look_apply_theme_gives(name: str, presentation: bool) -> None:
    """Each chart is built in the app's look, its theme winning over its own settings: ``apply_theme`` changes nothing."""
    for summary in (make_summary(meetings=100, people=100, themes=100), EngagementSummary()):
        fig = EVERY_CHART[name](summary, presentation)
        assert charts.apply_theme(go.Figure(fig), presentation).to_dict() == fig.to_dict()
