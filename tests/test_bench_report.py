"""docs/BENCHMARKS.md as the bench writes it: a run rewrites its own part and keeps what was written by hand."""

from __future__ import annotations

import types
from pathlib import Path

import pytest

import bench.__main__ as bench_main
from bench.__main__ import OUT, against_heading, document, notes_of, with_section
from bench.measure import Result

TABLE = "# Benchmarks\n\nMeasured by `make bench` on 2026-12-01.\n\n| group | benchmark |\n|---|---|\n| Store | get |\n"
COMPARISON = f"{against_heading('87d8600')} (issue 19)\n\nMeasured under load.\n\n| group | `87d8600` |\n"
FINDINGS = "## Polling and charts (issue 19's last goals)\n\nWhat a poll cost, and why: the heap.\n"
MEASURES = "## What each line measures\n\n- **Store** — get and set of a complete job record.\n"
WRITTEN = "\n".join([TABLE, COMPARISON, FINDINGS, MEASURES])


def test_the_written_report_reads_back_as_it_was() -> None:
    """Table, hand-written sections and the explanation of each line: put back together, the same text (the
    project's own docs/BENCHMARKS.md too)."""
    assert notes_of(WRITTEN) == [COMPARISON, FINDINGS, MEASURES]
    assert document(TABLE, notes_of(WRITTEN)) == WRITTEN
    ours = OUT.read_text()
    assert document(ours.split("\n## ", 1)[0], notes_of(ours)) == ours


def test_a_run_of_some_groups_keeps_the_sections_written_by_hand() -> None:
    """A new table (``--only charts``) replaces the old one; the comparison and the findings stay, in their order."""
    table = TABLE.replace("2026-12-01", "2026-12-07").replace("| Store | get |", "| Charts | drawn |")
    rewritten = document(table, notes_of(WRITTEN))
    assert rewritten.startswith(table) and "| Store | get |" not in rewritten
    assert rewritten.index(COMPARISON) < rewritten.index(FINDINGS) < rewritten.index(MEASURES)


def test_a_comparison_run_again_replaces_its_own_section_and_a_new_one_goes_first() -> None:
    """``--against 87d8600`` again: its section is replaced where it stands; ``--against eb94d4c``: added first."""
    again = f"{against_heading('87d8600')}\n\nMeasured on a quiet machine.\n"
    assert with_section(notes_of(WRITTEN), again) == [again, FINDINGS, MEASURES]
    other = f"{against_heading('eb94d4c')}\n\nAnother commit.\n"
    assert with_section(notes_of(WRITTEN), other) == [other, COMPARISON, FINDINGS, MEASURES]


HAND_HEAD = (
    "# Benchmarks\n\nMeasured by hand: the Store rows on 2026-12-07, the rest on 2026-11-29.\n\n"
    "The machine was slow that day.\n\n| group | benchmark |\n|---|---|\n| Pipeline | first run |\n| Store | get |\n"
    "| Store | set |\n| Admin | purge |\n"
)


def test_a_run_of_some_groups_rewrites_their_rows_where_they_stand_and_nothing_written_by_hand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``python -m bench --only store``: the Store rows are replaced in their place in the table; the paragraphs above
    it (which say by hand when each row was measured), the other rows in their order, and the sections below stay."""
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("\n".join([HAND_HEAD, COMPARISON, FINDINGS]))
    store = types.SimpleNamespace(run=lambda: [Result("Store", "get a complete job record", 0.2, "ms", runs=9)])
    monkeypatch.setattr(bench_main, "OUT", out)
    monkeypatch.setattr(bench_main.importlib, "import_module", lambda name: store)
    assert bench_main.main(["--only", "store"]) == 0
    rewritten = out.read_text()
    rows = [
        line.split("|")[1].strip() for line in rewritten.splitlines() if line.startswith("| ") and "---" not in line
    ]
    assert rows[:4] == ["group", "Pipeline", "Store", "Admin"]
    assert "| Store | get a complete job record | 0.200 ms |" in rewritten and "| Store | set |" not in rewritten
    assert rewritten.startswith(HAND_HEAD.split("| group")[0])
    assert rewritten.index(COMPARISON) < rewritten.index(FINDINGS)
