"""The PDF export: Chromium's print of the HTML report, bounded, with a message when it cannot be made."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from engagement.errors import ExportError
from engagement.render import pdf, report
from tests.support.streamlit_server import CHROMIUM
from tests.support.summary_factory import make_record, make_summary


def fake_browser(tmp_path: Path, body: str) -> Path:
    """A stand-in for Chromium: a script that does ``body`` with its arguments in ``$@``."""
    script = tmp_path / "chromium"
    script.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    script.chmod(0o755)
    return script


def test_the_pdf_is_what_the_browser_printed(tmp_path: Path) -> None:
    """The bytes Chromium wrote to ``--print-to-pdf`` come back; the report went in as a file:// page."""
    browser = fake_browser(
        tmp_path,
        'for a in "$@"; do case "$a" in --print-to-pdf=*) out="${a#--print-to-pdf=}";; file://*) src="$a";; esac; done\n'
        'printf "%%PDF-1.7 %s" "$src" > "$out"',
    )
    made = pdf.html_to_pdf("<html>hello</html>", chromium=browser)
    assert made.startswith(b"%PDF-1.7 file://") and made.endswith(b"/report.html")


def test_no_browser_or_a_failed_print_is_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without Chromium, or when it exits with an error or hangs, the export says so and what to use instead."""
    monkeypatch.setenv("ENGAGEMENT_CHROMIUM", str(tmp_path / "missing"))
    assert pdf.find_chromium() is None
    with pytest.raises(ExportError, match="needs Chromium"):
        pdf.html_to_pdf("<html></html>")
    with pytest.raises(ExportError, match="exit code 3"):
        pdf.html_to_pdf("<html></html>", chromium=fake_browser(tmp_path, "exit 3"))
    with pytest.raises(ExportError, match="more than 1 s"):
        pdf.html_to_pdf("<html></html>", chromium=fake_browser(tmp_path, "exec sleep 30"), timeout_s=1)


@pytest.mark.browser
def test_chromium_prints_the_report_with_whole_words(tmp_path: Path) -> None:
    """The real Chromium prints the report to a PDF of several pages whose text has "Procurement" unbroken."""
    if not CHROMIUM.exists() or shutil.which("pdftotext") is None:
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium and poppler-utils are missing on CI: `make test` installs both")
        pytest.skip("needs Debian's chromium and poppler-utils (`make test` installs both)")
    summary = make_summary()
    summary.themes[0].topic = "Procurement"
    made = pdf.html_to_pdf(report.to_html(make_record(summary)), chromium=CHROMIUM)
    (tmp_path / "report.pdf").write_bytes(made)
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "report.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert made.startswith(b"%PDF") and text.count("\f") >= 4  # the parts start pages of their own
    assert "Procurement" in text and "Procuremen\n" not in text
