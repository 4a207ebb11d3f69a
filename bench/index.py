"""Meeting index: one account's meetings and the per-domain aggregate on 10,000 meetings, in SQLite and Redis, p50/p99."""

from __future__ import annotations

import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.measure import Result, latency, time_calls
from engagement.meetings.index import MeetingIndex
from engagement.models import Invitee, Meeting

WORKSPACE = "bench"
START = datetime(2024, 1, 1, tzinfo=UTC)


def workspace_meetings(
    count: int,
    domains: int,
    *,
    seed: int = 7,
    first: datetime = START,
    step: timedelta = timedelta(minutes=90),
    id_base: int = 10_000_000,
    personal_every: int = 0,
) -> list[Meeting]:
    """``count`` meetings ``step`` apart from ``first``, each with two of our people and one to four guests
    from ``domains`` companies (and a gmail.com guest every ``personal_every`` meetings, when set)."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        created = first + step * n
        guests = [rng.randrange(domains) for _ in range(rng.randint(1, 4))]
        invitees = [
            Invitee(name="Rep", email="rep@ourco.com", is_external=False),
            Invitee(name="SE", email="se@ourco.com", is_external=False),
            *(Invitee(name=f"P{g}", email=f"p{rng.randrange(8)}@company{g}.com", is_external=True) for g in guests),
        ]
        if personal_every and n % personal_every == 0:
            invitees.append(Invitee(name="Guest", email=f"guest{n}@gmail.com", is_external=True))
        out.append(
            Meeting(
                recording_id=id_base + n,
                title=f"Meeting {n}",
                url=f"https://fathom.video/calls/{n}",
                share_url=f"https://fathom.video/share/{n}",
                created_at=created,
                recording_start_time=created - timedelta(minutes=60),
                recording_end_time=created,
                invitees=tuple(invitees),
            )
        )
    return out


QUICK = {"meetings": 1_000, "domains": 50, "runs": 10}


def run(meetings: int = 10_000, domains: int = 400, runs: int = 50) -> list[Result]:
    from engagement.meetings.redis_storage import RedisIndexStorage
    from tests.support.redis_server import RedisServer

    seeded = tuple(workspace_meetings(meetings, domains))
    note = f"{meetings:,} meetings, {domains} companies, about {meetings * 2.5 / domains:.0f} meetings a company"
    now = START + timedelta(minutes=90 * meetings)
    out = []
    with tempfile.TemporaryDirectory() as tmp, RedisServer() as server:
        for where, index in (
            ("", MeetingIndex(Path(tmp) / "bench.sqlite")),
            (", Redis", MeetingIndex(RedisIndexStorage(server.url))),
        ):
            for start in range(0, meetings, 500):  # pages of a sync, each one transaction
                index.storage.save(WORKSPACE, {}, seeded[start : start + 500], 1)
            one = time_calls(lambda i, index=index: index.meetings_for(WORKSPACE, f"company{i % domains}.com"), runs, 5)
            every = time_calls(
                lambda i, index=index: index.domain_activity(WORKSPACE, now=now), max(5, runs // 5), warmup=2
            )
            index.close()
            out += [
                latency("Index", f"one account's meetings (meetings_for{where})", one, 50.0, note),
                latency(
                    "Index",
                    f"every domain's activity (domain_activity{where})",
                    every,
                    300.0,
                    note + ("; the Accounts page's query" if not where else "; a pipelined read of each domain's sets"),
                ),
            ]
    return out
