"""The bundled demo data (engagement/demo/data/*.json) is valid Fathom data and counts exactly as documented.

Every fact below is counted here straight from the raw JSON, independently of the app's code, and
compared with the hand-counted numbers in engagement/demo/data/README.md.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.spec import meeting_validator

DATA_DIR = Path(__file__).resolve().parents[1] / "engagement" / "demo" / "data"
README = DATA_DIR / "README.md"
CUSTOMER_FILES = ("acmecorp.com", "brightwater.co.uk", "globex.io")
ALL_FILES = (*CUSTOMER_FILES, "other")
SELLER_DOMAIN = "signalpath.io"
HOSTILE_TITLE = "<img src=x onerror=alert(1)> sync"

# Hand-counted (see README.md): canonical e-mail -> (most-used display name, meetings invited to, meetings spoken in)
EXPECTED_PEOPLE: dict[str, dict[str, tuple[str, int, int]]] = {
    "acmecorp.com": {
        "sarah.lopez@acmecorp.com": ("Sarah Lopez", 11, 11),
        "kevin.walsh@acmecorp.com": ("Kevin Walsh", 7, 7),
        "greg.thompson@acmecorp.com": ("Greg Thompson", 3, 3),
        "anil.mehta@acmecorp.com": ("Anil Mehta", 2, 2),
        "rachel.nguyen@acmecorp.com": ("Rachel Nguyen", 2, 1),
        "olivia.grant@acmecorp.com": ("Olivia Grant", 1, 1),
    },
    "brightwater.co.uk": {
        "helen.marsh@brightwater.co.uk": ("Helen Marsh", 10, 9),
        "owen.pritchard@brightwater.co.uk": ("Owen Pritchard", 4, 3),
        "gareth.lewis@brightwater.co.uk": ("Gareth Lewis", 3, 3),
        "raj.sandhu@brightwater.co.uk": ("Raj Sandhu", 3, 2),
        "fiona.mcallister@brightwater.co.uk": ("Fiona McAllister", 3, 3),
    },
    "globex.io": {
        "nina.alvarez@globex.io": ("Nina Alvarez", 7, 6),
        "ryan.holt@globex.io": ("Ryan Holt", 3, 3),
        "aisha.bello@globex.io": ("Aisha Bello", 2, 2),
        "chris.donovan@globex.io": ("Chris Donovan", 2, 2),
    },
}
EXPECTED_MEETINGS = {"acmecorp.com": 13, "brightwater.co.uk": 10, "globex.io": 7, "other": 6}
# A13: Fathom files it under the partner (two Bridgepoint invitees, one Acme); B9: recorded, no transcript.
PARTNER_FILED = {133112480: "bridgepoint-consulting.com"}
NO_TRANSCRIPT = {132745112}
PERSONAL = {"gmail.com"}
EXPECTED_LAST_MEETING = {"acmecorp.com": "2026-11-12", "brightwater.co.uk": "2026-11-17", "globex.io": "2026-10-01"}


# ---------------------------------------------------------------- helpers


@cache
def _raw(name: str) -> str:
    return (DATA_DIR / f"{name}.json").read_text(encoding="utf-8")


def load(name: str) -> list[dict]:
    return json.loads(_raw(name))["meetings"]


def all_meetings() -> list[tuple[str, dict]]:
    return [(name, m) for name in ALL_FILES for m in load(name)]


def meeting_ids() -> list[str]:
    return [f"{name}:{m['recording_id']}" for name, m in all_meetings()]


def seconds(hms: str) -> int:
    h, m, s = (int(x) for x in hms.split(":"))
    return h * 3600 + m * 60 + s


def when(text: str) -> datetime:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", text), text
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def recording_length(m: dict) -> int:
    return int((when(m["recording_end_time"]) - when(m["recording_start_time"])).total_seconds())


def domain_of(email: str | None) -> str | None:
    return email.rsplit("@", 1)[1].lower() if email and "@" in email else None


def count_people(domain: str, meetings: list[dict]) -> dict[str, tuple[str, int, int]]:
    """Canonical e-mail -> (most-used display name, meetings invited to, meetings spoken in)."""
    names: dict[str, Counter] = defaultdict(Counter)
    invited: Counter = Counter()
    spoken: Counter = Counter()
    for m in meetings:
        here = {inv["email"].lower() for inv in m["calendar_invitees"] if domain_of(inv["email"]) == domain}
        for inv in m["calendar_invitees"]:
            if domain_of(inv["email"]) == domain:
                names[inv["email"].lower()][inv["name"]] += 1
        invited.update(here)
        speakers = {
            t["speaker"]["matched_calendar_invitee_email"].lower()
            for t in m["transcript"] or []
            if t["speaker"]["matched_calendar_invitee_email"]
        }
        spoken.update(here & speakers)
    return {e: (names[e].most_common(1)[0][0], invited[e], spoken[e]) for e in invited}


def params():
    return pytest.mark.parametrize(("name", "meeting"), all_meetings(), ids=meeting_ids())


# ---------------------------------------------------------------- spec validity


@params()
def test_meeting_is_valid_against_fathom_meeting_schema(name, meeting):
    """Every demo meeting validates against the spec's Meeting schema (nullable translated)."""
    errors = sorted(meeting_validator().iter_errors(meeting), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


@params()
def test_meeting_uses_only_fields_the_spec_defines(name, meeting):
    """No demo meeting carries a field the spec does not declare (catches typos in field names)."""
    errors = list(meeting_validator(strict=True).iter_errors(meeting))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


@params()
def test_meeting_has_every_include_flag_field_populated(name, meeting):
    """Each meeting looks like a response with every include_* flag true: transcript, summary, action items, highlights present."""
    if meeting["recording_id"] in NO_TRANSCRIPT:  # never transcribed: no transcript, summary, items or highlights
        assert meeting["transcript"] is None and meeting["default_summary"] is None
        assert meeting["action_items"] == [] and meeting["highlights"] == []
        return
    assert isinstance(meeting["transcript"], list) and 25 <= len(meeting["transcript"]) <= 60
    assert meeting["default_summary"]["template_name"] == "general"
    assert isinstance(meeting["action_items"], list) and 1 <= len(meeting["action_items"]) <= 4
    assert isinstance(meeting["highlights"], list)
    assert "crm_matches" in meeting and "meeting_url" in meeting
    assert meeting["transcript_language"] == "en"


@pytest.mark.parametrize("name", ALL_FILES)
def test_files_are_pretty_printed_with_indent_2(name):
    """Each data file is a {"meetings": [...]} object written with json indent 2."""
    data = json.loads(_raw(name))
    assert list(data) == ["meetings"]
    assert _raw(name) == json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- identity, URLs, times


def test_recording_ids_are_unique_across_all_files():
    """No recording_id appears twice in the demo data set."""
    ids = [m["recording_id"] for _, m in all_meetings()]
    assert len(ids) == len(set(ids)) == sum(EXPECTED_MEETINGS.values())


@params()
def test_urls_are_derived_from_the_recording_id(name, meeting):
    """url is https://fathom.video/calls/<id>; share_url a fathom.video/share token; meeting_url a real-looking join link."""
    rid = meeting["recording_id"]
    assert meeting["url"] == f"https://fathom.video/calls/{rid}"
    assert re.fullmatch(r"https://fathom\.video/share/[A-Za-z0-9]{20,40}", meeting["share_url"])
    join = urlsplit(meeting["meeting_url"])
    assert join.scheme == "https" and join.netloc in {"us06web.zoom.us", "meet.google.com", "teams.microsoft.com"}
    shares = [m["share_url"] for _, m in all_meetings()]
    assert shares.count(meeting["share_url"]) == 1


@params()
def test_times_are_utc_and_consistent(name, meeting):
    """Scheduled and recording windows are ordered, near each other, and created_at follows the recording."""
    s0, s1 = when(meeting["scheduled_start_time"]), when(meeting["scheduled_end_time"])
    r0, r1 = when(meeting["recording_start_time"]), when(meeting["recording_end_time"])
    created = when(meeting["created_at"])
    assert s0 < s1 and r0 < r1
    assert 0 <= (r0 - s0).total_seconds() <= 600
    assert 0 <= (created - r1).total_seconds() <= 600
    assert datetime(2026, 5, 1, tzinfo=UTC) <= s0 < datetime(2026, 12, 1, tzinfo=UTC)


@params()
def test_transcript_timestamps_increase_and_fall_within_the_recording(name, meeting):
    """Transcript timestamps are HH:MM:SS, strictly increasing, and inside the recording length."""
    stamps = [seconds(t["timestamp"]) for t in meeting["transcript"] or []]
    if not stamps:
        assert meeting["recording_id"] in NO_TRANSCRIPT
        return
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert 0 <= stamps[0] and stamps[-1] < recording_length(meeting)


@params()
def test_action_items_point_at_their_moment_in_the_recording(name, meeting):
    """Each action item's playback URL is the call URL with ?timestamp=<seconds of recording_timestamp>, inside the recording."""
    for item in meeting["action_items"]:
        sec = seconds(item["recording_timestamp"])
        assert 0 <= sec < recording_length(meeting)
        assert item["recording_playback_url"] == f"https://fathom.video/calls/{meeting['recording_id']}?timestamp={sec}"
        assert item["description"].strip()


@params()
def test_highlights_fall_within_the_recording(name, meeting):
    """Highlights have a type, start before they end, and sit inside the recording."""
    for hl in meeting["highlights"]:
        assert hl["type"] and hl["summary"]
        assert 0 <= hl["start_time"] < hl["end_time"] <= recording_length(meeting)


@params()
def test_summary_is_fathom_style_markdown(name, meeting):
    """default_summary.markdown_formatted has Meeting Purpose, Key Takeaways and Next Steps sections with bullets."""
    if meeting["default_summary"] is None:
        assert meeting["recording_id"] in NO_TRANSCRIPT
        return
    md = meeting["default_summary"]["markdown_formatted"]
    positions = [md.index(h) for h in ("## Meeting Purpose", "## Key Takeaways", "## Next Steps")]
    assert positions == sorted(positions)
    assert md.count("\n- ") >= 3


# ---------------------------------------------------------------- people and sides


@params()
def test_matched_speakers_are_calendar_invitees(name, meeting):
    """Every transcript speaker with a matched_calendar_invitee_email is one of the meeting's calendar invitees."""
    invitee_emails = {inv["email"] for inv in meeting["calendar_invitees"] if inv["email"]}
    for turn in meeting["transcript"] or []:
        email = turn["speaker"]["matched_calendar_invitee_email"]
        if email is not None:
            assert email in invitee_emails, (turn["timestamp"], email)


@params()
def test_invitee_speaker_names_agree_with_the_transcript(name, meeting):
    """matched_speaker_display_name is the invitee's transcript display name, or null when they never spoke."""
    spoke = {
        t["speaker"]["matched_calendar_invitee_email"]: t["speaker"]["display_name"]
        for t in meeting["transcript"] or []
    }
    for inv in meeting["calendar_invitees"]:
        assert inv["matched_speaker_display_name"] == (spoke.get(inv["email"]) if inv["email"] else None)


@params()
def test_customer_file_turns_are_all_attributed(name, meeting):
    """In customer files every transcript turn is matched to an invitee, so who-said-what is countable."""
    if name in CUSTOMER_FILES:
        assert all(t["speaker"]["matched_calendar_invitee_email"] for t in meeting["transcript"] or [])


@params()
def test_seller_side_flags(name, meeting):
    """recorded_by is a SignalPath user; is_external is false exactly for @signalpath.io invitees; email_domain matches email."""
    rec = meeting["recorded_by"]
    assert rec["email_domain"] == SELLER_DOMAIN and domain_of(rec["email"]) == SELLER_DOMAIN
    for inv in meeting["calendar_invitees"]:
        assert inv["email_domain"] == domain_of(inv["email"])
        assert inv["is_external"] is (inv["email_domain"] != SELLER_DOMAIN)
    assert any(inv["email"] == rec["email"] for inv in meeting["calendar_invitees"])


@params()
def test_domains_type_matches_the_invitees(name, meeting):
    """calendar_invitees_domains_type is only_internal exactly when no invitee is external."""
    external = any(inv["is_external"] for inv in meeting["calendar_invitees"])
    assert meeting["calendar_invitees_domains_type"] == ("one_or_more_external" if external else "only_internal")


# ---------------------------------------------------------------- per-account facts


@pytest.mark.parametrize("name", ALL_FILES)
def test_meetings_per_file(name):
    """Each file holds the hand-counted number of meetings (13 Acme, 9 Brightwater, 7 Globex, 6 other)."""
    assert len(load(name)) == EXPECTED_MEETINGS[name]


@pytest.mark.parametrize("domain", CUSTOMER_FILES)
def test_domain_filter_over_all_files_selects_exactly_the_account_file(domain):
    """Across every file, the meetings with an invitee at the customer's domain are exactly that customer's file."""
    matched = {
        m["recording_id"]
        for _, m in all_meetings()
        if any(domain_of(inv["email"]) == domain for inv in m["calendar_invitees"])
    }
    assert matched == {m["recording_id"] for m in load(domain)}


@pytest.mark.parametrize("domain", CUSTOMER_FILES)
def test_distinct_customer_people_match_the_hand_count(domain):
    """Distinct customer people (lower-cased e-mail at the domain), their usual name, and meetings invited to / spoken in."""
    assert count_people(domain, load(domain)) == EXPECTED_PEOPLE[domain]


@pytest.mark.parametrize("domain", CUSTOMER_FILES)
def test_last_meeting_dates(domain):
    """Each account's most recent meeting is on the documented date (Globex's is the oldest: engagement dropped)."""
    last = max(m["scheduled_start_time"] for m in load(domain))[:10]
    assert last == EXPECTED_LAST_MEETING[domain]
    assert EXPECTED_LAST_MEETING["globex.io"] < min(
        EXPECTED_LAST_MEETING[d] for d in CUSTOMER_FILES if d != "globex.io"
    )


def test_acme_edge_cases_are_present():
    """Acme data has the mixed-case e-mail, the 'Sarah L.' name, the null-email room, the gmail invitee and the partner."""
    invitees = [inv for m in load("acmecorp.com") for inv in m["calendar_invitees"]]
    emails = [inv["email"] for inv in invitees]
    assert emails.count("Sarah.Lopez@AcmeCorp.com") == 1
    assert {inv["name"] for inv in invitees if (inv["email"] or "").lower() == "sarah.lopez@acmecorp.com"} == {
        "Sarah Lopez",
        "Sarah L.",
    }
    rooms = [inv for inv in invitees if inv["email"] is None]
    assert [(r["name"], r["email_domain"], r["matched_speaker_display_name"]) for r in rooms] == [
        ("Acme HQ Boardroom", None, None)
    ]
    partner = [
        m
        for m in load("acmecorp.com")
        if {"gmail.com", "bridgepoint-consulting.com"} <= {inv["email_domain"] for inv in m["calendar_invitees"]}
    ]
    assert len(partner) == 1
    others = {inv["email_domain"] for inv in invitees} - {"acmecorp.com", SELLER_DOMAIN}
    assert others == {"gmail.com", "bridgepoint-consulting.com", None}


def company_of(meeting: dict) -> str | None:
    """The one company Fathom files a meeting under, by the rule in README.md: the external business domain
    with the most invitees, a tie going to the domain listed first; personal mailboxes are not companies."""
    counts: Counter = Counter()
    for inv in meeting["calendar_invitees"]:
        if inv["is_external"] and inv["email_domain"] and inv["email_domain"] not in PERSONAL:
            counts[inv["email_domain"]] += 1
    if not counts:
        return None
    best = max(counts.values())
    return next(inv["email_domain"] for inv in meeting["calendar_invitees"] if counts.get(inv["email_domain"]) == best)


def test_one_acme_meeting_is_filed_under_the_partner():
    """Exactly one Acme meeting (A13) is one Fathom files under another company: Bridgepoint, with two invitees."""
    filed = {m["recording_id"]: company_of(m) for m in load("acmecorp.com") if company_of(m) != "acmecorp.com"}
    assert filed == PARTNER_FILED
    (meeting,) = [m for m in load("acmecorp.com") if m["recording_id"] in PARTNER_FILED]
    acme = [inv["email"] for inv in meeting["calendar_invitees"] if inv["email_domain"] == "acmecorp.com"]
    assert acme == ["kevin.walsh@acmecorp.com"]


def test_every_other_customer_meeting_is_filed_under_its_customer():
    """Brightwater's and Globex's meetings are all filed under their own domain by the one-company rule."""
    for domain in ("brightwater.co.uk", "globex.io"):
        assert {company_of(m) for m in load(domain)} == {domain}


def test_exactly_one_meeting_has_no_transcript():
    """B9 alone was recorded without a transcript; its two Brightwater invitees count as invited, not as speakers."""
    missing = {m["recording_id"] for _, m in all_meetings() if m["transcript"] is None}
    assert missing == NO_TRANSCRIPT
    (meeting,) = [m for m in load("brightwater.co.uk") if m["recording_id"] in NO_TRANSCRIPT]
    assert all(inv["matched_speaker_display_name"] is None for inv in meeting["calendar_invitees"])


def test_globex_has_a_meeting_where_the_only_globex_invitee_never_spoke():
    """At least one Globex meeting's only Globex invitee is silent (the no-show)."""
    silent = []
    for m in load("globex.io"):
        ours = [inv for inv in m["calendar_invitees"] if inv["email_domain"] == "globex.io"]
        if len(ours) == 1 and ours[0]["matched_speaker_display_name"] is None:
            silent.append(m["recording_id"])
    assert len(silent) >= 1


def test_customer_meetings_each_have_a_customer_invitee():
    """Every meeting in a customer file invites at least one person at that customer's domain."""
    for domain in CUSTOMER_FILES:
        for m in load(domain):
            assert any(inv["email_domain"] == domain for inv in m["calendar_invitees"]), m["recording_id"]


# ---------------------------------------------------------------- other.json decoys


def test_other_file_holds_the_decoys():
    """other.json: 3 internal-only meetings (one about Acme), one acmecorp.co, one initech.com, one gmail-only external."""
    meetings = load("other")
    internal = [m for m in meetings if m["calendar_invitees_domains_type"] == "only_internal"]
    assert len(internal) == 3
    assert any("Acme" in m["title"] and "Acme" in " ".join(t["text"] for t in m["transcript"]) for m in internal)
    external_domains = [
        sorted({inv["email_domain"] for inv in m["calendar_invitees"] if inv["is_external"]})
        for m in meetings
        if m not in internal
    ]
    assert sorted(external_domains) == [["acmecorp.co"], ["gmail.com"], ["initech.com"]]
    for m in meetings:
        assert not {inv["email_domain"] for inv in m["calendar_invitees"]} & set(CUSTOMER_FILES)


def test_hostile_title_only_in_other_file():
    """The XSS-looking title exists once, in other.json, and in no customer file."""
    titles = [(name, m["title"]) for name, m in all_meetings()] + [
        (name, m["meeting_title"]) for name, m in all_meetings()
    ]
    assert {name for name, t in titles if re.search(r"<[a-z]", t or "")} == {"other"}
    assert sum(1 for name, m in all_meetings() if m["title"] == HOSTILE_TITLE) == 1


# ---------------------------------------------------------------- README agrees with the data


def test_readme_people_tables_match_the_counts():
    """README.md's people rows (| `email` | name | invited | spoke |) equal the counts from the JSON."""
    rows = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\|\s*`([^`@]+@[^`]+)`\s*\|\s*([^|]+?)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|", line)
        if match:
            rows[match[1]] = (match[2], int(match[3]), int(match[4]))
    counted = {e: v for d in CUSTOMER_FILES for e, v in count_people(d, load(d)).items()}
    assert rows == counted


def test_readme_lists_every_recording_id_once():
    """README.md's meeting tables (| Key | recording_id | date | title |) list each meeting once, with its date and title."""
    rows = re.findall(
        r"^\| [ABGO]\d+ \| (\d+) \| (\d{4}-\d{2}-\d{2}) \| (.+?) \|", README.read_text(encoding="utf-8"), re.M
    )
    ids = [int(rid) for rid, _, _ in rows]
    assert sorted(ids) == sorted(m["recording_id"] for _, m in all_meetings())
    by_id = {m["recording_id"]: m for _, m in all_meetings()}
    for rid, date, title in rows:
        meeting = by_id[int(rid)]
        assert date == meeting["scheduled_start_time"][:10]
        assert title.strip("`") == meeting["title"]
