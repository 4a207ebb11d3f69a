"""Turn what a person types into a company's registrable domain, and match e-mail addresses to it.

Canonical form: lower case, ASCII (internationalised names in their IDNA ``xn--`` form), no
``www.`` or other subdomain, no trailing dot — ``https://www.Acme.co.uk:443/x`` → ``acme.co.uk``.
It is the form e-mail domains take on the wire, so it compares equal to Fathom's ``email_domain``
for ASCII names; for internationalised names :func:`domain_variants` gives both spellings so the
server-side filter finds either. The public-suffix list is tldextract's bundled snapshot: it is
never fetched.

A customer is an :class:`Account`: one domain, or several a rep linked (``engagement.account.linking``), the
primary first; whether an address is the customer's is :meth:`Account.owns`, for every member at once.

Our own domains are not customers (:func:`refuse_ours`): a summary of one would hold our meetings
with every customer. A name written wholly in another alphabet is shown with its ``xn--`` form beside
it (:func:`display_domain`), and :func:`lookalike_warning` says when its letters read as a Latin name.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import idna
import tldextract

from engagement.errors import InvalidDomainError, SettingsError
from engagement.models import EngagementSummary

MAX_INPUT = 2048
MAX_HOST = 253
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_HOST_PORT = re.compile(r"^(?P<host>[^:/?#\s]+):(?P<port>\d{1,5})(?P<rest>[/?#].*)?$")

EXAMPLE = "https://www.acmecorp.com or acmecorp.com"

# Mailbox providers: an address there says nothing about the company a person works for.
# Registrable domains only (what registrable_domain() returns for an address's host).
PERSONAL_EMAIL_DOMAINS: frozenset[str] = frozenset(
    {
        # Google, Microsoft, Yahoo, Apple, AOL
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "outlook.de",
        "outlook.fr",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.de",
        "hotmail.fr",
        "hotmail.it",
        "hotmail.es",
        "live.com",
        "live.co.uk",
        "live.de",
        "live.fr",
        "msn.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.co.jp",
        "yahoo.de",
        "yahoo.fr",
        "yahoo.es",
        "yahoo.it",
        "yahoo.com.br",
        "ymail.com",
        "rocketmail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        # privacy-first and independent providers
        "proton.me",
        "protonmail.com",
        "protonmail.ch",
        "pm.me",
        "tutanota.com",
        "tuta.io",
        "fastmail.com",
        "hey.com",
        "zohomail.com",
        "mail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "gmx.at",
        "gmx.ch",
        # Europe
        "web.de",
        "t-online.de",
        "freenet.de",
        "orange.fr",
        "wanadoo.fr",
        "free.fr",
        "laposte.net",
        "sfr.fr",
        "libero.it",
        "virgilio.it",
        "seznam.cz",
        "wp.pl",
        "o2.pl",
        "onet.pl",
        "interia.pl",
        "btinternet.com",
        "sky.com",
        "virginmedia.com",
        "ziggo.nl",
        "telenet.be",
        "bluewin.ch",
        # Russia and Asia
        "yandex.ru",
        "yandex.com",
        "ya.ru",
        "mail.ru",
        "rambler.ru",
        "qq.com",
        "163.com",
        "126.com",
        "sina.com",
        "naver.com",
        "hanmail.net",
        "daum.net",
        "rediffmail.com",
        # Americas (ISP mailboxes)
        "comcast.net",
        "verizon.net",
        "att.net",
        "sbcglobal.net",
        "cox.net",
        "uol.com.br",
        "bol.com.br",
        "terra.com.br",
    }
)


@lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
    # No URLs and no cache directory: the snapshot bundled with tldextract, never the network.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


def _reject(why: str) -> InvalidDomainError:
    return InvalidDomainError(f"{why} Type a company website such as {EXAMPLE}.")


def _host_of(text: str) -> str:
    """The host part of a URL, bare domain or e-mail address, as typed."""
    if _SCHEME.match(text):
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            raise _reject("That web address could not be read.") from None
        return parts.hostname or ""
    if "@" in text and not re.search(r"[/?#]", text.split("@", 1)[0]):
        local, _, host = text.rpartition("@")
        if not local:
            raise _reject("That e-mail address has nothing before the @.")
        return host
    match = _HOST_PORT.match(text)
    if match:
        return match["host"]
    host = re.split(r"[/?#]", text, maxsplit=1)[0]
    if ":" in host:
        raise _reject("A company domain cannot contain ':'.")
    return host


def _ascii_host(host: str) -> str:
    host = host.strip().rstrip(".").lower()
    if not host:
        raise _reject("There is no domain in that text.")
    if host.startswith("[") or _is_ip(host):
        raise _reject("That is an IP address, not a company domain.")
    if any(ch.isspace() for ch in host):
        raise _reject("A domain cannot contain spaces.")
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            raise _reject("That name has characters that cannot be in a domain.") from None
    if len(host) > MAX_HOST:
        raise _reject(f"That domain is longer than {MAX_HOST} characters.")
    labels = host.split(".")
    if not all(_LABEL.match(label) for label in labels):
        if any(len(label) > 63 for label in labels):
            raise _reject("A part of that domain is longer than 63 characters.")
        raise _reject("That name has characters that cannot be in a domain.")
    if "xn--" in host:
        _refuse_mixed_scripts(host)
    return host


# Scripts written together in one language's names (Japanese mixes kanji and kana; Korean hangul and hanja).
_SCRIPT_FAMILY = {"CJK": "CJK", "HIRAGANA": "CJK", "KATAKANA": "CJK", "HANGUL": "CJK", "BOPOMOFO": "CJK"}


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    first = name.split(" ", 1)[0] if name else "UNKNOWN"
    return _SCRIPT_FAMILY.get(first, first)


def _refuse_mixed_scripts(host: str) -> None:
    """Refuse a label that mixes alphabets (``аcmecorp`` with a Cyrillic а): it imitates another name.

    ``host`` is the ASCII form; its ``xn--`` labels are read in Unicode, so the punycode spelling of a
    look-alike is refused too.
    """
    try:
        unicode = idna.decode(host)
    except (idna.IDNAError, UnicodeError):
        raise _reject("That name has characters that cannot be in a domain.") from None
    for label in unicode.split("."):
        scripts = sorted({_script(ch) for ch in label if ch.isalpha()})
        if len(scripts) > 1:
            shown = " and ".join(s.title() for s in scripts)
            raise _reject(
                f"'{label}' mixes letters of different alphabets ({shown}), as look-alike names that imitate "
                "another company's domain do. Type the domain with the letters the company uses."
            )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(re.fullmatch(r"[0-9.]+", host))  # 10.1 and friends: still not a company
    return True


def normalize_domain(text: str) -> str:
    """The registrable domain of a website, URL, bare domain or e-mail address.

    Raises ``InvalidDomainError`` with a message that says what to type instead.
    """
    if text is None or not str(text).strip():
        raise _reject("The website is empty.")
    text = str(text).strip()
    if len(text) > MAX_INPUT:
        raise _reject("That text is too long to be a website.")
    if re.search(r"\s", text):
        raise _reject("A website cannot contain spaces.")
    host = _ascii_host(_host_of(text))
    if host == "localhost" or host.endswith(".localhost"):
        raise _reject("localhost is this computer, not a company.")
    if "." not in host:
        raise _reject(f"'{host}' has no ending such as .com.")
    ext = _extractor()(host)
    if not ext.suffix:
        raise _reject(f"'{host}' does not end in a known public suffix such as .com or .co.uk.")
    if not ext.domain:
        raise _reject(f"'{host}' is a public suffix shared by many companies, not one company.")
    return f"{ext.domain}.{ext.suffix}"


def company_domain(text: str, ours: Mapping[str, str] | None = None) -> str:
    """:func:`normalize_domain` for what a person types as a customer: a personal mailbox is refused, and
    so is one of ``ours`` (our own domains, each with why it is ours: :func:`refuse_ours`).

    ``gmail.com`` is not a company: its meetings would mix people of many companies. The list is the
    one the people classification uses (:data:`PERSONAL_EMAIL_DOMAINS`, kept here so people needs domains and not the reverse).
    """
    domain = normalize_domain(text)
    if domain in PERSONAL_EMAIL_DOMAINS:
        raise InvalidDomainError(
            f"{domain} is a personal e-mail provider, not a company: its meetings would mix people from many "
            "companies. Type the customer's own website, such as acmecorp.com."
        )
    return refuse_ours(domain, ours or {})


def registrable_domain(host_or_email: str | None) -> str | None:
    """Like :func:`normalize_domain`, but ``None`` instead of an error (for data, not input)."""
    if not host_or_email:
        return None
    try:
        return normalize_domain(host_or_email)
    except InvalidDomainError:
        return None


def email_at_domain(email: str | None, domain: str) -> bool:
    """Whether an e-mail address belongs to the company's domain (case and subdomains folded)."""
    if not email or "@" not in email:
        return False
    return registrable_domain(email.rpartition("@")[2]) == domain


