"""The offline analyser: deterministic rules over the transcript, no network, no keys.

Goals, challenges and risks are the customer's own sentences that say so ("our goal is", "the problem
is", "I'm worried"; a requirement or approval gate is a risk), quoted verbatim, so every quote is verified by
construction. A sentence that only names a topic ("My concern is continuity."), points back at a problem already
stated, or is about a third person is none of them; precision is held against a careful reader's labels of the
demo accounts (``tests/test_insight_labels.py``). Themes come from a
curated vocabulary of sales topics matched on word boundaries; a theme is one the customer raised,
and its evidence is the first customer sentence that mentions it (our side's words never make a
customer's theme). Roles are read from what anyone says about themselves or others
(:mod:`engagement.analysis.roles`). Recommendations are built from the risks, themes, challenges,
goals and open follow-ups, each carrying the evidence behind it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from engagement.account.domains import Account
from engagement.account.people import MeetingSides, dedupe_roles
from engagement.analysis.base import Usage, dedupe_insights, jaccard, make_fingerprint
from engagement.analysis.roles import resolve_in, roles_in
from engagement.analysis.verify import evidence_at
from engagement.models import (
    AccountInsights,
    Evidence,
    Insight,
    Meeting,
    MeetingInsights,
    Person,
    PersonRole,
    Side,
    Theme,
    TranscriptTurn,
    parse_timestamp,
)

__all__ = ["OfflineAnalyzer", "RULES_VERSION", "THEMES", "sentences"]

RULES_VERSION = (
    "offline-2026-12-careful-reader-3"  # change with any rule that changes the output (it is in the fingerprint)
)

MIN_WORDS = 5
MAX_TEXT = 180
MAX_ITEMS = 12  # per list, account level
MAX_RECOMMENDATIONS = 7


# ---------------------------------------------------------------- sentences

_SPLIT = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+")
_FILLER = re.compile(
    r"^(?:(?:so|well|yeah|yes|um+|uh+|and|but|okay|ok|right|look|honestly|i mean|you know|basically)\b[,\s.]*)+",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Sentence:
    """A sentence of one turn, verbatim, with who said it and when."""

    text: str
    turn: TranscriptTurn
    side: Side

    @property
    def question(self) -> bool:
        return self.text.rstrip().endswith("?")

    @property
    def words(self) -> int:
        return len(self.text.split())


def sentences(text: str) -> list[str]:
    """The sentences of a turn, each a verbatim substring of it."""
    out = []
    for piece in _SPLIT.split(text):
        piece = piece.strip()
        if piece:
            out.append(piece)
    return out


def short_form(sentence: str) -> str:
    """The sentence as an insight's text: filler words off the front, capitalised, at most ``MAX_TEXT`` characters."""
    text = _FILLER.sub("", sentence).strip() or sentence.strip()
    text = text[0].upper() + text[1:]
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return text


# ---------------------------------------------------------------- what a sentence says


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


