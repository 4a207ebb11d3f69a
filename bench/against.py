"""``--against REV``: the same groups on another commit and on this tree, in one run, side by side.

A figure from another day on a shared machine says little; one taken minutes apart says what changed.
REV is checked out as a detached git worktree in a temporary folder and each group runs there with that
commit's own ``bench/`` (so the old code is measured the way it measured itself), then here, in turns
(``repeat`` times each, the order alternating so neither side always runs on a warmer machine). Every
run is a fresh ``python -m bench --only GROUP --no-write`` process; the rows are read back from the
table it prints, and each side's figure is the median of its runs.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_NUMBER = re.compile(r"^(-?[\d,]*\.?\d+)\s*(.*)$")


@dataclass
class Row:
    """One benchmark as both sides measured it (medians of the runs each side made).

    Attributes:
        theirs / ours: each run's headline figure, REV's and this tree's.
        goal: this tree's goal for the row (REV's when this tree has no such row).
    """

    group: str
    name: str
    unit: str = ""
    goal: str = ""
    note: str = ""
    theirs: list[float] = field(default_factory=list)
    ours: list[float] = field(default_factory=list)


def parse_value(text: str) -> tuple[float, str] | None:
    """``"1,040 ms"`` → ``(1040.0, "ms")``; None for an empty cell."""
    found = _NUMBER.match(text.strip())
    if not found:
        return None
    return float(found.group(1).replace(",", "")), found.group(2).strip()


def parse_table(stdout: str) -> list[tuple[str, str, float, str, str, str]]:
    """The rows of the report a ``python -m bench`` run prints: (group, name, value, unit, goal, note)."""
    rows = []
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 8 or cells[0] in {"group", ""} or cells[0].startswith("---"):
            continue
        value = parse_value(cells[2])
        if value is None:
            continue
        rows.append((cells[0], cells[1], value[0], value[1], cells[5], cells[7]))
    return rows


@contextmanager
def worktree(rev: str) -> Iterator[Path]:
    """A detached checkout of ``rev`` in a temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="bench-against-") as tmp:
        path = Path(tmp) / "tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(path), rev],
            check=True,
        )
        try:
            yield path
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False)


def run_group(tree: Path, group: str, quick: bool) -> list[tuple[str, str, float, str, str, str]]:
    """One group in a fresh process of ``tree``'s own bench; its rows (none if the tree has no such group)."""
    command = [sys.executable, "-m", "bench", "--only", group, "--no-write", *(["--quick"] if quick else [])]
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True, env=_env(tree))
    rows = parse_table(done.stdout)
    if not rows:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        print(f"  {tree.name}: {group} gave no rows ({tail})", file=sys.stderr, flush=True)
    return rows


def _env(tree: Path) -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree)  # the tree's own engagement/, bench/ and tests/, never this one's
    return env


def compare(rev: str, groups: list[str], *, repeat: int = 1, quick: bool = False) -> list[Row]:
    """Run ``groups`` on ``rev`` and on this tree, ``repeat`` times each, alternating; the rows side by side."""
    rows: dict[tuple[str, str], Row] = {}
    with worktree(rev) as theirs:
        for group in groups:
            for turn in range(repeat):
                sides = [("theirs", theirs), ("ours", ROOT)]
                for side, tree in sides if turn % 2 == 0 else reversed(sides):
                    print(
                        f"running {group} on {rev if side == 'theirs' else 'this tree'} ({turn + 1}/{repeat}) …",
                        file=sys.stderr,
                        flush=True,
                    )
                    for g, name, value, unit, goal, note in run_group(tree, group, quick):
                        row = rows.setdefault((g, name), Row(g, name, unit))
                        if side == "ours" or not row.goal:
                            row.goal, row.note = goal or row.goal, note if side == "ours" else row.note
                        getattr(row, side).append(value)
    return list(rows.values())


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def table(rev: str, rows: list[Row]) -> str:
    """The side-by-side table: each side's median, the ratio, this tree's goal and whether it is met."""
    from bench.__main__ import fmt

    lines = [
        f"| group | benchmark | `{rev}` | this tree | this ÷ `{rev}` | runs | goal | note |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        theirs, ours = _median(row.theirs), _median(row.ours)
        ratio = "" if not theirs or ours is None else f"{ours / theirs:.{2 if ours / theirs >= 0.01 else 3}f}×"
        runs = f"{len(row.theirs)} / {len(row.ours)}"
        lines.append(
            f"| {row.group} | {row.name} | {fmt(theirs, row.unit)} | {fmt(ours, row.unit)} | {ratio} | {runs} "
            f"| {row.goal} | {row.note} |"
        )
    return "\n".join(lines)
