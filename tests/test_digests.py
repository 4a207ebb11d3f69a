"""Digests: per account that changed, lines with their verified quote and a link back; sent once per period to a
Slack incoming webhook (a fake that answers as Slack documents) and by e-mail (a real SMTP server, aiosmtpd, with
STARTTLS and login, on loopback)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from engagement.digests.content import Digest
from engagement.digests.render import MAX_BLOCKS, as_html, as_slack, as_text
from engagement.digests.schedule import parse_schedule
from engagement.digests.service import DigestService
from engagement.errors import SettingsError
from engagement.fathom.client import to_meeting
from engagement.jobs.repository import JobRepository
from engagement.models import Changes, EngagementSummary, Evidence, Signal, Theme
from engagement.runtime import Runtime, create_runtime, workspace_of
from engagement.settings import Settings
from tests.fakes.fathom_server import make_meeting
from tests.fakes.slack_server import SlackServer, block_problem
from tests.support.summary_factory import make_record

NOW = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)  # a Monday; the daily period ends at 08:00 UTC today
DOMAIN = "freshfield-robotics.com"
QUOTE = "We need single sign-on before the security review in January."


def meeting(recording_id: int, when: datetime, guest: tuple[str, str], title: str = "Freshfield Robotics sync") -> Any:
    return to_meeting(make_meeting(recording_id, when, guests=[guest], meeting_title=title))


@dataclass
class World:
    runtime: Runtime
    sleeps: list[float]

    def service(self, **kwargs: Any) -> DigestService:
        return DigestService(self.runtime, now=lambda: NOW, sleep=self.sleeps.append, **kwargs)


def seed(runtime: Runtime, now: datetime = NOW) -> None:
    """Freshfield: one meeting weeks ago with Priya, one yesterday with Priya and Tom (new), and a run that completed
    yesterday with a verified quote from yesterday's meeting and a new signal."""
    ws = workspace_of(runtime.settings)
    runtime.index.add(
        ws,
        [
            meeting(100, now - timedelta(days=40), ("Priya Raman", f"priya.raman@{DOMAIN}")),
            meeting(101, now - timedelta(hours=5), ("Tom Okafor", f"tom.okafor@{DOMAIN}"), "Security review prep"),
        ],
    )
    evidence = Evidence(
        recording_id=101,
        timestamp="00:12:04",
        quote=QUOTE,
        speaker="Tom Okafor",
        url="https://fathom.video/share/rec101?timestamp=724",
        verified=True,
    )
    forged = Evidence(
        recording_id=101, timestamp="00:13:00", quote="We will sign tomorrow.", speaker="Tom", verified=False
    )
    summary = EngagementSummary(
        domain=DOMAIN,
        meetings_count=2,
        themes=[Theme(topic="Single sign-on", mentions=1, meetings=[101], evidence=[forged, evidence])],
        signals=[
            Signal(kind="single_threaded", severity="medium", title="One person carries the account", meetings=[101])
        ],
        changes=Changes(
            since_run_id="r0", since="2026-11-01", new_signals=["single_threaded"], resolved_signals=["gone_dark"]
        ),
    )
    ended = now - timedelta(hours=20)
    JobRepository(runtime.store).create(
        make_record(summary, run_id="run-1", created_at=ended - timedelta(minutes=1), updated_at=ended, ended_at=ended)
    )


@pytest.fixture
def world(tmp_path: Path, index_backend: dict[str, str]) -> Iterator[World]:
    """The seeded workspace, its jobs and the digests' claims in SQLite, and once in Redis."""
    settings = Settings.from_env(
        {"ENGAGEMENT_DB": str(tmp_path / "e.sqlite"), "APP_BASE_URL": "https://engagement.example.com", **index_backend}
    )
    runtime = create_runtime(settings, enqueue=False)
    seed(runtime)
    yield World(runtime, [])
    runtime.close()


def built(world: World) -> Digest:
    service = world.service()
    return service.build(*service.last_days(1))


# ---------------------------------------------------------------- what a digest says


