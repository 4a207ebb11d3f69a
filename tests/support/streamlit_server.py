"""``streamlit run`` on a free loopback port, and Debian's Chromium: shared by the browser test and the bench."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
# As root in a closed network: no sandbox, no GPU, and none of Chromium's background connections.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class StreamlitError(RuntimeError):
    """The server exited, or did not become healthy in time."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_streamlit(
    script: str,
    env: Mapping[str, str],
    *,
    output: IO[bytes] | int = subprocess.DEVNULL,
    timeout: float = 30.0,
    port: int | None = None,
    args: Sequence[str] = (),
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``streamlit run script`` from the repo root (on ``port``, or a free one; ``args``: more options);
    returns the process and its URL once healthy."""
    port = port or free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            script,
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
            *args,
        ],
        cwd=ROOT,
        env=dict(env),
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise StreamlitError(f"streamlit exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=1).text == "ok":
                return proc, url
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            stop_streamlit(proc)
            raise StreamlitError(f"streamlit did not become healthy within {timeout:g} s")
        time.sleep(0.2)


def stop_streamlit(proc: subprocess.Popen[bytes]) -> None:
    """Terminate; kill if a job thread blocked on a slow request holds the exit up."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextmanager
def served_app(folder: Path, env: Mapping[str, str]) -> Iterator[str]:
    """The app (``streamlit_app.py``) run with ``env``, its output in ``folder``/streamlit.log: its address while the
    block runs, then stopped. A server that does not start raises ``StreamlitError`` with that log in its message."""
    path = folder / "streamlit.log"
    with path.open("wb") as log:
        try:
            proc, url = start_streamlit("streamlit_app.py", env, output=log)
        except StreamlitError as exc:
            raise StreamlitError(f"{exc}:\n{path.read_text()}") from exc
        try:
            yield url
        finally:
            stop_streamlit(proc)
