"""Meeting analysis: the ``Analyzer`` protocol, the offline and OpenAI analysers, the cache, quote verification.

``OpenAIAnalyzer`` is imported on first use, so the offline path never loads the OpenAI SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engagement.analysis.base import Analyzer, Usage
from engagement.analysis.cache import InsightCache
from engagement.analysis.offline import OfflineAnalyzer
from engagement.analysis.prompts import PROMPT_VERSION
from engagement.analysis.verify import verify_account, verify_meeting_insights

if TYPE_CHECKING:
    from engagement.analysis.openai_analyzer import OpenAIAnalyzer

__all__ = [
    "PROMPT_VERSION",
    "Analyzer",
    "InsightCache",
    "OfflineAnalyzer",
    "OpenAIAnalyzer",
    "Usage",
    "verify_account",
    "verify_meeting_insights",
]


def __getattr__(name: str) -> Any:
    if name == "OpenAIAnalyzer":
        from engagement.analysis.openai_analyzer import OpenAIAnalyzer

        return OpenAIAnalyzer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
