"""Linked domains: one account of several domains, made and undone by a rep, and the links the app suggests with why."""

from __future__ import annotations

import json

import pytest

from engagement.account.linking import AccountLinks, Suggestion, suggest_links
from engagement.errors import InvalidDomainError
from engagement.storage.sqlite import KVStore
from tests.support.cli import run_cli


def test_linking_makes_one_account_and_every_member_names_it(kv: KVStore) -> None:
    """After link, each member's account is the same list, the primary first; typed forms are normalised."""
    links = AccountLinks(kv)
    assert links.link("https://www.acmecorp.com", ["acmecorp.de", "ACMECORP.co.uk"]) == [
        "acmecorp.com",
        "acmecorp.de",
        "acmecorp.co.uk",
    ]
    assert (
        links.members("acmecorp.de")
        == links.members("acmecorp.com")
        == ["acmecorp.com", "acmecorp.de", "acmecorp.co.uk"]
    )
    assert links.primary_of("acmecorp.co.uk") == "acmecorp.com"
    assert links.members("globex.io") == ["globex.io"]
    assert links.link("acmecorp.com", ["acmecorp.de", "acme.fr"])[-1] == "acme.fr"  # again: no duplicate
    assert links.accounts() == {"acmecorp.com": ["acmecorp.com", "acmecorp.de", "acmecorp.co.uk", "acme.fr"]}


@pytest.mark.parametrize(
    ("primary", "others", "message"),
    [
        ("acmecorp.de", ["globex.io"], "already part of acmecorp.com's account"),
        ("globex.io", ["acmecorp.de"], "in another account"),
        ("globex.io", ["acmecorp.com"], "in another account"),
        ("globex.io", ["globex.io"], "the account itself"),
        ("globex.io", ["gmail.com"], "personal e-mail provider"),
        ("globex.io", [], "at least one other domain"),
    ],
)
def test_a_link_that_would_put_a_domain_in_two_accounts_is_refused(
    kv: KVStore, primary: str, others: list[str], message: str
) -> None:
    """A domain belongs to one account at most; the refusal says what to do and changes nothing."""
    links = AccountLinks(kv)
    links.link("acmecorp.com", ["acmecorp.de"])
    before = links.accounts()
    with pytest.raises(InvalidDomainError, match=message):
        links.link(primary, others)
    assert links.accounts() == before


def test_unlinking_a_member_or_the_primary(kv: KVStore) -> None:
    """Unlinking a member frees it; unlinking the primary, or leaving one domain, dissolves the account."""
    links = AccountLinks(kv)
    links.link("acmecorp.com", ["acmecorp.de", "acmecorp.co.uk"])
    assert links.unlink("acmecorp.de") == ["acmecorp.de"]
    assert links.members("acmecorp.com") == ["acmecorp.com", "acmecorp.co.uk"]
    assert sorted(links.unlink("acmecorp.co.uk")) == ["acmecorp.co.uk", "acmecorp.com"]
    assert links.accounts() == {} and links.members("acmecorp.com") == ["acmecorp.com"]
    links.link("acmecorp.com", ["acmecorp.de", "acmecorp.co.uk"])
    assert sorted(links.unlink("acmecorp.com")) == ["acmecorp.co.uk", "acmecorp.com", "acmecorp.de"]
    assert kv.count() == 0
    with pytest.raises(InvalidDomainError, match="not linked"):
        links.unlink("globex.io")


def test_suggestions_name_their_reasons_and_skip_generic_mailboxes_and_linked_domains() -> None:
    """Same name under another ending, or the same mailbox names at both; info@ alone proves nothing."""
    meetings = {"acmecorp.com": 13, "acmecorp.co": 1, "acme-industries.de": 4, "globex.io": 6, "initech.com": 1}
    emails = {
        "acmecorp.com": {"greg.thompson@acmecorp.com", "info@acmecorp.com"},
        "acme-industries.de": {"greg.thompson@acme-industries.de"},
        "globex.io": {"info@globex.io"},
        "initech.com": {"info@initech.com"},
    }
    assert suggest_links(meetings, emails) == [
        Suggestion(("acmecorp.com", "acme-industries.de"), ("the same people at both: greg.thompson@",)),
        Suggestion(
            ("acmecorp.com", "acmecorp.co"), ("the same name under another ending: acmecorp.com and acmecorp.co",)
        ),
    ]
    assert suggest_links(meetings, emails, linked=["acmecorp.co"]) == [
        Suggestion(("acmecorp.com", "acme-industries.de"), ("the same people at both: greg.thompson@",))
    ]


def test_the_command_line_suggests_links_and_links_and_unlinks(capsys: pytest.CaptureFixture[str]) -> None:
    """On the demo data, suggest offers acmecorp.com + acmecorp.co (same name); link and unlink answer as JSON."""
    code, out, err = run_cli(capsys, "accounts", "suggest", "--json")
    assert code == 0, err
    assert {
        "domains": ["acmecorp.com", "acmecorp.co"],
        "reasons": ["the same name under another ending: acmecorp.com and acmecorp.co"],
    } in json.loads(out)
    code, out, err = run_cli(capsys, "accounts", "link", "acmecorp.com", "acmecorp.co", "--json")
    assert code == 0 and json.loads(out) == {"primary": "acmecorp.com", "domains": ["acmecorp.com", "acmecorp.co"]}
    code, out, _ = run_cli(capsys, "accounts", "suggest", "--json")
    assert all("acmecorp.co" not in s["domains"] for s in json.loads(out))
    code, out, err = run_cli(capsys, "accounts", "link", "globex.io", "acmecorp.co")
    assert code == 2 and "in another account" in err
    code, out, _ = run_cli(capsys, "accounts", "unlink", "acmecorp.co", "--json")
    assert code == 0 and sorted(json.loads(out)["unlinked"]) == ["acmecorp.co", "acmecorp.com"]


def test_the_index_lists_external_emails_by_domain_on_both_storages(
    index_backend: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """emails_by_domain (what suggestions compare) reads the same from SQLite and Redis."""
    for name, value in index_backend.items():
        monkeypatch.setenv(name, value)
    from engagement.jobs.service import InlineExecutor
    from engagement.runtime import create_runtime, workspace_of
    from engagement.settings import Settings

    settings = Settings.from_env()
    runtime = create_runtime(settings, executor=InlineExecutor(), enqueue=False)
    try:
        runtime.reindex(full=True)
        emails = runtime.index.emails_by_domain(workspace_of(settings))
    finally:
        runtime.close()
    assert "greg.thompson@acmecorp.com" in emails["acmecorp.com"]
    assert emails["acmecorp.co"] == {"liam.oconnor@acmecorp.co"}
    assert "signalpath.io" not in emails  # ours: internal invitees are not compared
