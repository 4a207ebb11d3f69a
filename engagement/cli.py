"""What the command line's commands do; ``__main__`` parses arguments and calls these."""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta

from engagement.domains import normalize_domain
from engagement.jobs import InlineExecutor
from engagement.models import JobOptions, JobRecord, JobStatus
from engagement.runtime import create_runtime
from engagement.settings import Settings


def summarize(settings: Settings, website: str, *, since: date | None, until: date | None, as_json: bool) -> int:
    """Run the job here, through ``JobService`` (so it is stored like a UI job); 0 when it completes."""
    domain = normalize_domain(website)
    if since and until and since > until:
        print(f"error: --since {since} is after --until {until}.", file=sys.stderr)
        return 2
    runtime = create_runtime(settings, executor=InlineExecutor())
    runtime.jobs.recover_stale()
    options = JobOptions(since=since.isoformat() if since else None, until=until.isoformat() if until else None)
    run_id = runtime.jobs.start(domain, options)
    record = runtime.jobs.get(domain, run_id)
    if as_json:
        print(json.dumps(record.to_json(), indent=2, ensure_ascii=False))
    else:
        print(render_text(record))
    if record.status is not JobStatus.COMPLETE:
        print(f"error: {record.error}", file=sys.stderr)
        return 1
    return 0


def render_text(record: JobRecord) -> str:
    """A readable report of a record for the terminal."""
    lines = [f"{record.domain}  run {record.run_id}  {record.status.value}  ({record.source}, {record.analyzer})"]
    summary = record.summary
    if record.error:
        lines.append(f"error: {record.error}")
    if summary is None:
        return "\n".join(lines)
    lines.append(
        f"meetings: {summary.meetings_count}  first: {summary.first_meeting or '-'}  last: {summary.last_meeting or '-'}"
    )
    lines += [f"  note: {note}" for note in summary.notes]
    if summary.coverage:
        c = summary.coverage
        lines.append(
            f"coverage: {c.analysed} of {c.meetings} meetings analysed, {c.without_transcript} without a transcript, "
            f"{c.unmatched_speakers} speakers unmatched"
        )
    if summary.signals:
        lines.append("signals:")
        lines += [f"  [{sig.severity}] {sig.title} — {sig.detail} (meetings {sig.meetings})" for sig in summary.signals]
    if summary.changes:
        ch = summary.changes
        lines.append(
            f"since {ch.since[:10]}: new meetings {ch.new_meetings}, new people {ch.new_people}, "
            f"new signals {ch.new_signals}, resolved {ch.resolved_signals}"
        )
    if summary.people:
        lines.append("people:")
        for p in summary.people:
            role = f", {p.role}" if p.role else ""
            lines.append(f"  {p.count:>3}  {p.name} <{p.email or 'no e-mail'}> [{p.side.value}{role}]")
    if summary.themes:
        lines.append("themes:")
        lines += [f"  {t.mentions:>3}  {t.topic}" for t in summary.themes]
    for title, items in (
        ("goals", summary.goals_detail),
        ("challenges", summary.challenges_detail),
        ("risks", summary.risks_detail),
        ("recommendations", summary.recommendations_detail),
    ):
        if items:
            lines.append(f"{title}:")
            for item in items:
                lines.append(f"  - {item.text}")
                for ev in item.evidence[:1]:
                    if ev.verified:
                        lines.append(
                            f'      "{ev.quote}" — {ev.speaker or "?"}, {ev.meeting_date or ""} {ev.url or ""}'
                        )
    s = record.stats
    lines.append(
        f"stats: {s.fathom_requests} Fathom requests, {s.llm_calls} model calls, {s.cached_meetings} cached, "
        f"{s.tokens_in}+{s.tokens_out} tokens, {s.seconds:.2f} s"
    )
    return "\n".join(lines)


def jobs_list(settings: Settings, *, domain: str | None, status: str | None, limit: int, as_json: bool) -> int:
    runtime = create_runtime(settings, executor=InlineExecutor())
    runtime.jobs.recover_stale()
    rows = runtime.jobs.list(domain=normalize_domain(domain) if domain else None, status=status, limit=limit)
    if as_json:
        print(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return 0
    if not rows:
        print("no jobs")
        return 0
    header = f"{'created (UTC)':<20} {'domain':<24} {'status':<10} {'meetings':>8} {'seconds':>8}  run id"
    print(header)
    for r in rows:
        meetings = "-" if r.meetings is None else str(r.meetings)
        print(
            f"{r.created_at[:19].replace('T', ' '):<20} {r.domain:<24} {r.status.value:<10} {meetings:>8} {r.duration_s:>8.1f}  {r.run_id}"
        )
    return 0


def jobs_purge(settings: Settings, *, older_than: timedelta | None, status: str | None) -> int:
    runtime = create_runtime(settings, executor=InlineExecutor())
    removed = runtime.jobs.purge(older_than=older_than, status=status)
    print(f"purged {removed} job{'s' if removed != 1 else ''}")
    return 0


def cache_clear(settings: Settings) -> int:
    runtime = create_runtime(settings, executor=InlineExecutor())
    removed = runtime.cache.clear()
    print(f"cleared {removed} cached meeting analys{'es' if removed != 1 else 'is'}")
    return 0
