"""The chart library started while the rep types and the job runs, so a finished summary's charts draw at once.

Streamlit's browser code fetches and starts Plotly (a module of 4.6 MB) only when the first chart
arrives; on a loaded two-core machine that took most of the seconds between a job's end and its
charts. The summary page asks the browser for that same module as soon as it is drawn, with a
constant script of ours; the browser keeps one copy of a module per address, so Streamlit's own
import of it later finds it loaded and started. The module's file name carries a hash that changes
with Streamlit's version: it is read from the installed package, and when it cannot be found (or is
not a plain file name) nothing is added and the charts load as before.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import streamlit as st

STATIC_JS = Path(st.__file__).parent / "static" / "static" / "js"
_PLAIN_NAME = re.compile(r"PlotlyChart\.[A-Za-z0-9_-]+\.js")


@functools.cache
def plotly_module() -> str | None:
    """The file name of Streamlit's Plotly chunk (``PlotlyChart.<hash>.js``), or None when there is not exactly one."""
    found = [path.name for path in STATIC_JS.glob("PlotlyChart.*.js") if _PLAIN_NAME.fullmatch(path.name)]
    return found[0] if len(found) == 1 else None


def preload_script(module: str) -> str:
    """The script that imports ``module`` from beside the page's own entry script (a failure is ignored)."""
    if not _PLAIN_NAME.fullmatch(module):
        raise ValueError("only Streamlit's own PlotlyChart chunk is preloaded")
    return (
        '<script>(() => { const entry = document.querySelector(\'script[type="module"][src*="/static/js/index."]\');'
        f" if (entry) import(new URL('{module}', entry.src).href).catch(() => {{}}); }})();</script>"
    )


def preload_charts() -> None:
    """Start loading the chart library in the browser (in the sidebar, which takes no room from the page)."""
    module = plotly_module()
    if module is not None:
        st.sidebar.html(preload_script(module), unsafe_allow_javascript=True)
