"""Where the time between a job's end and its charts goes: ``python -m bench.charts_trace [--runs N]``.

The charts bench's run (``bench/charts.py``: the demo served by ``streamlit run``, Chromium at 1280×720, a
summary generated) with Chromium's performance trace and a JavaScript CPU profile of the page recorded, and the
server's and the browser's CPU sampled apart. For the interval from the record's ``ended_at`` to the fifth chart
it prints: when the page's websocket received the finished page's messages (their count and bytes) and when it
received the script's end; the renderer main thread's time by kind (scripting, style and layout, paint, garbage
collection, idle) from the trace; the JavaScript samples by source (Plotly's module, Streamlit's React code, the
data grid's, the rest); and each chart's drawing (the moment each count of charts was first drawn). It prints
and writes nothing else.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import time
from collections import Counter
from typing import Any

from bench.charts import CHARTS, TIMEOUT_MS, VIEWPORT, CpuSampler, _cpu_or_zero, demo_app, descendants
from engagement.demo import DEMO_ACCOUNTS
from engagement.jobs.repository import JobRepository
from engagement.models import JobStatus
from tests.support.streamlit_server import CHROMIUM, CHROMIUM_ARGS
from ui.charts_drawn import IS_DRAWN_JS

# As bench/charts.py's watcher, plus a user-timing mark at each chart count (so the trace has them), a mark that
# ties the trace's clock to the epoch, and every websocket message's arrival (epoch ms) and size.
WATCH_JS = """
(() => {
  window.__chartsAt = {}; window.__ws = [];
  const epoch = () => performance.timeOrigin + performance.now();
  window.__sync = () => { const t = epoch(); performance.mark('epoch:' + t); return t; };
  const drawn = () => [...document.querySelectorAll('.js-plotly-plot')].filter(IS_DRAWN).length;
  const note = () => {
    const n = drawn();
    if (!(n in window.__chartsAt)) { window.__chartsAt[n] = epoch(); performance.mark('charts:' + n); }
  };
  new MutationObserver(note).observe(document, {childList: true, subtree: true});
  const Native = window.WebSocket;
  window.WebSocket = function (...args) {
    const ws = new Native(...args);
    ws.addEventListener('message', (event) => {
      const size = event.data.byteLength ?? event.data.size ?? event.data.length ?? 0;
      window.__ws.push([epoch(), size]);
    });
    return ws;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, Native);
})();
""".replace("IS_DRAWN", IS_DRAWN_JS)

CATEGORIES = "devtools.timeline,disabled-by-default-devtools.timeline,blink.user_timing,v8,v8.execute,toplevel"
KINDS = {
    "scripting": {
        "FunctionCall",
        "EvaluateScript",
        "v8.compile",
        "v8.compileModule",
        "v8.evaluateModule",
        "V8.CompileCode",
        "TimerFire",
        "EventDispatch",
        "RunMicrotasks",
        "v8.run",
        "FireAnimationFrame",
        "XHRReadyStateChange",
        "v8.callFunction",
        "ParseHTML",
    },
    "style and layout": {"UpdateLayoutTree", "Layout", "RecalculateStyles", "HitTest", "ScheduleStyleRecalculation"},
    "paint": {"Paint", "PrePaint", "Layerize", "UpdateLayer", "CompositeLayers", "Commit", "PaintImage", "RasterTask"},
    "garbage collection": {"MajorGC", "MinorGC", "V8.GCScavenger", "V8.GCFinalizeMC", "BlinkGC.AtomicPhase"},
}


def kind_of(name: str) -> str:
    for kind, names in KINDS.items():
        if name in names:
            return kind
    return "other"


def main_thread(events: list[dict[str, Any]]) -> tuple[int, int] | None:
    """The (pid, tid) of the page's renderer main thread: the CrRendererMain that ran the most script."""
    mains = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("ph") == "M" and e.get("name") == "thread_name" and e["args"].get("name") == "CrRendererMain"
    }
    busy = Counter((e["pid"], e["tid"]) for e in events if e.get("name") == "FunctionCall")
    found = [key for key, _ in busy.most_common() if key in mains]
    return found[0] if found else None


