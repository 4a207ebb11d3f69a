"""Sign-in tokens, their revocation across processes, and the throttle on wrong passwords (engagement.identity)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from engagement.errors import SettingsError
from engagement.identity import (
    LIFETIMES,
    SESSIONS_TABLE,
    AllowList,
    SessionBook,
    SignInThrottle,
    refusal,
    session_secret,
)
from engagement.identity.sessions import FREE_TRIES, MAX_DELAY_S
from engagement.storage.sqlite import KVStore, SqliteKV

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_800_000_000.0


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def book(store: KVStore, secret: str = "s" * 32, clock: Clock | None = None) -> SessionBook:
    return SessionBook(store, secret, clock=clock or Clock())


def test_a_token_is_valid_for_its_scope_and_password_until_it_expires(kv: KVStore) -> None:
    """A token is valid for its scope and password until it expires; other scopes, passwords and secrets refuse it."""
    clock = Clock()
    tokens = book(kv, clock=clock)
    token = tokens.issue("app", "correct horse")
    assert "correct horse" not in token
    clock.now = T0 + 3600
    assert tokens.valid(token, "app", "correct horse")
    assert not tokens.valid(token, "admin", "correct horse")
    assert not tokens.valid(token, "app", "another password")
    assert not book(kv, "t" * 32, clock).valid(token, "app", "correct horse")
    clock.now = T0 + LIFETIMES["app"].total_seconds()
    assert not tokens.valid(token, "app", "correct horse")
    assert LIFETIMES["admin"] < LIFETIMES["app"]


@pytest.mark.parametrize(
    "token",
    [
        "",
        None,
        42,
        "9" * 4301 + "." + "a" * 32 + "." + "b" * 64,  # an expiry Python's int() refuses to parse
        "1900000000." + "a" * 32,  # the old two-part shape
        "1900000000." + "A" * 32 + "." + "b" * 64,  # not our lower-case hex
        "1900000000." + "a" * 32 + "." + "b" * 64 + "\n",
        " 1900000000." + "a" * 32 + "." + "b" * 64,
    ],
)
def test_anything_not_a_token_of_ours_is_simply_signed_out(kv: KVStore, token: object) -> None:
    """Absurd or foreign tokens are not valid and raise nothing, and revoking one does nothing."""
    tokens = book(kv)
    assert tokens.valid(token, "app", "pw") is False
    assert tokens.revoke(token) is False


def test_an_edited_expiry_breaks_the_signature(kv: KVStore) -> None:
    """A token whose expiry was pushed forward by hand is refused."""
    tokens = book(kv)
    expiry, session_id, mac = tokens.issue("app", "pw").split(".")
    assert not tokens.valid(f"{int(expiry) + 9999}.{session_id}.{mac}", "app", "pw")


def test_sign_out_revokes_the_token_for_every_holder_of_the_store(kv: KVStore) -> None:
    """A revoked token is refused by every SessionBook on the same store, its other tokens still work."""
    first, second = book(kv), book(kv)
    token, other = first.issue("app", "pw"), first.issue("app", "pw")
    assert second.valid(token, "app", "pw")
    assert first.revoke(token)
    assert not second.valid(token, "app", "pw") and not first.valid(token, "app", "pw")
    assert second.valid(other, "app", "pw")


def test_revocations_are_forgotten_once_their_tokens_have_expired(kv: KVStore) -> None:
    """Revoking writes one entry per token, and entries past their token's expiry are removed as new ones come."""
    clock = Clock()
    tokens = book(kv, clock=clock)
    tokens.revoke(tokens.issue("admin", "pw"))
    assert len(kv.keys("revoked:")) == 1
    clock.now = T0 + LIFETIMES["admin"].total_seconds() + 1
    tokens.revoke(tokens.issue("app", "pw"))
    assert len(kv.keys("revoked:")) == 1


def test_without_a_configured_secret_the_stores_is_made_once_and_shared(kv: KVStore) -> None:
    """With no SESSION_SECRET every process uses the one secret kept in the store; a configured one wins."""
    made = session_secret("", kv)
    assert len(made) == 32 and session_secret("", kv) == made
    assert session_secret("from settings", kv) == b"from settings"
    token = book(kv, secret="").issue("app", "pw")
    assert book(kv, secret="").valid(token, "app", "pw")


