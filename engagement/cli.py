"""What the command line's commands do; ``__main__`` parses arguments and calls these."""

from __future__ import annotations

import getpass
import json
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from engagement.account.domains import (
    Account,
    company_domain,
    lookalike_warning,
    normalize_domain,
    person_email,
    refuse_ours,
)
from engagement.account.rep_roles import with_rep_roles
from engagement.account.signals import Thresholds, signal_id
from engagement.accounts import list_accounts
from engagement.api import ask as ask_question
from engagement.errors import EngagementError, InvalidDomainError, StoreError
from engagement.jobs.service import InlineExecutor, JobService
from engagement.models import EngagementSummary, Evidence, JobOptions, JobRecord, JobStatus, utcnow
from engagement.qualification.commitments import answering, status_label, tally
from engagement.questions.answers import Answer
from engagement.render.present import (
    SECTIONS,
    change_items,
    cite,
    coverage_line,
    index_progress,
    indexing_stage,
    insights,
    nice_date,
    nice_time,
    one_line,
    people_rows,
    plural,
    qualification_status,
    searched_line,
    signal_line,
    signal_name,
)
from engagement.runtime import Runtime, create_runtime
from engagement.settings import Settings


def actor() -> str:
    """Who runs a command, for the audit log: the command line and the account it runs as."""
    try:
        return f"command line ({getpass.getuser()})"
    except (OSError, KeyError):  # no user name in this environment
        return "command line"


def summarize(
    settings: Settings,
    website: str,
    *,
    since: date | None,
    until: date | None,
    as_json: bool,
    inline: bool = False,
) -> int:
    """Run the job through ``JobService`` (so it is stored like a UI job); 0 when it completes.

    With Redis configured the job goes on the queue and this waits for a worker, unless ``inline``.
    """
    domain = company_domain(website)
    if since and until and since > until:
        print(f"error: --since {since} is after --until {until}.", file=sys.stderr)
        return 2
    runtime = create_runtime(settings, executor=InlineExecutor(), enqueue=not inline)
    try:
        refuse_ours(domain, runtime.our_domains())
        domain = runtime.account(domain).primary  # a linked account's runs are kept under its primary
    except (InvalidDomainError, StoreError):
        runtime.close()
        raise
    lookalike = lookalike_warning(domain)
    if lookalike:
        print(f"warning: {lookalike}", file=sys.stderr)
    try:
        runtime.jobs.recover_stale()
        options = JobOptions(since=since.isoformat() if since else None, until=until.isoformat() if until else None)
        run_id = runtime.jobs.start(domain, options)
        runtime.audit.record(actor(), "started", domain, f"run {run_id}")
        record = wait_for(runtime.jobs, domain, run_id) if runtime.queue else runtime.jobs.get(domain, run_id)
        if runtime.roles is not None:  # the roles reps set on the page win over the meetings' (signals judged again)
            record = with_rep_roles(record, runtime.roles, Thresholds.from_settings(settings))
    finally:
        runtime.close()
    if as_json:
        print(json.dumps(record.to_json(), indent=2, ensure_ascii=False))
    else:
        print(render_text(record))
    if record.status is not JobStatus.COMPLETE:
        print(f"error: {record.error}", file=sys.stderr)
        return 1
    return 0


