"""Linked domains: several of a customer's domains made one account (acmecorp.com with acmecorp.de), by a rep,
never on its own; and the links the app can justify suggesting, each with its reason.

Stored in the store's ``account_links`` table: ``account:{primary}`` → ``{"domains": [primary, …]}`` and
``member:{domain}`` → ``{"primary": …}`` for every domain of a linked account. A domain belongs to one account
at most; unlinking the primary dissolves the account.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations

from engagement.account.domains import company_domain, name_label
from engagement.errors import InvalidDomainError
from engagement.storage.sqlite import KVStore

LINKS_TABLE = "account_links"
_ACCOUNT = "account:"
_MEMBER = "member:"
# Mailboxes every company has: the same local part at two domains says nothing about the people.
GENERIC_MAILBOXES = frozenset(
    {"info", "sales", "admin", "support", "hello", "contact", "office", "team", "noreply", "no-reply", "billing"}
)


class AccountLinks:
    """The linked accounts; ``store`` is the ``account_links`` table (SQLite or Redis)."""

    def __init__(self, store: KVStore) -> None:
        self.store = store

    def primary_of(self, domain: str) -> str:
        value = self.store.get(_MEMBER + domain)
        return str(value["primary"]) if isinstance(value, dict) and value.get("primary") else domain

    def members(self, domain: str) -> list[str]:
        """Every domain of ``domain``'s account, the primary first (just ``[domain]`` when it is not linked)."""
        value = self.store.get(_ACCOUNT + self.primary_of(domain))
        return list(value["domains"]) if isinstance(value, dict) and value.get("domains") else [domain]

    def accounts(self) -> dict[str, list[str]]:
        """Every linked account: primary → its domains (the primary first)."""
        return {key.removeprefix(_ACCOUNT): list(value["domains"]) for key, value in self.store.items(_ACCOUNT)}

    def link(self, primary: str, others: Iterable[str], ours: Mapping[str, str] | None = None) -> list[str]:
        """Add ``others`` to ``primary``'s account (made if new); returns its domains. Every name is checked like
        the summary form's (a personal mailbox, or one of ``ours`` — domain → why it is ours —, is refused), and a
        domain already in another account is refused with what to do; a refusal stores nothing."""
        primary = company_domain(primary, ours)
        wanted = [company_domain(d, ours) for d in others]
        if not wanted:
            raise InvalidDomainError("Name at least one other domain to link to " + primary + ".")
        if self.primary_of(primary) != primary:
            raise InvalidDomainError(
                f"{primary} is already part of {self.primary_of(primary)}'s account: link to {self.primary_of(primary)}."
            )
        for domain in wanted:
            held = self.primary_of(domain)
            if (
                domain == primary
                or (held != domain and held != primary)
                or (held == domain and self._is_primary(domain))
            ):
                raise InvalidDomainError(
                    f"{domain} is {'the account itself' if domain == primary else 'in another account'}: "
                    f"unlink it first (`python -m engagement accounts unlink {domain}`)."
                )
        domains = list(dict.fromkeys([*self.members(primary), *wanted]))
        if domains[0] != primary:
            domains.insert(0, primary)
        self.store.set_many(
            {_ACCOUNT + primary: {"domains": domains}, **{_MEMBER + d: {"primary": primary} for d in domains}}
        )
        return domains

    def _is_primary(self, domain: str) -> bool:
        return self.store.get(_ACCOUNT + domain) is not None

    def unlink(self, domain: str) -> list[str]:
        """Take ``domain`` out of its account (the primary: the whole account goes); returns the domains freed."""
        domain = company_domain(domain)
        primary = self.primary_of(domain)
        members = self.members(domain)
        if len(members) < 2:
            raise InvalidDomainError(f"{domain} is not linked to another domain.")
        freed = members if domain == primary else [domain]
        rest = [d for d in members if d not in freed]
        self.store.delete_many([_MEMBER + d for d in freed] + ([_ACCOUNT + primary] if domain == primary else []))
        if len(rest) == 1:  # an account of one domain is no account
            self.store.delete_many([_ACCOUNT + primary, _MEMBER + primary])
            freed.append(primary)
        elif rest:
            self.store.set(_ACCOUNT + primary, {"domains": rest})
        return freed


@dataclass(frozen=True)
class Suggestion:
    """Two domains the app can justify offering to link, and why (the rep decides).

    Attributes:
        domains: the two domains, the one with more meetings first.
        reasons: what justifies it, each a sentence a rep can check.
    """

    domains: tuple[str, str]
    reasons: tuple[str, ...]


def suggest_links(
    meetings_by_domain: Mapping[str, int],
    emails_by_domain: Mapping[str, Iterable[str]],
    linked: Iterable[str] = (),
) -> list[Suggestion]:
    """Pairs of not-yet-linked domains with the same company name under another suffix, or the same people (the
    same mailbox name, not a generic one like info@, at both); most meetings first."""
    done = set(linked)
    locals_of = {
        d: {e.rpartition("@")[0].lower() for e in emails if e.rpartition("@")[0].lower() not in GENERIC_MAILBOXES}
        for d, emails in emails_by_domain.items()
    }
    domains = sorted((d for d in meetings_by_domain if d not in done), key=lambda d: (-meetings_by_domain[d], d))
    out = []
    for a, b in combinations(domains, 2):
        reasons = []
        if name_label(a) == name_label(b):
            reasons.append(f"the same name under another ending: {a} and {b}")
        shared = sorted(locals_of.get(a, set()) & locals_of.get(b, set()))
        if shared:
            people = ", ".join(f"{local}@" for local in shared[:3]) + (" and others" if len(shared) > 3 else "")
            reasons.append(f"the same people at both: {people}")
        if reasons:
            out.append(Suggestion(domains=(a, b), reasons=tuple(reasons)))
    return out
