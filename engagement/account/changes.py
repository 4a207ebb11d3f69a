"""What changed since the last run: the new meetings, people, themes, risks and signals (no model call)."""

from __future__ import annotations

from engagement.account.domains import Account
from engagement.account.facts import customer_people
from engagement.account.people import normalize_name
from engagement.account.signals import signal_id
from engagement.models import Changes, EngagementSummary, JobRecord, format_utc

__all__ = ["changes_since"]


def _new_texts(now: list[str], before: list[str]) -> list[str]:
    seen = {normalize_name(text) for text in before}
    return [text for text in now if normalize_name(text) not in seen]


def changes_since(previous: JobRecord, current: EngagementSummary) -> Changes | None:
    """``current`` against ``previous`` (a complete run of the same domain and options), in ids and names.

    * ``new_meetings``: recording ids not in the previous run, newest first.
    * ``new_people`` / ``people_not_seen_since``: customer people (by identity key) not in the
      previous run; and, when there are new meetings, the customer people of the previous run's
      latest meeting who took part in none of them.
    * ``new_themes`` / ``new_risks``: topics and risks whose wording (normalised) is new.
    * ``new_signals`` / ``resolved_signals``: signal ids (:func:`signal_id`) raised now and not
      then, and raised then and not now — unless the rule could not be judged now (its data is
      missing: unknown is not resolved).

    ``None`` when the previous run has no summary, or covered other domains (a link or an unlink since: the
    other domain's meetings and people are not new, and the comparison would say they were).
    """
    before = previous.summary
    if before is None or set(Account.of_summary(before).domains) != set(Account.of_summary(current).domains):
        return None
    old_meetings = {ref.recording_id for ref in before.meetings}
    new_refs = [ref for ref in current.meetings if ref.recording_id not in old_meetings]
    old_people = {person.key for person in before.people}
    customers = customer_people(current.people)
    seen_lately = {name for ref in new_refs for name in ref.customer_people}
    not_seen: list[str] = []
    if new_refs and before.meetings:
        not_seen = [name for name in before.meetings[0].customer_people if name not in seen_lately]
    old_signals = {signal_id(signal) for signal in before.signals}
    now_signals = [signal_id(signal) for signal in current.signals]
    unjudged = {note.kind for note in current.coverage.not_judged} if current.coverage else set()
    return Changes(
        since_run_id=previous.run_id,
        since=format_utc(previous.created_at),
        new_meetings=[ref.recording_id for ref in new_refs],
        new_people=[person.name for person in customers if person.key not in old_people],
        people_not_seen_since=not_seen,
        new_themes=_new_texts([theme.topic for theme in current.themes], [theme.topic for theme in before.themes]),
        new_risks=_new_texts(current.risks, before.risks),
        resolved_signals=sorted(sid for sid in old_signals - set(now_signals) if sid.split(":")[0] not in unjudged),
        new_signals=[sid for sid in dict.fromkeys(now_signals) if sid not in old_signals],
    )
