"""Polling: server CPU per 2-second poll of an open summary page, and the server's memory over the run.

A real ``streamlit run`` serves the app; headless Chromium opens the summary page and starts a job
whose first Fathom request hangs for the whole run, so the page keeps polling a running job.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.measure import Result
from tests.fakes.fathom_server import FAKE_API_KEY, FathomServer, make_account
from tests.support.streamlit_server import CHROMIUM, CHROMIUM_ARGS, start_streamlit, stop_streamlit

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


def baseline_ms_per_poll(seconds: float = 60.0) -> float:
    """Server CPU per poll of a page that is nothing but ``st.fragment(run_every="2s")``."""
    from playwright.sync_api import sync_playwright

    server, url = start_streamlit("bench/bare_fragment_app.py", os.environ)
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
        fathom.hang_next(seconds + 120)  # the job waits on its first page for the whole run
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
                cpu0, began = cpu_seconds(server.pid), time.monotonic()
                rss = [rss_mb(server.pid)]
                while time.monotonic() - began < seconds:
                    time.sleep(min(15, seconds / 8))
                    rss.append(rss_mb(server.pid))
                elapsed = time.monotonic() - began
                cpu = cpu_seconds(server.pid) - cpu0
                still_polling = "fetching" in page.content().lower()
                browser.close()
        finally:
            stop_streamlit(server)
    bare = baseline_ms_per_poll()
    polls = elapsed / 2
    growth = rss[-1] - rss[0]
    half = len(rss) // 2
    second_half = rss[-1] - rss[half]
    return [
        Result(
            "Polling",
            "server CPU per 2 s poll",
            cpu / polls * 1000,
            "ms",
            runs=int(polls),
            note=(
                f"{cpu:.2f} CPU s over {elapsed / 60:.1f} min of one open page (job still running: "
                f"{still_polling}); a bare st.fragment(run_every='2s') page: {bare:.0f} ms a poll here"
            ),
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
