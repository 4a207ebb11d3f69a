"""Sign-in tokens (``{expiry}.{session id}.{hmac}``) checked the same on every app process, revoked on sign-out,
and a growing delay after wrong passwords.

The HMAC key comes from ``SESSION_SECRET`` or, when that is unset, from a random secret kept in the store's
``sessions`` table (made by the first process that needs it), so a token issued by one app process behind a
load balancer is accepted by the next, and a restart no longer signs everyone out. The password is part of the
key: changing it signs everyone out, and a token never reveals it. Sign-out writes the token's session id to
the store until the token would have expired, so a copied cookie stops working everywhere at once. A token
that is not exactly the shape we issue (wrong length, a 4,301-digit expiry, foreign characters) is simply not
signed in: nothing is parsed beyond the pattern.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from engagement.storage.sqlite import KVStore, kept_secret

SESSIONS_TABLE = "sessions"
LIFETIMES = {"app": timedelta(hours=12), "admin": timedelta(minutes=30)}  # the admin's is shorter
_SIGNER = "signer"  # the key under which the store keeps the signing secret
_REVOKED = "revoked:"
_FAILURES = "failures:"
_TOKEN = re.compile(r"(\d{10,12})\.([0-9a-f]{32})\.([0-9a-f]{64})")
# Wrong passwords: the first few are free (typos), then each waits twice as long as the last, up to 5 minutes.
FREE_TRIES = 3
MAX_DELAY_S = 300.0


def session_secret(configured: str, store: KVStore) -> bytes:
    """The key material of every token: ``SESSION_SECRET`` when set, else the store's (made once, then shared; a
    token made while two processes first race for it is refused once, and its user signs in again)."""
    if configured:
        return configured.encode()
    return bytes.fromhex(kept_secret(store, _SIGNER, 32))


class SessionBook:
    """Issues, checks and revokes sign-in tokens; ``store`` is the ``sessions`` table (SQLite or Redis)."""

    def __init__(self, store: KVStore, configured_secret: str = "", *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.configured_secret = configured_secret
        self.clock = clock
        self._secret: bytes | None = None

    @property
    def secret(self) -> bytes:
        if self._secret is None:  # read on first use: a page that shows no gate never touches the store for it
            self._secret = session_secret(self.configured_secret, self.store)
        return self._secret

    def _mac(self, scope: str, password: str, expiry: int, session_id: str) -> str:
        key = hmac.new(self.secret, f"engagement-summary:{scope}:{password}".encode(), hashlib.sha256).digest()
        return hmac.new(key, f"{scope}:{expiry}:{session_id}".encode(), hashlib.sha256).hexdigest()

    def issue(self, scope: str, password: str) -> str:
        """A token proving the password of ``scope`` was entered, valid for the scope's lifetime."""
        expiry = int(self.clock() + LIFETIMES[scope].total_seconds())
        session_id = secrets.token_hex(16)
        return f"{expiry}.{session_id}.{self._mac(scope, password, expiry, session_id)}"

    def expiry(self, token: str) -> int:
        """When a token of ours expires (epoch seconds); 0 for anything else."""
        match = _TOKEN.fullmatch(token)
        return int(match.group(1)) if match else 0

    def valid(self, token: object, scope: str, password: str) -> bool:
        """Whether ``token`` was issued for ``scope`` and the current password, has not expired nor been revoked."""
        if not isinstance(token, str) or not (match := _TOKEN.fullmatch(token)):
            return False
        expiry, session_id, mac = int(match.group(1)), match.group(2), match.group(3)
        if expiry <= self.clock() or not hmac.compare_digest(mac, self._mac(scope, password, expiry, session_id)):
            return False
        return self.store.get(_REVOKED + session_id) is None

    def revoke(self, token: object) -> bool:
        """End a token everywhere (until it would have expired anyway); False for anything not a token of ours."""
        if not isinstance(token, str) or not (match := _TOKEN.fullmatch(token)):
            return False
        now = self.clock()
        expired = [key for key, value in self.store.items(_REVOKED) if _number(value, "until") <= now]
        if expired:  # revocations outlive their tokens by nothing: tidy them as new ones are written
            self.store.delete_many(expired)
        self.store.set(_REVOKED + match.group(2), {"until": int(match.group(1))})
        return True


def _number(value: Any, field: str) -> float:
    try:
        return float(value[field])
    except (TypeError, KeyError, ValueError):
        return 0.0


class SignInThrottle:
    """Wrong passwords per client: after ``FREE_TRIES`` misses, each try waits twice as long as the last.

    ``client`` is whatever tells clients apart (the connection's address); the count is kept in the store,
    so every app process sees it, and ends with a right password or after ``MAX_DELAY_S`` of quiet.
    """

    def __init__(self, store: KVStore, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    def _state(self, client: str) -> tuple[int, float]:
        value = self.store.get(_FAILURES + _client_key(client))
        return int(_number(value, "count")), _number(value, "last")

    def wait_s(self, client: str) -> float:
        """Seconds before ``client`` may try a password again (0: now)."""
        count, last = self._state(client)
        if count < FREE_TRIES:
            return 0.0
        delay = min(MAX_DELAY_S, 2.0 ** (count - FREE_TRIES))
        return max(0.0, last + delay - self.clock())

    def failed(self, client: str) -> None:
        count, last = self._state(client)
        now = self.clock()
        if now - last > MAX_DELAY_S * 2:  # a long quiet starts the count again
            count = 0
        self.store.set(_FAILURES + _client_key(client), {"count": count + 1, "last": now})

    def succeeded(self, client: str) -> None:
        self.store.delete(_FAILURES + _client_key(client))


def _client_key(client: str) -> str:
    # An address is personal data: keep a hash of it, enough to tell clients apart.
    return hashlib.sha256(client.encode()).hexdigest()[:32]
