"""The browser asks for the rest of a finished summary once it has drawn the summary's charts.

A summary the page last drew running comes in two runs (``pages/summary.py`` ``whole_page``): the top and the
charts, then the whole page. When the server started the second run as soon as the first ended, its messages (the
sections' text: some 200 Markdown elements) reached a browser still drawing the charts, which took them in first,
and the last chart waited for all of it. Instead, the first run ends with ``ask_after_charts``: a small component of
ours (``st.components.v2``, a constant script, no markup) that watches the summary's charts and, once ``count`` of
them are drawn and painted, sets a trigger value, on which Streamlit runs the page again. If they are not all
drawn within ``LIMIT_MS`` (a chart that fails to draw, a very slow machine), it asks all the same, so the sections
always come. It sits in the sidebar, which takes no room from the page.
"""

from __future__ import annotations

import streamlit as st

LIMIT_MS = 8000  # the longest the sections wait for the charts (a chart that fails, a very slow machine)
RESULT_CHARTS = ".st-key-summary_result .js-plotly-plot"  # the finished summary's charts (its container's key)

# A chart counts as drawn when Plotly has made its SVG and put a trace or an annotation in it: one definition, which
# the charts bench (bench/charts.py) and the browser tests' watchers use too.
IS_DRAWN_JS = "(plot) => plot.querySelector('.main-svg') && plot.querySelector('.mlayer > *, .annotation')"

# Once enough are drawn the trigger waits for the next frame (so they are painted first), or 100 ms when the page is
# hidden and frames do not come.
SCRIPT = """
export default function ({ data, setTriggerValue }) {
  let asked = false;
  const drawn = () => [...document.querySelectorAll(data.selector)].filter(IS_DRAWN).length;
  const ask = () => {
    if (asked) return;
    asked = true;
    setTriggerValue('drawn', true);
  };
  const soon = () => {
    observer.disconnect();
    clearTimeout(limit);
    requestAnimationFrame(() => setTimeout(ask, 0));
    setTimeout(ask, 100);
  };
  const observer = new MutationObserver(() => { if (drawn() >= data.count) soon(); });
  const limit = setTimeout(ask, data.limit_ms);
  observer.observe(document.body, { childList: true, subtree: true });
  if (drawn() >= data.count) soon();
  return () => { asked = true; observer.disconnect(); clearTimeout(limit); };
}
""".replace("IS_DRAWN", IS_DRAWN_JS)

_signal = st.components.v2.component("engagement_charts_drawn", js=SCRIPT)


def ask_after_charts(count: int, key: str) -> None:
    """Have the browser run the page again once ``count`` of the summary's charts are drawn (at most ``LIMIT_MS``)."""
    with st.sidebar:
        _signal(key=key, data={"count": count, "selector": RESULT_CHARTS, "limit_ms": LIMIT_MS}, height=0)
