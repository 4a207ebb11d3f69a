"""The offline analyser: deterministic extraction from the customer's own words, no network."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engagement.analysis.base import Analyzer
from engagement.analysis.offline import OfflineAnalyzer, classify, sentences, summary_next_steps
from engagement.analysis.roles import roles_in
from engagement.models import (
    ActionItem,
    Meeting,
    MeetingInsights,
    Person,
    Recorder,
    Side,
)
from tests.support.meeting_factory import ACME_INVITEES, call

DOMAIN = "acme.com"
JANE = ("Jane Doe", "jane@acme.com")
RAVI = ("Ravi Patel", None)  # no e-mail on his turns: a customer by his invitee name
SAM = ("Sam Rep", "sam@ourco.io")

# (speaker, timestamp, text)
DISCOVERY = [
    (SAM, "00:00:04", "Thanks for joining. Our goal is to close this by March. We want to show you our pricing."),
    (JANE, "00:00:30", "Sure. I'm the VP of Sales at Acme, and forecasting is on me."),
    (JANE, "00:01:05", "Our goal is to cut forecast errors in half this year. Can you show SSO?"),
    (RAVI, "00:02:10", "I run IT. The problem is our reps update the forecast manually in spreadsheets."),
    (SAM, "00:03:00", "We're worried about nothing; the problem is solved by our SSO integration."),
    (JANE, "00:04:15", "I'm worried the budget freeze could delay the rollout to next year."),
    (RAVI, "00:05:20", "Our security review is strict, and SSO with Okta is a must for us."),
    (SAM, "00:06:00", "Great. Next steps: I'll send the security pack and a pricing proposal by Friday."),
]
FOLLOW_UP = [
    (SAM, "00:00:05", "Welcome back, everyone."),
    (JANE, "00:00:40", "We need to roll out SSO to all four hundred reps before the renewal."),
    (RAVI, "00:01:30", "A competitor is offering a lower price, so there's a risk we go with them."),
]


def meeting(recording_id: int, turns: list, *, day: int, transcript: bool = True, **extra) -> Meeting:
    return call(
        recording_id,
        [(name, email, timestamp, text) for (name, email), timestamp, text in turns],
        start=datetime(2026, 1, day, 15, 0, tzinfo=UTC),
        minutes=40,
        invitees=ACME_INVITEES,
        recorded_by=Recorder(name="Sam Rep", email="sam@ourco.io"),
        **extra,
        **({} if transcript else {"transcript": None}),
    )


@pytest.fixture
def meetings() -> list[Meeting]:
    return [
        meeting(
            1,
            DISCOVERY,
            day=5,
            action_items=(
                ActionItem(description="Send the security pack to Ravi", timestamp="00:06:00"),
                ActionItem(description="Book the kick-off", timestamp="00:06:10", completed=True),
            ),
        ),
        meeting(2, FOLLOW_UP, day=19),
    ]


@pytest.fixture
def analysed(meetings) -> list[MeetingInsights]:
    analyzer = OfflineAnalyzer()
    return [analyzer.analyse_meeting(m, domain=DOMAIN, company="Acme") for m in meetings]


def quotes(items) -> list[str]:
    return [e.quote for item in items for e in item.evidence]


def test_finds_the_planted_goals_challenges_and_risks(analysed) -> None:
    """Goals, challenges and risks the customer stated are found, quoted verbatim with their moment."""
    first, second = analysed

    assert quotes(first.goals) == ["Our goal is to cut forecast errors in half this year."]
    assert quotes(first.challenges) == ["The problem is our reps update the forecast manually in spreadsheets."]
    assert quotes(first.risks) == ["I'm worried the budget freeze could delay the rollout to next year."]
    assert quotes(second.goals) == ["We need to roll out SSO to all four hundred reps before the renewal."]
    assert quotes(second.risks) == ["A competitor is offering a lower price, so there's a risk we go with them."]
    risk = first.risks[0].evidence[0]
    assert (risk.timestamp, risk.speaker, risk.url) == (
        "00:04:15",
        "Jane Doe",
        "https://fathom.video/share/s1?timestamp=255",
    )


def test_nothing_is_taken_from_our_side(analysed) -> None:
    """Our team's sentences never become customer goals, challenges or risks, however they are worded."""
    first = analysed[0]
    said = quotes(first.goals) + quotes(first.challenges) + quotes(first.risks)

    assert all(e.speaker != "Sam Rep" for i in first.goals + first.challenges + first.risks for e in i.evidence)
    assert not any("close this by March" in q or "worried about nothing" in q for q in said)


