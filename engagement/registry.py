"""The process's long-lived objects, one per key, in one place with one reset (stamina keeps its ``CONFIG`` so).

Each capability keeps at most one of a kind of object per key in a process: the job table per SQLite
file (``storage.sqlite.open_store``), the Redis connection pool per URL (``storage.redis.open_redis_store``),
the meeting index per file or URL (``meetings``), the search index per file (``runtime.open_search``),
the Fathom rate limiter per upstream (``fathom.ratelimit``, ``fathom.redis_ratelimit``), the worker's
runtime (``workers``), and what the process learnt of the OpenAI models (``analysis.openai_analyzer``).
They all live in :data:`REGISTRY`, by kind and key, so there is one lock, one list of what a process
holds, and one :meth:`Registry.reset` (an autouse fixture in ``tests/conftest.py`` calls it after every
test: each test starts as a fresh process would).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar, cast

__all__ = ["REGISTRY", "Registry"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class Registry:
    """Objects by ``(kind, key)``: made once on first use, replaced or forgotten on request. Thread-safe.

    ``make`` runs under the registry's lock (re-entrant, so a factory may open what it needs through the
    registry), so two threads asking at once get the same object.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._held: dict[tuple[str, str], object] = {}

    def get(self, kind: str, key: str, make: Callable[[], T]) -> T:
        """The object held for ``(kind, key)``; ``make()`` builds and keeps it the first time."""
        with self._lock:
            held = self._held.get((kind, key))
            if held is None:
                held = self._held[(kind, key)] = make()
            return cast(T, held)

    def find(self, kind: str, key: str) -> object | None:
        """The object held for ``(kind, key)``, or None (nothing is made)."""
        with self._lock:
            return self._held.get((kind, key))

    def put(self, kind: str, key: str, value: object) -> None:
        """Hold ``value`` for ``(kind, key)`` in place of whatever was held (a shared limiter, a test's)."""
        with self._lock:
            self._held[(kind, key)] = value

    def forget(self, kind: str, key: str, value: object | None = None) -> None:
        """Stop holding ``(kind, key)`` (only while it is ``value``, when given: a closed object forgets itself)."""
        with self._lock:
            if value is None or self._held.get((kind, key)) is value:
                self._held.pop((kind, key), None)

    def kinds(self) -> dict[str, int]:
        """How many objects of each kind the process holds (for a log line or a test)."""
        with self._lock:
            counts: dict[str, int] = {}
            for kind, _key in self._held:
                counts[kind] = counts.get(kind, 0) + 1
            return counts

    def reset(self) -> None:
        """Forget everything, closing what can be closed: the process starts afresh (tests, after each one)."""
        with self._lock:
            held, self._held = list(self._held.values()), {}
        for value in held:
            close = getattr(value, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:  # one object that fails to close must not keep the others open
                    log.warning("closing %r on reset failed", value, exc_info=True)


REGISTRY = Registry()