RISK = _any(
    r"\bworr(?:ied|y|ies)\b",
    r"\bconcern(?:s|ed about)?\b",
    r"\brisk(?:s|y)?\b",
    r"\bbudget (?:freeze|cuts?)\b",
    r"\bfreez(?:e|ing)\b",
    r"\bmight lose\b",
    r"\bcould (?:delay|slip|lose)\b",
    r"\bdelay(?:ed|s)?\b",
    r"\bcompetitors?\b",
    r"\bleaving\b",
    r"\bchurn\b",
    r"\bnot (?:going to )?renew\b",
    r"\bblock(?:er|ers|ed|ing)\b",
    r"\bon hold\b",
    r"\bcancel(?:l?ed|ling)?\b",
    r"\bif\b.{3,100}\bwe (?:might|may|could|won't|will not|can't|miss|lose)\b",
    r"\bif\b.{3,100}\b(?:we|they)(?:'ll| will) (?:be back|start|lose|leave|walk|split|switch|go)\b",
    r"\bdead on arrival\b",
    r"\bsplit(?:ting)? (?:the |our |their )?volume\b",
    # a competitor in the running, or cheaper: the deal can go elsewhere
    r"\bwe(?:'re| are) (?:also )?(?:evaluating|looking at)\b",
    r"\b(?:came|come|coming) in (?:\w+ ){0,3}(?:lower|cheaper|below)\b",
    r"\bquoted us\b",
    r"\bI don't want (?:my|a|another|to spend)\b",  # what they will not accept
    r"\b(?:resigned|pausing|won't sign)\b",
    r"\b(?:his|her|their) last day\b",  # the person leaving
    r"\bmov(?:e|es|ing) into (?:a |the )?(?:new )?[\w ]{0,30}\brole\b",  # a champion changing role
    r"\breorg(?:anisation|anization)? (?:is |was )?(?:being|coming|planned)\b",  # one ahead, not one in the past
    r"\bpush back\b|\bfallback\b|\bcan't promise\b",
    r"\bnot signed by\b|\bisn't signed by\b|\brolls into next\b",  # a deadline that moves the deal
    r"\bopen redlines?\b",
    r"\b(?:they're|they are|are|is) (?:\w+ )?cheaper\b",
    r"\bwon't (?:start|be live|be ready) until\b",
)
CHALLENGE_STRONG = _any(
    r"\bthe (?:main |big(?:gest)? |real |other )?(?:problem|issue|challenge|pain)s? (?:is|are|we have)\b",
    r"\bour (?:biggest |main )?(?:challenge|problem|pain(?: point)?)s?\b",
    r"\bwe struggle\b",
    r"\bstruggl(?:e|es|ing)\b",
    r"\bpain(?:ful| points?)\b",
    r"\bfrustrat\w*",
    r"\bstuck\b",
    r"\btakes us\b",
    r"\bbottlenecks?\b",
    r"\bwast(?:e|es|ed|ing)\b",
)
GOAL = _any(
    r"\bour (?:main |primary |big(?:gest)? |top )?(?:goal|objective|aim)s?\b",
    r"\bthe (?:goal|objective|aim) (?:is|here)\b",
    r"\bwe (?:really |also |just )?(?:want|need) to\b",
    r"\bwe(?:'re| are) aiming\b",
    r"\baiming (?:to|for)\b",
    r"\bsuccess for us\b",
    r"\bwe(?:'d| would) (?:really |also )?(?:like|love) to\b",
    r"\blooking to\b",
    r"\bwe(?:'re| are) hoping to\b",
    r"\bwe hope to\b",
    r"\bour (?:top )?priority\b",
    r"\bwe plan to\b",
    r"\bwe(?:'re| are) (?:trying|planning) to\b",
    # a measured state they want: "I want that number down by half", "I want SignalPath live in HubSpot first"
    r"\bI want (?!to\b)[^.?!]{0,40}\b(?:down|up|live|under|below|above)\b",
    r"\bin (?:minutes|hours|days|week \w+), not (?:hours|days|weeks|week \w+)\b",  # how fast, against how slow now
)
CHALLENGE_WEAK = _any(
    r"\bchallenge\w*",
    r"\bproblems?\b",
    r"\bmanual(?:ly)?\b",
    r"\bhard to\b",
    r"\bdifficult\b",
    r"\bspreadsheets?\b",
    r"\btoo (?:slow|noisy)\b",
    r"\b(?:I|we) spend\b[^.?!]*\b(?:every|each) (?:week|day|month|quarter|time)\b",
    r"\bdrowning\b|\boutgrown\b|\bbacklog\b|\bwhich doesn't help\b",
    r"\boff by \d+",
    r"\bcan't see\b",
    r"\b(?:reps|managers|users|people) (?:won't|don't|aren't|never) (?:go|update|use|log)\w*",
    r"\bbroken\b",
    r"\berror-prone\b",
    r"\bno visibility\b",
    r"\bexcel\b",
    r"\bby hand\b",
    r"\bpatchwork\b",
    r"\b(?:doesn't|does not|don't|do not) (?:understand|support|talk to|work with)\b",
    r"\bnobody (?:finds out|knows|notices)\b",
    r"\bhanded in (?:her|his|their) notice\b",
    r"\bisn't happening\b",
)
NEXT_STEP = _any(
    r"\bnext steps?\b",
    r"\bfollow[- ]up\b",
    r"\b(?:I|we)(?:'ll| will) send\b",
    r"\blet's (?:schedule|set up|book)\b",
    r"\b(?:I|we)(?:'ll| will) set up\b",
)


