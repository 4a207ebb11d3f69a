"""Pure Plotly builders: an ``EngagementSummary`` in, a ``go.Figure`` out (only pages call ``st.plotly_chart``)."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from engagement.account.facts import fill_months
from engagement.account.stakeholders import ties
from engagement.models import EngagementSummary, Person, Side, Theme
from engagement.render.present import SIDE_LABELS, TimelineRow, nice_date, one_line, others, plural

__all__ = [
    "ACCENT_COLOUR",
    "OTHERS_COLOUR",
    "SIDE_COLOURS",
    "SIDE_LABELS",
    "apply_theme",
    "meeting_timeline",
    "meetings_over_time",
    "people_by_meetings",
    "themes_by_mentions",
]

# ---------------------------------------------------------------- palette
# Okabe-Ito hues, darkened where needed so every mark has at least 3:1 contrast on white (WCAG 1.4.11)
# and every text colour at least 4.5:1. Customer (blue) and our side (vermillion) stay apart for the
# common colour-vision deficiencies; the legend and hover name the side too, so colour is never the only cue.

SIDE_COLOURS: dict[Side, str] = {
    Side.CUSTOMER: "#0072B2",  # blue, 5.2:1
    Side.INTERNAL: "#C25400",  # vermillion, 4.6:1
    Side.THIRD_PARTY: "#008060",  # bluish green, 4.9:1
    Side.PERSONAL: "#B8478A",  # reddish purple, 4.9:1
    Side.UNKNOWN: "#5F6B7A",  # slate, 5.4:1
}
ACCENT_COLOUR = "#0072B2"  # single-series charts (meetings, themes)
OTHERS_COLOUR = "#8C8C8C"  # the "N others" bar, also hatched so it never reads as a side
TEXT_COLOUR = "#1F2933"
MUTED_COLOUR = "#52606D"
GRID_COLOUR = "#E4E7EB"
FONT_FAMILY = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

LABEL_MAX = 32  # characters of a bar label before it is truncated (the full text stays in the hover)
HOVER_TITLES_MAX = 3  # meeting titles listed in a theme's hover


@dataclass(frozen=True)
class FontSizes:
    """Font sizes in px for one viewing mode.

    Attributes:
        base / title / tick / axis_title / hover / legend / annotation: sizes of those texts.
        bar: vertical px per bar of a horizontal bar chart (its height grows with the items).
        min_height / plot_height: smallest height of a bar list; height of a fixed-size chart.
    """

    base: int
    title: int
    tick: int
    axis_title: int
    hover: int
    legend: int
    annotation: int
    bar: int
    min_height: int
    plot_height: int


SCREEN = FontSizes(
    base=14,
    title=20,
    tick=13,
    axis_title=14,
    hover=13,
    legend=13,
    annotation=16,
    bar=26,
    min_height=300,
    plot_height=380,
)
PROJECTOR = FontSizes(
    base=20,
    title=30,
    tick=20,
    axis_title=22,
    hover=20,
    legend=20,
    annotation=26,
    bar=42,
    min_height=440,
    plot_height=560,
)


def _sizes(presentation: bool) -> FontSizes:
    return PROJECTOR if presentation else SCREEN


# ---------------------------------------------------------------- text from data
# Plotly renders a small HTML subset (<b>, <br>, <a href>, <span style>) in titles, ticks and hovers, so
# any text that came from a meeting or the model is escaped. quote=False: plotly.js decodes &amp; &lt; &gt;
# but not &quot;, and quotes are harmless once no tag can open.


def _esc(text: object) -> str:
    """Data text made safe for Plotly's HTML subset."""
    return html.escape(one_line(text), quote=False)


def _truncate(text: object, limit: int = LABEL_MAX) -> str:
    """A label at most ``limit`` characters long, escaped (truncated first so no entity is cut in half)."""
    return html.escape(one_line(text, limit), quote=False)


def _unique_labels(texts: Iterable[str]) -> list[str]:
    """Truncated, escaped labels; a repeated one gets " (2)", " (3)"... (bar categories must be unique)."""
    seen: dict[str, int] = {}
    labels = []
    for text in texts:
        label = _truncate(text)
        n = seen.get(label, 0) + 1
        seen[label] = n
        labels.append(label if n == 1 else f"{label} ({n})")
    return labels


