"""Who is using the app: signed sign-in tokens that every app process checks alike, their revocation, and the
throttle on wrong passwords."""

from engagement.identity.sessions import LIFETIMES, SESSIONS_TABLE, SessionBook, SignInThrottle, session_secret

__all__ = ["LIFETIMES", "SESSIONS_TABLE", "SessionBook", "SignInThrottle", "session_secret"]