def self_times(events: list[dict[str, Any]], start_us: float, end_us: float) -> Counter[str]:
    """Each kind's self time (ms) of the main thread's complete events, clipped to ``[start_us, end_us]``."""
    spans = sorted(
        (e for e in events if e.get("ph") == "X" and "dur" in e), key=lambda e: (e["ts"], -e["dur"])
    )  # parents before their children
    totals: Counter[str] = Counter()
    others: Counter[str] = Counter()
    stack: list[tuple[float, float, str]] = []  # (start, end, kind) of the open ancestors

    def clip(a: float, b: float) -> float:
        return max(0.0, min(b, end_us) - max(a, start_us))

    for e in spans:
        begin, end = e["ts"], e["ts"] + e["dur"]
        while stack and stack[-1][1] <= begin:
            stack.pop()
        kind = kind_of(e["name"])
        if kind == "other" and stack and stack[-1][2] != "other":
            kind = stack[-1][2]  # an unnamed child of a script call is the script's
        if stack:  # the child's time is its own, not its parent's (a RunTask's own kind is "other")
            totals[stack[-1][2]] -= clip(begin, end) / 1000
        totals[kind] += clip(begin, end) / 1000
        if kind == "other":
            others[e["name"]] += clip(begin, end) / 1000
        stack.append((begin, end, kind))
    top = ", ".join(f"{name} {ms:,.0f}" for name, ms in others.most_common(6))
    print(f"  (other, with their children: {top})")
    return totals


