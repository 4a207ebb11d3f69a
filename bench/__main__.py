"""``python -m bench [--only GROUPS] [--quick] [--against REV [--repeat N]]``: run, print, write the docs.

GROUPS is a comma-separated choice of store, start, admin, accounts, pipeline, polling, charts, index, ask, workers,
qualification, insights.
``--against REV`` runs the same groups on commit REV (a temporary git worktree) and on this tree in the
same run and prints them side by side (``bench/against.py``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.measure import Result, machine

GROUPS = (
    "store",
    "start",
    "admin",
    "accounts",
    "pipeline",
    "polling",
    "charts",
    "index",
    "ask",
    "workers",
    "qualification",
    "insights",
)
OUT = Path(__file__).resolve().parents[1] / "docs" / "BENCHMARKS.md"


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if unit == "ms":
        return f"{value:.3f} ms" if value < 10 else f"{value:,.0f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:,.2f} {unit}".strip()


def table(results: list[Result]) -> str:
    lines = [
        "| group | benchmark | p50 / value | p99 | runs | goal | verdict | note |",
        "|---|---|---:|---:|---:|---|---|---|",
    ]
    for r in results:
        verdict = "" if r.met is None else ("met" if r.met else "**missed**")
        lines.append(
            f"| {r.group} | {r.name} | {fmt(r.value, r.unit)} | {fmt(r.p99, r.unit)} | {r.runs} | {r.goal} | {verdict} | {r.note} |"
        )
    return "\n".join(lines)


def write_group_rows(group: str, results: list[Result]) -> None:
    """Replace ``group``'s rows of docs/BENCHMARKS.md's first table where they stand (or add them after its last
    row; later tables, such as a comparison against another commit, are left alone): ``python -m bench.<group>``."""
    rows = table(results).splitlines()[2:]
    lines = OUT.read_text().splitlines()
    ours = [i for i, line in enumerate(lines) if line.startswith(f"| {group} |")]
    if ours:
        at = ours[0]
    else:
        first = next(i for i, line in enumerate(lines) if line.startswith("| "))
        at = next((i for i in range(first, len(lines)) if not lines[i].startswith("|")), len(lines))  # "|---|" too
    kept = [line for i, line in enumerate(lines) if i not in set(ours)]
    OUT.write_text("\n".join(kept[:at] + rows + kept[at:]) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated groups of {', '.join(GROUPS)}")
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes and shorter runs (a smoke test, not figures)"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/BENCHMARKS.md as it is")
    parser.add_argument("--against", metavar="REV", help="also run the groups on commit REV and show both side by side")
    parser.add_argument("--repeat", type=int, default=1, help="with --against: runs of each group on each side")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.against:
        return _against(args.against, args.only, args.repeat, quick=args.quick, write=not args.no_write)
    results: list[Result] = []
    began = time.perf_counter()
    for group in [g.strip() for g in args.only.split(",") if g.strip()]:
        if group not in GROUPS:
            parser.error(f"unknown group {group!r}")
        module = importlib.import_module(f"bench.{group}")
        print(f"running {group} …", file=sys.stderr, flush=True)
        results += module.run(**(module.QUICK if args.quick and hasattr(module, "QUICK") else {}))
        print(table(results), file=sys.stderr)
    ran = {r.group for r in results}
    kept = _kept_rows(ran) if not args.no_write and not args.quick else []
    report = (
        "# Benchmarks\n\n"
        f"Measured by `make bench` on {datetime.now(UTC):%Y-%m-%d} — {machine()}. "
        f"The last run measured {', '.join(sorted(ran))} in {time.perf_counter() - began:.0f} s"
        + (" (the other rows are kept from an earlier run)" if kept else "")
        + ".\n\n"
        "Latencies are medians (p50) and 99th percentiles over the runs shown; a missed goal says so,\n"
        "with its cause in the note.\n\n" + "\n".join([table(results), *kept]) + "\n"
    )
    print(report)
    if not args.no_write and not args.quick:
        OUT.parent.mkdir(exist_ok=True)
        OUT.write_text(report + EXTRA)
    missed = [r for r in results if r.met is False]
    return 1 if missed else 0


def _against(rev: str, only: str, repeat: int, *, quick: bool, write: bool) -> int:
    """Both trees, group by group, in one run; the side-by-side table printed (and written unless told not to)."""
    from bench.against import compare
    from bench.against import table as side_by_side

    groups = [g.strip() for g in only.split(",") if g.strip()]
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        print(f"unknown group {unknown[0]!r}", file=sys.stderr)
        return 2
    began = time.perf_counter()
    rows = compare(rev, groups, repeat=repeat, quick=quick)
    report = (
        "# Benchmarks\n\n"
        f"Measured by `python -m bench --against {rev} --repeat {repeat}` on {datetime.now(UTC):%Y-%m-%d} — "
        f"{machine()}. Each group ran on `{rev}` (with that commit's own bench) and on this tree in the same "
        f"run, in turns, {repeat} time(s) each, in {time.perf_counter() - began:.0f} s; each cell is the median "
        "of its side's runs (a latency cell is itself a p50).\n\n" + side_by_side(rev, rows) + "\n"
    )
    print(report)
    if write and not quick:
        OUT.write_text(report + EXTRA)
    return 0


# Rows measured by hand, not by a bench group (the whole test suite's time under `make test`): always kept.
HAND_MEASURED = {"Tests"}


def _kept_rows(ran: set[str]) -> list[str]:
    """Rows of the groups not run this time, kept from the last report (``--only`` refreshes a part), and the rows
    measured by hand (``HAND_MEASURED``)."""
    if not OUT.exists():
        return []
    rows = []
    for line in OUT.read_text().splitlines():
        if line.startswith("## "):
            break  # the sections below the table (what each line measures, a comparison) are not rows
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 2 and cells[1] in HAND_MEASURED:
            rows.append(line)
        elif len(cells) > 2 and cells[1] and cells[1] not in ran and cells[1].title() in {g.title() for g in GROUPS}:
            rows.append(line)
    return rows


EXTRA = """
## What each line measures