@dataclass(frozen=True)
class Account:
    """A customer as one account: its domain, or the several domains a rep linked into one.

    Resolved once (a job's start, a page's request) and passed down, so every decision about the customer's side
    (:meth:`owns`) covers every member at once.

    Attributes:
        domains: registrable domains, the primary first, each once (never empty).
    """

    domains: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.domains:
            raise ValueError("an account has at least one domain")
        object.__setattr__(self, "domains", tuple(dict.fromkeys(self.domains)))

    @classmethod
    def of(cls, domain: str | Iterable[str] | Account) -> Account:
        """An account from one registrable domain (``acmecorp.com``), a list of them (the primary first), or an
        account (returned as it is)."""
        if isinstance(domain, Account):
            return domain
        names = [domain] if isinstance(domain, str) else list(domain)
        return cls(tuple(d.strip().lower() for d in names))

    @classmethod
    def of_summary(cls, summary: EngagementSummary) -> Account:
        """The account a summary covers (a summary from before accounts were linked names its one domain)."""
        return cls.of(summary.domains or summary.domain)

    @property
    def primary(self) -> str:
        """The domain the account's jobs, questions and roles are kept under."""
        return self.domains[0]

    @property
    def others(self) -> tuple[str, ...]:
        return self.domains[1:]

    @property
    def linked(self) -> bool:
        return len(self.domains) > 1

    def owns(self, email: str | None) -> bool:
        """Whether an address is the customer's: at any of the account's domains (case and subdomains folded)."""
        return any(email_at_domain(email, d) for d in self.domains)

    def label(self, show: Callable[[str], str] = str) -> str:
        """``acmecorp.com``, or ``acmecorp.com (with acmecorp.co)`` / ``(with acmecorp.co and acmecorp.de)``; each
        domain written by ``show`` (e.g. :func:`display_domain`)."""
        if not self.others:
            return show(self.primary)
        rest = [show(d) for d in self.others]
        said = rest[0] if len(rest) == 1 else ", ".join(rest[:-1]) + " and " + rest[-1]
        return f"{show(self.primary)} (with {said})"


