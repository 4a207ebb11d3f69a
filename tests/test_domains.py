"""normalize_domain: what a person types becomes a registrable domain, or a message that says what to type."""

from __future__ import annotations

import pytest

from engagement.account.domains import (
    company_domain,
    display_domain,
    domain_variants,
    email_at_domain,
    lookalike_warning,
    normalize_domain,
    our_domains,
    parse_domains,
    registrable_domain,
)
from engagement.errors import InvalidDomainError

ACCEPTED = [
    ("https://www.acmecorp.com", "acmecorp.com"),
    ("acmecorp.com", "acmecorp.com"),
    ("ACMECORP.COM", "acmecorp.com"),
    ("www.acmecorp.com", "acmecorp.com"),
    ("http://acmecorp.com/", "acmecorp.com"),
    ("https://shop.eu.acmecorp.com/pricing?ref=ad#top", "acmecorp.com"),
    ("https://acmecorp.com:8443/login", "acmecorp.com"),
    ("acmecorp.com:8080/path", "acmecorp.com"),
    ("acmecorp.com/about", "acmecorp.com"),
    ("acmecorp.com.", "acmecorp.com"),
    ("  https://www.acmecorp.com  ", "acmecorp.com"),
    ("https://user:secret@app.acmecorp.com/", "acmecorp.com"),
    ("jane.doe@AcmeCorp.com", "acmecorp.com"),
    ("Jane.Doe@eu.acmecorp.com", "acmecorp.com"),
    ("https://www.brightwater.co.uk/about", "brightwater.co.uk"),
    ("brightwater.co.uk", "brightwater.co.uk"),
    ("globex.io", "globex.io"),
    ("münchen.de", "xn--mnchen-3ya.de"),
    ("https://www.MÜNCHEN.de/", "xn--mnchen-3ya.de"),
    ("xn--mnchen-3ya.de", "xn--mnchen-3ya.de"),
    ("my-company.com", "my-company.com"),
]

REJECTED = [
    ("", "empty"),
    ("   ", "empty"),
    ("1.2.3.4", "IP address"),
    ("http://192.168.0.10/admin", "IP address"),
    ("http://[::1]:8501/", "IP address"),
    ("localhost", "localhost"),
    ("http://localhost:8501", "localhost"),
    ("co.uk", "public suffix"),
    ("com", "no ending"),
    ("acme", "no ending"),
    ("acme corp.com", "spaces"),
    ("acme:corp", "':'"),
    ("engagement:acme.com", "':'"),
    ("acme.com:notaport", "':'"),
    ("a" * 64 + ".com", "63 characters"),
    (("abcdefghij." * 25) + "com", "253 characters"),
    ("acme_corp.com", "characters"),
    ("acme!.com", "characters"),
    ("-acme.com", "characters"),
    ("@acmecorp.com", "nothing before the @"),
    ("https://", "no domain"),
    ("acme.notarealtld", "public suffix"),
    ("x" * 3000, "too long"),
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED)
def test_accepted_inputs_become_the_registrable_domain(text: str, expected: str) -> None:
    """Websites, URLs, e-mails and IDNs normalise to one lower-case ASCII registrable domain."""
    assert normalize_domain(text) == expected


@pytest.mark.parametrize(("text", "why"), REJECTED)
def test_rejected_inputs_say_why_and_what_to_type(text: str, why: str) -> None:
    """Bad input raises InvalidDomainError naming the problem and showing an example to type."""
    with pytest.raises(InvalidDomainError) as info:
        normalize_domain(text)
    message = str(info.value)
    assert why in message
    assert "acmecorp.com" in message


def test_normalized_domains_never_contain_a_colon() -> None:
    """The key scheme engagement:{domain}:{run_id} cannot be broken by any accepted input."""
    for text, _ in ACCEPTED:
        assert ":" not in normalize_domain(text)


def test_email_matching_folds_case_and_subdomains_but_not_lookalikes() -> None:
    """An e-mail is at the domain regardless of case or subdomain; acmecorp.co is not acmecorp.com."""
    assert email_at_domain("Sarah.Lopez@AcmeCorp.com", "acmecorp.com")
    assert email_at_domain("ops@eu.acmecorp.com", "acmecorp.com")
    assert not email_at_domain("sales@acmecorp.co", "acmecorp.com")
    assert not email_at_domain("acmecorp.com@gmail.com", "acmecorp.com")
    assert not email_at_domain(None, "acmecorp.com")
    assert not email_at_domain("not-an-email", "acmecorp.com")


def test_registrable_domain_returns_none_instead_of_raising() -> None:
    """Data (not input) that is not a domain yields None."""
    assert registrable_domain("mail.brightwater.co.uk") == "brightwater.co.uk"
    assert registrable_domain("localhost") is None
    assert registrable_domain(None) is None


def test_internationalised_domains_have_both_spellings_for_the_fathom_filter() -> None:
    """The server-side filter gets the ASCII and the Unicode form; people read the Unicode one."""
    assert domain_variants("xn--mnchen-3ya.de") == ["xn--mnchen-3ya.de", "münchen.de"]
    assert domain_variants("acmecorp.com") == ["acmecorp.com"]
    assert display_domain("xn--mnchen-3ya.de") == "münchen.de"


