"""docs/BENCHMARKS.md as the bench writes it: a run rewrites its own part and keeps what was written by hand."""

from __future__ import annotations

from bench.__main__ import OUT, against_heading, document, notes_of, with_section

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
