"""A brief for the next meeting with an account: who will likely be there, their worries in their words, what they
asked last time, our open promises, the qualification gaps to close and what changed, each line checkable."""

from engagement.brief.build import Brief, BriefLine, build_brief, questions_asked

__all__ = ["Brief", "BriefLine", "build_brief", "questions_asked"]