SCRIPT = """
import sys
from engagement.identity import SESSIONS_TABLE, SessionBook
from engagement.storage.sqlite import SqliteKV
store = SqliteKV(sys.argv[1]).table(SESSIONS_TABLE)
tokens = SessionBook(store)
action, token = sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else ""
if action == "issue":
    print(tokens.issue("app", "pw"))
elif action == "check":
    print(tokens.valid(token, "app", "pw"))
else:
    print(tokens.revoke(token))
store.close()
"""


def _process(db: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(db), *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_two_app_processes_agree_on_a_token_and_on_its_revocation(tmp_path: Path) -> None:
    """A token issued by one process is accepted by another on the same file, until a third revokes it."""
    db = tmp_path / "engagement.sqlite"
    token = _process(db, "issue")
    assert _process(db, "check", token) == "True"
    assert _process(db, "revoke", token) == "True"
    assert _process(db, "check", token) == "False"


def test_wrong_passwords_wait_longer_and_longer_and_a_right_one_resets(tmp_path: Path) -> None:
    """After the free tries each wrong password doubles the wait, up to a cap; another client is not slowed."""
    store = SqliteKV(tmp_path / "kv.sqlite").table(SESSIONS_TABLE)
    clock = Clock()
    throttle = SignInThrottle(store, clock=clock)
    for _ in range(FREE_TRIES):
        assert throttle.wait_s("10.0.0.1") == 0
        throttle.failed("10.0.0.1")
    waits = []
    for _ in range(4):
        waits.append(throttle.wait_s("10.0.0.1"))
        clock.now += waits[-1]
        assert throttle.wait_s("10.0.0.1") == 0
        throttle.failed("10.0.0.1")
    assert waits == [1.0, 2.0, 4.0, 8.0]
    assert throttle.wait_s("10.0.0.2") == 0
    for _ in range(20):
        throttle.failed("10.0.0.1")
    assert throttle.wait_s("10.0.0.1") == MAX_DELAY_S
    throttle.succeeded("10.0.0.1")
    assert throttle.wait_s("10.0.0.1") == 0
    assert all("10.0.0" not in key for key in store.keys())  # addresses are kept hashed
    store.close()


@pytest.mark.parametrize(
    ("allowed", "email", "admitted"),
    [
        ("acme.com", "ann@acme.com", True),
        ("acme.com", "Ann@ACME.com", True),
        ("@acme.com", "ann@acme.com", True),
        ("acme.com", "ann@eu.acme.com", False),  # a domain admits its own addresses, not its subdomains'
        ("acme.com", "ann@notacme.com", False),
        ("ann@x.io, acme.com", "ann@x.io", True),
        ("ann@x.io", "bob@x.io", False),
        ("acme.com", "acme.com", False),  # not an address
        ("", "ann@acme.com", False),
    ],
)
def test_an_allow_list_admits_listed_addresses_and_domains_only(allowed: str, email: str, admitted: bool) -> None:
    """Addresses match exactly, domains match their own addresses, case does not matter, empty admits nobody."""
    assert AllowList.parse(allowed, "ALLOWED_EMAILS").admits(email) is admitted


@pytest.mark.parametrize("entry", ["acme", "ann@", "a@b@c.com", "acme..com", "http://acme.com"])
def test_a_malformed_allow_list_entry_is_refused_by_name(entry: str) -> None:
    """A mistake in ALLOWED_EMAILS is a settings error naming the entry, not a silent hole or lock-out."""
    with pytest.raises(SettingsError, match=re.escape(repr(entry))):
        AllowList.parse(f"ok.com, {entry}", "ALLOWED_EMAILS")


@pytest.mark.parametrize(
    ("email", "verified", "allowed", "reason"),
    [
        ("ann@acme.com", True, "acme.com", None),
        (None, True, "acme.com", "did not tell us your e-mail"),
        ("ann@acme.com", False, "acme.com", "has not verified ann@acme.com"),
        ("ann@acme.com", None, "acme.com", "has not verified"),  # no claim is not a yes
        ("ann@acme.com", "true", "acme.com", "has not verified"),  # nor is a string
        ("ann@acme.com", True, "", "No one may use this app yet"),
        ("eve@evil.example", True, "acme.com", "eve@evil.example may not use this app"),
    ],
)
def test_a_signed_in_person_is_refused_only_with_a_reason_they_can_act_on(
    email: str | None, verified: object, allowed: str, reason: str | None
) -> None:
    """Who may use the app: a verified address on the allow-list; every refusal says what to do."""
    why = refusal(email, verified, AllowList.parse(allowed, "ALLOWED_EMAILS"))
    assert why is None if reason is None else why is not None and reason in why