GOAL_STRONG = _any(
    r"\bwhere we want to (?:end up|be|get)\b",
    r"\bwhat (?:I|we)(?:'d| would) (?:really )?love\b",
    r"\bwhat we (?:really )?want\b",
    r"\bwould be a (?:huge |big |real )?win\b",
    r"\bif we got (?:that|this|it) (?:to|down to|up to)\b",
    r"\bpays for (?:itself|this|it|the whole thing)\b",  # the value they are after
    r"\b(?:days?|weeks?|hours?) (?:of \w+ )?(?:a|per|each) (?:week|month|quarter|year) back\b",  # time won back
)


# A requirement or an approval gate the customer states ("we need SAML SSO", "data must stay in the EU", "we need
# to get Anil's sign-off"): a condition that can stall the deal, so a careful reader files it as a risk.
_GATE = (
    r"(?:sign[- ]?off|security review|dpia|dpa|data residency|sso|saml|single sign-on"
    r"|clause|capital programme board)"
)
REQUIREMENT = _any(
    rf"\b(?:we|i)(?:'ll| will)? (?:also )?need (?!to\b)[^.?!]{{0,60}}?\b{_GATE}\b",
    rf"\bneed to (?:get|have|keep|pass|clear)\b[^.?!]{{0,60}}?\b{_GATE}\b",
    rf"\b(?:we|i) (?:must|have to)\b[^.?!]{{0,60}}?\b{_GATE}\b",
    r"\bneed to keep (?:\w+ ){0,3}data in\b",
    r"\bdata (?:must|has to|needs to) stay\b|\bdata stays in\b",
    r"\bI need to (?:justify|show|defend)\b",  # what procurement must prove before it can buy
    r"\bneeds? the (?:\w+ ){0,3}board\b|\bneeds to clear\b",
    r"\bhas to pass\b",
    r"\bonly works if\b",  # "the award only works if the board isn't needed": a condition that may fail
    r"\b(?:will|would|to|gets?|going to) challenge[ds]?\b|\bgets? challenged\b",  # someone will dispute it
)
# A cue word that is not a cue in these phrases: a risk one wants to *see* or *flag* early is a goal, not a risk;
# "I don't want to waste your time" is politeness; "hard to argue for" is a conviction, not a difficulty.
NOT_A_CUE = _any(
    r"\b(?:see|seeing|spot|spotting|flag|flags|flagging|flagged|catch|surface|show|highlight)\s+"
    r"(?:the |a |any |those |these |that |which )?(?:deal )?risks?\b",
    r"\bwaste (?:your|anyone's|everyone's) time\b",
    r"\bhard to argue\b",
)
# A sentence that points at a problem already stated ("that's the data quality problem in one number", "EMEA is where
# the problem is worst") names no new one; nor is a third person's role or doings ("Jess runs one of the East teams,
# she's been the loudest about the spreadsheet") the customer's challenge.
POINTER = _any(
    r"\bthat(?:'s| is| was)\b[^.?!]*\bproblems?\b",
    r"\bwhere the\b[^.?!]*\bis (?:worst|biggest)\b",
)
THIRD_PERSON = re.compile(
    r"^(?:(?:and|but|so|well|yeah|honestly)[,\s]+)*(?:(?:[Hh]e|[Ss]he)\b|[A-Z][a-z]+(?: [A-Z][a-z]+)? "
    r"(?:runs|wants|leads|manages|thinks|says|said|found|has been|'s been|asked)\b)",
)
# "so we need to …" draws a to-do from what was just said: an action, not an outcome the customer is after.
TO_DO = _any(r"\bso we need to\b")