def test_customer_without_email_is_recognised_by_invitee_name(analysed) -> None:
    """A speaker with no e-mail whose name is a customer invitee's counts as the customer."""
    assert analysed[0].challenges[0].evidence[0].speaker == "Ravi Patel"


def test_roles_come_from_what_people_say_about_themselves(analysed) -> None:
    """ "I'm the VP of Sales" and "I run IT" (its head) become roles of the customer people who said them."""
    roles = {(r.name, r.role) for r in analysed[0].roles}

    assert roles == {("Jane Doe", "VP of Sales"), ("Ravi Patel", "Head of IT")}


def test_theme_mentions_count_meetings_not_sentences(analysed, meetings) -> None:
    """SSO said four times in one meeting and once in another has two mentions."""
    account = OfflineAnalyzer().merge(domain=DOMAIN, company="Acme", meetings=meetings, insights=analysed, people=[])
    themes = {t.topic: t for t in account.themes}

    assert themes["SSO"].mentions == 2
    assert themes["SSO"].meetings == [1, 2]
    assert themes["Security review"].mentions == 1
    assert themes["SSO"].evidence[0].speaker == "Jane Doe"  # the first customer sentence, not our rep's
    assert [t.mentions for t in account.themes] == sorted((t.mentions for t in account.themes), reverse=True)


def test_recommendations_are_three_to_seven_and_grounded(analysed, meetings) -> None:
    """The merge gives 3–7 recommendations, each with evidence that is one of the meetings' verified quotes."""
    account = OfflineAnalyzer().merge(domain=DOMAIN, company="Acme", meetings=meetings, insights=analysed, people=[])
    pool = {
        (e.recording_id, e.quote)
        for mi in analysed
        for i in (*mi.themes, *mi.goals, *mi.challenges, *mi.risks, *mi.next_steps)
        for e in i.evidence
    }

    assert 3 <= len(account.recommendations) <= 7
    for rec in account.recommendations:
        assert rec.evidence, rec.text
        assert all((e.recording_id, e.quote) in pool for e in rec.evidence)
    texts = " ".join(r.text for r in account.recommendations)
    assert "security pack to Ravi" in texts  # the open action item
    assert "Book the kick-off" not in texts  # the completed one


def test_merge_works_from_cached_insights_without_transcripts(analysed, meetings) -> None:
    """Merging needs only the insights: meetings listed without transcripts give the same account view."""
    bare = [m.model_copy(update={"transcript": None}) for m in meetings]
    analyzer = OfflineAnalyzer()

    with_transcripts = analyzer.merge(domain=DOMAIN, company="Acme", meetings=meetings, insights=analysed, people=[])
    without = analyzer.merge(domain=DOMAIN, company="Acme", meetings=bare, insights=analysed, people=[])

    assert without == with_transcripts
    assert {g.text for g in without.goals} == {
        "We need to roll out SSO to all four hundred reps before the renewal.",
        "Our goal is to cut forecast errors in half this year.",
    }


def test_goals_are_deduplicated_across_meetings(meetings) -> None:
    """The same goal said in two meetings is one account goal with both quotes."""
    repeat = meeting(3, [(JANE, "00:00:20", "Our goal is to cut the forecast errors in half this year.")], day=25)
    analyzer = OfflineAnalyzer()
    insights = [analyzer.analyse_meeting(m, domain=DOMAIN, company="Acme") for m in [*meetings, repeat]]

    account = analyzer.merge(
        domain=DOMAIN,
        company="Acme",
        meetings=[*meetings, repeat],
        insights=insights,
        people=[Person(key="jane@acme.com", name="Jane Doe", email="jane@acme.com", side=Side.CUSTOMER)],
    )

    halve = [g for g in account.goals if "forecast errors" in g.text]
    assert len(halve) == 1
    assert {e.recording_id for e in halve[0].evidence} == {1, 3}


