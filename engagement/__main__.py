"""The command line: ``python -m engagement summarize acmecorp.com --json``, ``ask``, ``accounts``, ``jobs list``, ``index``,
``webhooks``."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from datetime import date, timedelta

from engagement.errors import EngagementError, InvalidDomainError, InvalidQuestionError, SettingsError
from engagement.fathom.client import WEBHOOK_TRIGGERS
from engagement.settings import Settings

_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_DURATION = timedelta(days=36_500)  # a hundred years: more is a typo (and overflows date arithmetic)


def parse_duration(text: str) -> timedelta:
    """``7d``, ``12h``, ``30m``, ``2w`` → timedelta."""
    match = _DURATION.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 7d, 12h, 30m or 2w")
    amount = int(match[1])
    if amount > MAX_DURATION / timedelta(**{_UNITS[match[2]]: 1}):
        raise argparse.ArgumentTypeError(f"{text!r} is longer than {MAX_DURATION.days:,} days; give a shorter age")
    return timedelta(**{_UNITS[match[2]]: amount})


FIRST_DATE, LAST_DATE = date(1970, 1, 1), date(2100, 12, 31)
MAX_LIMIT = 100_000


def parse_date(text: str) -> date:
    """A date between 1970-01-01 and 2100-12-31 (further out is a typo, and overflows date arithmetic)."""
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2026-06-01") from None
    if not FIRST_DATE <= value <= LAST_DATE:
        raise argparse.ArgumentTypeError(f"{text} is outside {FIRST_DATE} to {LAST_DATE}; give a date in that range")
    return value


def parse_limit(text: str) -> int:
    """A row count from 1 to ``MAX_LIMIT``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number such as 50") from None
    if not 1 <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"{text} is not between 1 and {MAX_LIMIT:,}")
    return value


