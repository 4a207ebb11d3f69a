"""The OpenAI analyser: map (one structured-output call per meeting part) and reduce (one call per account).

Quotes are never trusted: the map step's quotes are checked against the transcript, and the reduce
step may only cite the map step's evidence by id (``E12``), so it cannot invent a quote. Retries of
429, 5xx and time-outs are the SDK's (``max_retries``); what still fails becomes an ``AnalysisError``
whose message names the server and what to do — never the key.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Sequence
from typing import Any, TypeVar

import openai
import pydantic
from openai import OpenAI

from engagement.account.domains import Account
from engagement.account.people import dedupe_roles
from engagement.analysis.base import Usage, make_fingerprint, merge_meeting_insights
from engagement.analysis.prompts import (
    MAP_SYSTEM,
    PROMPT_VERSION,
    REDUCE_SYSTEM,
    AccountAnalysis,
    AccountItemOut,
    EvidenceCatalogue,
    ItemOut,
    MeetingAnalysis,
    estimate_tokens,
    map_user_message,
    reduce_user_message,
    split_lines,
    transcript_lines,
)
from engagement.analysis.verify import fold
from engagement.errors import (
    AnalysisAuthError,
    AnalysisError,
    AnalysisOutputError,
    AnalysisRefusalError,
    AnalysisTruncatedError,
    AnalysisUnavailableError,
    SettingsError,
)
from engagement.models import (
    AccountInsights,
    Evidence,
    Insight,
    Meeting,
    MeetingInsights,
    Person,
    PersonRole,
    Theme,
)
from engagement.registry import REGISTRY
from engagement.settings import Settings
from engagement.wording import plural

__all__ = ["OpenAIAnalyzer"]

log = logging.getLogger(__name__)

MAX_RECOMMENDATIONS = 7
# What an evidence id the model made up resolves to: no meeting's quote, so verification drops it.
_UNKNOWN_ID = Evidence(recording_id=0, timestamp="", quote="", verified=False)
Schema = TypeVar("Schema", bound=pydantic.BaseModel)
# Reasoning families take no sampling parameters: gpt-5 and o-series answer 400 to temperature != 1.
REASONING_MODEL = re.compile(r"^(gpt-5|gpt-6|o\d)", re.IGNORECASE)
# A prompt whose reported size is below this share of our estimate was cut by the server's context.
PROMPT_CUT_RATIO = 0.5
NO_TEMPERATURE_KIND = "model refused temperature"  # in the registry: models that refused it once in this process


def sampling_params(model: str) -> dict[str, Any]:
    """What to send besides the messages: ``temperature=0`` only for a model known to accept it."""
    refused = REGISTRY.find(NO_TEMPERATURE_KIND, model) is not None
    if refused or REASONING_MODEL.match(model):
        return {}
    return {"temperature": 0}


def _forget_temperature(model: str) -> None:
    REGISTRY.put(NO_TEMPERATURE_KIND, model, True)


def _refuses(exc: openai.BadRequestError, param: str) -> bool:
    """Whether a 400 names ``param`` as the problem (OpenAI's ``param`` field, or its message)."""
    return getattr(exc, "param", None) == param or f"'{param}'" in str(exc.message)


class OpenAIAnalyzer:
    """Analyses meetings with an OpenAI-compatible chat-completions server (structured outputs).

    Attributes:
        name: ``openai:<model>``.
        fingerprint: hash of the kind, model and ``PROMPT_VERSION``.
        concurrency: model calls in flight at once, across every thread that uses this analyser.
        context_tokens: transcript tokens per map call (estimated at four characters a token);
            longer transcripts are split between turns into several calls.
    """

    def __init__(self, client: OpenAI, *, model: str, concurrency: int = 4, context_tokens: int = 100_000) -> None:
        self.client = client
        self.model = model
        self.concurrency = max(1, concurrency)
        self.context_tokens = max(1, context_tokens)
        self.name = f"openai:{model}"
        self.fingerprint = make_fingerprint(kind="openai", model=model, prompt=PROMPT_VERSION)
        self.usage = Usage()
        self._slots = threading.BoundedSemaphore(self.concurrency)

    @classmethod
    def from_settings(cls, settings: Settings, http_client: Any | None = None) -> OpenAIAnalyzer:
        """The analyser the settings describe; ``http_client`` (an ``httpx2.Client``) is for tests and proxies."""
        if not settings.openai_api_key:
            raise SettingsError("OPENAI_API_KEY is not set; the offline analyser is used without it.")
        client = OpenAI(
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url or None,
            timeout=settings.openai_timeout_s,
            max_retries=settings.openai_max_retries,
            http_client=http_client,
        )
        return cls(
            client,
            model=settings.openai_model,
            concurrency=settings.openai_concurrency,
            context_tokens=settings.openai_context_tokens,
        )

    # -- map

    def analyse_meeting(self, meeting: Meeting, *, domain: str | Account, company: str) -> MeetingInsights:
        if meeting.transcript is None:
            raise ValueError(f"Meeting {meeting.recording_id} has no transcript to analyse.")
        lines = transcript_lines(meeting, domain)
        if not lines:
            return MeetingInsights(recording_id=meeting.recording_id)
        parts = split_lines(lines, self.context_tokens)
        what = f"meeting {meeting.recording_id} ({meeting.title!r})"
        results = []
        for number, part in enumerate(parts, start=1):
            user = map_user_message(meeting, domain=domain, company=company, lines=part, part=number, parts=len(parts))
            answer = self.structured(MAP_SYSTEM, user, MeetingAnalysis, what=what)
            results.append(_meeting_insights(meeting.recording_id, answer))
        return merge_meeting_insights(meeting.recording_id, results)

    # -- reduce

    def merge(
        self,
        *,
        domain: str | Account,
        company: str,
        meetings: Sequence[Meeting],
        insights: Sequence[MeetingInsights],
        people: Sequence[Person],
    ) -> AccountInsights:
        if not insights:
            return AccountInsights()
        catalogue = EvidenceCatalogue.build(insights)

        def message(per_item: int = 3, with_extras: bool = True) -> str:
            return reduce_user_message(
                domain=domain,
                company=company,
                meetings=meetings,
                insights=insights,
                people=people,
                catalogue=catalogue,
                per_item=per_item,
                with_extras=with_extras,
            )

        user = message()
        if estimate_tokens(user) > self.context_tokens:  # a large account: one id per point, no extras
            user = message(per_item=1, with_extras=False)
        answer = self.structured(REDUCE_SYSTEM, user, AccountAnalysis, what="the account summary")

        def cite(ids: Sequence[str]) -> list[Evidence]:
            found, missing = catalogue.resolve(ids)
            return found + [_UNKNOWN_ID] * missing  # kept, so verification drops and counts them

        def items(out: Sequence[AccountItemOut]) -> list[Insight]:
            return [Insight(text=o.text.strip(), evidence=cite(o.evidence_ids)) for o in out if o.text.strip()]

        return AccountInsights(
            themes=[
                Theme(topic=t.topic.strip(), mentions=0, meetings=list(t.meeting_ids), evidence=cite(t.evidence_ids))
                for t in answer.themes
                if t.topic.strip()
            ],
            goals=items(answer.goals),
            challenges=items(answer.challenges),
            risks=items(answer.risks),
            recommendations=items(answer.recommendations[:MAX_RECOMMENDATIONS]),
            roles=_roles(insights, people),
        )

    # -- one call

    def structured(self, system: str, user: str, schema: type[Schema], *, what: str) -> Schema:
        """One structured-output call: the answer parsed into ``schema`` (read with its caps).

        Every model call of the app goes through here (the map, the reduce, Ask's answers): it waits for
        one of ``concurrency`` slots, counts the call and its tokens in ``usage``, retries a refused
        ``temperature`` once, and turns every failure into an ``AnalysisError`` whose message names
        ``what`` was being asked ("the question", "the account summary").
        """
        messages: list[Any] = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        with self._slots:
            self.usage.add(llm_calls=1)
            try:
                completion = self._parse(messages, schema)
            except openai.LengthFinishReasonError as exc:
                self._count(exc.completion.usage)
                raise AnalysisTruncatedError(
                    f"The model's answer for {what} was cut off at its length limit. Lower OPENAI_CONTEXT_TOKENS "
                    "so long meetings are sent in smaller parts, then try again."
                ) from exc
            except openai.ContentFilterFinishReasonError as exc:
                raise AnalysisRefusalError(
                    f"The model's content filter stopped its answer for {what}. Try again, or unset OPENAI_API_KEY "
                    "to use the offline analyser."
                ) from exc
            except (pydantic.ValidationError, json.JSONDecodeError, openai.APIResponseValidationError) as exc:
                raise self._bad_output(what) from exc
            except RecursionError:  # JSON nested past Python's recursion limit
                raise AnalysisOutputError(
                    f"The OpenAI server at {self.server} sent a malformed response for {what} (JSON nested too "
                    "deeply to read). Try again; if it persists, check OPENAI_BASE_URL."
                ) from None
            except openai.OpenAIError as exc:
                raise self._translate(exc) from exc
        self._count(completion.usage)
        self._check_prompt(completion.usage, system, user)
        if not completion.choices:
            raise self._bad_output(what)
        message = completion.choices[0].message
        if message.refusal:
            raise AnalysisRefusalError(
                f"The model refused to analyse {what}: {self._scrub(message.refusal)[:300]}. Try again, or unset "
                "OPENAI_API_KEY to use the offline analyser."
            )
        if message.parsed is None:
            raise self._bad_output(what)
        parsed = message.parsed
        self.usage.add(items_dropped=getattr(parsed, "items_dropped", 0), texts_cut=getattr(parsed, "texts_cut", 0))
        return parsed

    def _parse(self, messages: list[Any], schema: type[Schema]) -> Any:
        """The structured-output call; a 400 naming ``temperature`` is retried once without it (and remembered)."""
        params = sampling_params(self.model)
        try:
            return self.client.chat.completions.parse(
                model=self.model, messages=messages, response_format=schema, **params
            )
        except openai.BadRequestError as exc:
            if "temperature" not in params or not _refuses(exc, "temperature"):
                raise
            log.info("%s does not take temperature=0; calling it without sampling parameters from now on", self.model)
            _forget_temperature(self.model)
            return self.client.chat.completions.parse(model=self.model, messages=messages, response_format=schema)

    def _check_prompt(self, usage: Any, system: str, user: str) -> None:
        """Count a prompt the server reports far shorter than what was sent (its context cut it)."""
        reported = getattr(usage, "prompt_tokens", None)
        if not reported:
            return
        if reported < PROMPT_CUT_RATIO * estimate_tokens(system + user):
            self.usage.add(prompts_cut=1)

    def _count(self, usage: Any) -> None:
        if usage is not None:
            self.usage.add(tokens_in=usage.prompt_tokens or 0, tokens_out=usage.completion_tokens or 0)

    @property
    def server(self) -> str:
        """``host[:port]`` of the base URL: what messages name (never the key)."""
        url = self.client.base_url
        return f"{url.host}:{url.port}" if url.port else str(url.host)

    def _scrub(self, text: str) -> str:
        key = self.client.api_key if isinstance(self.client.api_key, str) else ""
        return text.replace(key, "***") if len(key) >= 4 else text

    def _bad_output(self, what: str) -> AnalysisOutputError:
        return AnalysisOutputError(
            f"The model's answer for {what} was not valid JSON for the requested schema. Try again, or set "
            f"OPENAI_MODEL to a model that supports structured outputs (now {self.model!r})."
        )

    def _translate(self, exc: openai.OpenAIError) -> AnalysisError:
        """The SDK's exception (after its retries) as a message a person can act on."""
        server = self.server
        retries = self.client.max_retries
        after = f" after {plural(retries, 'retry', 'retries')}" if retries else ""
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return AnalysisAuthError(
                f"The OpenAI server at {server} rejected the API key ({exc.status_code}). Check OPENAI_API_KEY, "
                "or unset it to use the offline analyser."
            )
        if isinstance(exc, openai.APITimeoutError):
            timeout = self.client.timeout
            seconds = getattr(timeout, "read", None) or timeout
            return AnalysisUnavailableError(
                f"The OpenAI server at {server} did not answer within {seconds} s{after}. Try again later, or raise "
                "OPENAI_TIMEOUT_S."
            )
        if isinstance(exc, openai.APIConnectionError):
            return AnalysisUnavailableError(
                f"The OpenAI server at {server} could not be reached{after}. Check OPENAI_BASE_URL and the network "
                "connection, then try again."
            )
        if isinstance(exc, openai.RateLimitError):
            if exc.code == "insufficient_quota":
                return AnalysisUnavailableError(
                    f"The OpenAI server at {server} says the account has no quota left (429). Check the plan and "
                    "billing of the OPENAI_API_KEY account."
                )
            return AnalysisUnavailableError(
                f"The OpenAI server at {server} kept answering 'too many requests' (429){after}. Wait a minute and "
                "try again, or lower OPENAI_CONCURRENCY."
            )
        if isinstance(exc, openai.InternalServerError):
            return AnalysisUnavailableError(
                f"The OpenAI server at {server} kept failing ({exc.status_code}){after}. Try again later."
            )
        if isinstance(exc, openai.NotFoundError):
            return AnalysisError(
                f"The OpenAI server at {server} does not know the model {self.model!r} (404). Check OPENAI_MODEL "
                "(and OPENAI_BASE_URL)."
            )
        if isinstance(exc, openai.BadRequestError) and _no_structured_outputs(exc):
            return AnalysisError(
                f"The model {self.model!r} at {server} does not support structured outputs (JSON schema answers), "
                "which the analysis needs. Set OPENAI_MODEL to a model that does, such as gpt-5.4-mini, or unset "
                "OPENAI_API_KEY to use the offline analyser."
            )
        if isinstance(exc, openai.APIStatusError):
            detail = self._scrub(str(exc.message))[:300]
            return AnalysisError(
                f"The OpenAI server at {server} refused the request ({exc.status_code}): {detail}. Check "
                "OPENAI_MODEL and OPENAI_BASE_URL."
            )
        return AnalysisError(f"The call to the OpenAI server at {server} failed: {self._scrub(str(exc))[:300]}")


def _no_structured_outputs(exc: openai.BadRequestError) -> bool:
    """Whether a 400 says the model cannot answer with a JSON schema."""
    text = str(exc.message).lower()
    return getattr(exc, "param", None) == "response_format" or (
        ("response_format" in text or "json_schema" in text or "structured output" in text)
        and ("not supported" in text or "unsupported" in text or "invalid" in text)
    )


# ---------------------------------------------------------------- answers to our models


def _items(recording_id: int, out: Sequence[ItemOut]) -> list[Insight]:
    return [
        Insight(
            text=o.text.strip(),
            evidence=[
                Evidence(recording_id=recording_id, timestamp=q.timestamp, quote=q.quote, speaker=q.speaker or None)
                for q in o.evidence
            ],
        )
        for o in out
        if o.text.strip()
    ]


def _meeting_insights(recording_id: int, answer: MeetingAnalysis) -> MeetingInsights:
    return MeetingInsights(
        recording_id=recording_id,
        themes=_items(recording_id, answer.themes),
        goals=_items(recording_id, answer.goals),
        challenges=_items(recording_id, answer.challenges),
        risks=_items(recording_id, answer.risks),
        roles=[
            PersonRole(
                name=r.name.strip(),
                email=r.email or None,
                role=r.role.strip(),
                evidence=[
                    Evidence(recording_id=recording_id, timestamp=q.timestamp, quote=q.quote, speaker=q.speaker or None)
                    for q in r.evidence
                ],
            )
            for r in answer.roles
            if r.name.strip() and r.role.strip()
        ],
        next_steps=_items(recording_id, answer.next_steps),
    )


def _roles(insights: Sequence[MeetingInsights], people: Sequence[Person]) -> list[PersonRole]:
    """The meetings' (verified) roles, the latest meeting's first; named as the account's people are, when known.

    The reduce step writes no roles: a role is only ever what a meeting said, with its quote.
    """
    by_email = {p.email.lower(): p for p in people if p.email}
    by_name = {fold(p.name): p for p in people}
    out = []
    for r in (r for mi in reversed(insights) for r in mi.roles):
        role = r.role.strip()
        if not role or not r.name.strip() or not r.evidence:
            continue
        person = (by_email.get(r.email.lower()) if r.email else None) or by_name.get(fold(r.name))
        if person is not None:
            out.append(r.model_copy(update={"name": person.name, "email": person.email, "role": role}))
        else:  # a first name said of someone ("our CFO, Ingrid"): the account's people resolve it, or drop it
            out.append(r.model_copy(update={"role": role}))
    return dedupe_roles(out)
