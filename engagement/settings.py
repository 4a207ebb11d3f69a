"""Settings from environment variables, or from ``.streamlit/secrets.toml`` values the UI passes in."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engagement.errors import SettingsError

DEFAULT_FATHOM_BASE_URL = "https://api.fathom.ai/external/v1"
DEFAULT_OPENAI_MODEL = "gpt-5.4-mini"  # why this one: README, "Choosing the model"
DEFAULT_DB = "data/engagement.sqlite"

# name -> (environment variable, default, help). README's settings table is checked against this.
SETTINGS_HELP: dict[str, tuple[str, str]] = {
    "FATHOM_API_KEY": (
        "",
        "Fathom API key. Unset: the bundled demo accounts are used. A key sees only the meetings its user "
        "recorded or that were shared with them or their team: use the key of an admin whose view covers all teams.",
    ),
    "FATHOM_BASE_URL": (DEFAULT_FATHOM_BASE_URL, "Fathom External API base URL."),
    "OPENAI_API_KEY": ("", "OpenAI key. Unset: the offline analyser is used."),
    "OPENAI_BASE_URL": ("", "Any OpenAI-compatible server (empty: api.openai.com)."),
    "OPENAI_MODEL": (DEFAULT_OPENAI_MODEL, "Model for the map and reduce calls."),
    "ENGAGEMENT_DB": (DEFAULT_DB, "The sqlitedict file that holds jobs and the analysis cache."),
    "APP_PASSWORD": ("", "When set, every page asks for it."),
    "ADMIN_PASSWORD": ("", "When set, the admin page also asks for it."),
    "ENGAGEMENT_WORKERS": ("4", "Background jobs that run at once."),
    "ENGAGEMENT_JOB_TIMEOUT_S": ("900", "A job still running after this many seconds ends in error."),
    "ENGAGEMENT_STALE_AFTER_S": ("120", "A processing job with no heartbeat for this long is marked interrupted."),
    "ENGAGEMENT_HEARTBEAT_S": ("10", "How often a running job refreshes its heartbeat."),
    "FATHOM_TIMEOUT_S": ("30", "Timeout of one Fathom request."),
    "FATHOM_MAX_RETRIES": ("4", "Retries of a Fathom request after 429, 5xx or a time-out."),
    "FATHOM_BACKOFF_S": ("0.5", "First wait before a Fathom retry; it doubles each time (Retry-After wins)."),
    "FATHOM_MAX_WAIT_S": (
        "120",
        "Longest wait for Fathom's rate limit (RateLimit-Reset, Retry-After) before one request gives up.",
    ),
    "FATHOM_MAX_MEETINGS": (
        "100000",
        "Most meetings one Fathom listing reads; a listing past it stops with a message (an endless cursor).",
    ),
    "OPENAI_TIMEOUT_S": ("120", "Timeout of one model call."),
    "OPENAI_MAX_RETRIES": ("2", "Retries of a model call after 429, 5xx or a time-out (by the SDK)."),
    "OPENAI_CONCURRENCY": ("4", "Meetings analysed at once."),
    "OPENAI_CONTEXT_TOKENS": (
        "100000",
        "Transcript tokens per map call; longer transcripts are split. For an OpenAI-compatible server set "
        "it below the model's context size (a prompt cut short is noted in the summary).",
    ),
    "SIGNAL_GONE_DARK_DAYS": ("30", "An account with no meeting for more than this many days has gone dark."),
    "SIGNAL_TALK_SHARE_PCT": ("65", "Our share of the words above this percentage is a high talk-share signal."),
}


def _text(env: Mapping[str, Any], name: str) -> str:
    value = env.get(name)
    if value is None or str(value).strip() == "":
        return SETTINGS_HELP[name][0]
    return str(value).strip()


def _number(env: Mapping[str, Any], name: str, kind: type, minimum: float) -> Any:
    raw = _text(env, name)
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}.") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, not {raw}.")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything the app can be told from outside.

    Attributes:
        fathom_api_key: empty means the demo source.
        openai_api_key: empty means the offline analyser.
        engagement_db: path of the sqlitedict file.
        workers: size of the background thread pool.
        job_timeout_s / stale_after_s / heartbeat_s: job life-cycle limits.
        gone_dark_days / talk_share_high_pct: thresholds of the ``gone_dark`` and ``talk_share`` signals.
    """

    fathom_api_key: str = field(default="", repr=False)
    fathom_base_url: str = DEFAULT_FATHOM_BASE_URL
    openai_api_key: str = field(default="", repr=False)
    openai_base_url: str = ""
    openai_model: str = DEFAULT_OPENAI_MODEL
    engagement_db: str = DEFAULT_DB
    app_password: str = field(default="", repr=False)
    admin_password: str = field(default="", repr=False)
    workers: int = 4
    job_timeout_s: float = 900.0
    stale_after_s: float = 120.0
    heartbeat_s: float = 10.0
    fathom_timeout_s: float = 30.0
    fathom_max_retries: int = 4
    fathom_backoff_s: float = 0.5
    fathom_max_wait_s: float = 120.0
    fathom_max_meetings: int = 100_000
    openai_timeout_s: float = 120.0
    openai_max_retries: int = 2
    openai_concurrency: int = 4
    openai_context_tokens: int = 100_000
    gone_dark_days: int = 30
    talk_share_high_pct: float = 65.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, secrets: Mapping[str, Any] | None = None) -> Settings:
        """Read settings; a secrets value wins over the environment (both use the same names)."""
        env: dict[str, Any] = dict(os.environ if environ is None else environ)
        for key, value in (secrets or {}).items():
            if isinstance(value, (str, int, float)) and str(value).strip():
                env[key] = value
        return cls(
            fathom_api_key=_text(env, "FATHOM_API_KEY"),
            fathom_base_url=_text(env, "FATHOM_BASE_URL").rstrip("/"),
            openai_api_key=_text(env, "OPENAI_API_KEY"),
            openai_base_url=_text(env, "OPENAI_BASE_URL").rstrip("/"),
            openai_model=_text(env, "OPENAI_MODEL"),
            engagement_db=_text(env, "ENGAGEMENT_DB"),
            app_password=_text(env, "APP_PASSWORD"),
            admin_password=_text(env, "ADMIN_PASSWORD"),
            workers=_number(env, "ENGAGEMENT_WORKERS", int, 1),
            job_timeout_s=_number(env, "ENGAGEMENT_JOB_TIMEOUT_S", float, 1),
            stale_after_s=_number(env, "ENGAGEMENT_STALE_AFTER_S", float, 1),
            heartbeat_s=_number(env, "ENGAGEMENT_HEARTBEAT_S", float, 0.05),
            fathom_timeout_s=_number(env, "FATHOM_TIMEOUT_S", float, 0.1),
            fathom_max_retries=_number(env, "FATHOM_MAX_RETRIES", int, 0),
            fathom_backoff_s=_number(env, "FATHOM_BACKOFF_S", float, 0),
            fathom_max_wait_s=_number(env, "FATHOM_MAX_WAIT_S", float, 1),
            fathom_max_meetings=_number(env, "FATHOM_MAX_MEETINGS", int, 10),
            openai_timeout_s=_number(env, "OPENAI_TIMEOUT_S", float, 0.1),
            openai_max_retries=_number(env, "OPENAI_MAX_RETRIES", int, 0),
            openai_concurrency=_number(env, "OPENAI_CONCURRENCY", int, 1),
            openai_context_tokens=_number(env, "OPENAI_CONTEXT_TOKENS", int, 500),
            gone_dark_days=_number(env, "SIGNAL_GONE_DARK_DAYS", int, 1),
            talk_share_high_pct=_number(env, "SIGNAL_TALK_SHARE_PCT", float, 0),
        )

    @property
    def source(self) -> str:
        """``"fathom"`` with a Fathom key, else ``"demo"``."""
        return "fathom" if self.fathom_api_key else "demo"

    @property
    def analyzer(self) -> str:
        """``"openai:<model>"`` with an OpenAI key, else ``"offline"``."""
        return f"openai:{self.openai_model}" if self.openai_api_key else "offline"

    @property
    def notices(self) -> list[str]:
        """What a person should know about the current mode, for a banner."""
        notes = []
        if self.source == "demo":
            notes.append(
                "Demo data: meetings come from the bundled demo accounts (acmecorp.com, "
                "brightwater.co.uk, globex.io). Set FATHOM_API_KEY to use your Fathom meetings: a key sees only the "
                "meetings its user recorded or that were shared with them, so use an admin's key whose view covers all "
                "teams."
            )
        if self.analyzer == "offline":
            notes.append(
                "Offline analysis: themes and insights are extracted by rules, not by a model. "
                "Set OPENAI_API_KEY (and optionally OPENAI_MODEL, OPENAI_BASE_URL) to use OpenAI."
            )
        return notes