MIN_CONTENT = 2  # words a goal, challenge or risk says beyond its cue words, or it only names a topic
_WORDS_CASED = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
_LIGHT = frozenset(
    """
    a an the and or but nor of to in on for with at by from as into onto about over than then so if because though
    is are was were be been being am it it's its this that that's these those there there's here what which who whom
    we we're we've we'd we'll our ours us i i'm i've i'd i'll my me mine you you're your they they're their them he
    he's she she's his her do does did doing done have has had having will would can could should shall may might
    must not no don't doesn't didn't isn't aren't wasn't won't can't now just really very also too even still
    already yet again actually honestly basically well yeah yes okay ok um uh oh look mean know think say said
    since asked ask get got getting make made keep keeps go going one ones thing things lot lots bit part
    stuff way kind sort side real right wrong good bad better worse worst best big bigger biggest main other another
    first next new last most more less much many some any all every each simple possible easy sure whole number
    reason
    """.split()
)
# The words that make a sentence a goal, challenge or risk; what it says is in the words besides them.
_CUE_WORDS = frozenset(
    """
    worried worry worries concern concerns concerned risk risks risky problem problems issue issues challenge
    challenges challenging pain painful struggle struggles struggling frustrating frustrated goal goals objective
    objectives aim priority want wants need needs like love hope hoping trying planning aiming looking success
    spreadsheet spreadsheets budget freeze
    """.split()
)


def content(sentence: str) -> int:
    """How many words a sentence says besides its cue words ("worried", "problem", "goal"…), function words,
    fillers, light verbs and generic words ("thing", "real", "worst"); numbers and names ("May", "EMEA") count."""
    words = _WORDS_CASED.findall(sentence.replace("’", "'"))
    return sum(
        (w.casefold() not in _LIGHT and w.casefold() not in _CUE_WORDS)
        or (n > 0 and w[0].isupper() and w.split("'")[0] != "I")
        for n, w in enumerate(words)
    )


def _cue(kind: str, sentence: str) -> re.Match[str] | None:
    """The words that make ``sentence`` a ``kind``, when the guards of that kind let it be one."""
    if kind == "goal_strong":
        return GOAL_STRONG.search(sentence)
    if kind == "risk":
        return RISK.search(sentence) or REQUIREMENT.search(sentence)
    if kind in ("challenge_strong", "challenge_weak"):
        if POINTER.search(sentence) or THIRD_PERSON.match(sentence):
            return None
        return (CHALLENGE_STRONG if kind == "challenge_strong" else CHALLENGE_WEAK).search(sentence)
    if kind == "goal":
        return None if TO_DO.search(sentence) else GOAL.search(sentence)
    raise ValueError(kind)


_ORDER = (
    ("goal_strong", "goal"),
    ("risk", "risk"),
    ("challenge_strong", "challenge"),
    ("goal", "goal"),
    ("challenge_weak", "challenge"),
)


def classify(sentence: str) -> str | None:
    """``goal``, ``risk``, ``challenge`` or None: what a customer sentence states.

    A sentence that says outright where the customer wants to end up is a goal whatever it mentions
    ("…when a ferry gets cancelled the plan fixes itself"); then risk (requirements and approval gates
    included), challenge, goal in that order. Cue words in phrases where they are not cues (``NOT_A_CUE``)
    do not count; a sentence that points back at a problem or is about a third person is no challenge;
    and one that says fewer than ``MIN_CONTENT`` words beyond its cue ("My concern is continuity.", "Now
    the risks, since you asked.") only names a topic, so it is none of them.
    """
    text = NOT_A_CUE.sub(" ", sentence)
    for rule, kind in _ORDER:
        match = _cue(rule, text)
        if match:
            return kind if content(text) >= MIN_CONTENT else None
    return None


# ---------------------------------------------------------------- themes


def _words(*words: str) -> list[str]:
    return [rf"\b{w}\b" for w in words]


