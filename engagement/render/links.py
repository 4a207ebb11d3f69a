"""Links from meetings and models made safe to render: absolute http(s) only, nothing that breaks out."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

# Kept as they are: what a URL needs. Everything else (spaces, quotes, brackets, parentheses,
# angle brackets) is percent-encoded so it cannot close a Markdown link or an HTML attribute.
_SAFE = ":/?&=#%+@,;~.-_!*"


def safe_url(url: str | None) -> str | None:
    """The URL when it is an absolute http(s) link (never ``javascript:`` or ``data:``), else ``None``."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return quote(url, safe=_SAFE)
