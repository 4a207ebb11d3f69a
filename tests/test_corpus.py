"""Acceptance on meetings written by a colleague who never read the code, against a careful reader's conclusions.

``tests/data/corpus/`` holds the meetings (Fathom's format), the reader's notes (``EXPECTED.md``) and
their conclusions (``expected.json``): who holds which role and the words that say so, which words
are traps that give no one a role, and which sentences are the customer's goals, challenges and risks
against those our side said. The whole pipeline runs on them through the Fathom fake, with the
offline analyser and with a careless model that mixes both sides' sentences.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engagement.analysis.verify import fold
from engagement.models import EngagementSummary, Evidence, Side
from tests.fakes.fathom_server import FathomServer
from tests.fakes.openai_server import FakeOpenAI
from tests.test_pipeline import OPENAI_KEY, make_runtime, run

pytestmark = pytest.mark.xdist_group("corpus")  # under xdist one worker builds the module's fixtures once

CORPUS = Path(__file__).parent / "data" / "corpus"
MEETINGS: list[dict[str, Any]] = json.loads((CORPUS / "meetings.json").read_text())["meetings"]
EXPECTED: dict[str, dict[str, Any]] = json.loads((CORPUS / "expected.json").read_text())["accounts"]
DOMAINS = sorted(EXPECTED)
SIDES = {"customer": Side.CUSTOMER, "ours": Side.INTERNAL}


def overlaps(a: str, b: str) -> bool:
    """The same words, one inside the other (a sentence and the clause of it the reader quoted)."""
    fa, fb = fold(a), fold(b)
    return bool(fa) and bool(fb) and (fa in fb or fb in fa)


def customer_evidence(summary: EngagementSummary) -> list[Evidence]:
    items = [*summary.goals_detail, *summary.challenges_detail, *summary.risks_detail]
    return [ev for item in items for ev in item.evidence] + [ev for theme in summary.themes for ev in theme.evidence]


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, EngagementSummary]]:
    """Each corpus account summarised by the offline analyser, through the Fathom fake."""
    with FathomServer(MEETINGS) as fathom:
        runtime = make_runtime(tmp_path_factory.mktemp("corpus"), fathom, None)
        try:
            summaries = {domain: run(runtime.jobs, domain).summary for domain in DOMAINS}
        finally:
            runtime.close()
    assert all(summaries.values())
    yield summaries  # type: ignore[misc]


@pytest.mark.parametrize("domain", DOMAINS)
def test_roles_agree_with_the_careful_reader(offline: dict[str, EngagementSummary], domain: str) -> None:
    """Everyone the reader gives a role has one, resting on the words the reader quoted; no one else gets one."""
    people = {p.email: p for p in offline[domain].people if p.email}
    for expected in EXPECTED[domain]["people"]:
        person = people[expected["email"]]
        assert person.side is SIDES[expected["side"]], expected["name"]
        if expected["role"] is None:
            assert person.role == "", f"{expected['name']} has no role the meetings state, not {person.role!r}"
            continue
        assert person.role, f"{expected['name']}: the meetings say {expected['role']!r}"
        quotes = [ev.quote for ev in person.role_evidence if ev.verified]
        assert any(overlaps(q, expected["role_quote"]) for q in quotes), (expected["name"], person.role, quotes)


@pytest.mark.parametrize("domain", DOMAINS)
def test_role_traps_give_no_one_a_role(offline: dict[str, EngagementSummary], domain: str) -> None:
    """ "I report to the CFO", "ask our CTO", "when I was CFO at my last company": no role rests on them."""
    for trap in EXPECTED[domain]["not_roles"]:
        for person in offline[domain].people:
            assert not any(overlaps(ev.quote, trap["quote"]) for ev in person.role_evidence), (person.name, trap)


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_customers_goals_challenges_risks_and_themes_are_the_customers_words(
    offline: dict[str, EngagementSummary], domain: str
) -> None:
    """Every quote under them is a customer's, and none of the sentences the reader marks as ours is among them."""
    summary = offline[domain]
    customers = {p.name for p in summary.people if p.side is Side.CUSTOMER}
    evidence = customer_evidence(summary)
    assert evidence, "the analysis found the customer's words"
    for ev in evidence:
        assert ev.side is Side.CUSTOMER and ev.speaker in customers, (ev.speaker, ev.quote)
        assert not any(overlaps(ev.quote, ours) for ours in EXPECTED[domain]["ours_not_theirs"]), ev.quote


@pytest.mark.parametrize("domain", DOMAINS)
def test_recommendations_never_name_our_people_as_the_customer(
    offline: dict[str, EngagementSummary], domain: str
) -> None:
    """No "the concern Dana Lee raised": a recommendation that names whose words it acts on names a customer."""
    summary = offline[domain]
    ours = [p.name for p in summary.people if p.side is Side.INTERNAL]
    for recommendation in summary.recommendations:
        for name in ours:
            assert not re.search(rf"(?:concern|problem|goal) {re.escape(name)}\b", recommendation), recommendation


# ---------------------------------------------------------------- a careless model


_LINE = re.compile(r"^\[(?P<ts>\d{1,2}:\d{2}:\d{2})\] (?P<speaker>.+?) \((?P<who>[^()]*)\): (?P<text>.*)$")
_WORDS = {
    "goals": ("goal", "want", "love", "win"),
    "challenges": ("challenge", "spreadsheet", "patchwork", "by hand"),
    "risks": ("risk", "concern", "lose"),
}


