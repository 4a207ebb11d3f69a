"""Realistic ``EngagementSummary`` and ``JobRecord`` objects of any size, for tests.

``make_summary()`` is deterministic: the same arguments give the same summary. It has months with
no meetings (the second month, when there are three or more), people on every side, themes whose
mentions fall off, insight lists with evidence, and one piece of evidence with ``verified=False``
whose quote is ``UNVERIFIED_QUOTE`` (it must never be shown as a quote). ``hostile=True`` puts markup,
script and spreadsheet formulas into titles, names, roles, topics, quotes and links, Markdown links, images
and autolinks into insights and quotes, and one very long unbroken word (see ``HOSTILE_*``, ``LONG_WORD``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engagement.models import (
    Changes,
    Coverage,
    EngagementSummary,
    Evidence,
    Insight,
    JobRecord,
    JobStats,
    JobStatus,
    MeetingRef,
    MonthCount,
    Person,
    Progress,
    Side,
    Signal,
    Theme,
)

DOMAIN = "acme.com"
COMPANY = "Acme"
FIRST_MONTH = (2025, 11)
SHARE_BASE = "https://fathom.video/share/"

HOSTILE_TITLE = "<img src=x onerror=alert(1)>"
HOSTILE_NAME = "<script>alert('name')</script>"
HOSTILE_ROLE = '=HYPERLINK("http://evil.example","click")'
HOSTILE_TOPIC = "<b onmouseover=alert(1)>Pricing</b> %{x}"
HOSTILE_QUOTE = "we need </script><script>alert(1)</script> | *now*"
HOSTILE_URL = "javascript:alert(1)"
HOSTILE_COMPANY = "Acme <i>Corp</i>"
FORMULA_CELLS = ("=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)")
UNVERIFIED_QUOTE = "We will certainly sign the three-year deal next week"
# Markdown that would become a live link, an image request or an autolink if it were not shown as text.
HOSTILE_LINK = "[Click here to sign in again](https://evil.example/login)"
HOSTILE_IMAGE = "![pixel](https://evil.example/pixel.png)"
HOSTILE_BARE = "Write to eve@evil.example or see https://evil.example/bare and www.evil.example today"
HOSTILE_MARKDOWN = f"{HOSTILE_LINK} {HOSTILE_IMAGE} {HOSTILE_BARE}"
LONG_WORD = "unbroken" * 800  # 6,400 characters without a space

_FIRST = ["Dana", "Sam", "Priya", "Luis", "Mei", "Jonas", "Amara", "Noah", "Ines", "Kofi", "Yuki", "Olga"]
_LAST = ["Reyes", "Okafor", "Lindqvist", "Nakamura", "Haddad", "Silva", "Novak", "Brennan", "Ahmed"]
_SIDES = [
    Side.CUSTOMER,
    Side.INTERNAL,
    Side.CUSTOMER,
    Side.THIRD_PARTY,
    Side.CUSTOMER,
    Side.INTERNAL,
    Side.PERSONAL,
    Side.UNKNOWN,
]
_ROLES = ["VP Sales", "Account Executive", "Head of IT", "Implementation partner", "Security reviewer", "CSM", "", ""]
_TOPICS = [
    "Pricing and packaging",
    "SSO and security review",
    "Data migration",
    "Integration with the customer's existing on-premise data warehouse and reporting stack",
    "Onboarding timeline",
    "Reporting",
    "Procurement process",
    "API rate limits",
    "Mobile access",
    "Training",
]
_TITLES = ["Discovery call", "Technical deep dive", "Security review", "Pricing discussion", "Quarterly check-in"]


def _months(count: int) -> list[str]:
    y, m = FIRST_MONTH
    out = []
    for _ in range(count):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _evidence(meeting: MeetingRef, quote: str, speaker: str, seconds: int, verified: bool = True) -> Evidence:
    ts = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return Evidence(
        recording_id=meeting.recording_id,
        timestamp=ts,
        quote=quote,
        speaker=speaker,
        url=f"{meeting.share_url}?timestamp={seconds}",
        meeting_title=meeting.title,
        meeting_date=meeting.date,
        verified=verified,
        side=Side.CUSTOMER,
    )


def make_summary(
    meetings: int = 12, people: int = 6, themes: int = 8, months: int = 7, hostile: bool = False
) -> EngagementSummary:
    """A summary with that many meetings, people and themes over ``months`` months (``meetings=0``: an empty one)."""
    months = max(1, months)
    company = HOSTILE_COMPANY if hostile else COMPANY
    if meetings <= 0:
        return EngagementSummary(domain=DOMAIN, company=company)

    month_keys = _months(months)
    # the second month stays empty when there are three or more, so charts must show a zero month
    busy = [k for i, k in enumerate(month_keys) if not (months >= 3 and i == 1)]
    by_month = {k: 0 for k in month_keys}
    refs: list[MeetingRef] = []
    for i in range(meetings):
        month = busy[i * len(busy) // meetings]
        day = 3 + (by_month[month] * 5) % 25
        by_month[month] += 1
        start = datetime(int(month[:4]), int(month[5:]), day, 15, 0, tzinfo=UTC) + timedelta(minutes=i)
        rid = 1000 + i
        title = f"{_TITLES[i % len(_TITLES)]} #{i + 1}"
        if hostile and i == 0:
            title = HOSTILE_TITLE
        elif hostile and i - 1 < len(FORMULA_CELLS) and i >= 1:
            title = FORMULA_CELLS[i - 1]
        refs.append(
            MeetingRef(
                recording_id=rid,
                title=title,
                date=start.date().isoformat(),
                started_at=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                duration_min=30 + (i % 4) * 15,
                url=f"https://fathom.video/calls/{rid}",
                share_url=f"{SHARE_BASE}{rid}",
                analysed=i % 5 != 4,
            )
        )

    persons: list[Person] = []
    for i in range(people):
        side = _SIDES[i % len(_SIDES)]
        name = f"{_FIRST[i % len(_FIRST)]} {_LAST[(i // len(_FIRST)) % len(_LAST)]}"
        if i >= len(_FIRST) * len(_LAST):
            name = f"{name} {i}"
        role = _ROLES[i % len(_ROLES)]
        if hostile and i == 0:
            name = HOSTILE_NAME
        if hostile and i == 1:
            role = HOSTILE_ROLE
        if hostile and i == 2:
            name = FORMULA_CELLS[3]
        count = max(1, round(meetings * (people - i) / people))
        attended = refs[:count]
        email = (
            None
            if side is Side.UNKNOWN
            else f"{name.split()[0].lower()}{i}@"
            + {
                Side.CUSTOMER: DOMAIN,
                Side.INTERNAL: "ourco.io",
                Side.THIRD_PARTY: "partner.example",
                Side.PERSONAL: "gmail.com",
            }.get(side, "example.com")
        )
        persons.append(
            Person(
                key=email or name.casefold(),
                name=name,
                email=email,
                side=side,
                role=role,
                count=count,
                invited=count if side is not Side.UNKNOWN else 0,
                spoke_in=max(0, count - i % 3),
                first_seen=attended[0].date,
                last_seen=attended[-1].date,
            )
        )
        for ref in attended:
            if side is Side.CUSTOMER:
                ref.customer_people.append(name)
            elif side is Side.INTERNAL:
                ref.internal_people.append(name)

    customer = next((p.name for p in persons if p.side is Side.CUSTOMER), "Dana Reyes")
    theme_list: list[Theme] = []
    for i in range(themes):
        topic = _TOPICS[i] if i < len(_TOPICS) else f"Topic {i + 1}"
        if hostile and i == 0:
            topic = HOSTILE_TOPIC
        mentions = max(1, min(meetings, meetings - i))
        theme_list.append(
            Theme(
                topic=topic,
                mentions=mentions,
                meetings=[r.recording_id for r in refs[:mentions]],
                evidence=[_evidence(refs[0], f"What worries us most is {topic.lower()}.", customer, 60 + i * 30)],
            )
        )

    first, last = refs[0], refs[-1]
    quote = HOSTILE_QUOTE if hostile else "We need every regional team on one dashboard by March."
    url = HOSTILE_URL if hostile else None
    goal_evidence = _evidence(first, quote, customer, 125)
    if url:
        goal_evidence.url = url
    goals = [
        Insight(text="Consolidate regional reporting by March", evidence=[goal_evidence]),
        Insight(
            text="Cut onboarding time for new reps",
            evidence=[_evidence(last, "Onboarding takes six weeks today.", customer, 300)],
        ),
        Insight(
            text="Sign a multi-year agreement",
            evidence=[_evidence(last, UNVERIFIED_QUOTE, customer, 900, verified=False)],
        ),
    ]
    challenges = [
        Insight(
            text="Legacy warehouse exports are manual",
            evidence=[_evidence(first, "Exports are all manual right now.", customer, 410)],
        ),
        Insight(text="Security review backlog", evidence=[]),
    ]
    risks = [
        Insight(text="Budget freeze in Q3", evidence=[_evidence(last, "Budget might freeze in Q3.", customer, 1500)])
    ]
    if hostile:
        risks.append(Insight(text=HOSTILE_TITLE, evidence=[_evidence(first, HOSTILE_QUOTE, HOSTILE_NAME, 20)]))
        link_and_image = f"{HOSTILE_LINK} {HOSTILE_IMAGE}"
        risks.append(Insight(text=link_and_image, evidence=[_evidence(first, HOSTILE_BARE, HOSTILE_NAME, 30)]))
        risks.append(Insight(text=LONG_WORD, evidence=[_evidence(first, LONG_WORD, customer, 40)]))
    recommendations = [
        Insight(
            text="Send the SSO security pack before the next call",
            evidence=[_evidence(first, "Can you send the SSO docs?", customer, 700)],
        ),
        Insight(text="Offer a phased migration plan", evidence=[]),
    ]

    return EngagementSummary(
        meetings_count=meetings,
        people=persons,
        themes=theme_list,
        goals=[g.text for g in goals],
        challenges=[c.text for c in challenges],
        risks=[r.text for r in risks],
        recommendations=[r.text for r in recommendations],
        domain=DOMAIN,
        company=company,
        first_meeting=first.date,
        last_meeting=last.date,
        meetings_by_month=[MonthCount(month=k, count=by_month[k]) for k in month_keys],
        meetings=refs,
        goals_detail=goals,
        challenges_detail=challenges,
        risks_detail=risks,
        recommendations_detail=recommendations,
        notes=["2 meetings had no transcript"] if not hostile else [HOSTILE_TITLE],
        coverage=Coverage(
            meetings=meetings,
            with_transcript=meetings - 1,
            without_transcript=1,
            analysed=meetings - 1,
            unmatched_speakers=2,
        ),
        signals=[
            Signal(
                kind="gone_dark",
                severity="high",
                title="No meeting for 64 days",
                detail=f"The last meeting was “{last.title}” on {last.date}; the limit is 30 days.",
                value=64,
                meetings=[last.recording_id],
            ),
            Signal(
                kind="champion_quiet",
                severity="high",
                title=f"{persons[0].name} has gone quiet",
                detail="In 6 of 12 meetings, but none of the last 3.",
                value=6,
                meetings=[ref.recording_id for ref in refs[:6]],
                subject=persons[0].name,
            ),
        ],
        changes=Changes(
            since_run_id="0b7c2a51-1111-4a5e-9d3c-6f2e8a9b0c41",
            since="2026-04-20T08:00:00.000000Z",
            new_meetings=[refs[0].recording_id],
            new_people=[persons[0].name],
            new_risks=[risks[-1].text],
            new_signals=["gone_dark"],
            resolved_signals=["cadence_drop"],
        ),
    )


def make_record(
    summary: EngagementSummary | None = None, status: JobStatus = JobStatus.COMPLETE, **fields: object
) -> JobRecord:
    """A stored job record around ``summary`` (``make_summary()`` when omitted and the job is complete)."""
    if summary is None and status is JobStatus.COMPLETE:
        summary = make_summary()
    created = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
    values: dict[str, object] = {
        "domain": summary.domain if summary else DOMAIN,
        "run_id": "3f2b9c1e-8d4a-4c57-9b1e-2a6f0d7c5e11",
        "status": status,
        "summary": summary,
        "error": None,
        "created_at": created,
        "updated_at": created + timedelta(seconds=42),
        "stage": "done" if status is not JobStatus.PROCESSING else "analyse",
        "progress": Progress(
            done=summary.meetings_count if summary else 0, total=summary.meetings_count if summary else None
        ),
        "source": "demo",
        "analyzer": "offline",
        "stats": JobStats(meetings=summary.meetings_count if summary else 0, fathom_requests=3, seconds=42.0),
    }
    values.update(fields)
    return JobRecord.model_validate(values)
