"""Small formatters of times for the pages; ``md``, ``plural`` and the date formats come from ``engagement.render.present``."""

from __future__ import annotations

from datetime import datetime, timedelta

from engagement.models import utcnow
from engagement.render.present import md, month_year, nice_date, nice_time, plural

__all__ = ["ago", "duration", "md", "month_year", "nice_date", "nice_time", "plural"]


def ago(moment: datetime, now: datetime | None = None) -> str:
    """How long ago, the way people say it: ``just now``, ``12 minutes ago``, ``yesterday``, ``4 May 2026``."""
    seconds = ((now or utcnow()) - moment).total_seconds()
    if seconds < 45:
        return "just now"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{plural(minutes, 'minute')} ago"
    hours = round(seconds / 3600)
    if hours < 24:
        return f"{plural(hours, 'hour')} ago"
    days = int(seconds // 86400)
    if days == 1:
        return "yesterday"
    if days < 14:
        return f"{days} days ago"
    return nice_date(moment.date())


def duration(seconds: float | timedelta | None) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``."""
    if seconds is None:
        return "—"
    if isinstance(seconds, timedelta):
        seconds = seconds.total_seconds()
    total = max(0, int(round(seconds)))
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