def qualify(settings: Settings, website: str, *, as_json: bool) -> int:
    """Run the account's job here (stored like any other, cached meetings cost nothing) and print its qualification."""
    domain = company_domain(website)
    runtime = create_runtime(settings, executor=InlineExecutor(), enqueue=False)
    try:
        runtime.jobs.recover_stale()
        domain = runtime.account(domain).primary
        run_id = runtime.jobs.start(domain, JobOptions())
        runtime.audit.record(actor(), "started", domain, f"run {run_id} (qualify)")
        record = runtime.jobs.get(domain, run_id)
    finally:
        runtime.close()
    summary = record.summary
    if record.status is not JobStatus.COMPLETE or summary is None or summary.qualification is None:
        print(f"error: {record.error or 'the run did not qualify the account'}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps(qualification_json(summary), indent=2, ensure_ascii=False))
    else:
        print(render_qualification(summary))
    return 0


_EVIDENCE_FIELDS = {"recording_id", "timestamp", "quote", "speaker", "side", "url", "meeting_date"}


def qualification_json(summary: EngagementSummary) -> dict[str, Any]:
    """``{"methodology", "elements": [...], "commitments": [...]}``: what ``qualify --json`` prints."""
    q = summary.qualification
    assert q is not None
    return {
        "methodology": q.name,
        "key": q.methodology,
        "analyzer": q.analyzer,
        "evidenced": f"{q.evidenced}/{len(q.elements)}",
        "elements": [
            {
                "key": e.key,
                "name": e.name,
                "status": e.status,
                "evidence": [ev.model_dump(mode="json", include=_EVIDENCE_FIELDS) for ev in e.evidence],
                "our_side": [ev.model_dump(mode="json", include=_EVIDENCE_FIELDS) for ev in e.our_side],
                "searched": e.searched.model_dump(mode="json"),
                "terms": e.terms,
                "first_evidenced": e.first_evidenced,
                "change": e.change,
            }
            for e in q.elements
        ],
        "commitments": [
            {
                "text": c.text,
                "status": c.status,
                "shown_as": status_label(c.status),
                "answers": c.evidence.answers.model_dump(mode="json", include=_EVIDENCE_FIELDS)
                if c.evidence.answers
                else None,
                "quote": c.evidence.quote,
                "speaker": c.evidence.speaker,
                "date": c.evidence.meeting_date,
                "url": c.evidence.url,
                "done": c.done_evidence.model_dump(mode="json", include=_EVIDENCE_FIELDS) if c.done_evidence else None,
            }
            for c in summary.commitments
        ],
    }


def render_qualification(summary: EngagementSummary) -> str:
    """The qualification for the terminal: each element's state and its first quote or what was searched."""
    q = summary.qualification
    assert q is not None
    lines = [
        f"{Account.of_summary(summary).label()}  {q.name}: {q.evidenced}/{len(q.elements)} evidenced  ({one_line(q.analyzer)})"
    ]
    for e in q.elements:
        lines.append(f"  {e.name}: {qualification_status(e)}")
        shown = e.evidence[:3] if e.evidence else e.our_side[:1]
        for ev in shown:
            side = "" if ev.side == "customer" else " (our side)"
            lines.append(
                f'      "{one_line(ev.quote)}" — {one_line(ev.speaker or "?")}{side}, {ev.meeting_date} {ev.url or ""}'
            )
        if not e.evidence:
            lines.append(f"      {searched_line(e)}")
    lines.append(f"our {tally(summary.commitments)}" if summary.commitments else "our commitments: none")
    for c in summary.commitments:
        lines.append(
            f'  [{status_label(c.status)}] "{one_line(c.text)}" — {one_line(c.evidence.speaker or "?")}, '
            f"{c.evidence.meeting_date}"
        )
        if (asked := answering(c)) is not None:
            lines.append(f"      {one_line(asked)}")
        if c.done_evidence is not None:
            lines.append(
                f'      done: "{one_line(c.done_evidence.quote)}" — {one_line(c.done_evidence.speaker or "?")}, '
                f"{c.done_evidence.meeting_date}"
            )
    return "\n".join(lines)


POLL_S = 0.5
HINT_AFTER_S = 5.0


def wait_for(jobs: JobService, domain: str, run_id: str) -> JobRecord:
    """Poll a queued job until it ends. Bounded: past its limit plus the stale window it reads as
    ended (timed out or interrupted), so this never waits for ever."""
    began = time.monotonic()
    hinted = False
    while True:
        record = jobs.get(domain, run_id)
        if record.status.terminal:
            return record
        if not hinted and record.started_at is None and time.monotonic() - began > HINT_AFTER_S:
            print("waiting for a worker: is `python -m engagement worker` running?", file=sys.stderr)
            hinted = True
        time.sleep(POLL_S)


def worker(settings: Settings, *, burst: bool) -> int:
    """Run an RQ worker on the queue the settings name (needs ENGAGEMENT_REDIS_URL)."""
    if not settings.redis_url:
        print(
            "error: the worker needs ENGAGEMENT_REDIS_URL (e.g. redis://127.0.0.1:6379/0); without it the app "
            "runs jobs in its own threads and needs no worker.",
            file=sys.stderr,
        )
        return 2
    from engagement.workers import run_worker

    run_worker(settings, burst=burst)
    return 0


def render_text(record: JobRecord) -> str:
    """A readable report of a record for the terminal (every text from data on one bounded line)."""
    account = Account.of_summary(record.summary) if record.summary else Account.of(record.domain)
    lines = [
        f"{account.label()}  run {record.run_id}  {record.status.value}  "
        f"({one_line(record.source)}, {one_line(record.analyzer)})"
    ]
    summary = record.summary
    if record.error:
        lines.append(f"error: {one_line(record.error)}")
    if summary is None:
        return "\n".join(lines)
    lines.append(
        f"meetings: {summary.meetings_count}  first: {nice_date(summary.first_meeting)}  "
        f"last: {nice_date(summary.last_meeting)}"
    )
    lines += [f"  note: {one_line(note)}" for note in summary.notes]
    if summary.coverage:
        lines.append(f"coverage: {coverage_line(summary.coverage)}")
    if summary.signals:
        lines.append("signals:")
        lines += [f"  {signal_line(signal)} (meetings {signal.meetings})" for signal in summary.signals]
    if summary.changes:
        lines.append(f"since {nice_date(summary.changes.since)}:")
        lines += [f"  {label}: {', '.join(items)}" for label, items in change_items(summary.changes)] or [
            "  nothing new"
        ]
    if summary.qualification:
        q = summary.qualification
        lines.append(
            f"qualification: {q.name} {q.evidenced}/{len(q.elements)} evidenced; "
            f"{tally(summary.commitments)} (qualify: every quote)"
        )
    if summary.people:
        lines.append("people:")
        for p in people_rows(summary):
            role = f", {one_line(p.role)}" if p.role else ""
            lines.append(f"  {p.meetings:>3}  {one_line(p.name)} <{one_line(p.email) or 'no e-mail'}> [{p.side}{role}]")
    if summary.themes:
        lines.append("themes:")
        lines += [f"  {t.mentions:>3}  {one_line(t.topic)}" for t in summary.themes]
    for section in SECTIONS:
        items = insights(summary, section.field)
        if items:
            lines.append(f"{section.field}:")
            for item in items:
                lines.append(f"  - {one_line(item.text)}")
                citation = cite(item.evidence[0]) if item.evidence else None
                if citation and citation.quote is not None:
                    lines.append(
                        f'      "{citation.quote}" — {citation.who}, {nice_date(citation.date)} {citation.url or ""}'
                    )
    s = record.stats
    lines.append(
        f"stats: {s.fathom_requests} Fathom requests, {s.llm_calls} model calls, {s.cached_meetings} cached, "
        f"{s.tokens_in}+{s.tokens_out} tokens, {s.seconds:.2f} s"
    )
    return "\n".join(lines)


def jobs_list(settings: Settings, *, domain: str | None, status: str | None, limit: int, as_json: bool) -> int:
    runtime = create_runtime(settings, executor=InlineExecutor(), enqueue=False)
    try:
        runtime.jobs.recover_stale()
        asked = normalize_domain(domain) if domain else None
        kept = runtime.account(asked).primary if asked else None  # a linked account's runs are under its primary
        rows = runtime.repo.rows(domain=kept, status=status, limit=limit)
    finally:
        runtime.close()
    if kept != asked:
        print(f"{asked} is part of {kept}'s account: its runs are listed under {kept}", file=sys.stderr)
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
            f"{r.created_at:%Y-%m-%d %H:%M:%S}  {r.domain:<24} {r.status.value:<10} {meetings:>8} {r.duration_s:>8.1f}  {r.run_id}"
        )
    return 0