- **Tests** — measured by hand, not by the bench (which keeps the row): `make test` (pytest-xdist, 4 workers,
  `--dist loadgroup`) timed with `/usr/bin/time -v` on the shared two-core machine, the load average (`uptime`)
  noted before and after; the CPU seconds (user + sys of pytest, its workers and the servers they start and wait
  for) say what the suite would take with both cores to itself.
- **Store** — `SqliteKV.get` / `.set` of a complete job record (a summary with people, themes,
  insights and evidence) in a fresh file; WAL journal, `synchronous=NORMAL`, JSON values.
- **Start** — `JobService.start()` on a thread pool until it returns the run id: the claim read
  (`running:{domain}:{since}:{until}`), one transaction writing the record, its index row and the
  claim, the hand-off.
- **Admin** — what the admin page reads to draw its first page (totals per status, the domain
  filter's choices, the count, 50 newest rows from the time-ordered index; no summary is read), and
  one purge of 10,000 old jobs; in the embedded file with 10,000 and 100,000 jobs, and in a throw-away
  `redis-server` (`RedisKV`) with 10,000.
- **Ask** — 1,000 demo meetings (their real transcripts under new ids) indexed, an account of 100:
  indexing, one BM25 search, and offline answers (found and not found). The shared lines put the
  1,000 transcripts in a throw-away `redis-server` and answer through `SharedTranscriptIndex`: once
  on a machine whose FTS5 cache already holds the account (each answer still checks the hashes in
  Redis), and once per fresh machine with an empty file (pull the account's transcripts, index
  them, answer).
- **Index** — a 10,000-meeting workspace (400 companies) seeded page by page: one account's
  meetings (`meetings_for`) and every domain's activity (`domain_activity`), with the index in
  SQLite and in Redis (a throw-away `redis-server`; per-domain sorted sets, one pipelined read).
- **Pipeline** — a 100-meeting account against the fake Fathom server (150 ms a request) and the
  fake OpenAI server (1 s a call). The floor is what this setup cannot beat: list pages in sequence
  + ⌈map calls ÷ concurrency⌉ seconds + one reduce call (+ as many waves of qualification calls, one
  a meeting, since issue 22; the row above was measured before that step existed). The second run hits
  the per-meeting cache.
- **Polling** — a Streamlit server with one open summary page polling a running job every 2 s (the
  bench checks, before and after, that the page shows the job's progress bar and "updates every 2 s"):
  server CPU seconds per poll, its ratio to a page that is nothing but `st.fragment(run_every="2s")`
  (`bench/bare_fragment_app.py`; also measured with its heap frozen as the app's is, `ui/heap.py`), and
  the server's resident memory over the run.
- **Charts** — the demo data served by `streamlit run`, a fresh Chromium context at 1280×720 for each
  run: generate a summary, and time from the job's `ended_at` in the store to the moment all five
  Plotly charts of the finished summary are drawn (each with its SVG and a trace), noted in the page by
  a script loaded before Streamlit's own. The three demo accounts take turns (a first warm-up run is not
  counted). Also the CPU the server and Chromium spent in that interval, sampled every 20 ms: what the
  interval would take on an idle machine, roughly.
- **Workers** — the several-machines shape on one machine: a throw-away `redis-server`, 40 jobs of
  12-meeting accounts in a 480-meeting workspace (Fathom answers in 150 ms; map and reduce calls
  on the fake OpenAI server, 0.75 s a call, 4 at once) run by 1 and then 4 `python -m engagement
  worker` processes. The meeting index (in Redis, shared by the workers) is synced once before the
  timed runs (`python -m engagement index`), as a deployment's is warm; each run starts from an
  empty job store and analysis cache, and once the requests before it have left Fathom's one-minute
  window (or leave room for all of the run's). So a job costs its incremental index sync (one
  request), two pages of transcripts and its model calls. A run's floor is the larger of that
  waiting (3 Fathom requests, ⌈12 ÷ 4⌉ map calls in sequence, the reduce) times 40 jobs spread over
  the workers, and Fathom's limit (60 calls a minute per key, shared through Redis: the run's n-th
  request cannot go before ⌊(n-1)/60⌋ minutes after its first). The 1-worker run is bound by the
  waiting, the 4-worker run by Fathom's limit: the throughput ratio is what 4 workers buy until the
  shared budget is the limit. Fathom 429s count what got past the limiter; the request counts of
  both runs should be equal (one index sync each job, never a worker's own listing of the
  workspace). While the 4 workers run, two app processes poll the last job every 0.1 s
  (`JobService.get`).
- **Insights** — the offline analyser's goals, challenges and risks on the three demo accounts against a
  blind reader's labels (`tests/data/insights/`: every customer sentence a careful account manager would file
  as a goal, challenge or risk, the vague ones marked; `bench/insights.py`, `python -m bench.insights` rewrites
  only these rows). Precision: quotes given that are useful labels of their category (below 100 % only by the
  exceptions `tests/test_insight_labels.py` names, with why). Recall: the reader's useful labels given in their
  category, meeting by meeting (before the cue-plus-content rules of Dec 2026: precision 43/51 goals, 32/53
  challenges, 35/43 risks; recall 43/75, 28/60, 39/153). Risk recall is low by design: the reader files what a
  sentence means in the deal ("Ryan resigned last week.", "Pipewise came in about 25 percent lower"), which
  has no cue word.
