"""Ask: the transcript search (SQLite FTS5, shared through Redis when set) and verified answers.

The names in ``__all__`` are its public face, each loaded from its module on first use
(``engagement.exports``), so importing the package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engagement.exports import exports_of

if TYPE_CHECKING:
    from engagement.questions.answers import (
        MAX_QUESTION_CHARS,
        Answer,
        AskOptions,
        QuestionRecord,
        QuestionService,
        answer_question,
    )
    from engagement.questions.search import TranscriptIndex, TranscriptSearch
    from engagement.questions.shared_search import TRANSCRIPTS_TABLE, SharedTranscriptIndex

__all__ = [
    "Answer",
    "AskOptions",
    "MAX_QUESTION_CHARS",
    "QuestionRecord",
    "QuestionService",
    "SharedTranscriptIndex",
    "TRANSCRIPTS_TABLE",
    "TranscriptIndex",
    "TranscriptSearch",
    "answer_question",
]

__getattr__ = exports_of(
    __name__,
    {
        "answers": [
            "Answer",
            "AskOptions",
            "MAX_QUESTION_CHARS",
            "QuestionRecord",
            "QuestionService",
            "answer_question",
        ],
        "search": ["TranscriptIndex", "TranscriptSearch"],
        "shared_search": ["SharedTranscriptIndex", "TRANSCRIPTS_TABLE"],
    },
)
