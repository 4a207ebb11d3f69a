"""A qualification rubric (MEDDPICC, BANT, SPICED or a team's own): its elements read from a TOML file, checked.

A rubric file names the methodology and lists its elements, each with a key, a name, a one-sentence
definition (what the model is told), what counts as evidence, the phrases and regular expressions the
offline analyser looks for in what the customer said, and optionally a ``conflict`` pattern whose
``value`` group reads the fact two customer quotes may disagree on (a date, a sign-off owner). Every
mistake is reported with the file and the line it is on (TOML's own errors carry their line too).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from engagement.errors import SettingsError

__all__ = ["BUILT_IN", "Element", "Rubric", "RubricError", "load_rubric", "parse_rubric"]

BUILT_IN = ("meddpicc", "bant", "spiced")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
_FIRST_PERSON = frozenset({"i", "me", "my", "myself"})
_ELEMENT_FIELDS = {"key", "name", "definition", "evidence", "phrases", "patterns", "exclude", "conflict"}


class RubricError(SettingsError):
    """A rubric file cannot be used; the message names the file and the line."""


@dataclass(frozen=True)
class Element:
    """One element of a methodology.

    Attributes:
        key / name: ``economic_buyer`` / ``Economic buyer``.
        definition: one sentence for the model.
        evidence: what counts as evidence (for the model and for people reading the rubric).
        phrases: words and phrases matched on word boundaries, case folded.
        patterns: regular expressions (case-insensitive), for what phrases cannot say.
        exclude: phrases that make a matching sentence not count (``adoption`` for pain: a rollout's trouble is
            not the pain that makes the customer buy).
        conflict: regular expressions with a ``value`` group; two customer quotes with different values conflict
            (``I``, ``me``, ``my`` as the value stand for the speaker).
    """

    key: str
    name: str
    definition: str
    evidence: str
    phrases: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    exclude: tuple[str, ...] = ()
    conflict: tuple[re.Pattern[str], ...] = ()

    @property
    def terms(self) -> list[str]:
        """What "not found" says was searched for: the phrases, then the patterns as written."""
        return [*self.phrases, *(p.pattern for p in self.patterns)]

    def matches(self, text: str) -> bool:
        """Whether a sentence says something this element looks for."""
        return any(p.search(text) for p in self._compiled) and not any(p.search(text) for p in self._excluded)

    def value_in(self, text: str, speaker: str = "") -> str | None:
        """The ``conflict`` value a sentence states (normalised), or None (none, or more than one).

        A first-person value (``I sign off``, ``needs my signature``) is the speaker.
        """
        values = set()
        for pattern in self.conflict:
            for match in pattern.finditer(text):
                value = " ".join(match.group("value").casefold().split())
                values.add(" ".join(speaker.casefold().split()) if value in _FIRST_PERSON else value)
        return values.pop() if len(values) == 1 else None

    @cached_property
    def _excluded(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(rf"(?<!\w){_phrase(p)}(?!\w)", re.IGNORECASE) for p in self.exclude)

    @cached_property
    def _compiled(self) -> tuple[re.Pattern[str], ...]:
        phrases = [re.compile(rf"(?<!\w){_phrase(p)}(?!\w)", re.IGNORECASE) for p in self.phrases]
        return (*phrases, *self.patterns)


def _phrase(phrase: str) -> str:
    """A phrase as a pattern: its words in order, any white space between, curly or straight apostrophes."""
    words = [re.escape(w).replace("'", "['’]") for w in phrase.split()]
    return r"\s+".join(words)


@dataclass(frozen=True)
class Rubric:
    """A methodology and its elements, in the file's order.

    Attributes:
        key / name: ``meddpicc`` / ``MEDDPICC``.
        source: where it was read from (a path, or ``built-in:meddpicc``).
        digest: a hash of the file's text (in the cache key: a changed rubric is evaluated again).
    """

    key: str
    name: str
    elements: tuple[Element, ...]
    source: str
    digest: str

    def element(self, key: str) -> Element | None:
        return next((e for e in self.elements if e.key == key), None)


def load_rubric(choice: str) -> Rubric:
    """A built-in rubric by name (``meddpicc``, ``bant``, ``spiced``) or a team's own file by path."""
    name = choice.strip()
    if name.lower() in BUILT_IN:
        text = (
            resources.files(__package__)
            .joinpath("rubrics")
            .joinpath(f"{name.lower()}.toml")
            .read_text(encoding="utf-8")
        )
        return parse_rubric(text, source=f"built-in:{name.lower()}")
    path = Path(name).expanduser()
    if not path.is_file():
        raise RubricError(
            f"QUALIFICATION_RUBRIC is {name!r}: neither a built-in methodology ({', '.join(BUILT_IN)}) nor a "
            "readable file. Give one of those names or the path of a rubric TOML file."
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RubricError(f"The rubric file {path} could not be read ({exc}); it must be UTF-8 text.") from None
    return parse_rubric(text, source=str(path))


class _Lines:
    """Finds the line of an element, or of a key or text within it, in the file's text (tomllib gives none)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers = [n for n, line in enumerate(self.lines, 1) if re.match(r"^\s*\[\[\s*elements\s*\]\]", line)]

    def of(self, index: int | None, needle: str = "") -> int:
        if index is None or index >= len(self.headers):
            start, end = 1, len(self.lines)
        else:
            start = self.headers[index]
            end = self.headers[index + 1] - 1 if index + 1 < len(self.headers) else len(self.lines)
        if needle:  # a line that sets the field first, then any line that holds the text; comments never
            for n in range(start, end + 1):
                line = self.lines[n - 1].lstrip()
                if line.startswith(needle) and line[len(needle) :].lstrip().startswith("="):
                    return n
            for n in range(start, end + 1):
                line = self.lines[n - 1].lstrip()
                if needle in line and not line.startswith("#"):
                    return n
        return start


def parse_rubric(text: str, *, source: str = "rubric") -> Rubric:
    """The rubric a TOML text describes; a mistake raises :class:`RubricError` naming the line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RubricError(f"{source}: not valid TOML: {exc}. Fix that line and try again.") from None
    lines = _Lines(text)

    def fail(message: str, index: int | None = None, needle: str = "") -> RubricError:
        return RubricError(f"{source}, line {lines.of(index, needle)}: {message}")

    head = data.get("methodology")
    if not isinstance(head, dict):
        raise fail('the file must start with a [methodology] table with key = "..." and name = "..."')
    key, name = head.get("key"), head.get("name")
    if not isinstance(key, str) or not _KEY.match(key):
        raise fail('[methodology] needs key = a short lower-case name such as "meddpicc"', None, "key")
    if not isinstance(name, str) or not name.strip():
        raise fail('[methodology] needs name = "..." (how the methodology is shown)', None, "name")
    items = data.get("elements")
    if not isinstance(items, list) or not items:
        raise fail("the rubric has no elements: add one [[elements]] table per element")
    elements: list[Element] = []
    for i, item in enumerate(items):
        elements.append(_element(item, i, fail))
    keys = [e.key for e in elements]
    for i, k in enumerate(keys):
        if k in keys[:i]:
            raise fail(f"element key {k!r} is used twice; each element needs its own key", i, "key")
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return Rubric(key=key, name=name.strip(), elements=tuple(elements), source=source, digest=digest)


def _strings(item: dict[str, Any], field: str, i: int, fail: Any) -> tuple[str, ...]:
    value = item.get(field, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise fail(f"{field} must be a list of non-empty strings", i, field)
    return tuple(v.strip() for v in value)


def _element(item: Any, i: int, fail: Any) -> Element:
    if not isinstance(item, dict):
        raise fail("each [[elements]] entry must be a table", i)
    unknown = sorted(set(item) - _ELEMENT_FIELDS)
    if unknown:
        raise fail(f"unknown field {unknown[0]!r} (an element has {', '.join(sorted(_ELEMENT_FIELDS))})", i, unknown[0])
    key = item.get("key")
    if not isinstance(key, str) or not _KEY.match(key):
        raise fail('each element needs key = a lower-case name such as "economic_buyer"', i, "key")
    texts: dict[str, str] = {}
    for field in ("name", "definition", "evidence"):
        value = item.get(field)
        if not isinstance(value, str) or not value.strip():
            raise fail(f'element {key!r} needs {field} = "..."', i, field if field in item else "key")
        texts[field] = " ".join(value.split())
    phrases = _strings(item, "phrases", i, fail)
    raw_patterns = _strings(item, "patterns", i, fail)
    exclude = _strings(item, "exclude", i, fail)
    if not phrases and not raw_patterns:
        raise fail(f"element {key!r} needs phrases or patterns for the offline analyser to look for", i, "key")
    patterns = []
    for raw in raw_patterns:
        try:
            patterns.append(re.compile(raw, re.IGNORECASE))
        except re.error as exc:
            raise fail(f"pattern {raw!r} of element {key!r} is not a regular expression: {exc}", i, raw) from None
    conflict = []
    for raw in _strings(item, "conflict", i, fail):
        try:
            pattern = re.compile(raw, re.IGNORECASE)
        except re.error as exc:
            raise fail(
                f"conflict pattern {raw!r} of element {key!r} is not a regular expression: {exc}", i, raw
            ) from None
        if "value" not in pattern.groupindex:
            raise fail(f"conflict pattern of element {key!r} needs a (?P<value>...) group: the fact compared", i, raw)
        conflict.append(pattern)
    return Element(
        key=key,
        name=texts["name"],
        definition=texts["definition"],
        evidence=texts["evidence"],
        phrases=phrases,
        patterns=tuple(patterns),
        exclude=exclude,
        conflict=tuple(conflict),
    )
