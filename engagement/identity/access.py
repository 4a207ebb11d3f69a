"""Who may use the app and who is an admin, when people sign in with an identity provider: allow-lists of
e-mail addresses and domains, matched against the provider's verified e-mail."""

from __future__ import annotations

import re
from dataclasses import dataclass

from engagement.errors import SettingsError

_DOMAIN = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)+")


@dataclass(frozen=True)
class AllowList:
    """Addresses (``ann@acme.com``) and whole domains (``acme.com``) that are let in; empty lets nobody in.

    Attributes:
        addresses: lower-cased e-mail addresses.
        domains: lower-cased domains; a domain admits its addresses, not its subdomains'.
    """

    addresses: frozenset[str]
    domains: frozenset[str]

    @classmethod
    def parse(cls, text: str, setting: str) -> AllowList:
        """``"acme.com, ann@x.io"`` (commas or spaces); a malformed entry raises ``SettingsError`` naming it."""
        addresses, domains = set(), set()
        for entry in text.replace(",", " ").split():
            local, _, domain = entry.lower().rpartition("@")  # "acme.com" and "@acme.com" have no local part
            if not _DOMAIN.fullmatch(domain) or "@" in local:
                raise SettingsError(f"{setting}: {entry!r} is neither an e-mail address nor a domain like acme.com.")
            if local:
                addresses.add(f"{local}@{domain}")
            else:
                domains.add(domain)
        return cls(frozenset(addresses), frozenset(domains))

    def __bool__(self) -> bool:
        return bool(self.addresses or self.domains)

    def admits(self, email: str) -> bool:
        email = email.strip().lower()
        local, at, domain = email.rpartition("@")
        return bool(at and local) and (email in self.addresses or domain in self.domains)


def refusal(email: str | None, verified: object, allowed: AllowList) -> str | None:
    """Why a signed-in person may not use the app (None: they may), in words they can act on."""
    if not email:
        return "Your identity provider did not tell us your e-mail address, so we cannot tell who you are."
    if verified is not True:
        return f"Your identity provider has not verified {email}. Verify it there, then sign in again."
    if not allowed:
        return "No one may use this app yet: an administrator has to list your address or domain in ALLOWED_EMAILS."
    if not allowed.admits(email):
        return f"{email} may not use this app. Ask an administrator to add your address or domain to ALLOWED_EMAILS."
    return None
