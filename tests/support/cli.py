"""Running the command line: in the test's own process (``main``), or as ``python -m engagement`` in a real one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engagement.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``python -m engagement ARGV`` run by ``main()`` in this process: its exit code, stdout and stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_command(*argv: str, env: dict[str, str], timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m engagement ARGV`` as a process of its own, from the repository, with exactly ``env``.

    It must end within ``timeout_s`` (``subprocess.TimeoutExpired`` otherwise); its output is text.
    """
    return subprocess.run(
        [sys.executable, "-m", "engagement", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