def test_each_line_carries_its_verified_quote_and_a_link_back(world: World) -> None:
    """The account that changed yesterday: its new meeting with the verified quote said in it (never the unverified
    one) and the moment's link, the person first invited in it, the new and the resolved signal; the account links
    to its summary in the app."""
    digest = built(world)
    (account,) = digest.accounts
    assert account.domain == DOMAIN
    assert account.summary_url == f"https://engagement.example.com/?domain={DOMAIN}&run_id=run-1"
    kinds = [line.kind for line in account.lines]
    assert kinds == ["meeting", "person", "signal", "resolved"]
    new_meeting = account.lines[0]
    assert new_meeting.quote == QUOTE and new_meeting.speaker == "Tom Okafor"
    assert new_meeting.link == "https://fathom.video/share/rec101?timestamp=724" and new_meeting.recording_id == 101
    assert "Tom Okafor <tom.okafor@freshfield-robotics.com>" in account.lines[1].text
    assert "Priya" not in " ".join(line.text for line in account.lines)  # met before the period: not new
    assert account.lines[2].quote == QUOTE and "One person carries the account" in account.lines[2].text
    assert account.lines[3].text == "Resolved: Gone dark"
    assert "We will sign tomorrow" not in as_text(digest)


def test_a_quiet_period_has_no_accounts(world: World) -> None:
    """A period with no new meeting and no run ending in it lists nothing."""
    service = world.service()
    start, end = service.last_days(1)
    assert service.build(start - timedelta(days=3), start - timedelta(days=2)).empty


def test_text_from_meetings_is_text_in_html_and_slack(tmp_path: Path, world: World) -> None:
    """A title with HTML and Slack markup is escaped in the e-mail's HTML and sent as plain_text to Slack."""
    hostile = "<script>alert(1)</script> *urgent* <!channel>"
    ws = workspace_of(world.runtime.settings)
    world.runtime.index.add(ws, [meeting(102, NOW - timedelta(hours=4), ("Ana", f"ana@{DOMAIN}"), hostile)])
    digest = built(world)
    assert "<script>" not in as_html(digest) and "&lt;script&gt;" in as_html(digest)
    blocks = as_slack(digest)["blocks"]
    shown = [b for b in blocks if b["type"] == "section" and "urgent" in b["text"]["text"]]
    assert shown and all(b["text"]["type"] == "plain_text" for b in shown)


# ---------------------------------------------------------------- Slack


def test_slack_gets_block_kit_once_per_period(world: World) -> None:
    """The digest is posted as Block Kit the fake accepts (200 ok); a second send of the same period sends nothing."""
    with SlackServer() as slack:
        service = world.service()
        digest = built(world)
        (first,) = service.send(digest, slack_url=slack.url)
        (second,) = service.send(built(world), slack_url=slack.url)
    assert (first.status, second.status) == ("sent", "skipped")
    assert slack.requests == 1
    (payload,) = slack.received
    assert payload["text"].startswith("Engagement digest") and block_problem(payload["blocks"]) is None