# topic -> (case-insensitive patterns, case-sensitive patterns: acronyms that are also common words)
THEMES: dict[str, tuple[list[str], list[str]]] = {
    "Pricing": (_words("pricing", "prices?", "costs?", "discounts?", "per seat", "licen[cs]e fees?", "list price"), []),
    "Security review": (
        _words(
            "security reviews?",
            "security questionnaires?",
            "infosec",
            "pen(?:etration)? tests?",
            "soc ?2",
            "iso ?27001",
            "security team",
        ),
        [],
    ),
    "SSO": (_words("single sign-on", "single sign on", "saml", "okta", "azure ad", "entra id"), [r"\bSSO\b"]),
    "Forecast accuracy": (_words("forecast(?:s|ing)?", "forecast accuracy"), []),
    "Data quality": (_words("data quality", "dirty data", "bad data", "duplicates?", "data hygiene"), []),
    "Integration": (
        _words("integrat(?:e|es|ed|ion|ions|ing)", "salesforce", "hubspot", "connectors?", "webhooks?"),
        [r"\bAPIs?\b"],
    ),
    "Onboarding": (_words("onboard(?:ing)?", "training", "ramp(?:-| )up"), []),
    "Procurement": (
        _words(
            "procurement", "purchase orders?", "legal review", "contracts?", "msa", "redlines?", "vendor onboarding"
        ),
        [r"\bPOs?\b"],
    ),
    "Data residency / GDPR": (_words("gdpr", "data residency", "eu data", "eu region", "dpa", "data protection"), []),
    "Competition": (_words("competitors?", "competition", "alternatives?", "other vendors?", "evaluating other"), []),
    "Budget": (_words("budgets?", "funding", "spend", "budget freeze"), []),
    "Reporting": (_words("reports?", "reporting", "dashboards?", "analytics"), []),
    "Adoption": (_words("adoption", "adopt(?:ed|ing)?", "roll ?out", "rolling out", "usage"), []),
    "Migration": (_words("migrat(?:e|es|ed|ing|ion)", "move off", "moving off", "switch(?:ing)? from"), []),
    "Timeline": (
        _words(
            "timelines?", "deadlines?", "go-live", "go live", "launch date", "end of (?:the )?quarter", r"by q[1-4]"
        ),
        [],
    ),
    "Renewal": (_words("renewals?", "renew(?:ing)?"), []),
    "Compliance": (_words("compliance", "compliant", "audits?", "hipaa", "sox"), []),
    "Automation": (_words("automat(?:e|ed|es|ing|ion)"), []),
}

_THEME_RES: dict[str, re.Pattern[str]] = {}
for _topic, (_ci, _cs) in THEMES.items():
    _parts = [f"(?i:{p})" for p in _ci] + _cs
    _THEME_RES[_topic] = re.compile("|".join(_parts))

# What to do about a theme; the recommendation carries the theme's evidence.
PLAYBOOK: dict[str, str] = {
    "Security review": "Address the security review early: send the security pack (SOC 2 report, pen-test summary, "
    "DPA) before they ask for it.",
    "SSO": "Show single sign-on working with their identity provider and share the set-up guide.",
    "Pricing": "Prepare a pricing proposal that answers the cost questions they raised, with options by scope.",
    "Budget": "Build the business case with their own numbers before the budget decision.",
    "Procurement": "Map the procurement steps (legal, security, purchase order) and agree a mutual close plan.",
    "Data residency / GDPR": "Confirm where their data will be stored and share the GDPR documents (DPA, "
    "sub-processors).",
    "Competition": "Prepare a comparison against the alternatives they mentioned, framed around their goals.",
    "Integration": "Scope the integration with their systems and show it working on their data.",
    "Timeline": "Agree a dated plan back from their deadline, with owners on both sides.",
    "Onboarding": "Share an onboarding and training plan for their team.",
    "Adoption": "Set up an adoption review with usage numbers and name a champion on their side.",
    "Migration": "Plan the migration step by step, with a trial run on their data.",
    "Reporting": "Build the reports they asked for and demo them on their data.",
    "Forecast accuracy": "Show the forecast-accuracy gain with a before-and-after on their pipeline.",
    "Data quality": "Run a data-quality check on their data and show what gets fixed automatically.",
    "Renewal": "Prepare the renewal early: review the value delivered so far with their sponsor.",
    "Compliance": "Share the compliance evidence they need (audit reports, certifications) ahead of review.",
    "Automation": "Show which of their manual steps we automate, with the time it saves.",
}


