"""Roles read from what people say about themselves and each other, with the sentence that says so.

The offline analyser's reader (the model is asked for the same, and must quote it). Deterministic,
on purpose narrow: a role is read only from words that state it now, and only as a job title or a
part of the organisation.

* About the speaker: "I'm the CFO here", "I'm a solutions engineer on Dana's team", "I'm Head of
  Commercial Services at Brightwater", "I've been CFO since March", "I'll be your account executive",
  "I run procurement" and "I head up nursing operations" (the head of that function), "I lead
  onboarding", "I run the planning desk", "I'm on the infrastructure team".
* About another person, by name: "our VP of Operations, Ingrid, will want…", "Greg, our CRO",
  "Marcus here is our solutions engineer", "Fiona in procurement".

Not roles: what someone was ("when I was CFO at my last company"), who someone reports to or asks
("I report to the CFO", "ask our CTO"), a title with no name ("the new head of IT starts in
October"), and a questioned one ("Are you the CFO?"). A role said about another person names that
person as said (a first name, often); the account's people resolve it later, or drop it when no one
there has that name ("Michael, our COO", who never came to a meeting). "Our" said by the customer
means the customer's side, and by us ours; "your" the other side.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engagement.models import Side

__all__ = ["RoleMention", "roles_in"]

# ---------------------------------------------------------------- the words of a title

_ACRONYMS = r"(?:ceo|cfo|cto|cio|ciso|coo|cro|cmo|cpo|cdo|cso|vp|svp|evp)"
_FUNCTIONS = (
    "sales|finance|financial|marketing|it|engineering|operations|ops|revops|revenue operations|sales operations|"
    "procurement|purchasing|security|information security|infosec|legal|data|analytics|product|customer success|"
    "support|hr|people|commercial|commercial services|regulatory reporting|reporting|fp&a|platform|infrastructure|"
    "compliance|risk|partnerships|business development|account|accounts|solutions|programme|program|project|"
    "technical|digital|transformation|strategy|growth|enablement|sales enablement|network|cloud|software|systems|"
    "treasury|accounting|payroll|supply chain|logistics|facilities|communications|customer experience|quality|"
    "research|design|devops|crm|billing|onboarding|implementation|delivery|planning|nursing|clinical|"
    "nursing operations|clinical systems|workforce|rostering|scheduling|transport|fleet|warehouse"
)
# longest first, so "nursing operations" is read whole rather than as "nursing"
_FUNCTION = "(?:" + "|".join(sorted(_FUNCTIONS.split("|"), key=lambda w: (-len(w), w))) + ")"
_NOUN = (
    r"(?:manager|director|lead|engineer|architect|analyst|officer|administrator|admin|specialist|coordinator|"
    r"executive|owner|counsel|buyer|controller|partner|consultant|advisor|champion)"
)
_WORD = r"(?!(?:at|and|here|so|but|for|in|on|with|to|from|who|which|that|this|since|because|i|we|my|our|the|a|an)\b)[A-Za-z&/-]+"
_OF = rf"(?: (?:of|for) (?:the )?{_WORD}(?: {_WORD}){{0,2}})"
_MOD = r"(?:(?:senior|sr|junior|acting|interim|deputy|associate|assistant|regional|global|group|principal|new|current|just|now|also) )"
_TITLE = (
    r"(?:"
    rf"(?:(?:senior|executive) )?(?:vp|vice president){_OF}?|(?:svp|evp){_OF}?"
    rf"|head{_OF}|director{_OF}|managing director|general manager|general counsel"
    r"|chief(?: [a-z]+){1,2} officer"
    rf"|{_ACRONYMS}|founder|co-founder|president|controller|financial controller"
    rf"|(?:{_FUNCTION} )?{_FUNCTION} {_NOUN}"
    rf"|(?:manager|lead|director) (?:of|for) (?:the )?{_WORD}(?: {_WORD}){{0,2}}"
    r")"
)
_ROLE = rf"(?P<role>(?i:{_MOD}{{0,2}}{_TITLE}))(?!['’]s)\b"
_ARTICLE = r"(?:(?:the|a|an|our|your) )?"

# About the speaker, present tense only ("I was", "when I was", "I used to be" never match).
_SELF_TITLE = [
    re.compile(rf"(?i:\bI(?:'m| am)(?: currently| now)? {_ARTICLE}){_ROLE}"),
    re.compile(rf"(?i:\bI(?:'ve| have) been {_ARTICLE}){_ROLE}(?i: (?:since|for)\b)"),
    re.compile(rf"(?i:\bI(?:'ll| will) be your ){_ROLE}"),
    re.compile(rf"(?i:\bmy (?:role|title|job) is {_ARTICLE}){_ROLE}"),
    re.compile(rf"(?i:^(?:\w+, )?as (?:the|a|an|your|our) ){_ROLE}(?i:(?: here)?, I\b)"),
]
_SELF_RUNS = re.compile(
    r"(?i:\bI (?P<verb>run|lead|head(?: up)?|manage|own|oversee|look after) )"
    rf"(?P<what>(?i:the )?(?:(?i:{_FUNCTION})(?: (?i:team|desk|function|department|group|office))?"
    r"|(?i:[a-z-]+ )?(?i:[a-z-]+) (?i:desk|team|function|department|group|office)"
    rf"|[a-z-]+ (?i:{_FUNCTION})))\b(?!['’]s)"
)
_SELF_TEAM = re.compile(
    rf"(?i:\bI(?:'m| am) (?:on|in) the )(?P<team>(?:[a-z-]+ ){{0,2}}?(?i:{_FUNCTION}|[a-z-]+)) team\b"
)
_VERB = {"run": "Runs", "lead": "Leads", "head": "Heads", "head up": "Heads", "manage": "Manages", "own": "Owns"}
_VERB |= {"oversee": "Oversees", "look after": "Looks after"}
_HEADS = frozenset({"run", "head", "head up"})  # running or heading a whole function is heading it

# About another person, by name (a capitalised name of one to three words).
_NAME = r"(?P<name>[A-Z][a-z’'-]+(?: [A-Z][a-z’'-]+){0,2})"
_WHOSE = r"(?P<whose>our|your|my|the)"
_OTHER = [
    re.compile(rf"(?<![\w’']){_NAME}, (?i:{_WHOSE}) {_ROLE}(?=[,.;:!?—–-]| (?:is|will|who|has|and)\b)"),
    re.compile(rf"(?i:\b{_WHOSE} ){_ROLE}, {_NAME}\b(?=[,.;:!?—–-]| (?:is|will|who|has|and)\b)"),
    re.compile(rf"(?<![\w’']){_NAME}(?: here)? (?:is|remains|stays) (?:(?i:{_WHOSE}) )?{_ROLE}"),
    re.compile(
        rf"(?<![\w’']){_NAME} (?:in|from) (?P<role>(?i:procurement|legal|finance|security|IT|FP&A|purchasing))\b"
    ),
]
_NOT_NAMES = frozenset(
    "I We You They He She It So And But Or Then Also Now Well Yes No Okay Ok Right Great Thanks Perfect Sure "
    "Which That This There Here Our Your My The A An".split()
)
_UPPER = {"vp", "svp", "evp", "it", "hr", "crm", "fp&a", "sso", "cx", "tms", "emea", "uk", "us"}


@dataclass(frozen=True)
class RoleMention:
    """A role read from one sentence.

    Attributes:
        name: who it is about: the speaker's display name, or the name as said ("Ingrid").
        about_speaker: the speaker said it of themselves.
        role: the title as written here ("VP of Operations", "Runs procurement").
        side: the side the words put the person on (``our`` said by the customer: the customer), if they say.
    """

    name: str
    about_speaker: bool
    role: str
    side: Side | None = None


def _tidy(role: str) -> str:
    words = [w.upper() if w.lower() in _UPPER or re.fullmatch(_ACRONYMS, w, re.IGNORECASE) else w for w in role.split()]
    text = " ".join(words)
    return text[0].upper() + text[1:] if text else text


def _whose_side(whose: str, speaker: Side) -> Side | None:
    if speaker not in (Side.CUSTOMER, Side.INTERNAL):
        return None
    other = Side.INTERNAL if speaker is Side.CUSTOMER else Side.CUSTOMER
    return {"our": speaker, "my": speaker, "your": other}.get(whose.lower())


def _self(sentence: str) -> str | None:
    for pattern in _SELF_TITLE:
        if match := pattern.search(sentence):
            return _tidy(re.sub(r"^(?:just|now|also) ", "", match.group("role"), flags=re.IGNORECASE))
    if match := _SELF_RUNS.search(sentence):
        what, verb = match.group("what"), match.group("verb").lower()
        what = what.upper() if what.lower() in _UPPER else what
        if verb in _HEADS and re.fullmatch(_FUNCTION, what, re.IGNORECASE):  # "I run procurement": its head
            return f"Head of {what}"
        return f"{_VERB[verb]} {what}"
    if match := _SELF_TEAM.search(sentence):
        return _tidy(f"{match.group('team')} team")
    return None


def roles_in(sentence: str, speaker: str, speaker_side: Side) -> list[RoleMention]:
    """The roles one sentence states, about its speaker or about people it names; none from a question."""
    if sentence.rstrip().endswith("?"):
        return []
    found: list[RoleMention] = []
    if role := _self(sentence):
        found.append(RoleMention(name=speaker, about_speaker=True, role=role))
    for pattern in _OTHER:
        for match in pattern.finditer(sentence):
            words = match.group("name").split()
            while words and words[0] in _NOT_NAMES:  # "And Marcus here is…": the name is Marcus
                words.pop(0)
            if not words:
                continue
            name = " ".join(words)
            whose = match.groupdict().get("whose") or ""
            found.append(
                RoleMention(
                    name=name,
                    about_speaker=False,
                    role=_tidy(re.sub(r"^(?:just|now|also) ", "", match.group("role"), flags=re.IGNORECASE)),
                    side=_whose_side(whose, speaker_side) if whose else None,
                )
            )
    return found


Resolver = Callable[[str, Side | None], tuple[str, str | None] | None]


def resolve_in(participants: Sequence[tuple[str, str | None, Side]]) -> Resolver:
    """A resolver of a said name to one of a meeting's participants ``(display name, e-mail, side)``.

    The full name, or the first name of exactly one participant (of ``side`` when the words give one);
    ``None`` when no participant, or more than one, has it.
    """

    def resolve(name: str, side: Side | None) -> tuple[str, str | None] | None:
        said = name.casefold().split()
        pool = [p for p in participants if side is None or p[2] is side]
        full = [p for p in pool if p[0].casefold().split() == said]
        first = [p for p in pool if p[0].casefold().split()[:1] == said[:1]] if len(said) == 1 else []
        for matches in (full, first):
            distinct = {(p[0], p[1]) for p in matches}
            if len(distinct) == 1:
                return next(iter(distinct))
        return None

    return resolve