def careless_map(body: dict[str, Any]) -> dict[str, Any]:
    """A model that ignores sides: any sentence with a goal-, challenge- or risk-like word, whoever said it."""
    user = body["messages"][-1]["content"]
    out: dict[str, list[Any]] = {k: [] for k in ("themes", "goals", "challenges", "risks", "roles", "next_steps")}
    for line in user.splitlines():
        if not (m := _LINE.match(line)):
            continue
        for sentence in re.split(r"(?<=[.!?])\s+", m["text"]):
            quote = {"timestamp": m["ts"], "speaker": m["speaker"], "quote": sentence}
            for kind, words in _WORDS.items():
                if any(w in sentence.lower() for w in words):
                    out[kind].append({"text": sentence, "evidence": [quote]})
                    out["themes"].append({"text": kind.capitalize(), "evidence": [quote]})
            if "CFO" in sentence:  # a careless reading: anyone who says "CFO" is the CFO
                out["roles"].append({"name": m["speaker"], "email": None, "role": "CFO", "evidence": [quote]})
            if "planning desk" in sentence:  # a role whose quote the model made up
                invented = {**quote, "quote": "I am the head of planning for all of Norway."}
                out["roles"].append(
                    {"name": m["speaker"], "email": None, "role": "Head of planning", "evidence": [invented]}
                )
    return out


def careless(body: dict[str, Any]) -> dict[str, Any] | None:
    name = ((body.get("response_format") or {}).get("json_schema") or {}).get("name")
    if name == "MeetingAnalysis":
        return careless_map(body)
    from tests.fakes.openai_server import answer_qualification, answer_reduce

    if name == "QualificationAnswer":  # the fake's own reading: the qualification is measured in its own tests
        return answer_qualification(body["messages"][0]["content"], body["messages"][-1]["content"])

    return answer_reduce(body["messages"][-1]["content"])


@pytest.fixture(scope="module")
def modelled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, EngagementSummary]]:
    """Each corpus account summarised through the OpenAI fake answering as the careless model."""
    with FakeOpenAI(api_key=OPENAI_KEY) as model, FathomServer(MEETINGS) as fathom:
        model.respond_with(careless)
        runtime = make_runtime(tmp_path_factory.mktemp("corpus-model"), fathom, model)
        try:
            summaries = {domain: run(runtime.jobs, domain).summary for domain in DOMAINS}
        finally:
            runtime.close()
    yield summaries  # type: ignore[misc]


@pytest.mark.parametrize("domain", DOMAINS)
def test_a_model_that_mixes_the_sides_still_shows_only_the_customers_words(
    modelled: dict[str, EngagementSummary], domain: str
) -> None:
    """The model offers our side's "our goal…", "the risk on our end…": verification keeps only customer quotes."""
    summary = modelled[domain]
    evidence = customer_evidence(summary)
    assert evidence
    assert all(ev.side is Side.CUSTOMER for ev in evidence), [
        (ev.speaker, ev.quote) for ev in evidence if ev.side is not Side.CUSTOMER
    ]
    for ours in EXPECTED[domain]["ours_not_theirs"]:
        assert not any(overlaps(ev.quote, ours) for ev in evidence), ours


def test_a_models_role_stands_only_on_a_verified_quote(modelled: dict[str, EngagementSummary]) -> None:
    """A role quoting words nobody said is dropped; one quoting real words is kept with them as its evidence."""
    people = {p.name: p for p in modelled["fjordline-logistics.no"].people}
    assert people["Tomas Berg"].role != "Head of planning"
    roles = [p for p in people.values() if p.role]
    assert roles and all(p.role_evidence and all(ev.verified for ev in p.role_evidence) for p in roles)


@pytest.mark.parametrize("domain", DOMAINS)
def test_no_senior_voice_agrees_with_the_roles_the_reader_found(
    offline: dict[str, EngagementSummary], domain: str
) -> None:
    """A customer the reader calls senior (a head of, a chief) spoke: "No senior voice" does not fire."""
    from engagement.account.people import is_senior

    summary = offline[domain]
    spoke = {p.email for p in summary.people if p.spoke_in}
    senior_spoke = [
        e
        for e in EXPECTED[domain]["people"]
        if e["side"] == "customer" and is_senior(e["role"]) and e["email"] in spoke
    ]
    if senior_spoke:
        assert "no_senior_voice" not in [signal.kind for signal in summary.signals], senior_spoke


def test_a_device_named_for_its_owner_is_that_person(offline: dict[str, EngagementSummary]) -> None:
    """ "Amir's iPad" with no e-mail is the invitee Amir Haddad: he spoke, his words are the customer's, named as him."""
    summary = offline["harbourview-health.com"]
    people = {p.name: p for p in summary.people}
    assert "Amir's iPad" not in people and people["Amir Haddad"].spoke_in == 1
    assert "Amir's iPad" in people["Amir Haddad"].aliases
    amir = [ev for ev in customer_evidence(summary) if ev.speaker == "Amir Haddad"]
    assert amir and all(ev.side is Side.CUSTOMER for ev in amir)


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("kind", ["goals", "challenges", "risks"])
def test_the_customers_goals_challenges_and_risks_the_reader_found_are_found(
    offline: dict[str, EngagementSummary], domain: str, kind: str
) -> None:
    """Each goal, challenge and risk the careful reader lists is in that list, quoted in the customer's words."""
    quotes = [ev.quote for item in getattr(offline[domain], f"{kind}_detail") for ev in item.evidence]
    for expected in EXPECTED[domain][f"customer_{kind}"]:
        assert any(overlaps(q, expected) for q in quotes), expected
