"""Insights: the offline analyser's goals, challenges and risks on the demo accounts, against a blind reader's labels.

The labels (``tests/data/insights/``) file every customer sentence a careful account manager would call a goal,
challenge or risk, marking the ones too vague to act on. Recall counts the reader's useful labels that the
analyser gives in that category (or the label's ``also``), meeting by meeting; precision counts the analyser's
quotes that are useful labels of their category. ``tests/test_insight_labels.py`` asserts precision (100 % but for
named exceptions) and recall floors.

``python -m bench.insights`` writes only the Insights rows of ``docs/BENCHMARKS.md``.
"""

from __future__ import annotations

from bench.measure import Result
from tests.support.insight_labels import KINDS, score

GROUP = "Insights"


def run() -> list[Result]:
    scored = score()
    results: list[Result] = []
    for kind in KINDS:
        found, missed = len(scored.found[kind]), len(scored.missed[kind])
        given = [o for o in scored.outputs if o.kind == kind]
        right = sum(o.verdict == "right" for o in given)
        results.append(
            Result(
                GROUP,
                f"precision, {kind}s (offline, demo)",
                100 * right / len(given) if given else float("nan"),
                "%",
                note=f"{right}/{len(given)} quotes are useful {kind}s to the reader; the rest are named exceptions",
            )
        )
        results.append(
            Result(
                GROUP,
                f"recall, {kind}s (offline, demo)",
                100 * found / (found + missed) if found + missed else float("nan"),
                "%",
                note=f"{found}/{found + missed} of the reader's useful {kind}s",
            )
        )
    return results


def write_rows(results: list[Result]) -> None:
    """Replace the Insights rows of docs/BENCHMARKS.md's first table where they stand."""
    from bench.__main__ import write_group_rows

    write_group_rows(GROUP, results)


if __name__ == "__main__":
    found = run()
    from bench.__main__ import table

    print(table(found))
    write_rows(found)