def test_is_deterministic_and_free(meetings) -> None:
    """Two runs give identical output; the offline analyser makes no calls and spends no tokens."""
    a, b = OfflineAnalyzer(), OfflineAnalyzer()
    runs = [[x.analyse_meeting(m, domain=DOMAIN, company="Acme") for m in meetings] for x in (a, b)]

    assert runs[0] == runs[1]
    assert a.fingerprint == b.fingerprint
    assert isinstance(a, Analyzer) and a.name == "offline"
    assert a.usage.snapshot() == {"llm_calls": 0, "tokens_in": 0, "tokens_out": 0}


def test_rules_for_sentences_roles_and_summaries() -> None:
    """Sentence splitting keeps the words verbatim; classification, roles and summary next steps follow the rules."""
    assert sentences("We need SSO. Why? Because  audits!  Done") == ["We need SSO.", "Why?", "Because  audits!", "Done"]
    assert classify("We're aiming to go live in May.") == "goal"
    assert classify("It takes us two days to build the report.") == "challenge"
    assert classify("If legal drags on we might miss the quarter.") == "risk"
    assert classify("The weather was lovely.") is None
    assert [r.role for r in roles_in("Hi all, I'm the head of revenue operations here.", "Ana", Side.CUSTOMER)] == [
        "Head of revenue operations"
    ]
    assert [r.role for r in roles_in("As the CFO, I sign off on this.", "Ana", Side.CUSTOMER)] == ["CFO"]
    assert summary_next_steps("## Summary\nText\n## Next Steps\n- Send **pricing**\n- Book demo\n## Other\n- x") == [
        "Send pricing",
        "Book demo",
    ]


def test_of_more_risks_than_fit_the_latest_are_kept_and_acted_on_first() -> None:
    """Fourteen meetings each with one risk: the account keeps the twelve most recent, and the first recommendation
    acts on the newest."""
    worries = [
        "the legal review could delay the signature past the quarter",
        "the new finance director might freeze every new purchase",
        "our champion is leaving for another company in the spring",
        "the data centre move could delay the integration work",
        "the board might cancel the expansion into the northern region",
        "the union could block the rollout to the night shifts",
        "the pilot sites might lose their supervisors over the summer",
        "the procurement portal could delay the award by a month",
        "the old billing system could delay the nightly export",
        "the merger might freeze hiring of the planners we need",
        "the auditors could block the change to the reporting period",
        "the regional managers might cancel the training sessions",
        "the security team could delay the access for the contractors",
        "the CFO might cancel the second phase after the reorganisation",
    ]
    meetings = [
        meeting(n, [(JANE, "00:01:00", f"I'm worried that {worry}.")], day=n) for n, worry in enumerate(worries, 1)
    ]
    analyzer = OfflineAnalyzer()
    insights = [analyzer.analyse_meeting(m, domain=DOMAIN, company="Acme") for m in meetings]

    account = analyzer.merge(domain=DOMAIN, company="Acme", meetings=meetings, insights=insights, people=[])

    assert [r.evidence[0].recording_id for r in account.risks] == list(range(3, 15))
    assert account.recommendations[0].evidence[0].recording_id == 14


def test_a_cue_word_needs_content_and_its_sense() -> None:
    """A cue word alone is not enough: topic-only lines, a risk one wants to spot, a pointer back and a third person's
    doings are none; a requirement and a challenge someone will raise are risks."""
    assert classify("My concern is turnover.") is None
    assert classify("Now the risks, since you raised it.") is None
    assert classify("I want to spot the risk early, in the first fortnight of the quarter.") != "risk"
    assert classify("That's the reporting problem again, in a nutshell.") is None
    assert classify("Priya leads the West region, and she keeps the tracking spreadsheet for all of us.") is None
    assert classify("We need single sign-on through our identity provider before anyone logs in.") == "risk"
    assert classify("Our legal team will challenge the liability cap.") == "risk"
    assert classify("My concern is that the renewal lands in the same month as our audit.") == "risk"
    assert classify("We want to cut the month-end close from six days to three.") == "goal"
