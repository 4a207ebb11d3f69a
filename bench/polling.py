"""Polling: server CPU per 2-second poll of an open summary page, and the server's memory over the run.

A real ``streamlit run`` serves the app; headless Chromium opens the summary page and starts a job
whose first Fathom request hangs for the whole run, so the page keeps polling a running job: before and
after the measured minutes the page must show the job's progress bar and "updates every 2 s" (the slow
poll), or the run fails rather than report a figure of something else. The baseline is a page that is
nothing but ``st.fragment(run_every="2s")`` (``bench/bare_fragment_app.py``), measured as it is and with
its heap frozen as the app freezes its own (``ui/heap.py``), so the note says what is left of the app's
own work once the garbage collector walks the same few objects.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bench.measure import Result
from tests.fakes.fathom_server import FAKE_API_KEY, FathomServer, make_account
from tests.support.streamlit_server import CHROMIUM, CHROMIUM_ARGS, start_streamlit, stop_streamlit

if TYPE_CHECKING:
    from playwright.sync_api import Page

QUICK = {"minutes": 1.0}
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


SLOW_POLL = "updates every 2 s"  # the progress caption's words while the 2-second fragment polls (pages/summary.py)


def polling_shown(page: Page) -> str | None:
    """What the page shows of a running job (its progress bar's stage and caption), or None when it shows none."""
    bars = page.get_by_test_id("stProgress")
    if not bars.count() or not page.get_by_text(SLOW_POLL).count():
        return None
    return " · ".join([bars.first.inner_text().replace("\u2060", ""), page.get_by_text(SLOW_POLL).first.inner_text()])


def baseline_ms_per_poll(seconds: float = 60.0, *, frozen: bool = False) -> float:
    """Server CPU per poll of a page that is nothing but ``st.fragment(run_every="2s")`` (its heap frozen or not)."""
    from playwright.sync_api import sync_playwright

    env = {**os.environ, "BENCH_FREEZE": "1" if frozen else ""}
    server, url = start_streamlit("bench/bare_fragment_app.py", env)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            browser.new_page().goto(url)
            time.sleep(10)
            cpu0 = cpu_seconds(server.pid)
            time.sleep(seconds)
            cpu = cpu_seconds(server.pid) - cpu0
            browser.close()
    finally:
        stop_streamlit(server)
    return cpu / (seconds / 2) * 1000


def run(minutes: float = 10.0) -> list[Result]:
    from playwright.sync_api import sync_playwright

    seconds = minutes * 60
    with FathomServer(make_account(count=12)) as fathom, tempfile.TemporaryDirectory() as tmp:
        # the job waits for the whole run: the index sync's first page and the job's own request (Fathom's company
        # filter, asked while the index is incomplete) both hang; more hangs than requests do no harm
        fathom.hang_next(seconds + 120, times=4)
        env = {
            **os.environ,
            "ENGAGEMENT_DB": str(Path(tmp) / "poll.sqlite"),
            "FATHOM_API_KEY": FAKE_API_KEY,
            "FATHOM_BASE_URL": fathom.base_url,
            "FATHOM_TIMEOUT_S": str(seconds + 300),
            "ENGAGEMENT_JOB_TIMEOUT_S": str(seconds + 600),
        }
        server, url = start_streamlit("streamlit_app.py", env)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                page.goto(url)
                page.get_by_placeholder("https://www.acmecorp.com").fill("acmecorp.com")
                page.get_by_role("button", name="Generate Meeting Summary").click()
                page.wait_for_url("**run_id=*", timeout=30_000)
                time.sleep(20)  # warm-up: imports, caches and the first polls settle
                before = polling_shown(page)
                if before is None:
                    raise RuntimeError(
                        f"the summary page is not polling a running job: {page.inner_text('body')[:300]!r}"
                    )
                cpu0, began = cpu_seconds(server.pid), time.monotonic()
                rss = [rss_mb(server.pid)]
                while time.monotonic() - began < seconds:
                    time.sleep(min(15, seconds / 8))
                    rss.append(rss_mb(server.pid))
                elapsed = time.monotonic() - began
                cpu = cpu_seconds(server.pid) - cpu0
                after = polling_shown(page)
                browser.close()
        finally:
            stop_streamlit(server)
    if after is None:
        raise RuntimeError("the summary page stopped polling the running job before the end of the run")
    bare, frozen = baseline_ms_per_poll(), baseline_ms_per_poll(frozen=True)
    per_poll = cpu / (elapsed / 2) * 1000
    growth = rss[-1] - rss[0]
    half = len(rss) // 2
    second_half = rss[-1] - rss[half]
    return [
        Result(
            "Polling",
            "server CPU per 2 s poll",
            per_poll,
            "ms",
            runs=int(elapsed / 2),
            note=(
                f"{cpu:.2f} CPU s over {elapsed / 60:.1f} min of one open page polling a running job (it showed "
                f"{before!r}, then {after!r}); a bare st.fragment(run_every='2s') page: {bare:.0f} ms a poll "
                f"here, {frozen:.0f} ms with its heap frozen as the app's is"
            ),
        ),
        Result(
            "Polling",
            "server CPU per poll ÷ a bare fragment page's",
            per_poll / bare,
            "×",
            goal="≤ 1.25×",
            met=per_poll / bare <= 1.25,
            runs=1,
            note=f"{per_poll:.0f} ms ÷ {bare:.0f} ms, measured minutes apart; ÷ the frozen bare page's: {per_poll / frozen:.2f}×",
        ),
        Result(
            "Polling",
            f"server memory after {elapsed / 60:.0f} min of polling",
            rss[-1],
            "MB",
            goal="flat (≤ 5 MB growth in the second half)",
            met=second_half <= 5.0,
            note=(
                f"{rss[0]:.0f} MB after warm-up → {rss[-1]:.0f} MB ({growth:+.1f} MB; second half "
                f"{second_half:+.1f} MB); median {statistics.median(rss):.0f} MB over {len(rss)} samples"
            ),
        ),
    ]