def themes_in(sentence: str) -> list[str]:
    """The vocabulary topics a sentence mentions."""
    return [topic for topic, pattern in _THEME_RES.items() if pattern.search(sentence)]


# ---------------------------------------------------------------- Fathom's summary

_NEXT_HEADING = re.compile(r"^#+\s*.*next\s*steps?.*$", re.IGNORECASE | re.MULTILINE)
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?P<text>.+?)\s*$")


def summary_next_steps(markdown: str | None) -> list[str]:
    """The bullets under a "Next steps" heading of a Fathom summary."""
    if not markdown:
        return []
    match = _NEXT_HEADING.search(markdown)
    if not match:
        return []
    out = []
    for line in markdown[match.end() :].splitlines():
        if line.lstrip().startswith("#"):
            break
        bullet = _BULLET.match(line)
        if bullet:
            text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", bullet.group("text")).replace("**", "").strip()
            if text:
                out.append(text)
    return out


# ---------------------------------------------------------------- the analyser


class OfflineAnalyzer:
    """Rule-based analysis: deterministic, no network. ``usage`` stays at zero calls and tokens."""

    name = "offline"

    def __init__(self) -> None:
        self.fingerprint = make_fingerprint(kind="offline", rules=RULES_VERSION)
        self.usage = Usage()

    # -- map

    def analyse_meeting(self, meeting: Meeting, *, domain: str | Account, company: str) -> MeetingInsights:
        if meeting.transcript is None:
            raise ValueError(f"Meeting {meeting.recording_id} has no transcript to analyse.")
        side = MeetingSides(meeting, domain)
        said = [Sentence(text, turn, side(turn)) for turn in meeting.transcript for text in sentences(turn.text)]
        lists: dict[str, list[Insight]] = {"goal": [], "challenge": [], "risk": []}
        roles = self._roles(meeting, said, side)
        for s in said:
            if s.side is not Side.CUSTOMER:
                continue
            if s.question or s.words < MIN_WORDS:
                continue
            kind = classify(s.text)
            if kind:
                lists[kind].append(Insight(text=short_form(s.text), evidence=[self._evidence(meeting, s)]))
        insights = MeetingInsights(
            recording_id=meeting.recording_id,
            themes=self._themes(meeting, said),
            goals=dedupe_insights(lists["goal"]),
            challenges=dedupe_insights(lists["challenge"]),
            risks=dedupe_insights(lists["risk"]),
            roles=dedupe_roles(roles),
            next_steps=self._next_steps(meeting, said),
        )
        return insights

    @staticmethod
    def _evidence(meeting: Meeting, s: Sentence) -> Evidence:
        return evidence_at(meeting, s.turn, s.text, s.side)

    def _roles(self, meeting: Meeting, said: Sequence[Sentence], side: MeetingSides) -> list[PersonRole]:
        """Roles people state, about themselves or others (any side), each with the sentence that says so.

        A name said about someone else is matched to one of the meeting's invitees or speakers (full
        name, or a first name only one of them has); one that matches no one stays as said, for the
        account's people to resolve or drop.
        """
        participants = [
            (i.name, i.email, side.of_email(i.email, invited_as_internal=not i.is_external))
            for i in meeting.invitees
            if i.name
        ]
        participants += [(t.speaker, t.email, side(t)) for t in meeting.transcript or ()]
        resolve = resolve_in(participants)
        out: list[PersonRole] = []
        for s in said:
            for mention in roles_in(s.text, s.turn.speaker, s.side):
                evidence = [self._evidence(meeting, s)]
                if mention.about_speaker:
                    out.append(
                        PersonRole(name=s.turn.speaker, email=s.turn.email, role=mention.role, evidence=evidence)
                    )
                    continue
                found = resolve(mention.name, mention.side)
                name, email = found if found else (mention.name, None)
                out.append(PersonRole(name=name, email=email, role=mention.role, evidence=evidence, side=mention.side))
        return dedupe_roles(out)

    def _themes(self, meeting: Meeting, said: Sequence[Sentence]) -> list[Insight]:
        """Topics the customer mentioned at least once, evidenced by the customer's first sentence about it."""
        mentions: dict[str, int] = {}  # by anyone: the order of the topics
        first_customer: dict[str, Sentence] = {}
        for s in said:
            for topic in themes_in(s.text):
                mentions[topic] = mentions.get(topic, 0) + 1
                if s.side is Side.CUSTOMER:
                    first_customer.setdefault(topic, s)
        out = []
        for topic in sorted(mentions, key=lambda t: (-mentions[t], t)):
            if topic in first_customer:  # a theme of the customer's is evidenced by the customer's own words
                out.append(Insight(text=topic, evidence=[self._evidence(meeting, first_customer[topic])]))
        return out

    def _next_steps(self, meeting: Meeting, said: Sequence[Sentence]) -> list[Insight]:
        """Open action items and the summary's next steps (with the sentence closest in words), then next-step
        sentences."""
        out: list[Insight] = []
        for item in meeting.action_items or ():
            if item.completed:
                continue
            near = _seconds(item.timestamp)
            window = [s for s in said if near is None or abs(s.turn.seconds - near) <= 120]
            out.append(self._grounded(meeting, item.description, window))
        for text in summary_next_steps(meeting.summary_markdown):
            out.append(self._grounded(meeting, text, said))
        for s in said:
            if NEXT_STEP.search(s.text) and s.words >= MIN_WORDS and not s.question:
                out.append(Insight(text=short_form(s.text), evidence=[self._evidence(meeting, s)]))
        return dedupe_insights(out)[:8]

    def _grounded(self, meeting: Meeting, text: str, window: Sequence[Sentence]) -> Insight:
        """A follow-up with, as evidence, the sentence of ``window`` closest to it in words (none if none is close)."""
        best = max(window, key=lambda s: jaccard(s.text, text), default=None)
        if best is not None and jaccard(best.text, text) >= 0.2:
            return Insight(text=text, evidence=[self._evidence(meeting, best)])
        return Insight(text=text)

    # -- reduce

    def merge(
        self,
        *,
        domain: str | Account,
        company: str,
        meetings: Sequence[Meeting],
        insights: Sequence[MeetingInsights],
        people: Sequence[Person],
    ) -> AccountInsights:
        order = _chronological(meetings, insights)
        themes = _account_themes(order)
        goals = _ranked(dedupe_insights(g for mi in order for g in mi.goals))
        challenges = _ranked(dedupe_insights(c for mi in order for c in mi.challenges))
        risks = _latest(_ranked(dedupe_insights(r for mi in order for r in mi.risks)), MAX_ITEMS)
        return AccountInsights(
            themes=themes,
            goals=goals[:MAX_ITEMS],
            challenges=challenges[:MAX_ITEMS],
            risks=risks,
            # the newest risk is the first to act on
            recommendations=_recommendations(
                themes, goals, challenges, sorted(risks, key=lambda r: r.last_said, reverse=True), order
            ),
            roles=dedupe_roles(r for mi in reversed(order) for r in mi.roles),  # the latest title wins
        )


