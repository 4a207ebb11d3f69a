"""Qualification with proof: a methodology's rubric (MEDDPICC, BANT, SPICED), each element evidenced by verified customer quotes, and our commitments.

The names in ``__all__`` are its public face, each loaded from its module on first use (``engagement.exports``),
so importing the package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engagement.exports import exports_of

if TYPE_CHECKING:
    from engagement.qualification.commitments import commitments_of
    from engagement.qualification.offline import qualify_meeting
    from engagement.qualification.qualifier import ModelQualifier, OfflineQualifier, Qualifier
    from engagement.qualification.rubric import BUILT_IN, Element, Rubric, RubricError, load_rubric, parse_rubric
    from engagement.qualification.states import ElementStatus, qualify_account, searched_of

__all__ = [
    "BUILT_IN",
    "Element",
    "ElementStatus",
    "ModelQualifier",
    "OfflineQualifier",
    "Qualifier",
    "Rubric",
    "RubricError",
    "commitments_of",
    "load_rubric",
    "parse_rubric",
    "qualify_account",
    "qualify_meeting",
    "searched_of",
]

__getattr__ = exports_of(
    __name__,
    {
        "commitments": ["commitments_of"],
        "offline": ["qualify_meeting"],
        "qualifier": ["ModelQualifier", "OfflineQualifier", "Qualifier"],
        "rubric": ["BUILT_IN", "Element", "Rubric", "RubricError", "load_rubric", "parse_rubric"],
        "states": ["ElementStatus", "qualify_account", "searched_of"],
    },
)