def test_the_public_suffix_list_is_never_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    """tldextract works from its bundled snapshot: any network access fails the test."""
    import socket

    import engagement.account.domains as domains

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("normalize_domain tried to reach the network")

    domains._extractor.cache_clear()
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    assert normalize_domain("https://www.example.co.uk") == "example.co.uk"


@pytest.mark.parametrize(
    "text", ["аcmecorp.com", "https://www.аcmecorp.com/", "sales@аcmecorp.com", "xn--cmecorp-2ve.com"]
)
def test_a_look_alike_that_mixes_alphabets_is_refused(text: str) -> None:
    """A Cyrillic а inside a Latin name (or its punycode) is refused, never shown as acmecorp.com."""
    with pytest.raises(InvalidDomainError) as info:
        normalize_domain(text)
    assert "Type" in str(info.value)


@pytest.mark.parametrize(
    ("text", "domain"), [("пример.рф", "xn--e1afmkfd.xn--p1ai"), ("日本語テスト.jp", "xn--zckzah9945czlbtz6h.jp")]
)
def test_names_in_one_alphabet_or_one_language_are_accepted(text: str, domain: str) -> None:
    """All-Cyrillic names and Japanese names (kanji with kana) are real domains and stay accepted."""
    assert normalize_domain(text) == domain


@pytest.mark.parametrize("text", ["gmail.com", "https://mail.google.com.gmail.com", "jane@outlook.com", "YAHOO.co.uk"])
def test_a_personal_mailbox_is_not_a_company(text: str) -> None:
    """A personal mailbox domain (the people classification's list) is refused as a customer, with what to type."""
    with pytest.raises(InvalidDomainError, match="personal e-mail provider, not a company.*customer's own website"):
        company_domain(text)
    assert company_domain("https://www.acmecorp.com") == "acmecorp.com"


# ---------------------------------------------------------------- our own domains, look-alikes


def test_our_own_domain_is_refused_with_why() -> None:
    """A domain of ours is refused as a customer, the message saying why it is ours and what to type."""
    ours = our_domains(["signalpath.io", "gmail.com"], ["signalpath.co.uk"])
    assert set(ours) == {"signalpath.io", "signalpath.co.uk"}, "a personal mailbox provider is never ours"
    with pytest.raises(InvalidDomainError) as caught:
        company_domain("https://www.SignalPath.io/about", ours)
    assert str(caught.value).startswith("signalpath.io is our own domain (the people who record our Fathom meetings")
    assert "not a customer's" in str(caught.value) and "Type the customer's website" in str(caught.value)
    with pytest.raises(InvalidDomainError, match="listed in ENGAGEMENT_OUR_DOMAINS"):
        company_domain("signalpath.co.uk", ours)
    assert company_domain("acmecorp.com", ours) == "acmecorp.com"


def test_the_setting_lists_domains_in_any_form_and_refuses_one_that_is_not() -> None:
    """ENGAGEMENT_OUR_DOMAINS takes websites, bare domains and commas or spaces; a bad entry is named."""
    assert parse_domains("https://www.SignalPath.io, signalpath.co.uk  sp-labs.com,") == (
        "signalpath.io",
        "signalpath.co.uk",
        "sp-labs.com",
    )
    with pytest.raises(InvalidDomainError, match="'signalpath' is not a domain"):
        parse_domains("signalpath.io, signalpath")


def test_an_all_cyrillic_look_alike_is_shown_with_its_punycode_and_a_warning() -> None:
    """xn--80ak6aa92e.com is shown as 'аррӏе.com (xn--80ak6aa92e.com)' with a warning that it reads as 'apple'."""
    assert display_domain("xn--80ak6aa92e.com") == "аррӏе.com (xn--80ak6aa92e.com)"
    warning = lookalike_warning("xn--80ak6aa92e.com")
    assert warning is not None and "Cyrillic letters that look like the Latin 'apple'" in warning


@pytest.mark.parametrize(
    ("domain", "shown"),
    [
        ("xn--mnchen-3ya.de", "münchen.de"),  # Latin with an accent: no punycode, no warning
        ("xn--e1afmkfd.xn--p1ai", "пример.рф (xn--e1afmkfd.xn--p1ai)"),  # Cyrillic that reads as no Latin word
        ("acmecorp.com", "acmecorp.com"),
    ],
)
def test_names_that_do_not_imitate_latin_get_no_warning(domain: str, shown: str) -> None:
    """Only a name whose every letter reads as a Latin one is warned about; non-Latin names still show punycode."""
    assert display_domain(domain) == shown
    assert lookalike_warning(domain) is None


def test_a_bad_entry_of_the_setting_stops_the_app_at_start_naming_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """ENGAGEMENT_OUR_DOMAINS with an entry that is not a domain: SettingsError naming the variable and the entry."""
    from engagement.errors import SettingsError
    from engagement.runtime import create_runtime
    from engagement.settings import Settings

    settings = Settings.from_env(
        {"ENGAGEMENT_OUR_DOMAINS": "signalpath.io, signalpath", "ENGAGEMENT_DB": str(tmp_path / "e.sqlite")}
    )
    with pytest.raises(SettingsError, match="ENGAGEMENT_OUR_DOMAINS: 'signalpath' is not a domain"):
        create_runtime(settings)
