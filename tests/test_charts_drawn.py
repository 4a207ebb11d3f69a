"""The script that asks for a finished summary's sections once its charts are drawn (``ui/charts_drawn.py``), in Chromium.

The script runs as Streamlit would mount it (its default export called with the component's ``data`` and
``setTriggerValue``) on a bare page whose "charts" are built by hand: a chart counts as drawn, as in Plotly, once its
SVG holds a trace. The page's own use of it is in ``tests/test_browser.py`` and ``tests/test_pages.py``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.streamlit_server import CHROMIUM, CHROMIUM_ARGS
from ui.charts_drawn import RESULT_CHARTS, SCRIPT

pytestmark = pytest.mark.browser

PAGE = """
<div class="st-key-summary_result"><div id="charts"></div></div>
<div id="elsewhere"></div>
<script>
  window.asked = [];
  // a chart: Plotly's container, and once drawn its SVG with a trace in it
  window.chart = (where, drawn) => {
    const plot = document.createElement('div');
    plot.className = 'js-plotly-plot';
    if (drawn) plot.innerHTML = '<svg class="main-svg"><g class="mlayer"><g class="trace"></g></g></svg>';
    document.getElementById(where).appendChild(plot);
  };
</script>
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A bare page with the script loaded as a module: ``window.mount(count, limit_ms)`` runs it (its clean-up kept in
    ``window.unmount``), ``window.asked`` holds what it set."""
    page = browser.new_page()
    page.set_content(PAGE)
    source = base64.b64encode(SCRIPT.encode()).decode()
    page.evaluate(
        """async ([source, selector]) => {
          const script = await import('data:text/javascript;base64,' + source);
          window.mount = (count, limit_ms) => {
            window.unmount = script.default({
              data: { count, selector, limit_ms },
              setTriggerValue: (name, value) => window.asked.push([name, value]),
            });
          };
        }""",
        [source, RESULT_CHARTS],
    )
    yield page
    page.close()


def asked(page: Any) -> list[list[Any]]:
    return list(page.evaluate("window.asked"))


def test_it_asks_once_when_the_summarys_charts_are_drawn(page: Any) -> None:
    """Nothing is asked while fewer charts are drawn than were sent (charts elsewhere or not yet drawn do not count);
    the run is asked for once, when the last is drawn, and not again."""
    page.evaluate("window.mount(3, 60000)")
    page.evaluate("chart('charts', true); chart('charts', false); chart('elsewhere', true); chart('elsewhere', true)")
    page.wait_for_timeout(300)  # a few frames: had it miscounted, it would have asked by now
    assert asked(page) == []
    page.evaluate("chart('charts', true); chart('charts', true)")
    page.wait_for_function("window.asked.length > 0")
    page.evaluate("chart('charts', true)")
    page.wait_for_timeout(300)
    assert asked(page) == [["drawn", True]]


def test_charts_drawn_before_it_is_mounted_count(page: Any) -> None:
    """Charts the browser drew before the script was mounted count: it asks at once."""
    page.evaluate("chart('charts', true); chart('charts', true)")
    page.evaluate("window.mount(2, 60000)")
    page.wait_for_function("window.asked.length > 0")
    assert asked(page) == [["drawn", True]]


def test_it_asks_after_its_limit_when_the_charts_never_come(page: Any) -> None:
    """A chart that never draws (its library failed to load) does not keep the sections away: it asks at its limit."""
    page.evaluate("window.mount(5, 200); chart('charts', true)")
    page.wait_for_function("window.asked.length > 0", timeout=10_000)
    assert asked(page) == [["drawn", True]]


def test_once_unmounted_it_never_asks(page: Any) -> None:
    """The page ran again before the charts were drawn (a click): the script's clean-up stops it for good."""
    page.evaluate("window.mount(1, 200); window.unmount()")
    page.evaluate("chart('charts', true)")
    page.wait_for_timeout(600)  # past its limit
    assert asked(page) == []
