"""The HTML report printed to PDF by a headless Chromium, when one is installed (no Python PDF library needed).

Chromium's own print engine is the one the report's print CSS is written and tested for, so the PDF
is what "Print" in a browser gives. The run is bounded (``PDF_TIMEOUT_S``), reads only the report
file (network off: the report has nothing to fetch) and writes into a private temporary folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from engagement.errors import ExportError

PDF_TIMEOUT_S = 60.0
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# As root in a container there is no sandbox to use; nothing is fetched, nothing runs in the background.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pdf-header-footer",
    "--proxy-server=127.0.0.1:9",  # belt and braces: any fetch would fail at once
)


def find_chromium() -> Path | None:
    """``ENGAGEMENT_CHROMIUM`` when set, else the first Chromium or Chrome on the PATH; None when there is none."""
    chosen = os.environ.get("ENGAGEMENT_CHROMIUM", "").strip()
    if chosen:
        return Path(chosen) if Path(chosen).is_file() else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def html_to_pdf(document: str, chromium: Path | None = None, timeout_s: float = PDF_TIMEOUT_S) -> bytes:
    """``document`` (a self-contained HTML page) printed to PDF; ``ExportError`` saying why when it cannot be."""
    browser = chromium or find_chromium()
    if browser is None:
        raise ExportError("PDF export needs Chromium on the server (apt-get install chromium); use the HTML report.")
    with tempfile.TemporaryDirectory(prefix="engagement-pdf-") as folder:
        source, target = Path(folder) / "report.html", Path(folder) / "report.pdf"
        source.write_text(document, encoding="utf-8")
        command = [
            str(browser),
            *FLAGS,
            f"--user-data-dir={Path(folder) / 'profile'}",
            f"--print-to-pdf={target}",
            source.as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout_s, check=False)  # noqa: S603 (our own argv, no shell)
        except subprocess.TimeoutExpired as exc:
            raise ExportError(f"Printing the PDF took more than {timeout_s:.0f} s; use the HTML report.") from exc
        except OSError as exc:
            raise ExportError(f"Chromium could not be started to print the PDF ({exc.strerror}).") from exc
        if done.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
            raise ExportError(f"Chromium could not print the PDF (exit code {done.returncode}); use the HTML report.")
        return target.read_bytes()