def jobs_purge(settings: Settings, *, older_than: timedelta | None, status: str | None) -> int:
    runtime = create_runtime(settings, executor=InlineExecutor(), enqueue=False)
    try:
        removed = runtime.repo.purge(older_than=older_than, status=status)
        rule = " ".join(filter(None, [f"older than {older_than}" if older_than else "", status or ""]))
        runtime.audit.record(actor(), "purged", "jobs", f"{plural(removed, 'job')} {rule}".strip())
    finally:
        runtime.close()
    print(f"purged {plural(removed, 'job')}")
    return 0


def cache_clear(settings: Settings) -> int:
    runtime = create_runtime(settings, executor=InlineExecutor(), enqueue=False)
    try:
        removed = runtime.cache.clear()
        runtime.audit.record(
            actor(), "cleared", "analysis cache", plural(removed, "cached analysis", "cached analyses")
        )
    finally:
        runtime.close()
    print(f"cleared {plural(removed, 'cached meeting analysis', 'cached meeting analyses')}")
    return 0


def ask(settings: Settings, website: str, question: str, *, as_json: bool) -> int:
    """Answer a question here (stored like one asked on the page); 0 whether found or not, 2 for bad input."""
    runtime = create_runtime(settings, executor=InlineExecutor(), enqueue=False)
    try:
        answer = ask_question(website, question, runtime=runtime)
        runtime.audit.record(actor(), "asked", normalize_domain(website), "a question from the command line")
    finally:
        runtime.close()
    if as_json:
        print(json.dumps(answer.model_dump(mode="json"), indent=2, ensure_ascii=False))
    else:
        print(render_answer(answer))
    return 0


