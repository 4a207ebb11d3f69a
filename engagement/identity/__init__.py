"""Who is using the app: the allow-lists of single sign-on, signed sign-in tokens that every app process checks alike, their revocation, and the
throttle on wrong passwords."""

from engagement.identity.access import AllowList, refusal
from engagement.identity.sessions import LIFETIMES, SESSIONS_TABLE, SessionBook, SignInThrottle, session_secret

__all__ = ["LIFETIMES", "AllowList", "refusal", "SESSIONS_TABLE", "SessionBook", "SignInThrottle", "session_secret"]
