"""The webhook receiver: ``POST /webhooks/fathom`` checked, claimed once, answered at once, applied behind.

What a delivery gets back (Fathom retries anything but a 2xx, with the same ``webhook-id``):

=====  =====================================================================================
202    authentic, well-formed, new: accepted; applied in the background (:mod:`.processing`)
200    authentic, a ``webhook-id`` received before: nothing is done again
400    authentic but not a Fathom Meeting (not JSON, or breaks the schema), or an id too long
401    not authentic: a header missing, no signature matching a secret, a timestamp > 5 min off
404    another path; 405 another method on it
411    no ``Content-Length`` (a chunked body is refused, not read)
413    a body larger than :data:`MAX_BODY_BYTES`, refused before it is read
503    too many deliveries waiting, or the store does not answer: try again (Fathom does)
=====  =====================================================================================

Nothing is stored for a refused delivery. The order matters: the size before reading, the signature
before parsing (so nothing from an unauthenticated sender is parsed), the claim before queueing.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from engagement.errors import EngagementError, FathomPayloadError
from engagement.fathom.client import to_meeting
from engagement.webhooks.processing import DeliveryProcessor
from engagement.webhooks.signature import SignatureError, Verifier
from engagement.webhooks.store import MAX_ID_CHARS, WebhookStore

__all__ = ["MAX_BODY_BYTES", "PATH", "READ_TIMEOUT_S", "WebhookReceiver", "start_server"]

log = logging.getLogger(__name__)
PATH = "/webhooks/fathom"
MAX_BODY_BYTES = 8 * 1024 * 1024  # a three-hour meeting's transcript is well under 1 MB of JSON
READ_TIMEOUT_S = 10.0  # a sender that stops mid-body is cut off after this long


class WebhookReceiver:
    """Decides what to answer a delivery (no HTTP here): :meth:`receive` for a body that was read."""

    def __init__(self, verifier: Verifier, store: WebhookStore, processor: DeliveryProcessor) -> None:
        self.verifier = verifier
        self.store = store
        self.processor = processor

    def receive(self, headers: Mapping[str, str], body: bytes) -> tuple[int, str]:
        """The status and a short text for one delivery whose body is ``body``."""
        try:
            webhook_id = self.verifier.verify(body, headers)
        except SignatureError as exc:
            log.warning("webhook refused: %s", exc)
            return 401, str(exc)
        if len(webhook_id) > MAX_ID_CHARS:
            return 400, "the webhook-id is too long"
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            return 400, "the body is not JSON"
        try:
            meeting = to_meeting(payload)
        except FathomPayloadError as exc:
            log.warning("webhook %s refused: %s", webhook_id, exc)
            return 400, str(exc)
        try:
            if not self.store.claim(webhook_id, meeting.recording_id):
                return 200, "already received"
            if not self.processor.submit(webhook_id, meeting):
                self.store.release(webhook_id)
                return 503, "too many deliveries waiting; try again"
        except EngagementError as exc:  # the store: Fathom tries again later
            log.warning("webhook %s not accepted: %s", webhook_id, exc)
            return 503, "the store is not available; try again"
        return 202, "accepted"


def _handler_for(receiver: WebhookReceiver, max_body: int, read_timeout_s: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = read_timeout_s  # the socket's: a slow or stalled body ends the connection
        server_version = "engagement-webhooks"
        sys_version = ""

        def _answer(self, status: int, text: str, headers: Mapping[str, str] | None = None) -> None:
            content = json.dumps({"status": status, "message": text}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if status >= 400 and status not in (401, 404, 405):
                self.send_header("Connection", "close")  # the body may not have been read
                self.close_connection = True
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(content)

        def do_POST(self) -> None:  # noqa: N802 - the base class's name
            if self.path.split("?", 1)[0] != PATH:
                self.close_connection = True  # its body is not read
                return self._answer(404, "not found")
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                return self._answer(411, "send the body with a Content-Length")
            raw = self.headers.get("Content-Length")
            if raw is None:
                return self._answer(411, "send the body with a Content-Length")
            try:
                length = int(raw)
            except ValueError:
                return self._answer(400, "the Content-Length is not a number")
            if length < 0:
                return self._answer(400, "the Content-Length is not a number")
            if length > max_body:
                return self._answer(413, f"the body is larger than {max_body:,} bytes")
            try:
                body = self.rfile.read(length)
            except OSError:  # a time-out: nothing to answer on a dead connection
                self.close_connection = True
                return None
            if len(body) < length:
                self.close_connection = True
                return None
            status, text = receiver.receive(dict(self.headers.items()), body)
            extra = {"Retry-After": "30"} if status == 503 else None
            return self._answer(status, text, extra)

        def _not_allowed(self) -> None:
            self.close_connection = True
            if self.path.split("?", 1)[0] != PATH:
                return self._answer(404, "not found")
            return self._answer(405, "only POST", {"Allow": "POST"})

        do_GET = do_PUT = do_PATCH = do_DELETE = do_HEAD = _not_allowed

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            log.info("%s %s", self.address_string(), format % args)

    return Handler


def start_server(
    receiver: WebhookReceiver,
    host: str = "127.0.0.1",
    port: int = 8502,
    *,
    max_body: int = MAX_BODY_BYTES,
    read_timeout_s: float = READ_TIMEOUT_S,
) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """Serve ``receiver`` on ``host:port`` (0: a free port) from a daemon thread; each request in its own thread.
    Stop it with ``server.shutdown(); server.server_close()``."""
    httpd = ThreadingHTTPServer((host, port), _handler_for(receiver, max_body, read_timeout_s))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="webhooks", daemon=True)
    thread.start()
    return httpd, thread
