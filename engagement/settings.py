"""Settings from environment variables, or from ``.streamlit/secrets.toml`` values the UI passes in."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from engagement.errors import SettingsError

DEFAULT_FATHOM_BASE_URL = "https://api.fathom.ai/external/v1"
DEFAULT_INDEX_GRACE_S = 5.0  # a summary waits this long for a workspace's first listing
DEFAULT_OPENAI_MODEL = "gpt-5.4-mini"  # why this one: README, "Choosing the model"
DEFAULT_DB = "data/engagement.sqlite"


def _setting(default: Any, env: str, help: str, *, minimum: float | None = None, secret: bool = False) -> Any:
    """A field of ``Settings``: its default (written only here), variable, help text and lowest value."""
    return field(default=default, repr=not secret, metadata={"env": env, "help": help, "minimum": minimum})


@dataclass(frozen=True)
class Settings:
    """Everything the app can be told from outside. Each default is written once, in its field.

    Attributes:
        fathom_api_key: empty means the demo source.
        openai_api_key: empty means the offline analyser.
        engagement_db: path of the sqlitedict file.
        redis_url: empty for the embedded store and thread pool; else Redis and RQ workers.
        workers: size of the background thread pool.
        job_timeout_s / stale_after_s / heartbeat_s: job life-cycle limits.
        gone_dark_days / talk_share_high_pct: thresholds of the ``gone_dark`` and ``talk_share`` signals.
    """

    fathom_api_key: str = _setting(
        "",
        "FATHOM_API_KEY",
        "Fathom API key. Unset: the bundled demo accounts are used. A key sees only the meetings its user "
        "recorded or that were shared with them or their team: use the key of an admin whose view covers all teams.",
        secret=True,
    )
    fathom_base_url: str = _setting(DEFAULT_FATHOM_BASE_URL, "FATHOM_BASE_URL", "Fathom External API base URL.")
    openai_api_key: str = _setting(
        "", "OPENAI_API_KEY", "OpenAI key. Unset: the offline analyser is used.", secret=True
    )
    openai_base_url: str = _setting("", "OPENAI_BASE_URL", "Any OpenAI-compatible server (empty: api.openai.com).")
    openai_model: str = _setting(DEFAULT_OPENAI_MODEL, "OPENAI_MODEL", "Model for the map and reduce calls.")
    engagement_db: str = _setting(
        DEFAULT_DB, "ENGAGEMENT_DB", "The sqlitedict file that holds jobs and the analysis cache."
    )
    redis_url: str = _setting(
        "",
        "ENGAGEMENT_REDIS_URL",
        "Redis for several machines (`redis://host:6379/0`): jobs, caches and the Fathom rate limit live "
        "there and RQ workers run the jobs. Empty: the sqlitedict file and a thread pool.",
        secret=True,  # may hold a password
    )
    app_password: str = _setting("", "APP_PASSWORD", "When set, every page asks for it.", secret=True)
    admin_password: str = _setting("", "ADMIN_PASSWORD", "When set, the admin page also asks for it.", secret=True)
    allowed_emails: str = _setting(
        "",
        "ALLOWED_EMAILS",
        "With single sign-on: who may use the app, addresses or domains separated by commas (`acme.com, ann@x.io`).",
    )
    admin_emails: str = _setting(
        "", "ADMIN_EMAILS", "With single sign-on: who may open the admin page (addresses or domains, as above)."
    )
    jobs_keep_days: int = _setting(
        0, "JOBS_KEEP_DAYS", "Finished jobs older than this many days are purged by the app itself. 0: kept.", minimum=0
    )
    questions_keep_days: int = _setting(
        0, "QUESTIONS_KEEP_DAYS", "Questions last asked longer ago than this are purged. 0: kept.", minimum=0
    )
    audit_keep_days: int = _setting(
        0, "AUDIT_KEEP_DAYS", "Audit entries older than this are purged (the purge is recorded). 0: kept.", minimum=0
    )
    session_secret: str = _setting(
        "",
        "SESSION_SECRET",
        "Signs sign-in tokens; the same on every app process. Empty: a random one kept in the store.",
        secret=True,
    )
    workers: int = _setting(4, "ENGAGEMENT_WORKERS", "Background jobs that run at once.", minimum=1)
    job_timeout_s: float = _setting(
        900.0,
        "ENGAGEMENT_JOB_TIMEOUT_S",
        "A job still running this many seconds after it started ends in error.",
        minimum=1,
    )
    stale_after_s: float = _setting(
        120.0,
        "ENGAGEMENT_STALE_AFTER_S",
        "A processing job with no heartbeat for this long is marked interrupted.",
        minimum=1,
    )
    heartbeat_s: float = _setting(
        10.0, "ENGAGEMENT_HEARTBEAT_S", "How often a running job refreshes its heartbeat.", minimum=0.05
    )
    fathom_timeout_s: float = _setting(
        30.0,
        "FATHOM_TIMEOUT_S",
        "Longest one Fathom request may take, all of it (connect, wait, read).",
        minimum=0.1,
    )
    fathom_max_retries: int = _setting(
        4, "FATHOM_MAX_RETRIES", "Retries of a Fathom request after 429, 5xx or a time-out.", minimum=0
    )
    fathom_backoff_s: float = _setting(
        0.5,
        "FATHOM_BACKOFF_S",
        "First wait before a Fathom retry; it doubles each time (Retry-After wins).",
        minimum=0,
    )
    fathom_max_wait_s: float = _setting(
        120.0,
        "FATHOM_MAX_WAIT_S",
        "Longest wait for Fathom's rate limit (RateLimit-Reset, Retry-After) before one request gives up.",
        minimum=1,
    )
    fathom_max_meetings: int = _setting(
        100_000,
        "FATHOM_MAX_MEETINGS",
        "Most meetings one Fathom listing reads; a listing past it stops with a message (an endless cursor).",
        minimum=10,
    )
    sync_every_s: float = _setting(
        300.0,
        "ENGAGEMENT_SYNC_EVERY_S",
        "How often each app, receiver and worker process brings the Fathom meeting index up to date in the "
        "background (incremental; skipped when any process did it within this time). 0: never.",
        minimum=0,
    )
    index_grace_s: float = _setting(
        DEFAULT_INDEX_GRACE_S,
        "ENGAGEMENT_INDEX_GRACE_S",
        "How long a summary waits for the first listing of a Fathom workspace before it asks Fathom for the "
        "account's own meetings and completes with a note on what may still be missing (the listing carries on).",
        minimum=0,
    )
    fathom_webhook_secret: str = _setting(
        "",
        "FATHOM_WEBHOOK_SECRET",
        "The `whsec_…` secret of a webhook created in Fathom: `python -m engagement webhooks serve` checks "
        "deliveries against it (and the webhooks registered with `webhooks register`); `make run` starts the "
        "receiver when it is set.",
        secret=True,
    )
    app_base_url: str = _setting(
        "http://127.0.0.1:8501",
        "APP_BASE_URL",
        "The app's address as the team opens it: each digest line links back to the account's summary there.",
    )
    digest_schedule: str = _setting(
        "", "DIGEST_SCHEDULE", "`daily` or `weekly` (Mondays): the app sends a digest then. Empty: none."
    )
    digest_time: str = _setting("08:00", "DIGEST_TIME", "Time of day the scheduled digest is sent (HH:MM).")
    digest_timezone: str = _setting("UTC", "DIGEST_TIMEZONE", "Time zone of DIGEST_TIME, e.g. `Europe/London`.")
    digest_slack_url: str = _setting(
        "", "DIGEST_SLACK_URL", "A Slack incoming webhook the digest is posted to.", secret=True
    )
    digest_emails: str = _setting("", "DIGEST_EMAILS", "Addresses the digest is e-mailed to, separated by commas.")
    smtp_host: str = _setting("", "SMTP_HOST", "SMTP server for digest e-mails (STARTTLS is required).")
    smtp_port: int = _setting(587, "SMTP_PORT", "Its port (587: submission with STARTTLS).", minimum=1)
    smtp_user: str = _setting("", "SMTP_USER", "SMTP login (empty: none).")
    smtp_password: str = _setting("", "SMTP_PASSWORD", "SMTP password.", secret=True)
    smtp_from: str = _setting("", "SMTP_FROM", "From address of digest e-mails.")
    openai_timeout_s: float = _setting(
        120.0, "OPENAI_TIMEOUT_S", "Longest one model call may take, all of it.", minimum=0.1
    )
    openai_max_retries: int = _setting(
        2, "OPENAI_MAX_RETRIES", "Retries of a model call after 429, 5xx or a time-out (by the SDK).", minimum=0
    )
    openai_concurrency: int = _setting(4, "OPENAI_CONCURRENCY", "Meetings analysed at once.", minimum=1)
    openai_context_tokens: int = _setting(
        100_000,
        "OPENAI_CONTEXT_TOKENS",
        "Transcript tokens per map call; longer transcripts are split. For an OpenAI-compatible server set "
        "it below the model's context size (a prompt cut short is noted in the summary).",
        minimum=500,
    )
    qualification_rubric: str = _setting(
        "meddpicc",
        "QUALIFICATION_RUBRIC",
        "The qualification methodology: `meddpicc`, `bant`, `spiced`, or the path of a team's own rubric TOML file "
        "(copy `engagement/qualification/rubrics/meddpicc.toml`).",
    )
    our_domains: str = _setting(
        "",
        "ENGAGEMENT_OUR_DOMAINS",
        "Our own domains, comma-separated, besides those Fathom shows (recorders' e-mails, invitees marked "
        "internal): never accepted as a customer, and their people are our side.",
    )
    gone_dark_days: int = _setting(
        30,
        "SIGNAL_GONE_DARK_DAYS",
        "An account with no meeting for more than this many days has gone dark.",
        minimum=1,
    )
    talk_share_high_pct: float = _setting(
        65.0,
        "SIGNAL_TALK_SHARE_PCT",
        "Our share of the words above this percentage is a high talk-share signal.",
        minimum=0,
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, secrets: Mapping[str, Any] | None = None) -> Settings:
        """Read settings; a secrets value wins over the environment (both use the same names)."""
        env: dict[str, Any] = dict(os.environ if environ is None else environ)
        for key, value in (secrets or {}).items():
            if isinstance(value, (str, int, float)) and str(value).strip():
                env[key] = value
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f.metadata["env"])
            if raw is None or str(raw).strip() == "":
                continue  # the field's default
            values[f.name] = _parse(f, str(raw).strip())
        for name in ("fathom_base_url", "openai_base_url"):
            if name in values:
                values[name] = values[name].rstrip("/")
        if "redis_url" in values:
            values["redis_url"] = _redis_url(values["redis_url"])
        return cls(**values)

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


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***``, fit for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def _redis_url(url: str) -> str:
    if url and not url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(
            f"ENGAGEMENT_REDIS_URL must start with redis://, rediss:// or unix:// (for example "
            f"redis://127.0.0.1:6379/0), not {url.split('@')[-1]!r}."
        )
    return url


def _parse(f: Field[Any], raw: str) -> Any:
    """A variable's text as the field's type, checked against its lowest value."""
    name, minimum = f.metadata["env"], f.metadata["minimum"]
    kind: type = type(f.default)
    if kind is str:
        return raw
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise SettingsError(f"{name} must be at least {minimum:g}, not {raw}.")
    return value


def shown(value: Any) -> str:
    """A default as the README's table writes it (``900.0`` is ``900``)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


# variable -> (default as written in the README, help). README's settings table is checked against this.
SETTINGS_HELP: dict[str, tuple[str, str]] = {
    f.metadata["env"]: (shown(f.default), f.metadata["help"]) for f in fields(Settings)
}