def render_answer(answer: Answer) -> str:
    """An answer for the terminal: the headline, each point and its quotes, or the closest turns (one line each)."""

    def quote_line(evidence: Evidence) -> str | None:
        citation = cite(evidence)
        if citation.quote is None:
            return None
        return f'      "{citation.quote}" — {citation.who}, {nice_date(citation.date)} {citation.url or ""}'.rstrip()

    lines = [f"Q: {one_line(answer.question)}", one_line(answer.headline)]
    if answer.language_note:
        lines.append(one_line(answer.language_note))
    if answer.note:
        lines.append(one_line(answer.note))
    for point in answer.points:
        lines.append(f"  - {one_line(point.text)}")
        lines += [line for line in map(quote_line, point.evidence) if line]
    if answer.closest:
        lines.append("closest mentions:")
        lines += [line for line in map(quote_line, answer.closest) if line]
    lines.append(f"searched for: {one_line(answer.terms)}  ({one_line(answer.analyzer)})")
    return "\n".join(lines)


def _indexing_shown(runtime: Runtime) -> Callable[[int], None]:
    """The index's progress on one line of stderr, rewritten in place: during a full listing with its estimate
    ("indexing Fathom: 1,240 of about 3,000 meetings, about 3 minutes left"), else the count."""

    def show(meetings: int) -> None:
        try:
            status = runtime.index_status()
        except EngagementError:
            status = None
        line = index_progress(status, utcnow()) if status is not None and status.in_progress else ""
        print(f"\r{line or indexing_stage(meetings):<72}", end="", file=sys.stderr, flush=True)

    return show


def index(settings: Settings, *, full: bool) -> int:
    """Bring the workspace meeting index up to date (``full``: list every meeting again); prints the outcome."""
    runtime = create_runtime(settings, executor=InlineExecutor(), enqueue=False)
    try:
        result = runtime.reindex(full=full, on_progress=_indexing_shown(runtime))
        status = runtime.index_status()
    finally:
        runtime.close()
    print(file=sys.stderr)
    print(
        f"{result.kind} index: {plural(result.listed, 'meeting')} listed in {plural(result.pages, 'page')}, "
        f"{result.deleted} removed; "
        f"the index holds {plural(status.meetings, 'external meeting')} (up to date at {nice_time(status.synced_at)})"
    )
    return 0


