"""Qualification: recall per MEDDPICC element, offline and with a model (the fake OpenAI server), against hand labels.

Two label sets: the colleague's plain-language corpus (``tests/data/corpus``: written by someone who
never read the rubric, so it measures what the rules miss) and the demo accounts' labels
(``tests/data/qualification/demo_labels.json``: the offline quotes a reader kept, plus the sentences the reader
found that the rules miss). A labelled sentence is recalled when an evidence quote of that element shares a
sentence with it. Precision (every evidence quote the customer's and in the labels) is asserted by
``tests/test_qualification_labels.py``; here it is counted too, against the corpus, where labels list a few
quotes per element, not every one (so below 100 % there means "not among the listed quotes", not "wrong").

Our commitments are measured on the corpus and against a colleague's blind reading of the four demo files
(``tests/data/qualification/commitments.json``, scored by ``tests/support/commitment_labels.py``): the reader's
promises found (all, and those they were sure of), the reader's "done" the app also shows done, and the app's
commitments and done ones the reader did not list or call done (both held at zero by ``tests/test_commitment_labels.py``).

``python -m bench.qualification`` writes only the Qualification rows of ``docs/BENCHMARKS.md``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openai import OpenAI

from bench.measure import Result
from engagement.account.domains import email_at_domain
from engagement.analysis.offline import sentences
from engagement.analysis.openai_analyzer import OpenAIAnalyzer
from engagement.analysis.verify import fold
from engagement.demo import load_demo_meetings
from engagement.fathom.client import to_meeting
from engagement.models import Meeting, MeetingQualification, Qualification
from engagement.qualification import commitments_of, load_rubric, qualify_account
from engagement.qualification.qualifier import ModelQualifier, OfflineQualifier, Qualifier
from engagement.qualification.rubric import Rubric
from tests.fakes.openai_server import FakeOpenAI
from tests.support.commitment_labels import score_all

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "qualification"
CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "corpus"
OUT = Path(__file__).resolve().parents[1] / "docs" / "BENCHMARKS.md"
GROUP = "Qualification"
KEY = "sk-bench-qualification"


def _shares_a_sentence(quote: str, labelled: str) -> bool:
    q = fold(quote)
    return any(q in p or p in q for p in [fold(labelled), *(fold(s) for s in sentences(labelled))] if p)


def label_sets() -> dict[str, tuple[list[Meeting], dict[str, dict[str, Any]]]]:
    """Per account: its meetings and, per element, ``{"state", "quotes"}`` as a careful reader labelled them."""
    out: dict[str, tuple[list[Meeting], dict[str, dict[str, Any]]]] = {}
    corpus = [to_meeting(m) for m in json.loads((CORPUS / "meetings.json").read_text())["meetings"]]
    for domain, account in json.loads((CORPUS / "expected.json").read_text())["accounts"].items():
        mine = [m for m in corpus if any(email_at_domain(i.email or "", domain) for i in m.invitees)]
        out[f"corpus:{domain}"] = (mine, account["meddpicc"])
    demo = [to_meeting(m) for m in load_demo_meetings()]
    for domain, account in json.loads((DATA / "demo_labels.json").read_text()).items():
        if domain.startswith("_"):
            continue
        mine = [m for m in demo if any(email_at_domain(i.email or "", domain) for i in m.invitees)]
        labels = {
            key: {"state": v["state"], "quotes": [s["quote"] for s in v["supports"] + v["missed"]]}
            for key, v in account["meddpicc"].items()
        }
        out[f"demo:{domain}"] = (mine, labels)
    return out


def qualify_with(qualifier: Qualifier, rubric: Rubric, domain: str, meetings: list[Meeting]) -> Qualification:
    per: dict[int, MeetingQualification] = {
        m.recording_id: qualifier.qualify(m, domain=domain) for m in meetings if m.transcript
    }
    return qualify_account(rubric, meetings, per)


def measure(make: Callable[[], Qualifier], rubric: Rubric) -> dict[str, dict[str, list[int]]]:
    """Per label set (corpus, demo) and element: [labelled sentences recalled, labelled, states right, elements]."""
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0, 0]))
    for name, (meetings, labels) in label_sets().items():
        domain = name.split(":", 1)[1]
        q = qualify_with(make(), rubric, domain, meetings)
        for element in q.elements:
            label = labels[element.key]
            c = counts[name.split(":")[0]][element.key]
            c[3] += 1
            c[2] += element.status == label["state"]
            if label["state"] in ("evidenced", "conflicting"):
                c[1] += len(label["quotes"])
                c[0] += sum(any(_shares_a_sentence(ev.quote, s) for ev in element.evidence) for s in label["quotes"])
    return counts


def commitments_found(make: Callable[[], Qualifier]) -> tuple[int, int, int]:
    """On the corpus: commitments the reader listed that were found, how many were listed, found with the right status."""
    found = listed = right = 0
    corpus = [to_meeting(m) for m in json.loads((CORPUS / "meetings.json").read_text())["meetings"]]
    for domain, account in json.loads((CORPUS / "expected.json").read_text())["accounts"].items():
        mine = [m for m in corpus if any(email_at_domain(i.email or "", domain) for i in m.invitees)]
        qualifier = make()
        per = {m.recording_id: qualifier.qualify(m, domain=domain) for m in mine if m.transcript}
        ours = commitments_of(mine, per)
        for expected in account["commitments"]:
            listed += 1
            match = [c for c in ours if _shares_a_sentence(c.text, expected["quote"])]
            found += bool(match)
            right += bool(match) and match[0].status == expected["status"]
    return found, listed, right


def blind_commitments(make: Callable[[], Qualifier], which: str) -> list[Result]:
    """The four demo files against the colleague's blind reading: promises found, done seen, and mistakes."""
    qualifier = make()
    scores = score_all(lambda meeting, domain: qualifier.qualify(meeting, domain=domain))
    entries = [(s, i, e) for s in scores.values() for i, e in enumerate(s.entries)]
    sure = [(s, i) for s, i, e in entries if e["confidence"] in ("high", "medium")]
    done = [(s, i) for s, i, e in entries if e["status"] == "done"]
    found = sum(i in s.found for s, i, _ in entries)
    found_sure = sum(i in s.found for s, i in sure)
    seen = sum(i in s.seen_done for s, i in done)
    reported = sum(len(s.reported) for s in scores.values())
    unlisted = sum(len(s.unlisted) for s in scores.values())
    wrong_done = sum(len(s.done_not_done) for s in scores.values())
    shown_done = sum(c.status == "done" for s in scores.values() for _, c in s.reported)
    per_file = "; ".join(
        f"{name.removesuffix('.json')} {len(s.found)}/{len(s.entries)}, done {len(s.seen_done)}/"
        f"{sum(e['status'] == 'done' for e in s.entries)}"
        for name, s in scores.items()
    )
    return [
        Result(
            GROUP,
            f"recall, our commitments ({which}, blind demo)",
            100 * found / len(entries),
            "%",
            note=f"{found}/{len(entries)} promises the reader listed ({found_sure}/{len(sure)} high or medium); {per_file}",
        ),
        Result(
            GROUP,
            f"recall, commitments seen done ({which}, blind demo)",
            100 * seen / len(done),
            "%",
            note=f"{seen}/{len(done)} of the reader's done shown done with a later quote; the rest rest on "
            "inference the rules do not make (a meeting the promise does not pin down, a related result)",
        ),
        Result(
            GROUP,
            f"precision, our commitments ({which}, blind demo)",
            100 * (reported - unlisted) / reported if reported else float("nan"),
            "%",
            note=f"{reported - unlisted}/{reported} reported are listed; {shown_done - wrong_done}/{shown_done} "
            "shown done the reader calls done",
        ),
    ]