- **Qualification** — recall per MEDDPICC element: the share of sentences a careful reader labelled as
  the customer's evidence that the app's evidence for that element holds (`bench/qualification.py`;
  `python -m bench.qualification` rewrites only these rows). Two label sets: *corpus*, plain-language
  meetings written by a colleague who never read the rubric (two accounts, 9 meetings: the honest
  measure of the rules), and *demo*, the three demo accounts (the offline quotes a reader kept, plus
  the sentences the reader found that the rules miss — so the offline demo figure flatters the rules).
  *Model (fake)* runs the model path (one structured call a meeting, every quote verified, moved to
  the turn that holds it or dropped) against the fake OpenAI server, whose "reading" is a keyword list
  of its own: it measures the plumbing, not a real model's judgement. "State right" counts elements
  whose state (evidenced, conflicting, our side only, not found) is the reader's. Precision — every
  offline evidence quote the customer's and among the labelled sentences — is 100 %, asserted by
  `tests/test_qualification_labels.py`.
- **Before the index moved to Redis** each worker process synced its own SQLite meeting index from
  a cold start: 4 workers sent 407 Fathom requests against 1 worker's 284 and were *slower* (0.72×),
  both runs at the Fathom floor.
"""


if __name__ == "__main__":
    raise SystemExit(main())