def accounts(settings: Settings, *, as_json: bool) -> int:
    """Every account in the meeting index (brought up to date first), most recently met first."""
    runtime = create_runtime(settings, executor=InlineExecutor(), enqueue=False)
    try:
        runtime.reindex(full=False, on_progress=_indexing_shown(runtime))
        rows = list_accounts(runtime)
    finally:
        runtime.close()
    print(file=sys.stderr)
    if as_json:
        print(json.dumps([row.model_dump(mode="json") for row in rows], indent=2))
        return 0
    if not rows:
        print("no accounts: no meeting with an external business domain is indexed")
        return 0
    print(
        f"{'domain':<28} {'meetings':>8} {'people':>6} {'first':<10} {'last':<10} {'days':>5} {'90d':>4} {'prev':>4} "
        f"{'evid.':>5}  signals"
    )
    for r in rows:
        signals = ", ".join(signal_name(signal_id(s)) for s in r.signals) or "-"
        print(
            f"{r.name:<28} {r.meetings:>8} {r.people:>6} {r.first_meeting:<10} {r.last_meeting:<10} "
            f"{r.days_since_last:>5} {r.last_90_days:>4} {r.previous_90_days:>4} "
            f"{r.evidenced.removesuffix(' evidenced') or '-':>5}  {signals}"
        )
    return 0


def _demo_refused(settings: Settings) -> bool:
    if settings.source == "demo":
        print("error: webhooks need a Fathom key: set FATHOM_API_KEY (demo data has no webhooks).", file=sys.stderr)
        return True
    return False


def webhooks_serve(settings: Settings, *, host: str, port: int, ready: Callable[[str], None] | None = None) -> int:
    """Receive Fathom's deliveries on ``host:port`` until SIGINT/SIGTERM; what was accepted is applied first."""
    from engagement.webhooks.receiver import PATH, start_server
    from engagement.webhooks.service import build_receiver

    runtime = create_runtime(settings, enqueue=False)
    stop = threading.Event()
    try:
        receiver = build_receiver(runtime)
        runtime.start_periodic_sync()  # meetings no webhook announces (other triggers, missed deliveries)
        try:
            httpd, _ = start_server(receiver, host, port)
        except OSError as exc:
            print(
                f"error: cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port.",
                file=sys.stderr,
            )
            return 1
        bound_host, bound_port = httpd.server_address[:2]
        address = f"http://{bound_host!s}:{bound_port}{PATH}"
        print(f"receiving Fathom webhooks on {address} (Ctrl-C stops)", file=sys.stderr, flush=True)
        if ready is not None:
            ready(address)
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set()) if _main_thread() else None
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            httpd.shutdown()
            httpd.server_close()
            receiver.processor.close()
    finally:
        runtime.close()
    return 0


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def webhooks_register(settings: Settings, url: str, *, triggers: list[str]) -> int:
    """Create the webhook in Fathom and keep its secret here; prints its id (never the secret)."""
    from engagement.runtime import fathom_client
    from engagement.webhooks import registration
    from engagement.webhooks.service import webhook_store

    if _demo_refused(settings):
        return 2
    runtime = create_runtime(settings, executor=InlineExecutor(), enqueue=False)
    try:
        with fathom_client(settings) as client:
            hook = registration.create(client, webhook_store(runtime), url, triggers)
        runtime.audit.record(actor(), "webhook_created", str(hook["id"]), one_line(hook["url"], 200))
    finally:
        runtime.close()
    print(
        f"created webhook {hook['id']} → {one_line(hook['url'])} for {', '.join(hook['triggered_for'])}; its secret "
        "is kept in the store, and `python -m engagement webhooks serve` checks deliveries against it "
        "(restart a running receiver)"
    )
    return 0


def webhooks_list(settings: Settings, *, as_json: bool) -> int:
    """The webhooks created here, without their secrets."""
    from engagement.webhooks.registration import shown
    from engagement.webhooks.service import webhook_store

    runtime = create_runtime(settings, executor=InlineExecutor(), enqueue=False)
    try:
        hooks = [shown(h) for h in webhook_store(runtime).hooks()]
    finally:
        runtime.close()
    if as_json:
        print(json.dumps(hooks, indent=2, ensure_ascii=False))
        return 0
    if not hooks:
        print("no webhooks created here (`python -m engagement webhooks register URL` creates one)")
        return 0
    for h in hooks:
        print(
            f"{one_line(str(h['id']))}  {one_line(str(h['url']))}  {', '.join(h.get('triggered_for') or [])}  created {h.get('created_at')}"
        )
    return 0


