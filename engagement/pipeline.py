"""The job body: fetch → aggregate → analyse (map) → merge (reduce), reporting progress as it goes.

Plain functions with their dependencies passed in, so tests hand it fakes and the bench real
loopback servers. Counts come from :mod:`engagement.facts`, never from the model.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import date

from engagement.analysis import Analyzer, InsightCache, verify_account, verify_meeting_insights
from engagement.changes import changes_since
from engagement.facts import aggregate, coverage_of
from engagement.fathom import FathomClient
from engagement.jobs import JobContext
from engagement.models import (
    AccountInsights,
    EngagementSummary,
    Insight,
    Meeting,
    MeetingInsights,
    Side,
    format_utc,
    utcnow,
)
from engagement.people import assign_roles, speakers_of, words_of
from engagement.signals import Thresholds, signals_of

log = logging.getLogger(__name__)

PAGE_SIZE = 10  # Fathom pages /meetings by 10 and has no page-size parameter


def run(
    ctx: JobContext,
    *,
    fathom: FathomClient,
    analyzer: Analyzer,
    cache: InsightCache,
    source: str,
    company: str = "",
    concurrency: int = 4,
    thresholds: Thresholds | None = None,
    today: date | None = None,
) -> EngagementSummary:
    """Build the account's summary; raises an ``EngagementError`` with a message for the user.

    ``today`` (default: the UTC date) and ``thresholds`` are what the signals are computed against.
    """
    fetched_at = format_utc(utcnow())
    domain = ctx.domain
    since = date.fromisoformat(ctx.options.since) if ctx.options.since else None
    until = date.fromisoformat(ctx.options.until) if ctx.options.until else None
    ctx.report("fetching meetings", 0, None, source=source, analyzer=analyzer.name)

    # A cold cache wants every transcript: the include flag brings them with the pages (one
    # request per 10 meetings). A warm one lists without them and fetches only what is missing.
    cold = not cache.knows_domain(domain)

    def on_page(pages: int, meetings: int) -> None:
        ctx.stats.fathom_requests = fathom.requests
        ctx.report(f"meetings fetched: {meetings}", meetings, None)

    meetings = fathom.list_meetings(
        domain,
        since=since,
        until=until,
        include_transcript=cold,
        include_summary=True,
        include_action_items=True,
        on_page=on_page,
    )
    ctx.stats.meetings = len(meetings)
    ctx.stats.fathom_requests = fathom.requests
    summary = EngagementSummary(domain=domain, company=company)
    if not meetings:
        aggregate(domain, meetings).apply(summary)
        summary.notes.append(_no_meetings_note(domain, since, until))
        _add_account_view(ctx, summary, fetched_at, thresholds, today)
        ctx.report("no meetings found", 0, 0)
        return summary

    # ---- analyse (map): cached meetings are free; the rest need a transcript and a model call.
    found: dict[int, MeetingInsights] = {}
    for meeting in meetings:
        hit = cache.get(meeting, analyzer.fingerprint)
        if hit is not None:
            found[meeting.recording_id] = hit
    ctx.stats.cached_meetings = len(found)
    total = len(meetings)
    missing = [m for m in meetings if m.recording_id not in found]
    if missing:
        fetched = {m.recording_id: m for m in _with_transcripts(ctx, fathom, domain, missing, since, until)}
        meetings = [fetched.get(m.recording_id, m) for m in meetings]
        missing = [fetched[m.recording_id] for m in missing]

    # ---- aggregate: facts from the data (who spoke in a cached meeting was kept with its analysis)
    speakers = {rid: insights.speakers for rid, insights in found.items()}
    words = {rid: insights.speaker_words for rid, insights in found.items()}
    facts = aggregate(domain, meetings, speakers=speakers, words=words)
    facts.apply(summary)

    ctx.report(f"analysed {len(found)}/{total} meetings", len(found), total)
    dropped_here = 0
    if missing:
        dropped_here = _analyse(ctx, analyzer, cache, missing, found, total, company, concurrency)
    cache.remember_domain(domain, [m.recording_id for m in meetings])

    # ---- merge (reduce)
    ctx.report("merging insights", total, total)
    ordered = [found[m.recording_id] for m in meetings if m.recording_id in found]
    account_key = cache.account_key(domain, analyzer.fingerprint, company, ordered, summary.people)
    account = cache.get_account(account_key)
    if account is None:
        account = analyzer.merge(
            domain=domain, company=company, meetings=meetings, insights=ordered, people=summary.people
        )
        account, dropped = verify_account(account, ordered)
        dropped_here += dropped
        cache.put_account(account_key, account)
    _apply_account(summary, account)
    for ref in summary.meetings:
        ref.analysed = ref.recording_id in found
    _add_account_view(ctx, summary, fetched_at, thresholds, today)
    _record_usage(ctx, analyzer, dropped_here)
    ctx.stats.fathom_requests = fathom.requests
    return summary


def _add_account_view(
    ctx: JobContext, summary: EngagementSummary, fetched_at: str, thresholds: Thresholds | None, today: date | None
) -> None:
    """Coverage, signals and what changed since the last run: rules over the facts, no model call."""
    summary.coverage = coverage_of(summary.meetings, summary.people, index_updated_at=fetched_at)
    summary.signals = signals_of(summary, today=today or utcnow().date(), thresholds=thresholds)
    previous = ctx.previous_complete()
    summary.changes = changes_since(previous, summary) if previous is not None else None


def _no_meetings_note(domain: str, since: date | None, until: date | None) -> str:
    period = ""
    if since or until:
        period = f" between {since or 'the first recording'} and {until or 'today'}"
    return (
        f"No recorded Fathom meetings with anyone at {domain}{period}. Check the spelling of the website, "
        "widen the date range, or make sure the meetings were recorded with Fathom."
    )


def _with_transcripts(
    ctx: JobContext,
    fathom: FathomClient,
    domain: str,
    missing: list[Meeting],
    since: date | None,
    until: date | None,
) -> list[Meeting]:
    """The missing meetings with transcripts, by whichever costs fewer Fathom requests."""
    need = [m for m in missing if m.transcript is None]
    if not need:
        return missing
    pages = max(1, math.ceil(ctx.stats.meetings / PAGE_SIZE))
    if len(need) > pages:
        ctx.report(f"fetching transcripts of {len(need)} meetings")
        relisted = fathom.list_meetings(
            domain, since=since, until=until, include_transcript=True, include_summary=True, include_action_items=True
        )
        by_id = {m.recording_id: m for m in relisted}
        out = [by_id.get(m.recording_id, m) for m in missing]
    else:
        out = []
        for i, meeting in enumerate(missing, 1):
            if meeting.transcript is None:
                ctx.report(f"fetching transcript {i}/{len(missing)}")
                meeting = meeting.model_copy(update={"transcript": fathom.get_transcript(meeting.recording_id)})
            out.append(meeting)
    ctx.stats.fathom_requests = fathom.requests
    return out


def _analyse(
    ctx: JobContext,
    analyzer: Analyzer,
    cache: InsightCache,
    missing: Sequence[Meeting],
    found: dict[int, MeetingInsights],
    total: int,
    company: str,
    concurrency: int,
) -> int:
    """Map: one analysis per meeting, ``concurrency`` at a time, each verified and cached as it lands.

    Returns how many quotes verification dropped (not in the transcript, another meeting, a bad time).
    """
    dropped_here = 0
    stop = threading.Event()  # the first failure (or a time-out) stops meetings not yet started

    def analyse(meeting: Meeting) -> MeetingInsights | None:
        if stop.is_set():
            return None
        try:
            return analyzer.analyse_meeting(meeting, domain=ctx.domain, company=company)
        except BaseException:
            stop.set()
            raise

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="engagement-map") as pool:
        futures = {pool.submit(analyse, meeting): meeting for meeting in missing}
        try:
            for future in as_completed(futures):
                meeting = futures[future]
                result = future.result()
                if result is None:
                    continue
                insights, dropped = verify_meeting_insights(result, meeting)
                if dropped:
                    log.info(
                        "meeting %s: %d quote(s) not found in the transcript were dropped",
                        meeting.recording_id,
                        dropped,
                    )
                insights = insights.model_copy(
                    update={"speakers": speakers_of(meeting), "speaker_words": words_of(meeting)}
                )
                dropped_here += dropped
                cache.put(meeting, analyzer.fingerprint, insights)
                found[meeting.recording_id] = insights
                _record_usage(ctx, analyzer, dropped_here)
                ctx.report(f"analysed {len(found)}/{total} meetings", len(found), total)
        except BaseException:
            stop.set()
            for pending in futures:
                pending.cancel()
            raise
    return dropped_here


def _record_usage(ctx: JobContext, analyzer: Analyzer, dropped: int) -> None:
    """Copy the analyser's call and token counters, and the quotes verification dropped so far."""
    usage = analyzer.usage
    ctx.stats.llm_calls = usage.llm_calls
    ctx.stats.tokens_in = usage.tokens_in
    ctx.stats.tokens_out = usage.tokens_out
    ctx.stats.evidence_dropped = dropped


def _texts(insights: Sequence[Insight]) -> list[str]:
    return [i.text for i in insights]


def _apply_account(summary: EngagementSummary, account: AccountInsights) -> None:
    """Fill the seed's analysis fields (plain strings), the evidence-bearing lists, and people's roles."""
    summary.themes = account.themes
    summary.goals_detail = account.goals
    summary.challenges_detail = account.challenges
    summary.risks_detail = account.risks
    summary.recommendations_detail = account.recommendations
    summary.goals = _texts(account.goals)
    summary.challenges = _texts(account.challenges)
    summary.risks = _texts(account.risks)
    summary.recommendations = _texts(account.recommendations)
    assign_roles(summary.people, account.roles)
    if not any(p.side is Side.CUSTOMER for p in summary.people):
        summary.notes.append("None of the invitees' e-mail addresses are at the company's domain.")
