"""Words every layer shares: the one rule for a count and its noun (``1 meeting``, ``12 meetings``).

It sits at the bottom with ``models`` and ``errors`` so the packages that word messages (the Fathom
client, the analysers, the signals) need not import ``render``, which imports them.
"""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 meeting``, ``12 meetings`` (``many`` for irregular plurals: ``analysis``/``analyses``)."""
    return f"{n} {word}" if n == 1 else f"{n} {many or word + 's'}"