def run() -> list[Result]:
    rubric = load_rubric("meddpicc")
    results: list[Result] = []
    with FakeOpenAI(api_key=KEY) as server:
        client = OpenAI(api_key=KEY, base_url=server.base_url, max_retries=0, timeout=30)
        analyzer = OpenAIAnalyzer(client, model="gpt-4.1-mini")
        makers: dict[str, Callable[[], Qualifier]] = {
            "offline": lambda: OfflineQualifier(rubric),
            "model (fake)": lambda: ModelQualifier(analyzer, rubric),
        }
        runs = {which: measure(make, rubric) for which, make in makers.items()}
        promised = {which: commitments_found(make) for which, make in makers.items()}
        calls = analyzer.usage.llm_calls
        blind = [r for which, make in makers.items() for r in blind_commitments(make, which)]
        client.close()
    for which, (found, listed, right) in promised.items():
        results.append(
            Result(
                GROUP,
                f"recall, our commitments ({which}, corpus)",
                100 * found / listed,
                "%",
                note=f"{found}/{listed} promises the reader listed; done/open right for {right}/{listed}",
            )
        )
    results += blind
    for which, counts in runs.items():
        for labels in ("corpus", "demo"):
            total = [0, 0, 0, 0]
            for element in rubric.elements:
                c = counts[labels][element.key]
                total = [a + b for a, b in zip(total, c, strict=True)]
                results.append(
                    Result(
                        GROUP,
                        f"recall, {element.name} ({which}, {labels})",
                        100 * c[0] / c[1] if c[1] else float("nan"),
                        "%",
                        note=f"{c[0]}/{c[1]} labelled sentences; state right in {c[2]}/{c[3]} accounts",
                    )
                )
            results.append(
                Result(
                    GROUP,
                    f"recall, all elements ({which}, {labels})",
                    100 * total[0] / total[1] if total[1] else float("nan"),
                    "%",
                    note=f"{total[0]}/{total[1]} labelled sentences; state right for {total[2]}/{total[3]} elements"
                    + (f"; {calls} model calls, one a meeting" if which != "offline" and labels == "demo" else ""),
                )
            )
    return results


def write_rows(results: list[Result]) -> None:
    """Replace the Qualification rows of docs/BENCHMARKS.md's first table where they stand."""
    from bench.__main__ import write_group_rows

    write_group_rows(GROUP, results)


if __name__ == "__main__":
    found = run()
    from bench.__main__ import table

    print(table(found))
    write_rows(found)
