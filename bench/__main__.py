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
    """Replace ``group``'s rows of docs/BENCHMARKS.md's first table where they stand: ``python -m bench.<group>``."""
    OUT.write_text(with_group_rows(OUT.read_text(), group, results))


def with_group_rows(text: str, group: str, results: list[Result]) -> str:
    """``text`` (docs/BENCHMARKS.md) with ``group``'s rows of its first table replaced where they stand (or added after
    its last row); everything else, the paragraphs above the table and later tables such as a comparison against
    another commit, is left as it was."""
    rows = table(results).splitlines()[2:]
    lines = text.splitlines()
    ours = [i for i, line in enumerate(lines) if line.startswith(f"| {group} |")]
    if ours:
        at = ours[0]
    else:
        first = next(i for i, line in enumerate(lines) if line.startswith("| "))
        at = next((i for i in range(first, len(lines)) if not lines[i].startswith("|")), len(lines))  # "|---|" too
    kept = [line for i, line in enumerate(lines) if i not in set(ours)]
    return "\n".join(kept[:at] + rows + kept[at:]) + "\n"


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
    groups = [g.strip() for g in args.only.split(",") if g.strip()]
    for group in groups:
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
        f"The last run measured {', '.join(sorted(ran))} in {time.perf_counter() - began:.0f} s.\n\n"
        "Latencies are medians (p50) and 99th percentiles over the runs shown; a missed goal says so,\n"
        "with its cause in the note.\n\n" + "\n".join([table(results), *kept]) + "\n"
    )
    print(report)
    if not args.no_write and not args.quick:
        OUT.parent.mkdir(exist_ok=True)
        if set(groups) == set(GROUPS) or not OUT.exists():  # every row anew: a new table under a new heading
            OUT.write_text(document(report, notes_of(_written())))
        else:  # some groups: their rows where they stand; the rest, and what was written by hand, as it was
            text = _written()
            for group in dict.fromkeys(r.group for r in results):
                text = with_group_rows(text, group, [r for r in results if r.group == group])
            OUT.write_text(text)
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
    section = (
        f"{against_heading(rev)}\n\n"
        f"Measured by `python -m bench --against {rev} --repeat {repeat}` on {datetime.now(UTC):%Y-%m-%d} — "
        f"{machine()}. Each group ran on `{rev}` (with that commit's own bench) and on this tree in the same "
        f"run, in turns, {repeat} time(s) each, in {time.perf_counter() - began:.0f} s; each cell is the median "
        "of its side's runs (a latency cell is itself a p50).\n\n" + side_by_side(rev, rows) + "\n"
    )
    print(section)
    if write and not quick:
        written = _written()
        head = written.split("\n## ", 1)[0] if written else "# Benchmarks\n"
        OUT.parent.mkdir(exist_ok=True)
        OUT.write_text(document(head, with_section(notes_of(written), section)))
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


# ------------------------------------------------------------------ the document
# docs/BENCHMARKS.md is the table the groups write, then sections: a comparison ``--against`` writes, an
# investigation's findings, what each line measures (all kept in the file, edited by hand where they are not a
# comparison). A run rewrites its own part and keeps every other.


def _written() -> str:
    return OUT.read_text() if OUT.exists() else ""


def notes_of(text: str) -> list[str]:
    """The sections of a written report below its table, each from its ``## `` heading, in order."""
    return ["## " + chunk.rstrip("\n") + "\n" for chunk in text.split("\n## ")[1:]]


def against_heading(rev: str) -> str:
    return f"## Against `{rev}`, in one run"


def with_section(sections: list[str], section: str) -> list[str]:
    """``sections`` with ``section`` in place of the one whose heading line starts as its own does (a comparison
    against the same commit, run again), or first when there is none."""
    heading = section.split("\n", 1)[0]
    if any(s.startswith(heading) for s in sections):
        return [section if s.startswith(heading) else s for s in sections]
    return [section, *sections]


def document(head: str, sections: list[str]) -> str:
    """The whole of docs/BENCHMARKS.md: the table part, then the sections."""
    return "\n".join([head.rstrip("\n") + "\n", *sections])


if __name__ == "__main__":
    raise SystemExit(main())
