"""Words every layer shares: the one rule for a count and its noun (``1 meeting``, ``6,120 meetings``), for
"the last meeting" and "1 other", for a length of time and for dates (``17 Sep 2026``).

It sits at the bottom with ``models`` and ``errors`` so the packages that word messages (the Fathom
client, the analysers, the signals, the job service) need not import ``render``, which imports them.
``engagement.render.present`` re-exports these for the pages and exports. No message writes an ISO date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

__all__ = ["how_long", "joined", "last_meetings", "nice_date", "nice_time", "others", "plural"]


def plural(n: float, word: str, many: str | None = None) -> str:
    """``1 meeting``, ``6,120 meetings``, ``2.5 hours`` (``many`` for irregular plurals: ``analysis``/``analyses``)."""
    count = f"{n:g}" if isinstance(n, float) else f"{n:,}"
    return f"{count} {word}" if n == 1 else f"{count} {many or word + 's'}"


def others(n: int) -> str:
    """``1 other``, ``3 others``."""
    return plural(n, "other")


def joined(items: list[str], last: str = "and") -> str:
    """``English``, ``English and French``, ``English, French or German`` (``last`` joins the last two)."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def last_meetings(n: int) -> str:
    """``the last meeting``, ``the last 3 meetings``."""
    return "the last meeting" if n == 1 else f"the last {plural(n, 'meeting')}"


def how_long(seconds: float) -> str:
    """``45 seconds``, ``2 minutes``, ``3 hours``: a length of time as people say it (rounded down)."""
    whole = int(max(0.0, seconds))
    if whole < 120:
        return plural(whole, "second")
    if whole < 2 * 3600:
        return plural(whole // 60, "minute")
    if whole < 2 * 86400:
        return plural(whole // 3600, "hour")
    return plural(whole // 86400, "day")


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
    """A moment the way the page writes dates: ``4 May 2026, 14:05 UTC`` (an ISO string or an aware datetime); a
    date alone (``2026-09-17``) is written as the date."""
    if value is None or value == "":
        return "never"
    if isinstance(value, str):
        if len(value.strip()) == 10:
            return nice_date(value)
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return " ".join(value.split())
    else:
        moment = value
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return f"{nice_date(moment)}, {moment:%H:%M} UTC"
