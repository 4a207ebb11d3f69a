"""The exception tree: every failure a person can see carries a message they can act on.

    EngagementError                 base; ``str(err)`` is the user-facing message
    ├── InvalidDomainError          the website field holds something that is not a company domain
    ├── SettingsError               a setting has a value that cannot be used
    ├── StoreError                  the job database cannot be used now: disk full, locked by another
    │   │                           process, read-only, damaged, not answering (raised in the caller's thread)
    │   ├── StoreOpenError          missing directory, not SQLite, damaged file
    │   ├── CorruptRecordError      a stored value is not JSON (never unpickled)
    │   ├── SearchUnavailableError  SQLite was built without FTS5: questions cannot be answered
    │   └── IndexClosedError        the meeting index closed (the process shuts down) while its sync ran
    ├── InvalidQuestionError        an empty or over-long question, or an account with no summary yet
    ├── ExportError                 an export could not be built (no Chromium to print the PDF)
    ├── InvalidRoleError            a role a rep typed that cannot be kept (too long, or no one to give it to)
    ├── JobError
    │   ├── JobNotFoundError        no record under that domain and run id
    │   └── JobTimeoutError         the job ran past its time limit (also raised by an upstream
    │                               request that reached the job's deadline, or a wait for the rate
    │                               limit or a retry that would: no retry can help)
    ├── FathomError                 the meeting source failed
    │   ├── FathomAuthError         401/403: "Fathom rejected the API key"
    │   ├── FathomNotFoundError     404
    │   ├── FathomUnavailableError  5xx, timeouts, connection errors, 429 after every retry
    │   └── FathomPayloadError      malformed JSON or a payload that breaks the schema
    └── AnalysisError               the language model failed
        ├── AnalysisAuthError       the OpenAI key was rejected
        ├── AnalysisRefusalError    the model refused to answer
        ├── AnalysisTruncatedError  the answer was cut off by the length limit
        ├── AnalysisOutputError     the answer was not valid JSON for the schema
        └── AnalysisUnavailableError server unreachable, 429/5xx after every retry

Only these messages reach the job record and the page; tracebacks go to the log.
"""

from __future__ import annotations


class EngagementError(Exception):
    """Base class; the message is shown to the user as it is."""

    default_message = "Something went wrong."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)


class InvalidDomainError(EngagementError, ValueError):
    """The input is not a company website, domain or e-mail address."""

    default_message = "Type a company website such as https://www.acmecorp.com or acmecorp.com."


class SettingsError(EngagementError):
    """A setting has a value that cannot be used."""


class InvalidRoleError(EngagementError, ValueError):
    """A role a rep typed cannot be kept: too long, or the person is not one of the account's."""


class StoreError(EngagementError):
    """The job database cannot be used."""


class StoreOpenError(StoreError):
    """The job database file could not be opened."""


class CorruptRecordError(StoreError):
    """A stored value is not JSON; it is refused, never unpickled."""


class SearchUnavailableError(StoreError):
    """SQLite here has no FTS5, so transcripts cannot be searched."""


class IndexClosedError(StoreError):
    """The meeting index was closed while its sync ran: the sync stopped before writing to a closed storage."""


class ExportError(EngagementError):
    """An export could not be built: no Chromium to print the PDF, or its print failed or took too long."""

    default_message = "The export could not be built."


class InvalidQuestionError(EngagementError, ValueError):
    """A question that cannot be answered as asked: empty, too long, nothing to search, or no summary yet."""


class JobError(EngagementError):
    """A job could not be found, or did not finish."""


class JobNotFoundError(JobError):
    """No job is stored under that domain and run id."""

    default_message = "That summary no longer exists: it may have been purged. Generate it again."


class JobTimeoutError(JobError):
    """The job ran past its time limit."""


class FathomError(EngagementError):
    """Fetching meetings from Fathom failed."""


class FathomAuthError(FathomError):
    """Fathom answered 401 or 403."""

    default_message = (
        "Fathom rejected the API key. Check FATHOM_API_KEY (Fathom → Settings → API Access), "
        "or unset it to use the demo data."
    )


class FathomNotFoundError(FathomError):
    """Fathom answered 404."""


class FathomUnavailableError(FathomError):
    """Fathom kept failing (5xx, time-outs, rate limits) after every retry."""


class FathomPayloadError(FathomError):
    """Fathom answered with something that is not the documented JSON."""


class AnalysisError(EngagementError):
    """Analysing meetings with the language model failed."""


class AnalysisAuthError(AnalysisError):
    """The OpenAI-compatible server rejected the key."""

    default_message = "OpenAI rejected the API key. Check OPENAI_API_KEY, or unset it to use the offline analyser."


class AnalysisRefusalError(AnalysisError):
    """The model refused to answer."""


class AnalysisTruncatedError(AnalysisError):
    """The model's answer was cut off by the output length limit."""


class AnalysisOutputError(AnalysisError):
    """The model's answer did not match the requested schema."""


class AnalysisUnavailableError(AnalysisError):
    """The model server could not be reached, or kept failing."""
