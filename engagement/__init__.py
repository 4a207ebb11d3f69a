"""Engagement summaries of a company's Fathom meetings; ``engagement.ask(domain, question, options)`` answers questions."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "ask":  # loaded on first use, so ``import engagement.x`` stays light
        from engagement.api import ask

        return ask
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
