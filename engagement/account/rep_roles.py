"""Roles a rep set or corrected on the summary page, kept per account and person, and laid over a summary.

A rep knows things the meetings never said ("Ingrid is the CFO"). What they type is kept in its own
table of the store under ``{domain}:{person key}`` (the person's lower-cased e-mail, else their
display name as the facts identify them) and wins over a role read from the meetings. It is shown
as "set by a rep" (``Person.role_source == "rep"``) and used by the signals and the exports the next
time the summary is shown: :func:`with_rep_roles` gives a copy of the record with the roles laid over
and the role-reading signals judged again (the other signals stay as the run computed them). An
empty role clears the rep's, so the meetings' role (or "unknown") shows again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from pydantic import BaseModel

from engagement.account.signals import Thresholds, role_rules_refreshed
from engagement.errors import InvalidRoleError
from engagement.models import EngagementSummary, JobRecord, Person, UTCDateTime, utcnow
from engagement.storage.sqlite import KVStore

__all__ = [
    "MAX_ROLE_CHARS",
    "REP",
    "ROLES_TABLE",
    "RepRole",
    "RepRoles",
    "apply_rep_roles",
    "lay_over",
    "with_rep_roles",
]

ROLES_TABLE = "roles"
MAX_ROLE_CHARS = 80
REP = "rep"  # Person.role_source of a role a rep set


class RepRole(BaseModel):
    """A role a rep set. Attributes: person (the person's key), name (as shown then), role, set_at."""

    person: str
    name: str
    role: str
    set_at: UTCDateTime


def _key(domain: str, person: str) -> str:
    return f"{domain}:{person}"


class RepRoles:
    """The roles reps set, in one table of the store (``store.table(ROLES_TABLE)``)."""

    def __init__(self, table: KVStore) -> None:
        self.table = table

    def for_account(self, domain: str) -> dict[str, RepRole]:
        """Every role set for ``domain``'s people, by person key."""
        return {
            value["person"]: RepRole.model_validate(value)
            for _, value in self.table.items(f"{domain}:")
            if isinstance(value, dict)
        }

    def set(self, summary: EngagementSummary, person_key: str, role: str) -> RepRole | None:
        """Keep ``role`` for one of the summary's people (``""`` clears it); the role kept, or ``None`` when cleared.

        Raises ``InvalidRoleError`` for a person the summary does not hold or a role over ``MAX_ROLE_CHARS``.
        """
        person = next((p for p in summary.people if p.key == person_key), None)
        if person is None or not summary.domain:
            raise InvalidRoleError("That person is not in this summary any more. Reload the page and try again.")
        text = " ".join((role or "").split())  # one line; shown through the renderers' escaping like any data
        if len(text) > MAX_ROLE_CHARS:
            raise InvalidRoleError(f"A role is at most {MAX_ROLE_CHARS} characters: shorten it and save again.")
        key = _key(summary.domain, person.key)
        if not text:
            self.table.delete(key)
            return None
        kept = RepRole(person=person.key, name=person.name, role=text, set_at=utcnow())
        self.table.set(key, kept.model_dump(mode="json"))
        return kept


def lay_over(people: Iterable[Person], roles: Mapping[str, RepRole]) -> None:
    """The reps' roles over the people's own (in place): the rep's words win, with no quote and ``role_source="rep"``."""
    for person in people:
        if (set_by_rep := roles.get(person.key)) is not None:
            person.role, person.role_source, person.role_evidence = set_by_rep.role, REP, []


def apply_rep_roles(
    summary: EngagementSummary, roles: Mapping[str, RepRole], *, today: date, thresholds: Thresholds | None = None
) -> EngagementSummary:
    """A copy of ``summary`` with the reps' roles laid over its people and the role-reading signals judged again."""
    if not roles:
        return summary
    out = summary.model_copy(deep=True)
    lay_over(out.people, roles)
    role_rules_refreshed(out, today=today, thresholds=thresholds)
    return out


def with_rep_roles(record: JobRecord, book: RepRoles, thresholds: Thresholds | None = None) -> JobRecord:
    """The record as it should be shown: the reps' roles over its summary (judged on the day the run ended)."""
    if record.summary is None:
        return record
    roles = book.for_account(record.domain)
    if not roles:
        return record
    day = (record.ended_at or record.updated_at).date()
    summary = apply_rep_roles(record.summary, roles, today=day, thresholds=thresholds)
    return record.model_copy(update={"summary": summary})