def webhooks_delete(settings: Settings, hook_id: str) -> int:
    """Delete the webhook in Fathom and here."""
    from engagement.runtime import fathom_client
    from engagement.webhooks import registration
    from engagement.webhooks.service import webhook_store

    if _demo_refused(settings):
        return 2
    runtime = create_runtime(settings, executor=InlineExecutor(), enqueue=False)
    try:
        with fathom_client(settings) as client:
            found = registration.delete(client, webhook_store(runtime), hook_id)
        runtime.audit.record(actor(), "webhook_deleted", hook_id, "" if found else "Fathom had none")
    finally:
        runtime.close()
    if found:
        print(f"deleted webhook {one_line(hook_id)}")
    else:
        print(f"Fathom has no webhook {one_line(hook_id)}; it is forgotten here too")
    return 0


def digest(settings: Settings, *, days: int, slack_url: str | None, emails: list[str] | None, as_json: bool) -> int:
    """Build the digest of the last ``days`` (ending at the latest DIGEST_TIME), print it, and send it to Slack and
    e-mail (the options, else the settings) once per period and channel; 1 when a channel failed."""
    from engagement.digests.render import as_text
    from engagement.digests.service import DigestService, recipients

    targets = recipients(emails if emails is not None else settings.digest_emails)
    url = slack_url if slack_url is not None else settings.digest_slack_url
    runtime = create_runtime(settings, executor=InlineExecutor(), enqueue=False)
    try:
        service = DigestService(runtime)
        built = service.build(*service.last_days(days))
        outcomes = service.send(built, slack_url=url, emails=targets)
        for outcome in outcomes:
            if outcome.status == "sent":
                period = f"{built.start:%Y-%m-%d} to {built.end:%Y-%m-%d}"
                runtime.audit.record(actor(), "digest_sent", outcome.channel, period)
    finally:
        runtime.close()
    if as_json:
        print(json.dumps({**built.to_json(), "sent": [o.__dict__ for o in outcomes]}, indent=2, ensure_ascii=False))
    else:
        print(as_text(built), end="")
    for outcome in outcomes:
        print(f"{outcome.channel}: {outcome.status}{': ' + outcome.detail if outcome.detail else ''}", file=sys.stderr)
    return 1 if any(o.status == "failed" for o in outcomes) else 0


def _email(text: str) -> str:
    email = person_email(text)
    if email is None:
        raise InvalidDomainError(f"--person needs an e-mail address such as ann@acmecorp.com, not {text!r}.")
    return email


def forget(settings: Settings, website: str | None, *, person: str | None, lift: bool, as_json: bool) -> int:
    """Forget a customer or a person (every trace, then a tombstone), or lift that; prints the receipt."""
    from engagement.privacy import TOMBSTONES_TABLE, Tombstones
    from engagement.privacy.forget import forget as forget_now

    kind, name = ("person", _email(person)) if person else ("domain", company_domain(website or ""))
    runtime = create_runtime(settings, executor=InlineExecutor(), enqueue=False)
    try:
        if lift:
            lifted = Tombstones(runtime.store.table(TOMBSTONES_TABLE)).lift(kind, name)
            runtime.audit.record(actor(), "forgot", f"a {'customer' if kind == 'domain' else 'person'}", "lifted")
            print(f"{name} may be summarised again." if lifted else f"{name} was not forgotten.")
            return 0
        receipt = forget_now(runtime, domain=name if kind == "domain" else "", email=name if kind == "person" else "")
        runtime.audit.record(actor(), "forgot", f"a {'customer' if kind == 'domain' else 'person'}", "on request")
    finally:
        runtime.close()
    if as_json:
        print(json.dumps(receipt.to_json(), indent=2))
        return 0
    print(f"Forgot {name}: every trace is gone from the stores, and a later sync, webhook or summary keeps it out.")
    print(f"  meetings removed from the index   {receipt.meetings}")
    print(f"  transcripts removed               {receipt.transcripts}")
    print(f"  cached analyses removed           {receipt.cached_analyses}")
    print(f"  job records removed               {receipt.jobs}")
    print(f"  questions removed                 {receipt.questions}")
    print(f"  audit entries redacted            {receipt.audit_entries_redacted}")
    print(f"  other rows removed                {receipt.other_rows}")
    for path in receipt.files_rebuilt:
        print(f"  rebuilt (no freed page keeps a byte): {path}")
    return 0


