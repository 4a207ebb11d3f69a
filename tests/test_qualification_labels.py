"""The offline qualifier measured against hand labels: the demo accounts and a colleague's plain-language corpus.

Precision must be 100 %: every quote the offline analyser gives as evidence is a customer's sentence that a
careful reader counts for that element. Recall is reported by ``bench/qualification.py``, not asserted here.
Our commitments are measured in ``tests/test_commitment_labels.py`` against a colleague's blind reading.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from engagement.account.domains import email_at_domain
from engagement.analysis.offline import sentences
from engagement.analysis.verify import fold
from engagement.demo import load_demo_meetings
from engagement.fathom.client import to_meeting
from engagement.models import Meeting, Qualification
from engagement.qualification import commitments_of, load_rubric, qualify_account, qualify_meeting

DATA = Path(__file__).parent / "data" / "qualification"
CORPUS = Path(__file__).parent / "data" / "corpus"  # the colleague's corpus, shared with test_corpus.py
DEMO_ACCOUNTS = ("acmecorp.com", "brightwater.co.uk", "globex.io")
CORPUS_ACCOUNTS = ("fjordline-logistics.no", "harbourview-health.com")
OUR_CORPUS_DOMAIN = "northwind-saas.com"


@cache
def demo_labels() -> dict[str, Any]:
    return json.loads((DATA / "demo_labels.json").read_text(encoding="utf-8"))


@cache
def corpus_labels() -> dict[str, Any]:
    return json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))["accounts"]


@cache
def corpus_meetings() -> tuple[Meeting, ...]:
    raw = json.loads((CORPUS / "meetings.json").read_text(encoding="utf-8"))["meetings"]
    return tuple(to_meeting(m) for m in raw)


def meetings_of(domain: str, meetings: tuple[Meeting, ...]) -> list[Meeting]:
    return [m for m in meetings if any(email_at_domain(i.email or "", domain) for i in m.invitees)]


def qualify(domain: str, meetings: list[Meeting]) -> tuple[Qualification, list[Any]]:
    rubric = load_rubric("meddpicc")
    per = {m.recording_id: qualify_meeting(m, rubric, domain) for m in meetings if m.transcript}
    return qualify_account(rubric, meetings, per), commitments_of(meetings, per)


def demo(domain: str) -> tuple[Qualification, list[Any]]:
    return qualify(domain, meetings_of(domain, tuple(to_meeting(m) for m in load_demo_meetings())))


def said_by_customer(meetings: list[Meeting], domain: str, quote: str, names: frozenset[str] = frozenset()) -> bool:
    """Whether ``quote`` is in a turn of someone at ``domain``, by e-mail or by one of the labels' customer ``names``
    (decided from the raw data and the labels, not by the app's sides)."""
    return any(
        fold(quote) in fold(t.text) and (email_at_domain(t.email or "", domain) or t.speaker in names)
        for m in meetings
        for t in m.transcript or ()
    )


def supports(quote: str, labelled: list[str]) -> bool:
    """A quote supports the element when it and a labelled passage share a sentence (one holds the other's)."""
    q = fold(quote)
    pieces = [fold(p) for label in labelled for p in [label, *sentences(label)] if fold(p)]
    return any(q in p or p in q for p in pieces)


@pytest.mark.parametrize("domain", DEMO_ACCOUNTS)
def test_every_demo_quote_is_the_customers_and_supports_its_element(domain: str) -> None:
    """Precision on the demo accounts is 100 %: each evidenced quote is a customer's and is in the hand labels."""
    qualification, _ = demo(domain)
    meetings = meetings_of(domain, tuple(to_meeting(m) for m in load_demo_meetings()))
    labels = demo_labels()[domain]["meddpicc"]
    for element in qualification.elements:
        labelled = [s["quote"] for s in labels[element.key]["supports"]]
        for ev in element.evidence:
            assert said_by_customer(meetings, domain, ev.quote), (element.key, ev.quote)
            assert supports(ev.quote, labelled), f"{domain} {element.key}: not in the labels: {ev.quote!r}"


@pytest.mark.parametrize("domain", DEMO_ACCOUNTS)
def test_demo_states_agree_with_the_labels_where_the_rubric_reaches(domain: str) -> None:
    """The offline state equals the hand label, except where the labels record sentences the rubric misses."""
    qualification, _ = demo(domain)
    labels = demo_labels()[domain]["meddpicc"]
    for element in qualification.elements:
        label = labels[element.key]
        if element.evidence or not label["missed"]:
            assert element.status == label["state"], (domain, element.key)


def test_the_demo_shows_every_state() -> None:
    """Across the demo accounts every state occurs (conflicting and our_side_only included)."""
    states = {e.status for domain in DEMO_ACCOUNTS for e in demo(domain)[0].elements}
    assert states == {"evidenced", "conflicting", "our_side_only", "not_found"}


def test_the_labels_quote_the_transcripts_verbatim() -> None:
    """Every labelled sentence (supports and missed) is a customer's, verbatim, so the labels cannot drift from the data."""
    meetings = tuple(to_meeting(m) for m in load_demo_meetings())
    for domain in DEMO_ACCOUNTS:
        mine = meetings_of(domain, meetings)
        for key, label in demo_labels()[domain]["meddpicc"].items():
            for s in label["supports"] + label["missed"]:
                assert said_by_customer(mine, domain, s["quote"]), (domain, key, s["quote"])


# ---------------------------------------------------------------- the colleague's corpus


@pytest.mark.parametrize("domain", CORPUS_ACCOUNTS)
def test_corpus_states_match_the_careful_readers(domain: str) -> None:
    """On meetings written by someone who never read the rules, each element's state is the careful reader's."""
    qualification, _ = qualify(domain, meetings_of(domain, corpus_meetings()))
    expected = corpus_labels()[domain]["meddpicc"]
    assert {e.key: e.status for e in qualification.elements} == {k: v["state"] for k, v in expected.items()}


@pytest.mark.parametrize("domain", CORPUS_ACCOUNTS)
def test_corpus_evidence_is_the_customers_and_never_for_an_absent_element(domain: str) -> None:
    """No corpus quote is ours, and an element the reader found absent or ours only has no customer evidence."""
    meetings = meetings_of(domain, corpus_meetings())
    qualification, _ = qualify(domain, meetings)
    expected = corpus_labels()[domain]["meddpicc"]
    customers = frozenset(p["name"] for p in corpus_labels()[domain]["people"] if p["side"] == "customer")
    for element in qualification.elements:
        for ev in element.evidence:
            assert said_by_customer(meetings, domain, ev.quote, customers), ev.quote
            assert not any(
                email_at_domain(t.email or "", OUR_CORPUS_DOMAIN) and fold(ev.quote) in fold(t.text)
                for m in meetings
                for t in m.transcript or ()
            )
        if expected[element.key]["state"] in ("not_found", "our_side_only"):
            assert element.evidence == []
        if element.status == "our_side_only":
            assert all(supports(ev.quote, expected[element.key]["quotes"]) for ev in element.our_side)


@pytest.mark.parametrize("domain", CORPUS_ACCOUNTS)
def test_corpus_commitments_are_never_invented(domain: str) -> None:
    """Every commitment found is one the reader listed, by our side, and a done one is done in the reader's view too."""
    _, commitments = qualify(domain, meetings_of(domain, corpus_meetings()))
    expected = {fold(c["quote"]): c for c in corpus_labels()[domain]["commitments"]}
    for c in commitments:
        match = [e for q, e in expected.items() if q in fold(c.text) or fold(c.text) in q]
        assert match, f"a commitment the reader did not list: {c.text!r}"
        assert c.evidence.speaker == match[0]["speaker"] and c.evidence.meeting_date == match[0]["date"]
        if c.status == "done":
            assert match[0]["status"] == "done"
