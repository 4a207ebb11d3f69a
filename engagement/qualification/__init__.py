"""Qualification with proof: a methodology's rubric (MEDDPICC, BANT, SPICED), each element evidenced by verified customer quotes, and our commitments."""

from __future__ import annotations

from engagement.qualification.commitments import commitments_of
from engagement.qualification.offline import qualify_meeting
from engagement.qualification.rubric import BUILT_IN, Element, Rubric, RubricError, load_rubric, parse_rubric
from engagement.qualification.states import ElementStatus, qualify_account, searched_of

__all__ = [
    "BUILT_IN",
    "Element",
    "ElementStatus",
    "Rubric",
    "RubricError",
    "commitments_of",
    "load_rubric",
    "parse_rubric",
    "qualify_account",
    "qualify_meeting",
    "searched_of",
]
