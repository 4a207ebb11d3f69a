"""A real OpenID Connect provider (panva's ``oidc-provider`` on Node, ``tests/support/oidc/``) on a free loopback port.

``make test`` installs Node's packages for it (``npm ci``); without Node or them the sign-on tests are skipped on
a developer's machine and fail under CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.streamlit_server import free_port

FOLDER = Path(__file__).resolve().parent / "oidc"


@dataclass(frozen=True)
class Provider:
    """Where the provider listens and the one client it knows."""

    issuer: str
    client_id: str
    client_secret: str

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"


def missing() -> str | None:
    """Why the provider cannot run here (None: it can)."""
    if shutil.which("node") is None:
        return "node is not installed (make test installs it)"
    if not (FOLDER / "node_modules" / "oidc-provider").is_dir():
        return "the OIDC provider's packages are not installed (make test runs npm ci in tests/support/oidc)"
    return None


@contextmanager
def oidc_provider(redirect_uri: str, timeout: float = 30.0) -> Iterator[Provider]:
    """Run the provider for one client whose only redirect is ``redirect_uri``; stopped on exit."""
    port = free_port()
    provider = Provider(f"http://127.0.0.1:{port}", "engagement-summary", "test-client-secret")
    env = {
        **os.environ,
        "OIDC_PORT": str(port),
        "OIDC_CLIENT_ID": provider.client_id,
        "OIDC_CLIENT_SECRET": provider.client_secret,
        "OIDC_REDIRECT_URI": redirect_uri,
        "NODE_ENV": "test",
    }
    proc = subprocess.Popen(
        ["node", str(FOLDER / "server.mjs")], cwd=FOLDER, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the OIDC provider exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            try:
                if httpx.get(provider.metadata_url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the OIDC provider did not answer within {timeout:g} s")
            time.sleep(0.2)
        yield provider
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