def domain_variants(domain: str) -> list[str]:
    """The domain as sent to Fathom's exact-match filter: the ASCII form, and the Unicode one if different."""
    variants = [domain]
    if "xn--" in domain:
        try:
            unicode = idna.decode(domain)
        except idna.IDNAError:
            return variants
        if unicode != domain:
            variants.append(unicode)
    return variants


def person_email(text: str) -> str | None:
    """``text`` as one person's e-mail address (lower case), or None when it is not one (a website, a domain)."""
    email = text.strip().lower()
    local, _, domain = email.rpartition("@")
    if not local or "@" in local or any(ch.isspace() for ch in email) or "." not in domain.strip("."):
        return None
    return email


def name_label(domain: str) -> str:
    """The company's name part of a registrable domain: ``acmecorp`` of ``acmecorp.co.uk`` and ``acmecorp.com``."""
    return _extractor()(domain).domain or domain


def _non_latin_labels(domain: str) -> list[str]:
    """The labels of ``domain`` (Unicode) whose letters are all of one alphabet other than Latin."""
    unicode = domain_variants(domain)[-1]
    out = []
    for label in unicode.split("."):
        scripts = {_script(ch) for ch in label if ch.isalpha()}
        if scripts and "LATIN" not in scripts:
            out.append(label)
    return out


def display_domain(domain: str) -> str:
    """The domain as a person reads it: Unicode for internationalised names, with the ``xn--`` form beside a
    name in another alphabet (``аррӏе.com (xn--80ak6aa92e.com)``), so a look-alike cannot pass for a Latin name."""
    unicode = domain_variants(domain)[-1]
    if unicode != domain and _non_latin_labels(domain):
        return f"{unicode} ({domain})"
    return unicode