def accounts_link(settings: Settings, primary: str, others: list[str], *, as_json: bool) -> int:
    """Make ``others`` part of ``primary``'s account; prints its domains."""
    from engagement.account.linking import LINKS_TABLE, AccountLinks

    runtime = create_runtime(settings, executor=InlineExecutor(), enqueue=False)
    try:
        domains = AccountLinks(runtime.store.table(LINKS_TABLE)).link(primary, others, runtime.our_domains())
        runtime.audit.record(actor(), "linked", domains[0], ", ".join(domains[1:]))
    finally:
        runtime.close()
    print(json.dumps({"primary": domains[0], "domains": domains}) if as_json else f"{domains[0]}: {', '.join(domains)}")
    return 0


def accounts_unlink(settings: Settings, domain: str, *, as_json: bool) -> int:
    """Take a domain out of its account (the primary: the whole account); prints the domains freed."""
    from engagement.account.linking import LINKS_TABLE, AccountLinks

    runtime = create_runtime(settings, executor=InlineExecutor(), enqueue=False)
    try:
        freed = AccountLinks(runtime.store.table(LINKS_TABLE)).unlink(domain)
        runtime.audit.record(actor(), "unlinked", domain, ", ".join(freed))
    finally:
        runtime.close()
    print(json.dumps({"unlinked": freed}) if as_json else f"unlinked: {', '.join(freed)}")
    return 0


def accounts_suggest(settings: Settings, *, as_json: bool) -> int:
    """Domains the app can justify offering to link, each with why (it never links on its own)."""
    from engagement.accounts import link_suggestions

    runtime = create_runtime(settings, executor=InlineExecutor(), enqueue=False)
    try:
        runtime.reindex(full=False, on_progress=_indexing_shown(runtime))
        found = link_suggestions(runtime, list_accounts(runtime))
    finally:
        runtime.close()
    print(file=sys.stderr)
    if as_json:
        print(json.dumps([{"domains": list(s.domains), "reasons": list(s.reasons)} for s in found], indent=2))
        return 0
    if not found:
        print("no links to suggest")
    for s in found:
        print(f"{s.domains[0]} + {s.domains[1]}: {'; '.join(s.reasons)}")
    return 0


def brief(settings: Settings, website: str, *, as_json: bool) -> int:
    """The brief for the next meeting, from the account's latest complete summary; 2 when there is none yet."""
    from engagement.brief import build_brief
    from engagement.render.report import brief_text

    domain = company_domain(website)
    runtime = create_runtime(settings, executor=InlineExecutor(), enqueue=False)
    try:
        domain = runtime.account(domain).primary
        row = runtime.repo.latest_complete(domain)
        record = runtime.repo.load(domain, row.run_id) if row is not None else None
        if record is None or record.summary is None:
            print(
                f"error: there is no summary of {domain} yet: run `python -m engagement summarize {domain}` first.",
                file=sys.stderr,
            )
            return 2
        summary = record.summary
        last = next((m for m in summary.meetings if m.has_transcript), None)  # newest first
        transcript = runtime.search.meeting(last.recording_id) if last is not None and runtime.search else None
        made = build_brief(summary, utcnow().date(), transcript)
        runtime.audit.record(actor(), "exported", domain, "brief from the command line")
    finally:
        runtime.close()
    print(json.dumps(made.model_dump(mode="json"), indent=2, ensure_ascii=False) if as_json else brief_text(made))
    return 0