def test_slack_invalid_blocks_is_not_retried_and_is_reported(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Slack's 400 invalid_blocks ends the send at once (one request), with Slack's reason; the failure is listed for
    the admin page."""
    import engagement.digests.service as service_module

    with SlackServer() as slack:
        service = world.service()
        digest = built(world)
        broken = {"text": "x", "blocks": [{"type": "no-such-block"}]}
        monkeypatch.setattr(service_module, "as_slack", lambda _digest: broken)
        (outcome,) = service.send(digest, slack_url=slack.url)
    assert outcome.status == "failed" and "invalid_blocks" in outcome.detail and slack.requests == 1
    (failure,) = service.failures()
    assert failure["channel"] == "slack" and "invalid_blocks" in failure["error"]


def test_slack_429_waits_its_retry_after_then_sends(world: World) -> None:
    """A 429 with Retry-After: 7 waits 7 seconds (the injected sleep) and tries again."""
    with SlackServer() as slack:
        slack.throttle_next(1, retry_after="7")
        (outcome,) = world.service().send(built(world), slack_url=slack.url)
    assert outcome.status == "sent" and slack.requests == 2 and world.sleeps == [7.0]


def test_a_failed_slack_send_is_tried_again_later_and_then_sent_once(world: World) -> None:
    """Slack keeps answering 429: the send fails after its retries; the next round sends it; a third sends nothing."""
    with SlackServer() as slack:
        service = world.service()
        slack.throttle_next(3)
        assert service.send(built(world), slack_url=slack.url)[0].status == "failed"
        assert service.send(built(world), slack_url=slack.url)[0].status == "sent"
        assert service.send(built(world), slack_url=slack.url)[0].status == "skipped"
    assert len(slack.received) == 1


def test_a_large_digest_keeps_to_slacks_50_blocks() -> None:
    """Sixty accounts: the payload has at most 50 blocks (the fake accepts it) and says how many more there are."""
    from engagement.digests.content import AccountDigest, DigestLine

    accounts = [
        AccountDigest(f"c{n}.com", "https://x.example/", [DigestLine("meeting", "New meeting")]) for n in range(60)
    ]
    payload = as_slack(Digest(NOW - timedelta(days=1), NOW, accounts))
    assert len(payload["blocks"]) <= MAX_BLOCKS and block_problem(payload["blocks"]) is None
    assert "more in the app" in payload["blocks"][-1]["elements"][0]["text"]


# ---------------------------------------------------------------- e-mail through a real SMTP server


def _certificate(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@dataclass
class Smtp:
    port: int
    messages: list[Message]
    logins: list[tuple[bytes, bytes]]
    client_context: ssl.SSLContext
    hang_up_on_refusal: bool = False  # some servers close the connection on a refused login instead of a 535


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[Smtp]:
    """aiosmtpd on loopback that requires STARTTLS before AUTH and accepts user `digest` / password `s3cret`."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = _certificate(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    messages: list[Message] = []
    logins: list[tuple[bytes, bytes]] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
            messages.append(message_from_bytes(envelope.content))
            return "250 Message accepted for delivery"

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        logins.append((auth_data.login, auth_data.password))
        if auth_data.login == b"digest" and auth_data.password == b"s3cret":
            return AuthResult(success=True)
        if made.hang_up_on_refusal:
            server.transport.close()
            return AuthResult(success=False, handled=True)  # nothing more is said: the connection is gone
        # handled=False: the server answers 535 as a real one does (handled=True says nothing, and the client
        # waits out its whole time-out for a reply)
        return AuthResult(success=False, handled=False)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        tls_context=server_context,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    made = Smtp(port, messages, logins, ssl.create_default_context(cafile=str(cert)))
    controller.start()
    try:
        yield made
    finally:
        controller.stop()


def mail_world(tmp_path: Path, smtp: Smtp, **env: str) -> Runtime:
    settings = Settings.from_env(
        {
            "ENGAGEMENT_DB": str(tmp_path / "m.sqlite"),
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp.port),
            "SMTP_USER": "digest",
            "SMTP_PASSWORD": "s3cret",
            "SMTP_FROM": "digest@ourco.com",
            **env,
        }
    )
    runtime = create_runtime(settings, enqueue=False)
    seed(runtime)
    return runtime


def test_the_email_is_multipart_text_and_html_sent_over_starttls_with_login(tmp_path: Path, smtp: Smtp) -> None:
    """Through a real SMTP server that requires STARTTLS before AUTH: one login, one multipart/alternative message
    with the text part first and the HTML part after, the quote in both; a second send of the period sends nothing."""
    runtime = mail_world(tmp_path, smtp)
    try:
        service = DigestService(runtime, now=lambda: NOW, tls_context=smtp.client_context)
        digest = service.build(*service.last_days(1))
        (sent,) = service.send(digest, emails=["sales@ourco.com", "cs@ourco.com"])
        (again,) = service.send(service.build(*service.last_days(1)), emails=["cs@ourco.com", "sales@ourco.com"])
    finally:
        runtime.close()
    assert (sent.status, again.status) == ("sent", "skipped"), sent.detail
    assert smtp.logins == [(b"digest", b"s3cret")]
    (msg,) = smtp.messages
    assert msg.get_content_type() == "multipart/alternative" and msg["To"] == "sales@ourco.com, cs@ourco.com"
    text, html = msg.get_payload()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert QUOTE in text.get_payload(decode=True).decode() and QUOTE in html.get_payload(decode=True).decode()


@pytest.mark.parametrize("hang_up", [False, True], ids=["535", "hangs-up"])
def test_a_wrong_smtp_password_is_a_failure_that_says_what_to_check(tmp_path: Path, smtp: Smtp, hang_up: bool) -> None:
    """The server refuses the login (with a 535, or by hanging up): the send fails at once naming SMTP_USER and
    SMTP_PASSWORD; nothing is sent."""
    smtp.hang_up_on_refusal = hang_up
    runtime = mail_world(tmp_path, smtp, SMTP_PASSWORD="wrong")
    try:
        service = DigestService(runtime, now=lambda: NOW, tls_context=smtp.client_context)
        (outcome,) = service.send(service.build(*service.last_days(1)), emails=["sales@ourco.com"])
    finally:
        runtime.close()
    assert outcome.status == "failed" and "SMTP_PASSWORD" in outcome.detail and smtp.messages == []


