"""Places kept on the page in reading order and filled later in the same run, so the charts reach the browser first.

The browser draws a finished summary in the order its elements arrive, and the text below the charts (insights with
their quotes, the tables, the brief) costs it more than the charts do: drawn in page order, the last chart waited
for all of it. ``Slots.keep`` puts an empty container where a section belongs and remembers how to draw it;
``Slots.fill`` draws every kept section into its place, in the order they were kept, once the charts are sent.
An empty container is not drawn at all (Streamlit leaves out an empty block that does not ask to be kept), so a
section that draws nothing leaves no gap. The summary page fills them in the run after the charts' (``pages/summary.py``
``whole_page``): every section then comes in its own place, in page order, each once. The charts go through ``plot``,
which counts them, so the page knows how many the browser has to draw before it asks for that run (``ui/charts_drawn.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

if TYPE_CHECKING:
    import plotly.graph_objects as go

CHART_CONFIG = {"displaylogo": False, "responsive": True}  # every chart of a summary: no Plotly logo, resizes


class Slots:
    """Sections whose place is kept now and whose content is drawn by ``fill``; the charts drawn now (``plot``).

    Attributes:
        charts: how many charts ``plot`` has drawn.
    """

    def __init__(self) -> None:
        self._kept: list[tuple[DeltaGenerator, Callable[..., object], tuple[Any, ...], dict[str, Any]]] = []
        self.charts = 0

    def plot(self, figure: go.Figure) -> None:
        """Draw a chart here, now (with the summary's chart settings), and count it."""
        st.plotly_chart(figure, theme=None, config=CHART_CONFIG)
        self.charts += 1

    def keep(self, draw: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        """Keep a place here (in whatever container is current) for ``draw(*args, **kwargs)``."""
        self._kept.append((st.container(), draw, args, kwargs))

    def fill(self) -> None:
        """Draw every kept section into its place, in the order kept (a section may keep more: they follow)."""
        while self._kept:
            place, draw, args, kwargs = self._kept.pop(0)
            with place:
                draw(*args, **kwargs)
