"""Deadlines: a total time limit on every upstream call, and on the job that makes it.

httpx's timeouts (and the OpenAI SDK's, which are httpx's) bound each socket operation, not a
request: a server that drips one byte every few seconds keeps a request alive for ever.
``DeadlineTransport`` wraps a transport so that one request — connecting, sending, waiting and
reading the whole body — ends by ``total_s`` or by the job's ``Deadline``, whichever comes first;
and a wait before a request (the rate limit, a back-off) that would reach the deadline is not begun
(``Deadline.check_wait``).
The request runs in a helper thread; the caller waits for it at most that long, then shuts the
request's socket (so the helper ends too) and raises: ``ReadTimeout`` when only the call's own
limit ran out (the client may retry), ``JobTimeoutError`` when the job's did (no retry helps).
It works for ``httpx`` (Fathom) and ``httpx2`` (the OpenAI SDK): pass the module as ``http``.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import httpx

from engagement.errors import JobTimeoutError

__all__ = ["Deadline", "DeadlineTransport"]


@dataclass(frozen=True)
class Deadline:
    """A moment (on the monotonic clock) by which work must end; ``at=None`` is no limit.

    Attributes:
        at: ``time.monotonic()`` value of the deadline, or None.
    """

    at: float | None = None

    @classmethod
    def after(cls, seconds: float | None) -> Deadline:
        return cls(None if seconds is None else time.monotonic() + seconds)

    def remaining(self) -> float | None:
        """Seconds left (never below zero), or None without a limit."""
        return None if self.at is None else max(0.0, self.at - time.monotonic())

    @property
    def expired(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    def check_wait(self, seconds: float, until: str) -> None:
        """Raise ``JobTimeoutError`` when a wait of ``seconds`` (for ``until`` to happen) would reach the deadline.

        A wait that cannot end before the job's limit is not begun: the job ends now, with the time-out
        every deadline gives, and its worker is free at once. Every wait of a job's upstream calls (the
        rate limit, the back-off between tries) asks here.
        """
        left = self.remaining()
        if left is not None and seconds >= left:
            raise self.reached(f"would run out before {until} (in {seconds:.0f} s; {left:.0f} s are left)")

    def reached(self, what: str) -> JobTimeoutError:
        """The error of work stopped by this deadline (``what``: "ran out while waiting for an upstream answer").

        Every stop by a job's deadline is this one exception; the job runner gives each the job's
        time-out message, so the page says the same whichever wait or request the deadline cut short.
        """
        return JobTimeoutError(f"The job's time limit {what}.")


NO_DEADLINE = Deadline()


class DeadlineTransport:
    """A transport that ends each request by ``total_s`` or ``deadline``, whichever is sooner.

    Attributes:
        inner: the transport that does the work (``HTTPTransport``, ``MockTransport``, ...).
        total_s: the longest one request may take, all of it.
        deadline: the job's deadline (``NO_DEADLINE`` outside a job).
    """

    def __init__(
        self, inner: Any, *, total_s: float, deadline: Deadline = NO_DEADLINE, http: ModuleType = httpx
    ) -> None:
        self.inner = inner
        self.total_s = total_s
        self.deadline = deadline
        self.http = http

    def _limit(self) -> tuple[float, bool]:
        """Seconds this request may take, and whether the job's deadline is what limits it."""
        left = self.deadline.remaining()
        if left is not None and left <= self.total_s:
            return left, True
        return self.total_s, False

    def handle_request(self, request: Any) -> Any:
        limit, by_job = self._limit()
        if limit <= 0:
            raise self.deadline.reached("ran out before this request could be sent")
        timeouts = request.extensions.get("timeout")
        if isinstance(timeouts, dict):  # no single socket wait may outlast the whole request either
            request.extensions["timeout"] = {k: limit if v is None else min(v, limit) for k, v in timeouts.items()}
        sockets: list[Any] = []
        outer_trace = request.extensions.get("trace")

        def trace(event: str, info: dict[str, Any]) -> None:
            stream = info.get("return_value")
            if event.endswith((".connect_tcp.complete", ".start_tls.complete")) and stream is not None:
                sockets.append(stream)
            if outer_trace is not None:
                outer_trace(event, info)

        request.extensions["trace"] = trace
        done: dict[str, Any] = {}

        def send() -> None:
            try:
                response = self.inner.handle_request(request)
                stream = response.extensions.get("network_stream")
                if stream is not None:
                    sockets.append(stream)
                try:
                    response.read()  # the whole body, inside the limit
                finally:
                    response.close()
                done["response"] = response
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                done["error"] = exc

        helper = threading.Thread(target=send, name="engagement-upstream", daemon=True)
        helper.start()
        helper.join(limit)
        if helper.is_alive():
            for stream in sockets:
                _shut(stream)
            if by_job:
                raise self.deadline.reached("ran out while waiting for an upstream answer")
            raise self.http.ReadTimeout(f"no complete answer within {limit:g} s", request=request)
        if "error" in done:
            raise done["error"]
        return done["response"]

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> DeadlineTransport:
        self.inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.inner.__exit__(*exc)


def _shut(stream: Any) -> None:
    """Wake a thread blocked on this connection: shutting the socket ends its read at once."""
    try:
        sock = stream.get_extra_info("socket")
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except (OSError, AttributeError):
        pass