def _month_label(month: str) -> str:
    """``2026-05`` → ``May 2026`` (unparseable text is shown as it is, escaped)."""
    try:
        return datetime.strptime(month, "%Y-%m").strftime("%b %Y")
    except ValueError:
        return _esc(month)


# ---------------------------------------------------------------- theme


def count_axis(highest: int) -> dict[str, Any]:
    """Axis settings for a count: from zero, whole numbers, and one tick per step while counts are small.

    Left to itself Plotly puts ticks at 0.5 steps for a maximum of 1–3, which ``,d`` prints as
    "0 0 1 1 2 2"; a step of 1 up to 6 (and Plotly's own, whole, steps above) avoids repeats.
    """
    return {"rangemode": "tozero", "tickformat": ",d", "dtick": 1 if highest <= 6 else None, "tick0": 0}


# A legend in a row above the plot (never changed: ``_figure`` merges into copies).
_LEGEND_ABOVE = {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0, "title": {"text": ""}}


def _ranked_axes(order: Sequence[str], x_title: str, y_title: str, highest: int) -> dict[str, Any]:
    """The axes of a ranked list of horizontal bars: its rows from the top in ``order``, a count along x."""
    return {
        "yaxis": {
            "title": {"text": y_title},
            "type": "category",
            "categoryorder": "array",
            "categoryarray": order,
            "autorange": "reversed",
        },
        "xaxis": {"title": {"text": x_title}, **count_axis(highest)},
    }


TRACE_TYPES = ("bar", "scatter", "heatmap")  # every kind of trace these builders draw
_UNUSED_LAYOUT = ("geo", "polar", "scene", "ternary")  # subplots of kinds these charts never have


def _cartesian_template(name: str = "plotly_white") -> go.layout.Template:
    """Plotly's ``name`` template with only what a 2-D chart of ``TRACE_TYPES`` reads from it: the same look.

    The whole template (defaults for 24 kinds of trace, maps, 3-D scenes) travels in every figure: 7 KB of
    each chart's JSON that the server validates and copies and the browser merges, for nothing it draws.
    """
    whole = pio.templates[name].to_plotly_json()
    layout = {key: value for key, value in whole["layout"].items() if key not in _UNUSED_LAYOUT}
    data = {kind: whole["data"][kind] for kind in TRACE_TYPES if kind in whole["data"]}
    return go.layout.Template(layout=layout, data=data)


TEMPLATE = _cartesian_template()


def _theme_layout(s: FontSizes) -> dict[str, Any]:
    """The app's look of a whole figure: the template, fonts, colours, margins, bar gap."""
    return {
        "template": TEMPLATE,
        "font": {"family": FONT_FAMILY, "size": s.base, "color": TEXT_COLOUR},
        "title": {
            "font": {"size": s.title, "color": TEXT_COLOUR},
            "x": 0,
            "xanchor": "left",
            "y": 0.98,
            "yanchor": "top",
        },
        "hoverlabel": {
            "font": {"size": s.hover, "family": FONT_FAMILY},
            "bgcolor": "white",
            "bordercolor": MUTED_COLOUR,
        },
        "legend": {"font": {"size": s.legend}, "title": {"font": {"size": s.legend}}},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "margin": {"l": 16, "r": 24, "t": s.title * 3 + 8, "b": 16},
        "bargap": 0.25,
    }


def _theme_axis(s: FontSizes) -> dict[str, Any]:
    """The app's look of every x- and y-axis."""
    return {
        "tickfont": {"size": s.tick, "color": TEXT_COLOUR},
        # the title keeps its distance from the tick labels, so a long name never runs into "Theme"
        "title": {"font": {"size": s.axis_title, "color": TEXT_COLOUR}, "standoff": s.tick},
        "gridcolor": GRID_COLOUR,
        "linecolor": MUTED_COLOUR,
        "zerolinecolor": GRID_COLOUR,
        "automargin": True,
    }


def _theme_annotation(s: FontSizes) -> dict[str, Any]:
    """The app's look of every annotation (an empty chart's message)."""
    return {"font": {"size": s.annotation, "color": MUTED_COLOUR}}