def _seconds(timestamp: str | None) -> int | None:
    try:
        return parse_timestamp(timestamp) if timestamp else None
    except ValueError:
        return None


def _chronological(meetings: Sequence[Meeting], insights: Sequence[MeetingInsights]) -> list[MeetingInsights]:
    """Insights ordered by the date of their meeting (unknown meetings last, in the order given)."""
    when = {m.recording_id: m.started_at for m in meetings}
    known = sorted((mi for mi in insights if mi.recording_id in when), key=lambda mi: when[mi.recording_id])
    return known + [mi for mi in insights if mi.recording_id not in when]


def _account_themes(order: Sequence[MeetingInsights]) -> list[Theme]:
    topics: dict[str, Theme] = {}
    for mi in order:
        for item in mi.themes:
            theme = topics.setdefault(item.text, Theme(topic=item.text, mentions=0))
            if mi.recording_id not in theme.meetings:
                theme.meetings.append(mi.recording_id)
                if len(theme.evidence) < 3:
                    theme.evidence.extend(item.evidence[:1])
    for theme in topics.values():
        theme.mentions = len(theme.meetings)
    return sorted(topics.values(), key=lambda t: (-t.mentions, t.topic))


def _ranked(items: list[Insight]) -> list[Insight]:
    """Most meetings first; ties keep their order (earliest first)."""
    return sorted(items, key=lambda i: -len({e.recording_id for e in i.evidence}))