def js_by_source(profile: dict[str, Any], start_us: float, end_us: float) -> Counter[str]:
    """The CPU profile's samples (ms) in ``[start_us, end_us]`` by where their code came from."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    totals: Counter[str] = Counter()
    at = profile["startTime"]
    for node_id, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        at += delta
        if start_us <= at <= end_us:
            frame = nodes[node_id]["callFrame"]
            url, name = frame.get("url", ""), frame.get("functionName", "")
            totals[source_of(url, name)] += delta / 1000
    return totals


def source_of(url: str, name: str) -> str:
    if name in ("(idle)", "(program)", "(garbage collector)"):
        return name
    file = url.rsplit("/", 1)[-1]
    if file.startswith("PlotlyChart."):
        return "Plotly (PlotlyChart chunk)"
    if file.startswith("index."):
        return "Streamlit/React (index chunk)"
    if not file:
        return "native/no url"
    return f"chunk {file.split('.', 1)[0]}"


def one_run(browser: Any, url: str, domain: str, repo: JobRepository, sampler: CpuSampler, server: int) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        context.add_init_script(WATCH_JS)
        page = context.new_page()
        page.goto(url)
        cdp = context.new_cdp_session(page)
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 1000})
        page.get_by_placeholder("https://www.acmecorp.com").fill(domain)
        browser.start_tracing(page=page, categories=CATEGORIES.split(","))
        cdp.send("Profiler.start")
        page.get_by_role("button", name="Generate Meeting Summary").click()
        page.wait_for_function(
            "location.search.includes('run_id') || document.body.innerText.includes('Generate a fresh one')",
            polling=100,
            timeout=TIMEOUT_MS,
        )
        if "run_id" not in page.url:
            page.get_by_role("button", name="Generate a fresh one").click()
            page.wait_for_url("**run_id=*", timeout=TIMEOUT_MS)
        page.wait_for_function(f"window.__chartsAt && window.__chartsAt[{CHARTS}]", polling=100, timeout=TIMEOUT_MS)
        page.wait_for_timeout(300)
        sync_epoch_ms = page.evaluate("window.__sync()")
        profile = cdp.send("Profiler.stop")["profile"]
        trace = json.loads(browser.stop_tracing())
        charts_at = page.evaluate("window.__chartsAt")
        messages = page.evaluate("window.__ws")
        query = dict(part.split("=", 1) for part in page.url.split("?", 1)[1].split("&"))
        record = repo.load(query["domain"], query["run_id"])
        if record is None or record.status is not JobStatus.COMPLETE or record.ended_at is None:
            raise RuntimeError(f"the job on show did not complete: {record}")
    finally:
        context.close()
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    ended_ms = record.ended_at.timestamp() * 1000
    drawn_ms = charts_at[str(CHARTS)]
    sync = next(e for e in events if e.get("name", "").startswith("epoch:"))
    offset_us = sync["ts"] - sync_epoch_ms * 1000  # trace clock - epoch, in µs
    start_us, end_us = ended_ms * 1000 + offset_us, drawn_ms * 1000 + offset_us
    key = main_thread(events)
    main = [e for e in events if (e.get("pid"), e.get("tid")) == key]
    kinds = self_times(main, start_us, end_us)
    js = js_by_source(profile, start_us, end_us)
    after = [(t - ended_ms, size) for t, size in messages if ended_ms <= t <= drawn_ms]
    server_cpu = sampler.between_pid(server, ended_ms / 1000, drawn_ms / 1000)
    all_cpu = sampler.between(ended_ms / 1000, drawn_ms / 1000)
    print(f"\n== {domain}: job {record.duration_s:.2f} s; charts {drawn_ms - ended_ms:,.0f} ms after the stored end")
    print(f"  CPU in the interval: server {server_cpu:.2f} s, browser {all_cpu - server_cpu:.2f} s")
    if after:
        sizes = sum(size for _, size in after)
        print(
            f"  websocket: {len(after)} messages, {sizes / 1024:.0f} KB, first at +{after[0][0]:.0f} ms, "
            f"last at +{after[-1][0]:.0f} ms"
        )
    counts = {int(n): t - ended_ms for n, t in charts_at.items() if int(n) and t >= ended_ms}
    print("  charts drawn at: " + ", ".join(f"{n} at +{t:,.0f} ms" for n, t in sorted(counts.items())))
    total = sum(kinds.values())
    print(f"  renderer main thread ({total:,.0f} ms busy of {drawn_ms - ended_ms:,.0f}):")
    for kind, ms in kinds.most_common():
        print(f"    {kind:<20} {ms:8,.0f} ms")
    print("  JavaScript samples by source:")
    for source, ms in js.most_common(8):
        print(f"    {source:<32} {ms:8,.0f} ms")


class SplitSampler(CpuSampler):
    """``CpuSampler`` that also keeps one process's own CPU (the server's), to split it from the browser's."""

    def __init__(self, pid: int, every_s: float = 0.02) -> None:
        super().__init__(every_s)
        self.pid = pid
        self.own: list[float] = []

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.times.append(time.time())
            self.cpu.append(sum(_cpu_or_zero(pid) for pid in descendants(os.getpid())))
            self.own.append(_cpu_or_zero(self.pid))

    def between_pid(self, pid: int, start: float, end: float) -> float:
        first = min(bisect.bisect_left(self.times, start), len(self.own) - 1)
        last = min(bisect.bisect_left(self.times, end), len(self.own) - 1)
        return max(0.0, self.own[last] - self.own[first])


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(prog="python -m bench.charts_trace")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with demo_app() as (server, url, store), sync_playwright() as playwright, SplitSampler(server.pid) as sampler:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for turn in range(args.runs + 1):
            domain = DEMO_ACCOUNTS[turn % len(DEMO_ACCOUNTS)][0]
            if turn == 0:
                from bench.charts import one_run as warm

                warm(browser, url, domain, JobRepository(store))
                continue
            one_run(browser, url, domain, JobRepository(store), sampler, server.pid)
        browser.close()
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} (each run above is its own: nothing is averaged)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
