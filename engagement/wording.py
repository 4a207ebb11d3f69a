"""Words every layer shares: the one rule for a count and its noun (``1 meeting``, ``12 meetings``), and for a date.

It sits at the bottom with ``models`` and ``errors`` so the packages that word messages (the Fathom
client, the analysers, the signals) need not import ``render``, which imports them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 meeting``, ``12 meetings`` (``many`` for irregular plurals: ``analysis``/``analyses``)."""
    return f"{n} {word}" if n == 1 else f"{n} {many or word + 's'}"


def nice_date(value: str | date | datetime | None) -> str:
    """``2026-05-04`` → ``4 May 2026``; anything unparseable is returned as it came (or an em dash)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            day = date.fromisoformat(value[:10])
        except ValueError:
            return value
    else:
        day = value
    return f"{day.day} {day:%b %Y}"


def nice_time(value: str | datetime | None) -> str:
    """A moment the way the page writes dates: ``4 May 2026, 14:05 UTC`` (an ISO string or an aware datetime)."""
    if value is None or value == "":
        return "never"
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return " ".join(value.split())
    else:
        moment = value
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return f"{nice_date(moment)}, {moment:%H:%M} UTC"
