"""A Slack incoming webhook on 127.0.0.1, answering as Slack documents (api.slack.com "Incoming webhooks" errors):

* ``200`` with the body ``ok`` for a message it accepts;
* ``400`` ``invalid_payload`` (not a JSON object), ``no_text`` (neither ``text`` nor ``blocks``), ``invalid_blocks``
  (more than 50 blocks, an unknown block type, a header over 150 characters, a section's text over 3,000, a text
  object that is not ``plain_text``/``mrkdwn``, a button whose text is over 75 or URL over 3,000 characters, a
  context of more than 10 elements);
* ``429`` with ``Retry-After`` when a test asks for it (``throttle_next``).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any

from tests.fakes.loopback import serve

BLOCK_TYPES = {"header", "section", "divider", "context", "actions", "image", "rich_text"}


def _text_ok(obj: Any, limit: int, kinds: tuple[str, ...] = ("plain_text", "mrkdwn")) -> bool:
    return (
        isinstance(obj, dict)
        and obj.get("type") in kinds
        and isinstance(obj.get("text"), str)
        and 0 < len(obj["text"]) <= limit
    )


def block_problem(blocks: Any) -> str | None:
    """Why Slack would refuse ``blocks`` (``invalid_blocks``), or None."""
    if not isinstance(blocks, list) or len(blocks) > 50:
        return "more than 50 blocks"
    for block in blocks:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in BLOCK_TYPES:
            return f"unknown block type {kind!r}"
        if kind == "header" and not _text_ok(block.get("text"), 150, ("plain_text",)):
            return "header text"
        if kind == "section":
            if not _text_ok(block.get("text"), 3000):
                return "section text"
            accessory = block.get("accessory")
            if accessory is not None:
                if accessory.get("type") != "button" or not _text_ok(accessory.get("text"), 75, ("plain_text",)):
                    return "button"
                if not isinstance(accessory.get("url"), str) or len(accessory["url"]) > 3000:
                    return "button url"
        if kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 0 < len(elements) <= 10:
                return "context elements"
    return None


class SlackServer:
    """An incoming webhook at ``url``. Attributes: received (the payloads it accepted), requests (every one)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.requests = 0
        self._throttle: deque[str] = deque()
        self._lock = threading.Lock()
        self._httpd: Any = None

    def throttle_next(self, times: int = 1, retry_after: str = "1") -> None:
        """Answer the next ``times`` posts with 429 and ``Retry-After``."""
        with self._lock:
            self._throttle.extend([retry_after] * times)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/services/T000/B000/XXXXXXXX"

    def __enter__(self) -> SlackServer:
        self._httpd, _ = serve(_handler_for(self), "slack-fake")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def answer(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.requests += 1
            if self._throttle:
                return 429, {"Retry-After": self._throttle.popleft()}, b"rate_limited"
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, {}, b"invalid_payload"
        if not isinstance(payload, dict):
            return 400, {}, b"invalid_payload"
        if not payload.get("text") and not payload.get("blocks"):
            return 400, {}, b"no_text"
        if "blocks" in payload and block_problem(payload["blocks"]) is not None:
            return 400, {}, b"invalid_blocks"
        with self._lock:
            self.received.append(payload)
        return 200, {}, b"ok"


def _handler_for(server: SlackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - the base class's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, headers, content = server.answer(body)
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

    return Handler
