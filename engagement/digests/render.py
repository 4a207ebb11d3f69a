"""A digest as plain text, as HTML (escaped) and as Slack Block Kit blocks (data as ``plain_text``), pure."""

from __future__ import annotations

import html
from typing import Any

from engagement.digests.content import Digest, DigestLine

__all__ = ["MAX_BLOCKS", "as_html", "as_slack", "as_text"]

# Slack's documented limits: 50 blocks a message, 3,000 characters of a section's text, 150 of a header's.
MAX_BLOCKS = 50
SECTION_MAX = 3000
HEADER_MAX = 150


def _quote_text(line: DigestLine) -> str:
    who = f" — {line.speaker}" if line.speaker else ""
    return f"“{line.quote}”{who}"


def as_text(digest: Digest) -> str:
    """The digest for a terminal or a text/plain e-mail part."""
    out = [digest.title, ""]
    if digest.empty:
        out.append("Nothing changed in this period.")
    for account in digest.accounts:
        out.append(f"{account.name}  ({account.summary_url})")
        for line in account.lines:
            out.append(f"  - {line.text}")
            if line.quote:
                out.append(f"      {_quote_text(line)}")
            if line.link:
                out.append(f"      {line.link}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def as_html(digest: Digest) -> str:
    """The digest as a small HTML document (every text escaped; links only http(s), as the lines carry them)."""
    e = html.escape
    parts = [
        '<!doctype html><html><body style="font-family: sans-serif">',
        f"<h2>{e(digest.title)}</h2>",
    ]
    if digest.empty:
        parts.append("<p>Nothing changed in this period.</p>")
    for account in digest.accounts:
        parts.append(f'<h3><a href="{e(account.summary_url)}">{e(account.name)}</a></h3><ul>')
        for line in account.lines:
            item = e(line.text)
            if line.quote:
                item += f"<br><q>{e(line.quote)}</q>" + (f" — {e(line.speaker)}" if line.speaker else "")
            if line.link:
                item += f' <a href="{e(line.link)}">open ↗</a>'
            parts.append(f"<li>{item}</li>")
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def as_slack(digest: Digest) -> dict[str, Any]:
    """The incoming-webhook payload: ``text`` (the notification) and at most :data:`MAX_BLOCKS` blocks. Text from the
    data goes in ``plain_text`` objects, so no name or quote is read as Slack markup; only our own labels link."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(digest.title, HEADER_MAX)}}
    ]
    if digest.empty:
        blocks.append({"type": "section", "text": {"type": "plain_text", "text": "Nothing changed in this period."}})
    left = len(digest.accounts)
    for account in digest.accounts:
        needed = 2 + len(account.lines)
        if len(blocks) + needed > MAX_BLOCKS - 1:
            break
        left -= 1
        blocks.append({"type": "divider"})
        blocks.append(
            {
                "type": "section",
                "text": {"type": "plain_text", "text": _cut(account.name, SECTION_MAX)},
                "accessory": {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open summary"},
                    "url": account.summary_url,
                },
            }
        )
        for line in account.lines:
            text = line.text + (f"\n{_quote_text(line)}" if line.quote else "")
            block: dict[str, Any] = {"type": "section", "text": {"type": "plain_text", "text": _cut(text, SECTION_MAX)}}
            if line.link:
                block["accessory"] = {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open"},
                    "url": line.link,
                }
            blocks.append(block)
    if left:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "plain_text", "text": f"…and {left} more in the app (Slack shows 50 blocks)."}],
            }
        )
    return {"text": _cut(digest.title, SECTION_MAX), "blocks": blocks}
