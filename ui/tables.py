"""Data grids whose columns are as wide as their content, wrapping a cell's text where a width cap stops it.

Streamlit's grid draws on a canvas and clips a cell's text at the cell's edge with no ellipsis, so a
fixed width cuts a long e-mail or title mid-word. ``fit_columns`` measures each shown column's longest
text (and its heading) and sets its width between a floor and a cap; when some text is longer than its
cap the grid's rows grow tall enough for Streamlit to wrap text in them (it wraps only in rows taller
than 4rem), and the width is raised so that text needs at most ``WRAP_LINES`` lines.
The browser test checks the result: no text drawn past its cell's edge at 1024 to 1920 px.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

# Glyph widths of the grid's 14 px sans-serif, a little generous: narrow marks, capitals and wide letters,
# digits (tabular), and the rest of the lower case.
NARROW, WIDE = frozenset(" ijlft.,:;'|!()[]-·/"), frozenset("mwMW@%")
NARROW_PX, WIDE_PX, CAPITAL_PX, DIGIT_PX, CHAR_PX = 4.0, 11.0, 8.6, 7.2, 6.9
CELL_PAD_PX = 20  # the cell's padding on both sides, and a little air
HEADING_EXTRA_PX = 4  # a heading is drawn in a slightly bolder face
WRAP_ROW_PX = 66  # rows this tall wrap their text (Streamlit: taller than 4rem), three lines of it
WRAP_LINES = 3


@dataclass(frozen=True)
class Fit:
    """Chosen widths for a grid. Attributes: widths (column label → px), row_height (None: one line a row)."""

    widths: dict[str, int]
    row_height: int | None


def text_px(text: str) -> int:
    """The width in px a one-line cell needs for ``text``."""
    return math.ceil(sum(glyph_px(c) for c in text) + CELL_PAD_PX)


def glyph_px(char: str) -> float:
    if char in NARROW:
        return NARROW_PX
    if char in WIDE:
        return WIDE_PX
    if char.isdigit():
        return DIGIT_PX
    return CAPITAL_PX if char.isupper() else CHAR_PX


def _texts(values: Iterable[object]) -> list[str]:
    return [str(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]


def fit_columns(
    frame: pd.DataFrame,
    limits: Mapping[str, tuple[int, int]],
    shown: Mapping[str, Iterable[str]] | None = None,
    budget: int | None = None,
) -> Fit:
    """Widths for the ``limits`` columns of ``frame`` (``label: (floor, cap)`` in px), and a row height.

    ``shown`` gives the text a column displays when that is not its values (a date column's "4 May
    2026"); a column whose text needs more than its cap wraps, and every grid row grows for it. Past
    ``budget`` px in all, the widest columns whose text can wrap (it has spaces) give up width, down
    to their floor or their longest word, so the grid fits a laptop without scrolling sideways.
    """
    widths: dict[str, int] = {}
    least: dict[str, int] = {}  # the narrowest each column may go when the budget asks
    for label, (floor, cap) in limits.items():
        texts = list(shown[label]) if shown and label in shown else _texts(frame[label]) if label in frame else []
        heading = text_px(label) + HEADING_EXTRA_PX
        need = max([heading, *(text_px(t) for t in texts)])
        longest = max([0, *(text_px(t) - CELL_PAD_PX for t in texts)])
        # wide enough that the longest text fits in WRAP_LINES lines (words do not break evenly: a margin)
        lines_px = math.ceil(longest * 1.25 / WRAP_LINES + CELL_PAD_PX)
        words = max([heading, *(text_px(w) for t in texts for w in t.split())])
        widths[label] = max(floor, min(max(cap, lines_px), need))
        least[label] = max(floor, lines_px, words) if any(" " in t for t in texts) else widths[label]
    excess = sum(widths.values()) - budget if budget else 0
    for label in sorted(widths, key=lambda name: widths[name] - least[name], reverse=True):
        if excess <= 0:
            break
        give = min(excess, max(0, widths[label] - least[label]))
        widths[label] -= give
        excess -= give
    wraps = any(
        text_px(t) > widths[label]
        for label in limits
        for t in (list(shown[label]) if shown and label in shown else _texts(frame[label]) if label in frame else [])
    )
    return Fit(widths, WRAP_ROW_PX if wraps else None)
