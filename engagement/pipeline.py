"""The job body: fetch → aggregate → analyse (map) → merge (reduce), reporting progress as it goes.

Plain functions with their dependencies passed in, so tests hand it fakes and the bench real
loopback servers. Counts come from :mod:`engagement.account.facts`, never from the model.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, date, datetime, timedelta

from engagement.account.changes import changes_since
from engagement.account.domains import Account, lookalike_warning, refuse_ours
from engagement.account.domains import our_domains as ours
from engagement.account.facts import aggregate, coverage_of
from engagement.account.people import assign_roles, names_ours_as_customer, speakers_of, words_of
from engagement.account.rep_roles import RepRoles, lay_over
from engagement.account.signals import Thresholds, judge
from engagement.analysis import Analyzer, InsightCache, verify_account, verify_meeting_insights
from engagement.analysis.base import Usage
from engagement.analysis.prompts import MAX_CHARS, MAX_ITEMS
from engagement.analysis.verify import customer_words, evidence_key
from engagement.deadline import Deadline
from engagement.errors import (
    FathomAuthError,
    FathomNotFoundError,
    FathomPayloadError,
    JobTimeoutError,
    StoreError,
)
from engagement.fathom.client import FathomClient
from engagement.jobs.service import JobContext
from engagement.meetings.index import TRANSCRIPT_PENDING, MeetingIndex, SyncTask, TranscriptWait, next_ask
from engagement.models import (
    AccountInsights,
    EngagementSummary,
    Insight,
    Meeting,
    MeetingInsights,
    MeetingQualification,
    MeetingRef,
    Person,
    PersonRole,
    Side,
    TranscriptTurn,
    format_utc,
    utcnow,
)
from engagement.qualification import commitments_of, qualify_account
from engagement.qualification.qualifier import Qualifier
from engagement.questions.search import TranscriptSearch
from engagement.render.present import (
    index_incomplete_note,
    indexing_stage,
    nice_date,
    nice_time,
    plural,
    still_indexing,
)
from engagement.settings import DEFAULT_INDEX_GRACE_S

log = logging.getLogger(__name__)

Connect = Callable[[], AbstractContextManager[FathomClient]]  # a Fathom client for the index's sync, closed after it
PAGE_SIZE = 10  # Fathom pages /meetings by 10 and has no page-size parameter
KEY_SCOPE_NOTE = (
    "Counts cover the meetings this Fathom key can see: those its user recorded or that were shared with them "
    "or their team. For the whole company's view use the key of an admin whose view covers all teams."
)


def run(
    ctx: JobContext,
    *,
    fathom: FathomClient,
    index: MeetingIndex,
    analyzer: Analyzer,
    cache: InsightCache,
    source: str,
    company: str = "",
    concurrency: int = 4,
    search: TranscriptSearch | None = None,
    thresholds: Thresholds | None = None,
    today: date | None = None,
    listing: Connect | None = None,
    our_domains: Collection[str] = (),
    clock: Callable[[], datetime] = utcnow,
    rep_roles: RepRoles | None = None,
    qualifier: Qualifier | None = None,
    account: Account | None = None,
    index_grace_s: float = DEFAULT_INDEX_GRACE_S,
) -> EngagementSummary:
    """Build the account's summary; raises an ``EngagementError`` with a message for the user.

    ``account`` is the customer: ``ctx.domain`` alone, or every domain a rep linked to it (resolved once, at the
    job's start); its meetings, people, sides, signals and qualification cover all of them, each meeting once.

    ``our_domains`` (``ENGAGEMENT_OUR_DOMAINS``) are ours besides those the index knows: the job refuses one
    as the customer, and their people are our side. ``clock`` says when a pending transcript is asked again.
    ``search``, when given, indexes every transcript the run holds (questions are answered from it).
    ``today`` (default: the UTC date) and ``thresholds`` are what the signals are computed against.
    ``listing`` gives the meeting index's background sync its Fathom client (see :func:`fetch`).
    ``rep_roles``: the roles reps set on the summary page, which win over the meetings' (and the signals read).
    ``qualifier``, when given, qualifies the account against its rubric (``summary.qualification``, ``commitments``).
    ``index_grace_s``: how long the job waits for a workspace's first listing before asking Fathom directly.
    """
    fetched_at = format_utc(utcnow())
    domain = ctx.domain
    account = account or Account.of(domain)
    # a meeting's analysis and qualification hold its speakers' sides, which depend on the account's domains
    fingerprint = _scoped(analyzer.fingerprint, account)
    qualified = _scoped(qualifier.fingerprint, account) if qualifier else ""
    since = date.fromisoformat(ctx.options.since) if ctx.options.since else None
    until = date.fromisoformat(ctx.options.until) if ctx.options.until else None
    ctx.report("checking Fathom for new meetings", 0, None, source=source, analyzer=analyzer.name)
    meetings, no_transcript = fetch(
        ctx,
        fathom=fathom,
        index=index,
        since=since,
        until=until,
        cache=cache,
        fingerprint=fingerprint,
        search=search,
        listing=listing,
        unqualified=(lambda m: cache.get_qualification(m, qualified) is None) if qualifier else None,
        our_domains=our_domains,
        clock=clock,
        account=account,
        index_grace_s=index_grace_s,
    )
    summary = EngagementSummary(domain=domain, domains=list(account.domains), company=company)
    summary.notes.extend(note for d in account.domains if (note := lookalike_warning(d)))
    summary.notes.extend(_fetch_notes(ctx, fathom, index, source, no_transcript))
    fetched_at = ctx.stats.index_synced_at or fetched_at  # coverage says how fresh the index is
    if not meetings:
        aggregate(account, meetings, internal_domains=our_domains).apply(summary)
        summary.notes.insert(0, _no_meetings_note(account, since, until))
        history = _history(index, fathom.workspace, account, since, until)
        _add_account_view(ctx, summary, fetched_at, thresholds, today, _refs(history))
        ctx.report("no meetings found", 0, 0)
        return summary

    # ---- analyse (map): cached meetings are free; the rest were given their transcripts by fetch().
    found: dict[int, MeetingInsights] = {}
    for meeting in meetings:
        hit = cache.get(meeting, fingerprint)
        if hit is not None:
            found[meeting.recording_id] = hit
    ctx.stats.cached_meetings = len(found)
    total = len(meetings)
    missing = [m for m in meetings if m.recording_id not in found and m.recording_id not in no_transcript]

    if search is not None:  # the transcripts this run holds; the index keeps them for later runs
        try:
            search.add(meetings)
        except StoreError as exc:  # the summary does not depend on it; the next run fills the gap
            log.warning("transcripts of %s not indexed for search: %s", domain, exc)

    # ---- aggregate: facts from the data (who spoke in a cached meeting was kept with its analysis)
    speakers = {rid: insights.speakers for rid, insights in found.items()}
    words = {rid: insights.speaker_words for rid, insights in found.items()}
    facts = aggregate(account, meetings, internal_domains=our_domains, speakers=speakers, words=words)
    facts.apply(summary)

    total = total - len(no_transcript)  # meetings without a transcript are counted, not analysed
    # the facts go on the record now, so the page shows them while the analysis runs (a copy: the
    # heartbeat thread may write the record while this thread fills the summary in)
    ctx.report(f"analysed {len(found)}/{total} meetings", len(found), total, summary=summary.model_copy(deep=True))
    dropped_here = 0
    if missing:
        dropped_here = _analyse(ctx, analyzer, cache, missing, found, total, company, concurrency, account, fingerprint)
    cache.remember_domain(domain, [m.recording_id for m in meetings if m.recording_id not in no_transcript])

    # ---- merge (reduce)
    ctx.report("merging insights", total, total)
    ordered = _as_named(summary.people, [found[m.recording_id] for m in meetings if m.recording_id in found])
    account_key = cache.account_key(domain, fingerprint, company, ordered, summary.people)
    merged = cache.get_account(account_key)
    if merged is None:
        merged = analyzer.merge(
            domain=account, company=company, meetings=meetings, insights=ordered, people=summary.people
        )
        merged, dropped = verify_account(merged, ordered)
        merged, ours = customer_words(merged)  # the customer's lists keep the customer's own words only
        advice = [r for r in merged.recommendations if not names_ours_as_customer(r.text, summary.people)]
        ours += len(merged.recommendations) - len(advice)  # "the concern <one of ours> raised": dropped, counted
        merged = merged.model_copy(update={"roles": _quoted_roles(merged.roles, ordered), "recommendations": advice})
        dropped_here += dropped + ours
        cache.put_account(account_key, merged)
    _apply_account(summary, merged)
    history = _history(index, fathom.workspace, account, since, until)
    if history:  # a filtered run: roles said in the account's other meetings are still the people's roles
        assign_roles(summary.people, _roles_elsewhere(history, set(found), cache, fingerprint))
    _apply_rep_roles(summary, rep_roles, domain)
    if qualifier is not None:
        ctx.report("qualifying the account", total, total)
        _qualify(ctx, summary, qualifier, cache, meetings, no_transcript, concurrency, account, qualified)
    for ref in summary.meetings:
        ref.analysed = ref.recording_id in found
        ref.no_transcript = no_transcript.get(ref.recording_id)
    _add_account_view(ctx, summary, fetched_at, thresholds, today, _refs(history))
    _record_usage(ctx, analyzer, dropped_here)
    cut = analyzer.usage.prompts_cut
    if cut:
        summary.notes.append(
            f"The model server reported {plural(cut, 'prompt')} far shorter than what was sent: its "
            "context window probably cut the transcript. Lower OPENAI_CONTEXT_TOKENS below the model's context size."
        )
    ctx.stats.fathom_requests = fathom.requests + ctx.stats.index_requests
    summary.notes += capped_notes(analyzer.usage)
    return summary


def _qualify(
    ctx: JobContext,
    summary: EngagementSummary,
    qualifier: Qualifier,
    cache: InsightCache,
    meetings: Sequence[Meeting],
    no_transcript: dict[int, str],
    concurrency: int = 4,
    account: Account | None = None,
    fingerprint: str = "",
) -> None:
    """Each meeting qualified (cached per meeting, rubric and qualifier — ``fingerprint``, default the qualifier's;
    ``concurrency`` at a time) for ``account`` (default: the job's domain), then the account's states and
    commitments."""
    account = account or Account.of(ctx.domain)
    fingerprint = fingerprint or qualifier.fingerprint
    per_meeting: dict[int, MeetingQualification] = {}
    todo = []
    for meeting in meetings:
        if meeting.recording_id in no_transcript:
            continue
        found = cache.get_qualification(meeting, fingerprint)
        if found is not None:
            per_meeting[meeting.recording_id] = found
        elif meeting.transcript is not None:
            todo.append(meeting)
    stop = threading.Event()  # the first failure (or a time-out) stops meetings not yet started

    def qualify(meeting: Meeting) -> MeetingQualification | None:
        if stop.is_set():
            return None
        try:
            return qualifier.qualify(meeting, domain=account)
        except BaseException:
            stop.set()
            raise

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="engagement-qualify") as pool:
        futures = {pool.submit(qualify, meeting): meeting for meeting in todo}
        try:
            for done, future in enumerate(as_completed(futures), start=1):
                found = future.result()
                if found is None:
                    continue
                cache.put_qualification(futures[future], fingerprint, found)
                per_meeting[found.recording_id] = found
                ctx.report(f"qualified {done}/{len(todo)} meetings", done, len(todo))
        except BaseException:
            stop.set()
            for pending in futures:
                pending.cancel()
            raise
    # what verification did to the model's quotes (the offline qualifier's are the transcript's by construction)
    ctx.stats.qualification_quotes_moved = getattr(qualifier, "reattributed", 0)
    ctx.stats.qualification_quotes_dropped = getattr(qualifier, "dropped", 0)
    previous = ctx.previous_complete()
    before = previous.summary.qualification if previous is not None and previous.summary is not None else None
    if before is not None and before.methodology != qualifier.rubric.key:
        before = None  # another methodology's elements are no baseline
    summary.qualification = qualify_account(
        qualifier.rubric, meetings, per_meeting, analyzer=qualifier.name, previous=before
    )
    summary.commitments = commitments_of(meetings, per_meeting)


def _scoped(fingerprint: str, account: Account) -> str:
    """The cache fingerprint of a meeting's analysis for ``account``: who is the customer in a meeting depends on
    the account it is read for (a meeting with buyers at two companies is read once for each; a linked account's
    sides are not one domain's), so the same meeting's analysis for another account is never reused."""
    return f"{fingerprint}|account={','.join(sorted(account.domains))}"


def _history(
    index: MeetingIndex, workspace: str, domain: str | Account, since: date | None, until: date | None
) -> list[Meeting] | None:
    """Every meeting of the account whatever the dates asked for (a filtered run's time signals read them).

    ``None`` for an unfiltered run (its meetings are the history) or when the index cannot be read (the
    time signals are then not judged, and the coverage line says why).
    """
    if since is None and until is None:
        return None
    try:
        return index.meetings_for(workspace, domain)
    except StoreError as exc:
        log.warning("the account's other meetings could not be read; time signals not judged: %s", exc)
        return None


def _refs(meetings: Sequence[Meeting] | None) -> list[MeetingRef] | None:
    """Meeting rows of ``meetings`` with what the time signals read: id, title, date, links."""
    if meetings is None:
        return None
    return [
        MeetingRef(
            recording_id=m.recording_id,
            title=m.title,
            date=m.started_at.astimezone(UTC).date().isoformat(),
            started_at=format_utc(m.started_at),
            url=m.url,
            share_url=m.share_url,
        )
        for m in meetings
    ]


def _roles_elsewhere(
    history: Sequence[Meeting], analysed: set[int], cache: InsightCache, fingerprint: str
) -> list[PersonRole]:
    """Roles said in the account's meetings outside the dates asked for, from their cached (verified) analyses.

    The latest meeting's first; a meeting never analysed says nothing (no transcript is fetched for it).
    """
    roles: list[PersonRole] = []
    for meeting in history:  # newest first
        if meeting.recording_id in analysed:
            continue
        try:
            insights = cache.get(meeting, fingerprint)
        except StoreError as exc:
            log.warning("cached roles of the account's other meetings could not be read: %s", exc)
            return roles
        if insights is not None:
            roles += [r for r in insights.roles if r.evidence]
    return roles


def _add_account_view(
    ctx: JobContext,
    summary: EngagementSummary,
    fetched_at: str,
    thresholds: Thresholds | None,
    today: date | None,
    history: list[MeetingRef] | None = None,
) -> None:
    """Coverage, signals and what changed since the last run: rules over the facts, no model call.

    A run filtered by dates judges the time signals on ``history`` (every meeting of the account).
    """
    summary.coverage = coverage_of(summary.meetings, summary.people, index_updated_at=fetched_at)
    summary.coverage.index_complete = ctx.stats.index_complete
    summary.coverage.index_meetings = ctx.stats.index_meetings
    summary.coverage.index_covered_from = ctx.stats.index_covered_from
    filtered = bool(ctx.options.since or ctx.options.until)
    judged = judge(summary, today=today or utcnow().date(), thresholds=thresholds, history=history, filtered=filtered)
    summary.signals = judged.signals
    summary.coverage.not_judged = judged.not_judged
    previous = ctx.previous_complete()
    summary.changes = changes_since(previous, summary) if previous is not None else None


def capped_notes(usage: Usage) -> list[str]:
    """What the caps on reading the model's answers left out, for the summary's notes."""
    notes = []
    if usage.items_dropped:
        notes.append(
            f"The model's answers held more than {MAX_ITEMS} items in a list: {usage.items_dropped:,} were left out."
        )
    if usage.texts_cut:
        notes.append(f"{usage.texts_cut:,} texts in the model's answers were cut at {MAX_CHARS:,} characters.")
    return notes


def _no_meetings_note(account: Account, since: date | None, until: date | None) -> str:
    period = ""
    if since or until:
        period = f" between {nice_date(since) if since else 'the first recording'} and {nice_date(until) if until else 'today'}"
    return (
        f"No recorded Fathom meetings with anyone at {account.label()}{period}. Check the spelling of the website, "
        "widen the date range, or make sure the meetings were recorded with Fathom."
    )


def fetch(
    ctx: JobContext,
    *,
    fathom: FathomClient,
    index: MeetingIndex,
    since: date | None,
    until: date | None,
    cache: InsightCache,
    fingerprint: str,
    search: TranscriptSearch | None = None,
    listing: Connect | None = None,
    poll_s: float = 1.0,
    unqualified: Callable[[Meeting], bool] | None = None,
    our_domains: Collection[str] = (),
    clock: Callable[[], datetime] = utcnow,
    account: Account | None = None,
    index_grace_s: float = DEFAULT_INDEX_GRACE_S,
) -> tuple[list[Meeting], dict[int, str]]:
    """The account's meetings, from the workspace meeting index brought up to date first.

    ``listing()`` gives the index's sync its own Fathom client, free of the job's deadline (default: the
    job's client); the job waits for that sync, reporting its progress every ``poll_s``.

    Every meeting any of whose invitees has an e-mail at the domain counts, whatever company Fathom
    files it under. Meetings whose analysis is not cached, or whose transcript ``search`` does not
    hold yet, come back with their transcripts (from ``search`` when it holds them, e.g. delivered by a
    webhook; else from Fathom); those that have none (or whose transcript could not
    be read) are returned in the second value with the reason, counted but not analysed. Only the
    listing failing fails the job, and our own domain (the index's or ``our_domains``) is refused.
    ``unqualified(meeting)`` says a meeting's qualification is not cached: its transcript is fetched too.
    A transcript Fathom has not made yet is "transcript pending" and asked for again on a later run
    (``MeetingIndex``'s back-off, against ``clock``); a week after the meeting it is "no transcript".
    ``account`` (default: ``ctx.domain`` alone): a linked account's meetings at every one of its domains, each once.

    While no full listing of the workspace has ever ended (a first day on a big workspace), the job waits for it
    at most ``index_grace_s``, then completes with what the index holds and what Fathom files under each of the
    account's domains for the days the index has not reached (:func:`_with_direct`); ``ctx.stats.index_complete``
    says which.
    """
    account = account or Account.of(ctx.domain)

    def waiting(seconds: float) -> None:
        ctx.report(f"waiting for Fathom's rate limit ({math.ceil(seconds)} s)")

    # The index is brought up to date by the workspace's sync in its own thread, not under this job's time limit:
    # at the limit the job ends saying the indexing carries on, and the sync does.
    task, _ = index.start_sync(fathom.workspace, listing or (lambda: nullcontext(fathom)))

    holds = [_held(index, fathom.workspace)]  # what the index holds: a time-out says this, not just this pass's pages

    def indexing(meetings: int) -> None:
        ctx.stats.index_requests = task.requests
        ctx.stats.fathom_requests = fathom.requests + task.requests
        holds[0] = max(_held(index, fathom.workspace, holds[0]), meetings)
        ctx.report(indexing_stage(holds[0]), holds[0], None)

    complete = _index_complete(index, fathom.workspace)
    ctx.explain_timeout(lambda: still_indexing(max(holds[0], task.meetings)))
    if complete:
        task.wait(ctx.deadline, on_progress=indexing, on_wait=waiting, poll_s=poll_s)
    else:  # the first listing of a workspace: a small one ends in a moment, a big one is not waited for
        complete = _wait_briefly(task, ctx.deadline, index_grace_s, indexing, waiting, poll_s)
    if complete:  # else a time-out asking Fathom for the account still means: the indexing carries on
        ctx.explain_timeout(None)
    ctx.stats.index_complete = complete
    ourselves = ours(index.internal_domains(fathom.workspace), our_domains)
    for domain in account.domains:
        refuse_ours(domain, ourselves)
    fathom.on_wait = waiting  # the job's own requests (transcripts) show their waits too
    ctx.stats.index_requests = task.requests
    fathom.count_skipped(task.skipped, task.skipped_count)  # the listing's unreadable items go in this job's notes
    after = datetime.combine(since, datetime.min.time(), UTC) if since else None
    before = datetime.combine(until + timedelta(days=1), datetime.min.time(), UTC) if until else None
    meetings = index.meetings_for(fathom.workspace, account, since=after, before=before)
    if not complete:
        meetings = _with_direct(ctx, fathom, index, meetings, account=account, since=since, until=until)
        ctx.explain_timeout(None)
    ctx.stats.meetings = len(meetings)
    ctx.stats.fathom_requests = fathom.requests + ctx.stats.index_requests
    ctx.report(f"meetings found: {len(meetings)}", len(meetings), None)
    now = clock()
    final, waits = index.transcript_waits(fathom.workspace, [m.recording_id for m in meetings])
    known = final | {rid: TRANSCRIPT_PENDING for rid, wait in waits.items() if wait.next_at > now}
    unindexed = _not_searchable(search, [m.recording_id for m in meetings if m.recording_id not in known])
    need = [
        m
        for m in meetings
        if m.recording_id not in known
        and (
            m.recording_id in unindexed
            or cache.get(m, fingerprint) is None
            or (unqualified is not None and unqualified(m))
        )
    ]
    held = _held_transcripts(search, [m.recording_id for m in need if m.recording_id not in unindexed])
    fetched, no_transcript = _transcripts(
        ctx, fathom, [m for m in need if m.recording_id not in held], since, until, account
    )
    transcripts = {**held, **fetched}
    # Fathom's "no transcript" (404, null) is remembered: pending, asked again later, until a week after the
    # meeting; then for good. A 403 or an unreadable one is asked again next time.
    ended = {m.recording_id: m.recording_end_time or m.started_at for m in meetings}
    gone: dict[int, str] = {}
    pending: dict[int, TranscriptWait] = {}
    for rid, reason in no_transcript.items():
        if reason != NO_TRANSCRIPT:
            continue
        asked = waits[rid].asked + 1 if rid in waits else 1
        next_at = next_ask(ended[rid], asked, now)
        if next_at is None:
            gone[rid] = NO_TRANSCRIPT
        else:
            pending[rid] = TranscriptWait(asked, next_at)
            no_transcript[rid] = TRANSCRIPT_PENDING
    index.remember_no_transcript(fathom.workspace, gone)
    index.remember_pending(fathom.workspace, pending)
    index.forget_no_transcript(fathom.workspace, [rid for rid in transcripts if rid in waits])
    no_transcript = {**known, **no_transcript}
    ctx.stats.meetings_without_transcript = len(no_transcript)
    ctx.stats.fathom_requests = fathom.requests + ctx.stats.index_requests
    out = [
        m.model_copy(update={"transcript": transcripts[m.recording_id]}) if m.recording_id in transcripts else m
        for m in meetings
    ]
    return out, no_transcript


def _index_complete(index: MeetingIndex, workspace: str) -> bool:
    """Whether a full listing of the workspace ever ended (a store that cannot say: as before, wait for the sync)."""
    try:
        return index.status(workspace).complete
    except StoreError as exc:
        log.warning("the meeting index's state could not be read: %s", exc)
        return True


def _wait_briefly(
    task: SyncTask,
    deadline: Deadline,
    grace_s: float,
    on_progress: Callable[[int], None],
    on_wait: Callable[[float], None],
    poll_s: float,
) -> bool:
    """Wait up to ``grace_s`` (and half the time the job has left) for a workspace's first listing; whether it
    ended. Its failure is this job's, as when a job waits for it all the way."""
    left = deadline.remaining()
    grace = Deadline.after(grace_s if left is None else min(grace_s, left / 2))  # half the limit left to answer
    try:
        result = task.wait(grace, on_progress=on_progress, on_wait=on_wait, poll_s=poll_s)
    except JobTimeoutError:
        if deadline.expired:
            raise
        return False
    return result.kind == "full"


def _with_direct(
    ctx: JobContext,
    fathom: FathomClient,
    index: MeetingIndex,
    held: list[Meeting],
    *,
    account: Account,
    since: date | None,
    until: date | None,
) -> list[Meeting]:
    """``held`` (the account's meetings the incomplete index holds) with those Fathom files under the company of
    each of the account's domains and the index has not reached yet, newest first, each once.

    The index lists the workspace newest first, so every meeting created since its ``covered_from`` is in it
    whatever company Fathom filed it under: Fathom is asked (``calendar_invitees_domains[]``, once per domain)
    only for the days before that, and not at all when the dates asked for all fall after it. Meetings filed
    under another company in those days are still missing: the summary's coverage and notes say so.
    """
    covered = _covered_from(index, fathom.workspace)
    start = datetime.combine(since, datetime.min.time(), UTC) if since else None
    if covered is not None and start is not None and start >= covered:
        return held  # every meeting of those dates is indexed: no request
    last_day = covered.date() if covered is not None else None
    if until is not None and last_day is not None:
        last_day = min(until, last_day)
    elif until is not None:
        last_day = until
    known = {m.recording_id for m in held}
    merged = list(held)
    for domain in account.domains:
        ctx.report(f"asking Fathom for {domain}'s meetings while the index fills")
        before = fathom.requests
        direct = fathom.list_meetings(
            domain, since=since, until=last_day, include_summary=True, include_action_items=True
        )
        ctx.stats.direct_requests += fathom.requests - before
        for meeting in direct:
            if meeting.recording_id not in known and not index.excluded(meeting):
                known.add(meeting.recording_id)
                merged.append(meeting)
    return sorted(merged, key=lambda m: (m.created_at, m.recording_id), reverse=True)


def _covered_from(index: MeetingIndex, workspace: str) -> datetime | None:
    """Since when the first listing has every meeting (None: not even its first window yet, or unreadable)."""
    try:
        covered = index.status(workspace).covered_from
    except StoreError as exc:
        log.warning("the meeting index's state could not be read: %s", exc)
        return None
    return datetime.fromisoformat(covered) if covered else None


def _held(index: MeetingIndex, workspace: str, known: int = 0) -> int:
    """How many meetings the index holds now (``known`` when it cannot say: the job does not depend on it)."""
    try:
        return index.status(workspace).meetings
    except StoreError as exc:
        log.warning("the meeting index could not be counted: %s", exc)
        return known


def _not_searchable(search: TranscriptSearch | None, recording_ids: list[int]) -> set[int]:
    """The recordings whose transcripts the search index lacks (analysed before it held them, or a failed add).

    Their transcripts are fetched even when the analysis is cached, so the run can index them. A
    search index that cannot be read asks for nothing: the summary does not depend on it.
    """
    if search is None:
        return set()
    try:
        return search.lacking(recording_ids)
    except StoreError as exc:
        log.warning("the search index could not be read; transcripts it lacks are not fetched: %s", exc)
        return set()


def _held_transcripts(
    search: TranscriptSearch | None, recording_ids: list[int]
) -> dict[int, tuple[TranscriptTurn, ...]]:
    """The transcripts the search index already holds (a webhook delivered them, or an earlier run fetched them), so
    Fathom is not asked again; one it cannot read, or an empty one, is left to Fathom."""
    held: dict[int, tuple[TranscriptTurn, ...]] = {}
    if search is None:
        return held
    for recording_id in recording_ids:
        try:
            meeting = search.meeting(recording_id)
        except StoreError as exc:
            log.warning("the search index could not be read; transcripts are fetched from Fathom: %s", exc)
            return held
        if meeting is not None and meeting.transcript:
            held[recording_id] = meeting.transcript
    return held


def _transcripts(
    ctx: JobContext,
    fathom: FathomClient,
    need: list[Meeting],
    since: date | None,
    until: date | None,
    account: Account | None = None,
) -> tuple[dict[int, tuple[TranscriptTurn, ...]], dict[int, str]]:
    """Transcripts of ``need`` by whichever costs fewer requests, and the reasons of those that have none.

    Fathom's own company filter (each domain of ``account``, default ``ctx.domain``, while more than a page of
    transcripts is still wanted) lists most of an account's meetings ten transcripts a request;
    the meetings it filed under another company are fetched one by one. The listing keeps only
    the transcripts asked for, page by page, so no more than a page of others is held at once.
    """
    wanted = {m.recording_id for m in need}
    got: dict[int, tuple[TranscriptTurn, ...]] = {}
    none: dict[int, str] = {}
    if len(need) > PAGE_SIZE:
        ctx.report(f"fetching transcripts of {len(need)} meetings")

        def keep(meeting: Meeting) -> None:
            if meeting.recording_id not in wanted:
                return
            if meeting.transcript is None:  # asked for and still null: the meeting has no transcript
                none[meeting.recording_id] = NO_TRANSCRIPT
            else:
                got[meeting.recording_id] = meeting.transcript

        for domain in (account or Account.of(ctx.domain)).domains:
            if len(wanted - got.keys() - none.keys()) > PAGE_SIZE:
                fathom.list_meetings(domain, since=since, until=until, include_transcript=True, keep=keep)
    rest = [m for m in need if m.recording_id not in got and m.recording_id not in none]
    for i, meeting in enumerate(rest, 1):
        ctx.report(f"fetching transcript {i}/{len(rest)}")
        try:
            got[meeting.recording_id] = fathom.get_transcript(meeting.recording_id)
        except FathomNotFoundError:
            none[meeting.recording_id] = NO_TRANSCRIPT
        except FathomAuthError:
            none[meeting.recording_id] = "no transcript: Fathom refused it to this API key (403)"
        except FathomPayloadError as exc:
            none[meeting.recording_id] = f"no transcript: {exc}"
    for rid, turns in list(got.items()):
        if not turns:  # an empty transcript: nothing was said that Fathom could transcribe
            none[rid] = NO_TRANSCRIPT
            del got[rid]
    return got, none


NO_TRANSCRIPT = "no transcript"


def _fetch_notes(
    ctx: JobContext, fathom: FathomClient, index: MeetingIndex, source: str, no_transcript: dict[int, str]
) -> list[str]:
    """What a reader of the summary should know about where the meetings came from."""
    notes = []
    status = index.status(fathom.workspace)
    ctx.stats.index_meetings = status.meetings
    ctx.stats.index_synced_at = status.synced_at
    if ctx.stats.index_complete is False:
        ctx.stats.index_covered_from = status.covered_from
        notes.append(index_incomplete_note(status.meetings, status.covered_from))
    if source == "fathom":
        notes.append(KEY_SCOPE_NOTE)
    if source == "fathom" and ctx.stats.index_complete is not False:
        notes.append(
            f"Meetings come from this app's index of the Fathom workspace ({plural(status.meetings, 'external meeting')}), "
            f"brought up to date on {nice_time(status.synced_at)}; fully re-indexed on {nice_date(status.full_synced_at)}. Meetings shared with this key later, or "
            "deleted in Fathom, show after a full re-index (admin page, or `python -m engagement index --full`)."
        )
    waiting = [rid for rid, reason in no_transcript.items() if reason == TRANSCRIPT_PENDING]
    if waiting:
        notes.append(
            f"{plural(len(waiting), 'meeting')} whose transcript Fathom has not made yet (transcript pending): "
            "counted, with their invitees, and asked for again on later runs until a week after the meeting."
        )
    missing = {rid: reason for rid, reason in no_transcript.items() if reason != TRANSCRIPT_PENDING}
    if missing:
        reasons = sorted(set(missing.values()))
        n = len(missing)
        notes.append(
            f"{plural(n, 'meeting')} without a transcript ({'; '.join(reasons)}): counted, with their "
            "invitees, but not analysed."
        )
    if fathom.skipped_count:
        n = fathom.skipped_count
        notes.append(
            f"{plural(n, 'meeting')} Fathom sent could not be read and {'were' if n != 1 else 'was'} "
            f"skipped: {fathom.skipped[0]}"
        )
        ctx.stats.meetings_skipped = n
    return notes


def _analyse(
    ctx: JobContext,
    analyzer: Analyzer,
    cache: InsightCache,
    missing: Sequence[Meeting],
    found: dict[int, MeetingInsights],
    total: int,
    company: str,
    concurrency: int,
    account: Account | None = None,
    fingerprint: str = "",
) -> int:
    """Map: one analysis per meeting, ``concurrency`` at a time, each verified (sides for ``account``, default the
    job's domain) and cached (under ``fingerprint``, default the analyser's) as it lands.

    Returns how many quotes verification dropped (not in the transcript, another meeting, a bad time).
    """
    dropped_here = 0
    account = account or Account.of(ctx.domain)
    fingerprint = fingerprint or analyzer.fingerprint
    stop = threading.Event()  # the first failure (or a time-out) stops meetings not yet started

    def analyse(meeting: Meeting) -> MeetingInsights | None:
        if stop.is_set():
            return None
        try:
            return analyzer.analyse_meeting(meeting, domain=account, company=company)
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
                insights, dropped = verify_meeting_insights(result, meeting, domain=account)
                insights, ours = customer_words(insights)  # our side's sentences never become the customer's
                dropped += ours
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
                cache.put(meeting, fingerprint, insights)
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


def _as_named(people: Sequence[Person], insights: list[MeetingInsights]) -> list[MeetingInsights]:
    """The insights with each quote's speaker named as the people list names them ("Amir's iPad" → Amir Haddad).

    A display name that is another spelling of exactly one person becomes that person's name, so the
    account's view and its recommendations speak of the person, not of their device or nickname.
    """
    owners: dict[str, set[str]] = {}
    for person in people:
        for alias in person.aliases:
            owners.setdefault(alias, set()).add(person.name)
    names = {alias: next(iter(found)) for alias, found in owners.items() if len(found) == 1}
    if not names:
        return insights

    def named(items: list[Insight]) -> list[Insight]:
        return [
            item.model_copy(
                update={
                    "evidence": [
                        ev.model_copy(update={"speaker": names[ev.speaker]}) if ev.speaker in names else ev
                        for ev in item.evidence
                    ]
                }
            )
            for item in items
        ]

    return [
        mi.model_copy(
            update={
                field: named(getattr(mi, field)) for field in ("themes", "goals", "challenges", "risks", "next_steps")
            }
        )
        for mi in insights
    ]


def _quoted_roles(roles: Sequence[PersonRole], pool: Sequence[MeetingInsights]) -> list[PersonRole]:
    """The account's roles that cite a quote the meetings' (verified) roles hold; the rest are dropped.

    A role is shown only with what was said to back it, so one the reduce step wrote without citing a
    meeting's verified words is a guess. Its evidence is the meeting's own (with the speaker's side).
    """
    verified = {evidence_key(ev): ev for mi in pool for r in mi.roles for ev in r.evidence if ev.verified}
    out = []
    for role in roles:
        kept = [verified[evidence_key(ev)].model_copy() for ev in role.evidence if evidence_key(ev) in verified]
        if kept:
            out.append(role.model_copy(update={"evidence": kept}))
    return out


def _apply_rep_roles(summary: EngagementSummary, book: RepRoles | None, domain: str) -> None:
    """The roles reps set for the account's people, over those the meetings gave (in place)."""
    if book is None:
        return
    try:
        roles = book.for_account(domain)
    except StoreError as exc:  # the summary stands without them; the page lays them over when it can read them
        log.warning("the roles reps set for %s could not be read: %s", domain, exc)
        return
    lay_over(summary.people, roles)


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
