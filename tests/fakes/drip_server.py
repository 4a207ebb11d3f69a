"""A hostile server on 127.0.0.1 that answers every request one byte at a time, for ever.

Each byte arrives well inside any per-read timeout, so only a total deadline ends the request.
``part="headers"`` drips the status line and headers; ``part="body"`` sends the headers at once and
drips a body that never ends.
"""

from __future__ import annotations

import socket
import threading
from typing import Literal


class DripServer:
    """``with DripServer(every_s=0.2) as drip: drip.base_url``; ``requests`` counts connections served."""

    def __init__(self, *, every_s: float = 0.2, part: Literal["headers", "body"] = "body") -> None:
        self.every_s = every_s
        self.part = part
        self.requests = 0
        self._stop = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1"

    def __enter__(self) -> DripServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            self.requests += 1
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
        try:
            conn.recv(65536)
            if self.part == "body":
                conn.sendall(head)
                head = b'{"items": [' + b" " * 999_990
            for byte in head:
                if self._stop.wait(self.every_s):
                    return
                conn.sendall(bytes([byte]))
        except OSError:
            pass  # the client gave up: what we want
        finally:
            conn.close()