def _latest(items: list[Insight], n: int) -> list[Insight]:
    """At most ``n`` of ``items`` in their order, the most-repeated and then the most recently said kept: a deal's
    risks change as it goes, and the ones of its first meetings must not crowd out those of its last."""
    if len(items) <= n:
        return items
    keep = {id(i) for i in sorted(items, key=lambda i: (len({e.recording_id for e in i.evidence}), i.last_said))[-n:]}
    return [i for i in items if id(i) in keep]


def _lower_first(text: str) -> str:
    """``Our goal`` → ``our goal``; ``I'm``, ``SSO`` and names' initials stay as they are."""
    if re.match(r"I\b", text):
        return text
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _source(insight: Insight) -> tuple[str, str, str]:
    """Who said it, when (``on 9 Jun 2026``) and what it is about (``about procurement``), for a sentence."""
    ev = insight.evidence[0] if insight.evidence else None
    speaker = ev.speaker if ev and ev.speaker else "the customer"
    when = ""
    if ev and ev.meeting_date:
        try:
            day = date.fromisoformat(ev.meeting_date[:10])
            when = f" on {day.day} {day:%b %Y}"
        except ValueError:
            when = ""
    topics = themes_in(insight.text)
    about = f" about {topics[0].lower()}" if topics else ""
    return speaker, when, about


def _advice(kind: str, insight: Insight) -> Insight:
    """A next action built on a risk, challenge or goal; the quote stays in the evidence, not the text."""
    speaker, when, about = _source(insight)
    text = {
        "risk": f"De-risk the concern {speaker} raised{about}{when}: agree an owner on each side and a date to close it.",
        "challenge": f"Show, on their own data, how we remove the problem {speaker} described{about}{when}.",
        "goal": f"Tie the proposal to the goal {speaker} set{about}{when}, and measure the pilot against it.",
    }[kind]
    return Insight(text=text, evidence=insight.evidence[:2])


def _recommendations(
    themes: Sequence[Theme],
    goals: Sequence[Insight],
    challenges: Sequence[Insight],
    risks: Sequence[Insight],
    order: Sequence[MeetingInsights],
) -> list[Insight]:
    """Up to 7 next actions, taken in turn from the risks, themes, follow-ups, challenges and goals.

    Fewer than 3 only when the meetings gave less than that to act on. Near-duplicates are judged by
    what a recommendation is built on (two risks with one fix count once), not by its template.
    """
    playbook = [
        (PLAYBOOK[t.topic], Insight(text=PLAYBOOK[t.topic], evidence=t.evidence[:2]))
        for t in themes
        if t.topic in PLAYBOOK
    ]
    follow_ups = [
        (
            n.text,
            Insight(
                text=f"Follow through on the open follow-up: {_lower_first(n.text.rstrip('.'))}.", evidence=n.evidence
            ),
        )
        for mi in reversed(order)
        for n in mi.next_steps
    ]
    sources: list[list[tuple[str, Insight]]] = [
        [(r.text, _advice("risk", r)) for r in risks],
        playbook,
        follow_ups,
        [(c.text, _advice("challenge", c)) for c in challenges],
        [(g.text, _advice("goal", g)) for g in goals],
    ]
    picked: list[Insight] = []
    bases: list[str] = []
    for base, candidate in _round_robin(sources):
        if len(picked) >= MAX_RECOMMENDATIONS:
            break
        # Every recommendation shows what it comes from.
        if (
            candidate.evidence
            and not any(jaccard(base, b) >= 0.6 for b in bases)
            and candidate.text not in {p.text for p in picked}
        ):
            picked.append(candidate)
            bases.append(base)
    return picked


def _round_robin(sources: Sequence[Sequence[tuple[str, Insight]]]) -> Iterable[tuple[str, Insight]]:
    depth = max((len(s) for s in sources), default=0)
    for i in range(depth):
        for source in sources:
            if i < len(source):
                yield source[i]
