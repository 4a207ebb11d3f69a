"""Plotly bar figures from :mod:`engagement.render.charts` drawn as static SVG, for the HTML report.

plotly.js alone is 4.8 MB, so a report that carries it cannot be small; the report's charts are read
and printed, not explored, so they are drawn here from the very figures the page shows (the same bars,
order, colours, titles and "N others" bar) as plain SVG: no script, a few kilobytes each.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import plotly.graph_objects as go

WIDTH = 960
ROW = 24  # pixels a bar of a horizontal chart
LABEL_ROOM = 230  # pixels for the category labels of a horizontal chart
TEXT = "#1F2933"
MUTED = "#52606D"
GRID = "#E4E7EB"
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"'


def _text(value: object) -> str:
    """A figure's text (escaped for Plotly's HTML subset) escaped for SVG instead."""
    return html.escape(html.unescape(str(value if value is not None else "")), quote=True)


def _bars(fig: go.Figure) -> list[tuple[str, float, str]]:
    """(category, value, colour) of every bar, in the order the chart lists its categories."""
    bars: dict[str, tuple[float, str]] = {}
    for trace in fig.data:
        if not isinstance(trace, go.Bar):
            continue
        horizontal = trace.orientation == "h"
        categories, values = (trace.y, trace.x) if horizontal else (trace.x, trace.y)
        colour = trace.marker.color if isinstance(trace.marker.color, str) else "#0072B2"
        for category, value in zip(categories or (), values or (), strict=False):
            bars[str(category)] = (float(value or 0), colour)
    axis = fig.layout.yaxis if _horizontal(fig) else fig.layout.xaxis
    order = [str(c) for c in (axis.categoryarray or ())] or list(bars)
    return [(c, *bars[c]) for c in order if c in bars]


def _horizontal(fig: go.Figure) -> bool:
    return any(isinstance(t, go.Bar) and t.orientation == "h" for t in fig.data)


def _ticks(highest: float) -> list[int]:
    """Whole-number gridlines from 0 past the highest value, at most about six."""
    top = max(1, int(highest))
    step = max(1, -(-top // 6))
    return list(range(0, top + step, step))


def _frame(width: int, height: int, title: str, body: Sequence[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{_text(label)}" {FONT}>'
        f'<text x="0" y="20" font-size="18" fill="{TEXT}">{_text(title)}</text>' + "".join(body) + "</svg>"
    )


def figure_svg(fig: go.Figure) -> str:
    """The bar figure as SVG; a figure without bars (an empty chart) shows its message."""
    title = fig.layout.title.text or ""
    x_title, y_title = fig.layout.xaxis.title.text or "", fig.layout.yaxis.title.text or ""
    bars = _bars(fig)
    if not bars:
        message = next((a.text for a in fig.layout.annotations or () if a.text), "Nothing to show")
        body = [
            f'<text x="{WIDTH / 2}" y="80" text-anchor="middle" font-size="15" fill="{MUTED}">{_text(message)}</text>'
        ]
        return _frame(WIDTH, 120, title, body, title)
    ticks = _ticks(max(value for _, value, _ in bars))
    return (_horizontal_svg if _horizontal(fig) else _vertical_svg)(bars, ticks, title, x_title, y_title)


def _horizontal_svg(bars: list[tuple[str, float, str]], ticks: list[int], title: str, x_title: str, _: str) -> str:
    top, left, right = 40, LABEL_ROOM, WIDTH - 40
    height = top + ROW * len(bars) + 60
    scale = (right - left) / ticks[-1]
    body = []
    for tick in ticks:
        x = left + tick * scale
        body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ROW * len(bars)}" stroke="{GRID}"/>')
        body.append(
            f'<text x="{x:.1f}" y="{top + ROW * len(bars) + 16}" text-anchor="middle" font-size="12" '
            f'fill="{MUTED}">{tick}</text>'
        )
    for i, (label, value, colour) in enumerate(bars):
        y = top + i * ROW
        body.append(
            f'<text x="{left - 8}" y="{y + ROW * 0.68:.1f}" text-anchor="end" font-size="13" fill="{TEXT}">'
            f"{_text(label)}</text>"
        )
        body.append(
            f'<rect x="{left}" y="{y + 3}" width="{value * scale:.1f}" height="{ROW - 6}" fill="{colour}">'
            f"<title>{_text(label)}: {value:g}</title></rect>"
        )
    body.append(
        f'<text x="{(left + right) / 2}" y="{height - 12}" text-anchor="middle" font-size="13" fill="{MUTED}">'
        f"{_text(x_title)}</text>"
    )
    return _frame(WIDTH, height, title, body, title)


def _vertical_svg(bars: list[tuple[str, float, str]], ticks: list[int], title: str, x_title: str, y_title: str) -> str:
    top, bottom, left, right = 40, 260, 60, WIDTH - 20
    height = bottom + 60
    scale = (bottom - top) / ticks[-1]
    slot = (right - left) / len(bars)
    every = max(1, -(-len(bars) // 12))  # at most about twelve labels under the bars
    body = []
    for tick in ticks:
        y = bottom - tick * scale
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(
            f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end" font-size="12" fill="{MUTED}">{tick}</text>'
        )
    for i, (label, value, colour) in enumerate(bars):
        x = left + i * slot
        body.append(
            f'<rect x="{x + slot * 0.15:.1f}" y="{bottom - value * scale:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{value * scale:.1f}" fill="{colour}"><title>{_text(label)}: {value:g}</title></rect>'
        )
        if i % every == 0:
            body.append(
                f'<text x="{x + slot / 2:.1f}" y="{bottom + 18}" text-anchor="middle" font-size="12" '
                f'fill="{TEXT}">{_text(label)}</text>'
            )
    body.append(
        f'<text x="{(left + right) / 2}" y="{height - 8}" text-anchor="middle" font-size="13" fill="{MUTED}">'
        f"{_text(x_title)}</text>"
    )
    body.append(
        f'<text x="14" y="{(top + bottom) / 2}" font-size="13" fill="{MUTED}" text-anchor="middle" '
        f'transform="rotate(-90 14 {(top + bottom) / 2})">{_text(y_title)}</text>'
    )
    return _frame(WIDTH, height, title, body, title)