# ---------------------------------------------------------------- the schedule


@pytest.mark.parametrize(
    ("kind", "at", "zone", "now", "start", "end"),
    [
        ("daily", "08:00", "UTC", "2026-12-07T09:30", "2026-12-06T08:00", "2026-12-07T08:00"),
        ("daily", "08:00", "UTC", "2026-12-07T07:59", "2026-12-05T08:00", "2026-12-06T08:00"),
        ("weekly", "08:00", "UTC", "2026-12-09T12:00", "2026-11-30T08:00", "2026-12-07T08:00"),
        ("weekly", "08:00", "UTC", "2026-12-07T07:00", "2026-11-23T08:00", "2026-11-30T08:00"),
        # London leaves summer time on 25 October 2026: 08:00 local is 07:00 UTC before and 08:00 UTC after
        ("daily", "08:00", "Europe/London", "2026-10-25T12:00", "2026-10-24T07:00", "2026-10-25T08:00"),
    ],
)
def test_the_schedules_latest_period(kind: str, at: str, zone: str, now: str, start: str, end: str) -> None:
    """Daily and weekly (Mondays) periods end at the time of day in the time zone, across daylight saving."""
    schedule = parse_schedule(kind, at, zone)
    assert schedule is not None
    got = schedule.latest_period(datetime.fromisoformat(now).replace(tzinfo=UTC))
    assert got == (datetime.fromisoformat(start).replace(tzinfo=UTC), datetime.fromisoformat(end).replace(tzinfo=UTC))


@pytest.mark.parametrize(
    ("kind", "at", "zone", "named"),
    [
        ("hourly", "08:00", "UTC", "DIGEST_SCHEDULE"),
        ("daily", "8am", "UTC", "DIGEST_TIME"),
        ("daily", "08:00", "Mars/Olympus", "DIGEST_TIMEZONE"),
    ],
)
def test_a_schedule_that_cannot_be_used_names_its_setting(kind: str, at: str, zone: str, named: str) -> None:
    """An unknown kind, time or zone is a SettingsError naming the setting."""
    with pytest.raises(SettingsError, match=named):
        parse_schedule(kind, at, zone)


def test_the_scheduled_digest_is_sent_once_per_period_and_an_empty_one_not_at_all(tmp_path: Path) -> None:
    """At 09:30 the daily digest for the period ending 08:00 goes to Slack; later looks send nothing; the next day's
    period, with nothing new, is not sent."""
    with SlackServer() as slack:
        settings = Settings.from_env(
            {"ENGAGEMENT_DB": str(tmp_path / "s.sqlite"), "DIGEST_SCHEDULE": "daily", "DIGEST_SLACK_URL": slack.url}
        )
        runtime = create_runtime(settings, enqueue=False)
        try:
            seed(runtime)
            clock = {"now": NOW}
            service = DigestService(runtime, now=lambda: clock["now"])
            assert [o.status for o in service.run_scheduled()] == ["sent"]
            clock["now"] = NOW + timedelta(hours=3)
            assert service.run_scheduled() == []
            clock["now"] = NOW + timedelta(days=1)
            assert [o.status for o in service.run_scheduled()] == ["skipped"]
        finally:
            runtime.close()
    assert slack.requests == 1


def test_the_digest_command_prints_json_and_posts_to_slack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`digest --days 30 --slack-url URL --json` prints the digest (lines with quotes and links) and posts it."""
    import json

    from engagement.__main__ import main

    with SlackServer() as slack, pytest.MonkeyPatch.context() as mp:
        mp.setenv("ENGAGEMENT_DB", str(tmp_path / "c.sqlite"))
        runtime = create_runtime(Settings.from_env(), enqueue=False)
        seed(runtime, now=datetime.now(UTC) - timedelta(days=2))  # the command reads the real clock
        runtime.close()
        assert main(["digest", "--days", "30", "--slack-url", slack.url, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    (account,) = out["accounts"]
    assert account["domain"] == DOMAIN and any(line["quote"] == QUOTE for line in account["lines"])
    assert out["sent"] == [{"channel": "slack", "status": "sent", "detail": ""}] and slack.requests == 1