def parse_days(text: str) -> int:
    """A digest's period in days, 1 to 366."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days such as 7") from None
    if not 1 <= value <= 366:
        raise argparse.ArgumentTypeError(f"{text} is not between 1 and 366 days")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m engagement", description="Engagement summaries of Fathom meetings."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    summarize = commands.add_parser(
        "summarize", help="summarise a company's meetings (runs the job here and stores it)"
    )
    summarize.add_argument("website", help="the company's website, domain or an e-mail address at it")
    summarize.add_argument("--since", type=parse_date, help="only meetings on or after this date (YYYY-MM-DD)")
    summarize.add_argument("--until", type=parse_date, help="only meetings on or before this date (YYYY-MM-DD)")
    summarize.add_argument("--json", action="store_true", help="print the stored record as JSON")
    summarize.add_argument(
        "--inline", action="store_true", help="with Redis configured: run the job in this process, not on a worker"
    )

    qualify = commands.add_parser(
        "qualify",
        help="qualify an account by the methodology QUALIFICATION_RUBRIC names (MEDDPICC by default), with quotes",
    )
    qualify.add_argument("website", help="the company's website, domain or an e-mail address at it")
    qualify.add_argument("--json", action="store_true", help="print the elements and commitments as JSON")

    worker = commands.add_parser("worker", help="run jobs from the Redis queue (needs ENGAGEMENT_REDIS_URL)")
    worker.add_argument("--burst", action="store_true", help="stop when the queue is empty")

    ask = commands.add_parser(
        "ask", help="answer a question from an account's meetings, with verified quotes (or 'not found')"
    )
    ask.add_argument("website", help="the company's website or domain (summarised before)")
    ask.add_argument("question", help='the question, such as "What did they say about pricing?"')
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")

    jobs = commands.add_parser("jobs", help="list or purge stored jobs")
    job_commands = jobs.add_subparsers(dest="jobs_command", required=True, metavar="ACTION")
    listing = job_commands.add_parser("list", help="jobs, newest first")
    listing.add_argument("--domain", help="only this domain")
    listing.add_argument("--status", choices=["processing", "complete", "error"], help="only this status")
    listing.add_argument(
        "--limit", type=parse_limit, default=50, help=f"at most this many rows, 1 to {MAX_LIMIT:,} (default 50)"
    )
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    purge = job_commands.add_parser("purge", help="delete finished jobs (the analysis cache is kept)")
    purge.add_argument("--older-than", type=parse_duration, help="age such as 7d, 12h, 2w")
    purge.add_argument("--status", choices=["complete", "error"], help="only jobs with this status")

    index = commands.add_parser("index", help="bring the index of Fathom meetings up to date")
    index.add_argument(
        "--full", action="store_true", help="list every meeting again (picks up meetings shared later, drops deleted)"
    )

    listing_accounts = commands.add_parser(
        "accounts", help="every account in the Fathom meetings: figures and open signals, most recent first"
    )
    listing_accounts.add_argument("--json", action="store_true", help="print JSON rows instead of a table")
    account_commands = listing_accounts.add_subparsers(dest="accounts_command", metavar="ACTION")
    link = account_commands.add_parser("link", help="make several domains one account (the first is the primary)")
    link.add_argument("primary", help="the account's main domain")
    link.add_argument("others", nargs="+", help="its other domains")
    link.add_argument("--json", action="store_true", help="print the account as JSON")
    unlink = account_commands.add_parser("unlink", help="take a domain out of its account (the primary: all)")
    unlink.add_argument("domain")
    unlink.add_argument("--json", action="store_true", help="print the domains freed as JSON")
    suggest = account_commands.add_parser("suggest", help="links the app can justify, with why (it never links itself)")
    suggest.add_argument("--json", action="store_true", help="print the suggestions as JSON")

    brief = commands.add_parser(
        "brief", help="a one-page brief for the next meeting: who, their worries in their words, our promises, gaps"
    )
    brief.add_argument("website", help="the company's website or domain (summarised before)")
    brief.add_argument("--json", action="store_true", help="print the brief as JSON")

    forget = commands.add_parser(
        "forget", help="remove every trace of a customer (or --person) from the stores, and keep it out"
    )
    forget.add_argument("website", nargs="?", help="the customer's website, domain or an e-mail address at it")
    forget.add_argument("--person", metavar="EMAIL", help="forget one person (by e-mail address) instead")
    forget.add_argument("--lift", action="store_true", help="let a forgotten customer or person be summarised again")
    forget.add_argument("--json", action="store_true", help="print the receipt as JSON")

    webhooks = commands.add_parser("webhooks", help="Fathom webhooks: receive new meetings as they are ready")
    hook_commands = webhooks.add_subparsers(dest="webhooks_command", required=True, metavar="ACTION")
    serve = hook_commands.add_parser("serve", help="receive deliveries on POST /webhooks/fathom (Ctrl-C stops)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8502, help="port to listen on (default 8502)")
    register = hook_commands.add_parser("register", help="create a webhook in Fathom that sends to URL")
    register.add_argument("url", help="the receiver's public address, e.g. https://example.com/webhooks/fathom")
    register.add_argument(
        "--trigger",
        action="append",
        choices=list(WEBHOOK_TRIGGERS),
        help="which recordings fire it (repeatable; default: all four)",
    )
    hook_list = hook_commands.add_parser("list", help="the webhooks created here (Fathom's API lists none)")
    hook_list.add_argument("--json", action="store_true", help="print JSON")
    hook_delete = hook_commands.add_parser("delete", help="delete a webhook in Fathom and here")
    hook_delete.add_argument("id", help="the webhook's id (see `webhooks list`)")

    digest = commands.add_parser(
        "digest", help="what changed per account in the last days, with quotes and links; sent to Slack or e-mail"
    )
    digest.add_argument("--days", type=parse_days, default=7, help="the period: this many days, 1 to 366 (default 7)")
    digest.add_argument("--slack-url", help="a Slack incoming webhook to post it to (default: DIGEST_SLACK_URL)")
    digest.add_argument("--email", nargs="+", metavar="ADDR", help="addresses to e-mail it to (default: DIGEST_EMAILS)")
    digest.add_argument("--json", action="store_true", help="print the digest as JSON")

    cache = commands.add_parser("cache", help="the per-meeting analysis cache")
    cache_commands = cache.add_subparsers(dest="cache_command", required=True, metavar="ACTION")
    cache_commands.add_parser("clear", help="forget every cached meeting analysis")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command == "summarize":
            from engagement.cli import summarize

            return summarize(
                settings, args.website, since=args.since, until=args.until, as_json=args.json, inline=args.inline
            )
        if args.command == "qualify":
            from engagement.cli import qualify

            return qualify(settings, args.website, as_json=args.json)
        if args.command == "worker":
            from engagement.cli import worker

            return worker(settings, burst=args.burst)
        if args.command == "ask":
            from engagement.cli import ask

            return ask(settings, args.website, args.question, as_json=args.json)
        if args.command == "jobs":
            from engagement.cli import jobs_list, jobs_purge

            if args.jobs_command == "list":
                return jobs_list(settings, domain=args.domain, status=args.status, limit=args.limit, as_json=args.json)
            if args.older_than is None and args.status is None:
                print("jobs purge needs --older-than, --status or both (e.g. --older-than 7d).", file=sys.stderr)
                return 2
            return jobs_purge(settings, older_than=args.older_than, status=args.status)
        if args.command == "index":
            from engagement.cli import index

            return index(settings, full=args.full)
        if args.command == "accounts":
            from engagement.cli import accounts, accounts_link, accounts_suggest, accounts_unlink

            if args.accounts_command == "link":
                return accounts_link(settings, args.primary, args.others, as_json=args.json)
            if args.accounts_command == "unlink":
                return accounts_unlink(settings, args.domain, as_json=args.json)
            if args.accounts_command == "suggest":
                return accounts_suggest(settings, as_json=args.json)
            return accounts(settings, as_json=args.json)
        if args.command == "brief":
            from engagement.cli import brief as brief_command

            return brief_command(settings, args.website, as_json=args.json)
        if args.command == "forget":
            from engagement.cli import forget

            if bool(args.website) == bool(args.person):
                print("forget needs a website or --person EMAIL (one of them).", file=sys.stderr)
                return 2
            return forget(settings, args.website, person=args.person, lift=args.lift, as_json=args.json)
        if args.command == "webhooks":
            from engagement import cli

            if args.webhooks_command == "serve":
                return cli.webhooks_serve(settings, host=args.host, port=args.port)
            if args.webhooks_command == "register":
                return cli.webhooks_register(settings, args.url, triggers=args.trigger or list(WEBHOOK_TRIGGERS))
            if args.webhooks_command == "list":
                return cli.webhooks_list(settings, as_json=args.json)
            return cli.webhooks_delete(settings, args.id)
        if args.command == "digest":
            from engagement.cli import digest as send_digest

            return send_digest(settings, days=args.days, slack_url=args.slack_url, emails=args.email, as_json=args.json)
        if args.command == "cache":
            from engagement.cli import cache_clear

            return cache_clear(settings)
    except (InvalidDomainError, InvalidQuestionError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except EngagementError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