# Letters of other alphabets that read as Latin ones (lower case; from Unicode's confusables list).
CONFUSABLE_LATIN: dict[str, str] = {
    # Cyrillic
    "а": "a", "в": "b", "с": "c", "ԁ": "d", "е": "e", "һ": "h", "і": "i", "ј": "j", "к": "k", "ӏ": "l",
    "м": "m", "п": "n", "о": "o", "р": "p", "ԛ": "q", "г": "r", "ѕ": "s", "т": "t", "џ": "u", "ѵ": "v",
    "ԝ": "w", "х": "x", "у": "y", "ү": "y", "ь": "b", "ё": "e", "ї": "i", "ӧ": "o",
    # Greek
    "α": "a", "β": "b", "ϲ": "c", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ω": "w",
    # Armenian
    "օ": "o", "ս": "u", "հ": "h", "ո": "n", "ց": "g", "զ": "q",
}  # fmt: skip


def lookalike_warning(domain: str) -> str | None:
    """A warning when a name written in another alphabet reads as a Latin one (``аррӏе.com`` as ``apple.com``)."""
    labels = _non_latin_labels(domain)
    for label in labels:
        letters = [ch for ch in label if ch.isalpha()]
        if letters and all(ch in CONFUSABLE_LATIN for ch in letters):
            latin = "".join(CONFUSABLE_LATIN.get(ch, ch) for ch in label)
            alphabet = _script(letters[0]).title()
            return (
                f"{display_domain(domain)} is written in {alphabet} letters that look like the Latin "
                f"'{latin}'. Make sure it is the customer's own domain and not a look-alike of another company's."
            )
    return None


# ---------------------------------------------------------------- our own domains

OUR_DOMAINS_ENV = "ENGAGEMENT_OUR_DOMAINS"
FROM_FATHOM = "the people who record our Fathom meetings, or whom Fathom marks as internal, have e-mail there"
FROM_SETTING = f"it is listed in {OUR_DOMAINS_ENV}"


def parse_domains(text: str) -> tuple[str, ...]:
    """A list of domains as a setting writes it (commas or spaces between), each normalised; raises
    ``InvalidDomainError`` naming the one that is not a domain."""
    out: list[str] = []
    for part in re.split(r"[,\s]+", text or ""):
        if part:
            try:
                domain = normalize_domain(part)
            except InvalidDomainError as exc:
                raise InvalidDomainError(f"'{part}' is not a domain: {exc}") from None
            if domain not in out:
                out.append(domain)
    return tuple(out)


def setting_domains(text: str) -> tuple[str, ...]:
    """``ENGAGEMENT_OUR_DOMAINS`` as registrable domains; ``SettingsError`` naming an entry that is not a domain."""
    try:
        return parse_domains(text)
    except InvalidDomainError as exc:
        raise SettingsError(f"{OUR_DOMAINS_ENV}: {exc}") from None


def own_domain_message(domain: str, why: str) -> str:
    """Why our own domain is refused as a customer, and what to type instead."""
    return (
        f"{display_domain(domain)} is our own domain ({why}), not a customer's: a summary of it would hold our "
        f"meetings with every customer. Type the customer's website, such as {EXAMPLE}."
    )


def our_domains(from_fathom: Iterable[str], from_setting: Iterable[str]) -> dict[str, str]:
    """Our own domains, each with why it is ours: those Fathom shows as ours (the recorders', invitees marked
    internal; a personal mailbox provider never is) and those of ``ENGAGEMENT_OUR_DOMAINS``."""
    ours = {d: FROM_FATHOM for d in from_fathom if d not in PERSONAL_EMAIL_DOMAINS}
    ours.update({d: FROM_SETTING for d in from_setting})
    return ours


def refuse_ours(domain: str, ours: Mapping[str, str]) -> str:
    """``domain`` when it is not one of ``ours`` (domain → why it is ours); else ``InvalidDomainError`` saying why."""
    why = ours.get(domain)
    if why is not None:
        raise InvalidDomainError(own_domain_message(domain, why))
    return domain
