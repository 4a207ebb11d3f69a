"""When digests are due: daily or weekly (Mondays) at a time of day in a time zone. Pure: ``now`` is a parameter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engagement.errors import SettingsError

__all__ = ["Schedule", "parse_schedule"]

KINDS = ("daily", "weekly")


@dataclass(frozen=True)
class Schedule:
    """A digest schedule.

    Attributes:
        kind: ``daily`` or ``weekly`` (sent on Mondays).
        at: the local time of day it is sent.
        zone: the time zone of ``at`` (so 08:00 stays 08:00 across daylight saving).
    """

    kind: str
    at: time
    zone: ZoneInfo

    @property
    def length(self) -> timedelta:
        return timedelta(days=7 if self.kind == "weekly" else 1)

    def latest_period(self, now: datetime) -> tuple[datetime, datetime]:
        """The most recent period that has ended by ``now``: ``[start, end)`` in UTC, ``end`` the last send time."""
        local = now.astimezone(self.zone)
        end = datetime.combine(local.date(), self.at, tzinfo=self.zone)
        if end > local:
            end -= timedelta(days=1)
        if self.kind == "weekly":
            end -= timedelta(days=end.weekday())  # back to Monday
        start = datetime.combine((end - self.length).date(), self.at, tzinfo=self.zone)
        return start.astimezone(UTC), end.astimezone(UTC)


def parse_schedule(kind: str, at: str, zone: str) -> Schedule | None:
    """The schedule the settings describe (``DIGEST_SCHEDULE``, ``DIGEST_TIME``, ``DIGEST_TIMEZONE``); None when
    ``kind`` is empty (no scheduled digest). ``SettingsError`` naming the setting for anything unusable."""
    kind = kind.strip().lower()
    if not kind:
        return None
    if kind not in KINDS:
        raise SettingsError(f"DIGEST_SCHEDULE must be daily or weekly (or empty for none), not {kind!r}.")
    try:
        hour, minute = (int(part) for part in at.strip().split(":"))
        when = time(hour, minute)
    except ValueError:
        raise SettingsError(f"DIGEST_TIME must be a time of day such as 08:00, not {at!r}.") from None
    try:
        tz = ZoneInfo(zone.strip() or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"DIGEST_TIMEZONE must be a time zone such as Europe/London, not {zone!r}.") from None
    return Schedule(kind=kind, at=when, zone=tz)
