"""Tombstones: what was forgotten on request, kept as salted hashes so the name itself is never stored again.

Keys in the store's ``tombstones`` table: ``salt`` (random, made once) and ``t:{sha256(salt + kind + name)}``
for each forgotten domain (``kind`` ``domain``) or e-mail address (``person``), valued with when. Checking a
name hashes it the same way; nothing can list the names from the table.
"""

from __future__ import annotations

import hashlib

from engagement.errors import InvalidDomainError
from engagement.models import Meeting, format_utc, utcnow
from engagement.storage.sqlite import KVStore, kept_secret

TOMBSTONES_TABLE = "tombstones"
_SALT = "salt"
_PREFIX = "t:"


class ForgottenError(InvalidDomainError):
    """The account was forgotten on request: no summary of it is made until an admin lifts that."""


class Tombstones:
    """Forgotten domains and addresses; ``store`` is the ``tombstones`` table (SQLite or Redis)."""

    def __init__(self, store: KVStore) -> None:
        self.store = store
        self._salt: str | None = None

    def _key(self, kind: str, name: str) -> str:
        if self._salt is None:
            self._salt = kept_secret(self.store, _SALT, 16)
        digest = hashlib.sha256(f"{self._salt}:{kind}:{name.strip().lower()}".encode()).hexdigest()
        return _PREFIX + digest

    def add(self, kind: str, name: str) -> None:
        self.store.set(self._key(kind, name), {"at": format_utc(utcnow())})

    def lift(self, kind: str, name: str) -> bool:
        """Let ``name`` be summarised and synced again; False when it was not forgotten."""
        return self.store.delete(self._key(kind, name))

    def holds(self, kind: str, name: str) -> bool:
        return self.store.get(self._key(kind, name)) is not None

    def count(self) -> int:
        return self.store.count(_PREFIX)

    def covers(self, meeting: Meeting) -> bool:
        """Whether a meeting had a forgotten person or anyone at a forgotten domain among its invitees."""
        if not self.count():  # the common case: nothing forgotten, one cheap read
            return False
        for invitee in meeting.invitees:
            email = (invitee.email or "").lower()
            if email and (self.holds("person", email) or self.holds("domain", email.rpartition("@")[2])):
                return True
        return False

    def check(self, domain: str) -> None:
        """Refuse a summary of a forgotten domain, saying so and how an admin lifts it."""
        if self.holds("domain", domain):
            raise ForgottenError(
                f"{domain} was forgotten on request, so the app keeps nothing about it. An admin can lift that with "
                f"`python -m engagement forget --lift {domain}`."
            )
