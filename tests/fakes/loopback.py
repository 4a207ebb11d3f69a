"""Serving a fake's HTTP handler on a free loopback port, in a thread, as every fake server here does."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve(handler: type[BaseHTTPRequestHandler], name: str) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """A threading HTTP server for ``handler`` on 127.0.0.1 (a free port), already serving in a daemon thread
    called ``name``; each request gets a daemon thread too, so a hanging answer never keeps a test alive."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, name=name, daemon=True)
    thread.start()
    return httpd, thread
