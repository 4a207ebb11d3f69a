"""The language of a question against the transcripts': a note when they differ, never a guess.

A question is searched as it is typed, in whatever language; FTS5 finds only the words the turns say,
so a German question about English transcripts finds nothing. The note says so ("The transcripts are
in English; your question looks like German — try asking in English.") instead of a bare "not found".

The question's language comes from py3langid (pinned; its model ships inside the wheel, so nothing
is fetched), restricted to ``LANGUAGES`` so a short question is not given to a rare language. A
language is claimed only when the identifier is sure: a probability of at least ``SURE`` (0.9), or
``SURE_LONG`` (0.6) for a question of ``LONG_WORDS`` words or more — "pricing", "SSO?" or
"Kubernetes" are no language at all, and get no note. The transcripts' languages are Fathom's
``transcript_language``; a transcript without one is unknown, never English: with none known, there
is no note.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any

from engagement.wording import joined

__all__ = ["LANGUAGES", "language_name", "language_note", "question_language"]

# The languages a question is told apart in, by their ISO 639-1 codes, with their English names.
LANGUAGES: dict[str, str] = {
    "ar": "Arabic",
    "cs": "Czech",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "fi": "Finnish",
    "fr": "French",
    "he": "Hebrew",
    "hi": "Hindi",
    "hu": "Hungarian",
    "id": "Indonesian",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "nl": "Dutch",
    "no": "Norwegian",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "sv": "Swedish",
    "th": "Thai",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "vi": "Vietnamese",
    "zh": "Chinese",
}
SURE = 0.9
SURE_LONG = 0.6
LONG_WORDS = 4

_WORDS = re.compile(r"[^\W\d_]+")
_lock = threading.Lock()
_identifier: list[Any] = []  # the model, loaded once a process (2 s, read-only after): nothing to reset


def _identify(text: str) -> tuple[str, float]:
    with _lock:
        if not _identifier:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            identifier.set_languages(sorted(LANGUAGES))
            _identifier.append(identifier)
    code, probability = _identifier[0].classify(text)
    return str(code), float(probability)


def question_language(question: str) -> str | None:
    """The ISO 639-1 code of the language the question is written in, or None when that is not clear."""
    words = _WORDS.findall(question)
    if not words:
        return None
    code, probability = _identify(question)
    needed = SURE_LONG if len(words) >= LONG_WORDS else SURE
    return code if probability >= needed else None


def primary(code: str) -> str:
    """The language of a tag, without its region or script: ``en-US`` → ``en``."""
    return re.split(r"[-_]", code.strip(), maxsplit=1)[0].casefold()


def language_name(code: str) -> str:
    """``de`` → "German"; a code outside ``LANGUAGES`` as Fathom wrote it."""
    return LANGUAGES.get(primary(code)) or f"the language Fathom calls “{code}”"


def language_note(question: str, languages: Sequence[tuple[str, int]]) -> str:
    """A note when the question looks like another language than every transcript's, else "".

    ``languages`` is the searched transcripts by language code (``""``: not known), as
    ``Coverage.languages`` gives them.
    """
    known: dict[str, int] = {}
    unknown = 0
    for code, count in languages:
        if code.strip():
            known[primary(code)] = known.get(primary(code), 0) + count
        else:
            unknown += count
    if not known:
        return ""  # no transcript says its language: nothing to compare with
    asked = question_language(question)
    if asked is None or asked in known:
        return ""
    names = [language_name(code) for code in sorted(known, key=lambda c: (-known[c], c))]
    total = unknown + sum(known.values())
    untold = f" ({unknown} of {total} do not say which)" if unknown else ""
    return (
        f"The transcripts are in {joined(names)}{untold}; your question looks like "
        f"{language_name(asked)} — try asking in {joined(names, 'or')}."
    )