def apply_theme(fig: go.Figure, presentation: bool = False) -> go.Figure:
    """Apply the app's look to ``fig`` in place (and return it): fonts, colours, grid, hover.

    ``presentation`` switches to projector sizes (title 30px, ticks 20px). Heights are the builders'
    business, since only they know how many bars there are. The builders do not call this: ``_figure``
    merges the same values into their layouts before the figure is made (the same figure, made once).
    """
    s = _sizes(presentation)
    fig.update_layout(**_theme_layout(s))
    axis = _theme_axis(s)
    fig.update_xaxes(**axis)
    fig.update_yaxes(**axis)
    fig.update_annotations(**_theme_annotation(s))
    return fig


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``over`` as Plotly's ``update`` does: dicts merged key by key, any other value replaced."""
    out = dict(base)
    for key, value in over.items():
        old = out.get(key)
        out[key] = _merged(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return out


def _is_axis(key: str, prefix: str) -> bool:
    return key == prefix or (key.startswith(prefix) and key[len(prefix) :].isdigit())


def _figure(data: list[dict[str, Any]], layout: dict[str, Any], presentation: bool) -> go.Figure:
    """The figure of these traces and this layout in the app's look, made once.

    The same figure as building it with ``go.Figure`` and its ``update_*`` calls and then ``apply_theme``:
    the theme is merged over the builder's layout (its values win where both set one), over every axis
    (at least ``xaxis`` and ``yaxis``, which ``update_xaxes`` styles even when a figure has no trace) and
    every annotation. Each ``update_*`` call validates and walks Plotly's property tree; one dict is
    validated once: the summary page's five charts are built in a fifth of the CPU (``docs/BENCHMARKS.md``,
    Polling and charts).
    """
    s = _sizes(presentation)
    themed = _merged(layout, _theme_layout(s))
    axis = _theme_axis(s)
    for prefix in ("xaxis", "yaxis"):
        for key in dict.fromkeys([prefix, *(k for k in layout if _is_axis(k, prefix))]):
            themed[key] = _merged(layout.get(key, {}), axis)
    if "annotations" in layout:
        themed["annotations"] = [_merged(note, _theme_annotation(s)) for note in layout["annotations"]]
    return go.Figure({"data": data, "layout": themed})


def _empty(title: str, x_title: str, y_title: str, message: str, presentation: bool) -> go.Figure:
    """A figure that says why there is nothing to draw, with the chart's title and axis labels kept."""
    bare = {"showticklabels": False, "showgrid": False, "zeroline": False, "showline": False}
    layout = {
        "annotations": [{"text": message, "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper", "showarrow": False}],
        "title": {"text": title},
        "height": _sizes(presentation).min_height,
        "xaxis": {"title": {"text": x_title}, **bare},
        "yaxis": {"title": {"text": y_title}, **bare},
    }
    return _figure([], layout, presentation)


def _no_meetings(summary: EngagementSummary) -> bool:
    return summary.meetings_count <= 0 and not summary.meetings and not any(m.count for m in summary.meetings_by_month)


NO_MEETINGS = "No meetings in this period"


def _bar_height(items: int, presentation: bool, legend: bool = False) -> int:
    s = _sizes(presentation)
    chrome = s.title * 3 + s.tick * 4 + (s.legend * 3 if legend else 0)
    return max(s.min_height, chrome + s.bar * items)


# ---------------------------------------------------------------- meetings per month


def _monthly_counts(summary: EngagementSummary) -> list[tuple[str, int]]:
    """Every month from the first to the last, zero months included, whatever gaps the input has."""
    counts: dict[str, int] = {}
    for row in summary.meetings_by_month:
        counts[row.month] = counts.get(row.month, 0) + row.count
    try:
        return [(row.month, row.count) for row in fill_months(counts)]
    except ValueError:  # not YYYY-MM: shown as it is, in order
        return sorted(counts.items())


def meetings_over_time(summary: EngagementSummary, presentation: bool = False) -> go.Figure:
    """Bars of meetings per month, months without meetings shown as zero; hover "May 2026: 3 meetings"."""
    title, x_title, y_title = "Meetings per month", "Month", "Meetings"
    rows = _monthly_counts(summary)
    if not rows or _no_meetings(summary):
        return _empty(title, x_title, y_title, NO_MEETINGS, presentation)
    labels = [_month_label(month) for month, _ in rows]
    counts = [count for _, count in rows]
    bars = {
        "type": "bar",
        "x": labels,
        "y": counts,
        "marker": {"color": ACCENT_COLOUR},
        "hovertext": [f"{label}: {plural(count, 'meeting')}" for label, count in zip(labels, counts, strict=True)],
        "hoverinfo": "text",
        "name": "Meetings",
    }
    layout = {
        "title": {"text": title},
        "height": _sizes(presentation).plot_height,
        "showlegend": False,
        "xaxis": {"title": {"text": x_title}, "type": "category", "categoryorder": "array", "categoryarray": labels},
        "yaxis": {"title": {"text": y_title}, **count_axis(max(counts))},
    }
    return _figure([bars], layout, presentation)


# ---------------------------------------------------------------- people


def _person_hover(person: Person) -> str:
    lines = [f"<b>{_esc(person.name)}</b>"]
    if person.role:
        lines.append(f"Role: {_esc(person.role)}")
    lines.append(f"Side: {SIDE_LABELS[person.side]}")
    lines.append(f"{plural(person.count, 'meeting')}: invited to {person.invited}, spoke in {person.spoke_in}")
    if person.first_seen or person.last_seen:
        lines.append(f"First seen {_esc(person.first_seen or '?')}, last seen {_esc(person.last_seen or '?')}")
    return "<br>".join(lines)


def _others_hover(noun: tuple[str, str], counts: Sequence[int], unit: tuple[str, str]) -> str:
    """``3 other people / 1–2 meetings each / 4 meetings in total`` (each a singular and plural pair)."""
    low, high = min(counts), max(counts)
    each = plural(high, *unit) if low == high else f"{low}–{high} {unit[1]}"
    others_of = plural(len(counts), f"other {noun[0]}", f"other {noun[1]}")
    return f"<b>{others_of}</b><br>{each} each<br>{plural(sum(counts), *unit)} in total"


def _others_label(n: int, labels: Sequence[str]) -> str:
    """ "N others", kept apart from a named bar that happens to read the same."""
    label = others(n)
    while label in labels:
        label += " "
    return label


def _others_bar(label: str, counts: Sequence[int], noun: tuple[str, str], unit: tuple[str, str]) -> dict[str, Any]:
    """The "N others" bar's trace."""
    # The bar's length is the largest count among the rest, not their sum: a sum would dwarf the named
    # bars it sits under. The hover and the bar's text say what it stands for.
    low, high = min(counts), max(counts)
    return {
        "type": "bar",
        "x": [high],
        "y": [label],
        "orientation": "h",
        "name": label,
        "marker": {"color": OTHERS_COLOUR, "pattern": {"shape": "/", "fgcolor": "white", "solidity": 0.2}},
        "text": [f"≤{high} each" if low != high else f"{high} each"],
        "textposition": "outside",  # inside a short bar Plotly clips it ("≤3 eac"); the bar is never the longest
        "cliponaxis": False,
        "hovertext": [_others_hover(noun, counts, unit)],
        "hoverinfo": "text",
        "showlegend": False,
    }


def people_by_meetings(summary: EngagementSummary, top: int = 12, presentation: bool = False) -> go.Figure:
    """Horizontal bars of people by meetings attended, coloured by side; beyond ``top`` one "N others" bar."""
    title, x_title, y_title = "People by meetings attended", "Meetings attended", "Person"
    if _no_meetings(summary):
        return _empty(title, x_title, y_title, NO_MEETINGS, presentation)
    people = sorted(summary.people, key=lambda p: (-p.count, one_line(p.name).casefold(), p.key))
    if not people:
        return _empty(title, x_title, y_title, "No people in these meetings", presentation)
    top = max(1, top)
    shown, rest = people[:top], people[top:]
    labels = _unique_labels(p.name or p.email or p.key for p in shown)
    others_label = _others_label(len(rest), labels)
    order = [*labels, others_label] if rest else labels

    data = []
    for side in Side:  # one trace a side gives a legend entry a side, in a fixed order
        rows = [(label, p) for label, p in zip(labels, shown, strict=True) if p.side is side]
        if not rows:
            continue
        data.append(
            {
                "type": "bar",
                "x": [p.count for _, p in rows],
                "y": [label for label, _ in rows],
                "orientation": "h",
                "name": SIDE_LABELS[side],
                "marker": {"color": SIDE_COLOURS[side]},
                "hovertext": [_person_hover(p) for _, p in rows],
                "hoverinfo": "text",
            }
        )
    if rest:
        data.append(_others_bar(others_label, [p.count for p in rest], ("person", "people"), ("meeting", "meetings")))
    layout = {
        "title": {"text": title},
        "height": _bar_height(len(order), presentation, legend=True),
        "barmode": "overlay",  # one bar per category; overlay keeps each centred on its row
        "legend": _LEGEND_ABOVE,
        **_ranked_axes(order, x_title, y_title, max(p.count for p in people)),
    }
    return _figure(data, layout, presentation)


# ---------------------------------------------------------------- themes


def _theme_hover(theme: Theme, titles: dict[int, str]) -> str:
    lines = [f"<b>{_esc(theme.topic)}</b>", f"Raised in {plural(theme.mentions, 'meeting')}"]
    named = [titles[rid] for rid in theme.meetings if rid in titles]
    for title in named[:HOVER_TITLES_MAX]:
        lines.append(f"• {_truncate(title, 60)}")
    if len(named) > HOVER_TITLES_MAX:
        lines.append(f"and {len(named) - HOVER_TITLES_MAX} more")
    return "<br>".join(lines)


def themes_by_mentions(summary: EngagementSummary, top: int = 10, presentation: bool = False) -> go.Figure:
    """Horizontal bars of themes by mentions (meetings that raised them); beyond ``top`` one "N others" bar."""
    title, x_title, y_title = "Themes by mentions", "Meetings that raised it", "Theme"
    if _no_meetings(summary):
        return _empty(title, x_title, y_title, NO_MEETINGS, presentation)
    themes = sorted(summary.themes, key=lambda t: (-t.mentions, one_line(t.topic).casefold()))
    if not themes:
        return _empty(title, x_title, y_title, "No themes found in these meetings", presentation)
    top = max(1, top)
    shown, rest = themes[:top], themes[top:]
    labels = _unique_labels(t.topic for t in shown)
    titles = {m.recording_id: m.title for m in summary.meetings}
    order = [*labels, _others_label(len(rest), labels)] if rest else labels

    data = [
        {
            "type": "bar",
            "x": [t.mentions for t in shown],
            "y": labels,
            "orientation": "h",
            "name": "Themes",
            "marker": {"color": ACCENT_COLOUR},
            "hovertext": [_theme_hover(t, titles) for t in shown],
            "hoverinfo": "text",
            "showlegend": False,
        }
    ]
    if rest:
        data.append(_others_bar(order[-1], [t.mentions for t in rest], ("theme", "themes"), ("mention", "mentions")))
    layout = {
        "title": {"text": title},
        "height": _bar_height(len(order), presentation),
        "barmode": "overlay",
        "showlegend": False,
        **_ranked_axes(order, x_title, y_title, max(t.mentions for t in themes)),
    }
    return _figure(data, layout, presentation)


# ---------------------------------------------------------------- the meeting timeline

TIMELINE_LABEL_MAX = 40  # characters of a meeting's row label (the hover has the whole title)


def _names(names: Sequence[str]) -> str:
    return _esc(", ".join(names)) if names else "nobody recorded"


def _timeline_hover(row: TimelineRow) -> str:
    lines = [
        f"<b>{_esc(row.title)}</b>",
        nice_date(row.date),
        f"{SIDE_LABELS[Side.CUSTOMER]}: {_names(row.customer)}",
        f"{SIDE_LABELS[Side.INTERNAL]}: {_names(row.ours)}",
    ]
    if row.themes:
        lines.append(f"Themes: {_esc(', '.join(row.themes))}")
    lines.append("Transcript: yes" if row.transcript else "Transcript: no (counted, not analysed)")
    return "<br>".join(lines)


def meeting_timeline(rows: Sequence[TimelineRow], presentation: bool = False) -> go.Figure:
    """Each meeting a row on a time axis, newest at the top: a filled dot with a transcript, an open one
    without; the hover says who came from each side and the themes it raised."""
    title, x_title, y_title = "Each meeting by date", "Date", "Meeting"
    if not rows:
        return _empty(title, x_title, y_title, "No meetings match these filters", presentation)
    labels = _unique_labels(f"{nice_date(r.date)} · {one_line(r.title, TIMELINE_LABEL_MAX)}" for r in rows)
    data = []
    for has, name, symbol in ((True, "Transcript", "circle"), (False, "No transcript", "circle-open")):
        picked = [(label, r) for label, r in zip(labels, rows, strict=True) if r.transcript is has]
        if not picked:
            continue
        data.append(
            {
                "type": "scatter",
                "x": [r.date[:10] for _, r in picked],
                "y": [label for label, _ in picked],
                "mode": "markers",
                "name": name,
                "marker": {
                    "color": ACCENT_COLOUR,
                    "symbol": symbol,
                    "size": 16 if presentation else 11,
                    "line": {"width": 2},
                },
                "hovertext": [_timeline_hover(r) for _, r in picked],
                "hoverinfo": "text",
            }
        )
    layout = {
        "title": {"text": title},
        "height": _bar_height(len(rows), presentation, legend=True),
        "legend": _LEGEND_ABOVE,
        "yaxis": {
            "title": {"text": y_title},
            "type": "category",
            "categoryorder": "array",
            "categoryarray": labels,
            "showgrid": True,
        },
        "xaxis": {"title": {"text": x_title}, "type": "date", "tickformat": "%b %Y"},
    }
    return _figure(data, layout, presentation)


# ---------------------------------------------------------------- who knows whom


def stakeholder_map(summary: EngagementSummary, today: date, top: int = 15, presentation: bool = False) -> go.Figure:
    """A heatmap: the customer's people (rows, most met first) by ours (columns), each cell the meetings both
    attended, its hover the strength by the stated rule (``engagement.account.stakeholders``)."""
    title, x_title, y_title = "Who knows whom: meetings together", "Our people", "Their people"
    found = ties(summary, today)
    if not found:
        return _empty(title, x_title, y_title, "No meeting had people from both sides", presentation)
    met: dict[str, int] = {}
    for tie in found:
        met[tie.customer] = met.get(tie.customer, 0) + tie.meetings
    theirs = sorted(met, key=lambda name: (-met[name], name.casefold()))[: max(1, top)]
    ours = sorted({t.ours for t in found if t.customer in theirs}, key=str.casefold)
    cell = {(t.customer, t.ours): t for t in found}
    z = [[cell[(c, o)].meetings if (c, o) in cell else 0 for o in ours] for c in theirs]
    hover = [
        [
            _esc(
                f"{c} and {o}: {plural(cell[(c, o)].meetings, 'meeting')} together, {cell[(c, o)].recent} in the "
                f"last 90 days; {c} spoke in {cell[(c, o)].spoke_in}; last on {nice_date(cell[(c, o)].last_contact)} "
                f"({cell[(c, o)].strength})"
            )
            if (c, o) in cell
            else _esc(f"{c} and {o} have not met")
            for o in ours
        ]
        for c in theirs
    ]
    heat = {
        "type": "heatmap",
        "z": z,
        "x": _unique_labels(ours),
        "y": _unique_labels(theirs),
        "text": [[str(v) if v else "" for v in row] for row in z],
        "texttemplate": "%{text}",
        "hovertext": hover,
        "hoverinfo": "text",
        "colorscale": [[0, "#f1f5f9"], [1, SIDE_COLOURS[Side.CUSTOMER]]],
        "showscale": False,
        "xgap": 2,
        "ygap": 2,
    }
    layout = {
        "title": {"text": title},
        "height": _bar_height(len(theirs), presentation) + 90,  # + the names below
        "yaxis": {"title": {"text": y_title}, "autorange": "reversed", "type": "category"},
        "xaxis": {"title": {"text": x_title}, "type": "category", "automargin": True},  # below: clear of the title
    }
    return _figure([heat], layout, presentation)
