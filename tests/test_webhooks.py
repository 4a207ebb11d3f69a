"""Fathom webhooks: signatures checked as documented, deliveries applied once, in the background, to both storages.

The receiver runs on a loopback port; the fake Fathom creates webhooks as the spec writes them and sends each
delivery signed with the webhook's secret (``FathomServer.deliver``), as Fathom does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from engagement.__main__ import main
from engagement.accounts import list_accounts
from engagement.errors import SettingsError
from engagement.runtime import Runtime, create_runtime, workspace_of
from engagement.webhooks.receiver import PATH, WebhookReceiver, start_server
from engagement.webhooks.service import build_receiver, webhook_store
from engagement.webhooks.signature import SignatureError, Verifier
from tests.fakes.fathom_server import FathomServer, make_account, make_meeting, signed_headers
from tests.support.fathom_fixtures import settings_for

SECRET = "whsec_" + base64.b64encode(b"a secret of twenty-four!").decode()
OTHER = "whsec_" + base64.b64encode(b"another secret, not ours").decode()
BODY = json.dumps(make_meeting(77, datetime(2026, 3, 2, 15, tzinfo=UTC))).encode()


def documented_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The scheme as Fathom's docs write it, by hand: base64(HMAC-SHA256(base64-decoded key, "id.ts.body"))."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def headers_at(when: datetime, *, secret: str = SECRET, body: bytes = BODY, msg_id: str = "msg_1") -> dict[str, str]:
    ts = int(when.timestamp())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": documented_signature(secret, msg_id, ts, body),
    }


# ---------------------------------------------------------------- signature vectors


def test_a_delivery_signed_as_documented_is_authentic() -> None:
    """A signature computed by hand from the documented scheme verifies, and the webhook-id comes back."""
    assert Verifier([SECRET]).verify(BODY, headers_at(datetime.now(UTC))) == "msg_1"


def test_a_delivery_signed_with_another_secret_is_refused() -> None:
    """The same delivery signed with a secret that is not ours is refused."""
    with pytest.raises(SignatureError, match="no matching signature"):
        Verifier([SECRET]).verify(BODY, headers_at(datetime.now(UTC), secret=OTHER))


def test_one_valid_signature_among_several_is_enough() -> None:
    """`v1,<wrong> v2,<other> v1,<right>`: any one matching v1 signature makes it authentic."""
    headers = headers_at(datetime.now(UTC))
    wrong = headers_at(datetime.now(UTC), secret=OTHER)["webhook-signature"]
    headers["webhook-signature"] = f"{wrong} v2,QVBJ {headers['webhook-signature']}"
    assert Verifier([SECRET]).verify(BODY, headers) == "msg_1"


def test_any_of_several_secrets_verifies() -> None:
    """The receiver checks against every configured secret (the setting's and the registered webhooks')."""
    assert Verifier([OTHER, SECRET]).verify(BODY, headers_at(datetime.now(UTC))) == "msg_1"


@pytest.mark.parametrize("minutes", [-6, 6])
def test_a_timestamp_more_than_five_minutes_off_is_refused(minutes: int) -> None:
    """Correctly signed, but six minutes old (a replay) or six minutes ahead: refused."""
    with pytest.raises(SignatureError, match="timestamp"):
        Verifier([SECRET]).verify(BODY, headers_at(datetime.now(UTC) + timedelta(minutes=minutes)))


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_refused_naming_it(header: str) -> None:
    """Without any one of the three headers the delivery is refused, and the message names the header."""
    headers = headers_at(datetime.now(UTC))
    del headers[header]
    with pytest.raises(SignatureError, match=header):
        Verifier([SECRET]).verify(BODY, headers)


def test_a_tampered_body_is_refused() -> None:
    """One byte of the body changed after signing: refused."""
    with pytest.raises(SignatureError):
        Verifier([SECRET]).verify(BODY.replace(b"77", b"78", 1), headers_at(datetime.now(UTC)))


def test_a_secret_that_is_not_whsec_base64_is_refused_at_start() -> None:
    """A mangled secret is a SettingsError when the verifier is built, not a failure at the first delivery."""
    with pytest.raises(SettingsError, match="whsec_"):
        Verifier(["whsec_not base64!"])


# ---------------------------------------------------------------- the receiver, end to end


@dataclass
class Live:
    """A fake Fathom, a runtime on it, and the receiver on a loopback port with one webhook created."""

    server: FathomServer
    runtime: Runtime
    receiver: WebhookReceiver
    url: str
    hook_id: str

    def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(self.url, content=body, headers=headers, timeout=10)

    def settle(self) -> None:
        assert self.receiver.processor.wait_idle(30), "the deliveries were not applied in time"

    def indexed(self, domain: str) -> list[int]:
        return [m.recording_id for m in self.runtime.index.meetings_for(workspace_of(self.runtime.settings), domain)]


@pytest.fixture
def live(tmp_path: Path, index_backend: dict[str, str], capsys: pytest.CaptureFixture[str]) -> Iterator[Live]:
    with FathomServer(make_account(count=2), rate_limit=None) as server:
        settings = settings_for(server, tmp_path, **index_backend)
        runtime = create_runtime(settings, enqueue=False)
        # The webhook is created through Fathom's API; the receiver learns its secret from the store.
        with pytest.MonkeyPatch.context() as mp:
            for name, value in {"FATHOM_API_KEY": settings.fathom_api_key, "FATHOM_BASE_URL": server.base_url}.items():
                mp.setenv(name, value)
            for name, value in index_backend.items():
                mp.setenv(name, value)
            assert main(["webhooks", "register", "http://127.0.0.1:9/webhooks/fathom"]) == 0
        capsys.readouterr()
        receiver = build_receiver(runtime)
        httpd, _ = start_server(receiver, "127.0.0.1", 0, max_body=200_000)
        url = f"http://127.0.0.1:{httpd.server_address[1]}{PATH}"
        (hook_id,) = server.webhooks.created
        server.webhooks.created[hook_id]["url"] = url  # Fathom sends to the receiver's address
        try:
            yield Live(server, runtime, receiver, url, hook_id)
        finally:
            httpd.shutdown()
            httpd.server_close()
            receiver.processor.close()
            runtime.close()


def newco_meeting(recording_id: int = 4242, *, transcript: bool = True) -> dict[str, Any]:
    return make_meeting(
        recording_id,
        datetime.now(UTC) - timedelta(hours=2),
        guests=[("Priya Raman", "priya.raman@freshfield-robotics.com")],
        meeting_title="Freshfield Robotics intro call",
        transcript=transcript,
    )


def test_a_pushed_meeting_for_a_brand_new_domain_shows_on_the_accounts_page(live: Live) -> None:
    """Fathom pushes a meeting with a company the index has never seen: 202 at once, then the meeting is in the
    index (SQLite or Redis), its transcript in search, the account marked changed and listed as an account."""
    response = live.server.deliver(live.hook_id, newco_meeting())
    assert response.status_code == 202, response.text
    live.settle()
    assert live.indexed("freshfield-robotics.com") == [4242]
    assert live.runtime.search is not None and live.runtime.search.meeting(4242) is not None
    assert [c.domain for c in webhook_store(live.runtime).changes()] == ["freshfield-robotics.com"]
    assert "freshfield-robotics.com" in [row.domain for row in list_accounts(live.runtime)]
    delivery = webhook_store(live.runtime).delivery(response.request.headers["webhook-id"])
    assert delivery is not None and delivery.status == "done" and delivery.recording_id == 4242


def test_a_re_delivery_with_the_same_id_is_done_once(live: Live) -> None:
    """Fathom re-sends a message with the same webhook-id (and a fresh signature): 200, nothing applied again."""
    first = live.server.deliver(live.hook_id, newco_meeting(), msg_id="msg_2x2zwLOcWaRTzsLK8KtbQt1FTk9")
    live.settle()
    again = live.server.deliver(live.hook_id, newco_meeting(), msg_id="msg_2x2zwLOcWaRTzsLK8KtbQt1FTk9")
    live.settle()
    assert (first.status_code, again.status_code) == (202, 200)
    assert live.receiver.processor.applied == 1
    assert len(webhook_store(live.runtime).changes()) == 1


def test_a_payload_without_a_transcript_is_indexed_and_searched_for_nothing(live: Live) -> None:
    """A meeting whose transcript is null goes into the index; search holds nothing for it, and no "no transcript"
    is remembered (a webhook may simply not include it)."""
    assert live.server.deliver(live.hook_id, newco_meeting(transcript=False)).status_code == 202
    live.settle()
    workspace = workspace_of(live.runtime.settings)
    assert live.indexed("freshfield-robotics.com") == [4242]
    assert live.runtime.search is not None and live.runtime.search.meeting(4242) is None
    assert live.runtime.index.without_transcript(workspace, [4242]) == {}


def test_a_pushed_meeting_does_not_move_the_sync_cursor(live: Live) -> None:
    """The index's sync state is untouched: the next incremental sync lists from where the last sync ended."""
    live.runtime.reindex(full=True)
    workspace = workspace_of(live.runtime.settings)
    before = live.runtime.index.storage.state(workspace)
    assert live.server.deliver(live.hook_id, newco_meeting()).status_code == 202
    live.settle()
    assert live.runtime.index.storage.state(workspace) == before


def nothing_changed(live: Live) -> None:
    assert live.indexed("freshfield-robotics.com") == []
    assert webhook_store(live.runtime).changes() == []
    assert live.runtime.search is None or live.runtime.search.meeting(4242) is None


def test_a_forged_delivery_is_refused_and_changes_nothing(live: Live) -> None:
    """Signed with a secret that is not the webhook's: 401, nothing stored, no delivery recorded."""
    body = json.dumps(newco_meeting()).encode()
    headers = signed_headers(OTHER, body, msg_id="msg_forged")
    assert live.post(body, headers).status_code == 401
    live.settle()
    nothing_changed(live)
    assert webhook_store(live.runtime).delivery("msg_forged") is None


def test_a_replayed_delivery_past_five_minutes_is_refused(live: Live) -> None:
    """A genuine delivery re-sent by someone ten minutes later (its original timestamp): 401, nothing changes."""
    body = json.dumps(newco_meeting()).encode()
    secret = live.server.webhooks.created[live.hook_id]["secret"]
    headers = signed_headers(secret, body, at=datetime.now(UTC) - timedelta(minutes=10))
    assert live.post(body, headers).status_code == 401
    nothing_changed(live)


def test_an_oversized_body_is_refused_before_it_is_read(live: Live) -> None:
    """A body past the limit gets 413 from its Content-Length alone; nothing changes."""
    meeting = newco_meeting()
    meeting["title"] = "x" * 300_000
    body = json.dumps(meeting).encode()
    secret = live.server.webhooks.created[live.hook_id]["secret"]
    assert live.post(body, signed_headers(secret, body)).status_code == 413
    nothing_changed(live)


@pytest.mark.parametrize(
    "body", [b'{"recording_id": 4242, "title": ', b'{"recording_id": 4242}', b"[" * 50_000 + b"]" * 50_000]
)
def test_an_authentic_but_malformed_body_is_a_400_that_changes_nothing(live: Live, body: bytes) -> None:
    """Correctly signed, but not JSON, not a Meeting, or absurdly nested: 400, nothing stored."""
    secret = live.server.webhooks.created[live.hook_id]["secret"]
    response = live.post(body, signed_headers(secret, body, msg_id="msg_bad"))
    assert response.status_code == 400
    nothing_changed(live)
    assert webhook_store(live.runtime).delivery("msg_bad") is None


def test_other_paths_and_methods_are_refused(live: Live) -> None:
    """GET on the path is 405; a POST elsewhere is 404."""
    assert httpx.get(live.url, timeout=5).status_code == 405
    assert httpx.post(live.url.replace(PATH, "/webhooks/other"), content=b"{}", timeout=5).status_code == 404


# ---------------------------------------------------------------- register, list, delete


def test_register_list_and_delete_go_through_fathoms_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`webhooks register` POSTs the documented body and keeps the secret; `list` never prints the secret;
    `delete` sends DELETE /webhooks/{id} and forgets it; deleting it again says Fathom has none; each is audited."""
    with FathomServer(rate_limit=None) as server:
        monkeypatch.setenv("FATHOM_API_KEY", settings_for(server, tmp_path).fathom_api_key)
        monkeypatch.setenv("FATHOM_BASE_URL", server.base_url)
        assert main(["webhooks", "register", "https://example.com/webhooks/fathom", "--trigger", "my_recordings"]) == 0
        (hook_id,) = server.webhooks.created
        hook = server.webhooks.created[hook_id]
        assert hook["triggered_for"] == ["my_recordings"] and hook["include_transcript"] is True
        capsys.readouterr()
        assert main(["webhooks", "list", "--json"]) == 0
        out = capsys.readouterr().out
        assert hook_id in out and hook["secret"] not in out and "whsec_" not in out
        assert main(["webhooks", "delete", hook_id]) == 0
        assert server.webhooks.created == {}
        assert main(["webhooks", "delete", hook_id]) == 0
        assert "has no webhook" in capsys.readouterr().out
        methods = [(m, p.removeprefix("/external/v1")) for m, p, _ in server.request_log]
    assert methods == [("POST", "/webhooks"), ("DELETE", f"/webhooks/{hook_id}"), ("DELETE", f"/webhooks/{hook_id}")]
    from engagement.settings import Settings

    runtime = create_runtime(Settings.from_env(), enqueue=False)
    try:
        actions = [(e.action, e.target) for e in runtime.audit.entries()]
    finally:
        runtime.close()
    assert ("webhook_created", hook_id) in actions and actions.count(("webhook_deleted", hook_id)) == 2


def test_register_refuses_an_address_fathom_cannot_send_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`webhooks register not-a-url` is refused with what to give instead; nothing is sent to Fathom."""
    with FathomServer(rate_limit=None) as server:
        monkeypatch.setenv("FATHOM_API_KEY", settings_for(server, tmp_path).fathom_api_key)
        monkeypatch.setenv("FATHOM_BASE_URL", server.base_url)
        assert main(["webhooks", "register", "example.com/hook"]) == 2
        assert "public URL" in capsys.readouterr().err and server.request_log == []


def test_serve_without_any_secret_says_what_to_set(capsys: pytest.CaptureFixture[str]) -> None:
    """`webhooks serve` with no FATHOM_WEBHOOK_SECRET and no webhook registered stops at once, naming the setting."""
    assert main(["webhooks", "serve", "--port", "0"]) == 2
    assert "FATHOM_WEBHOOK_SECRET" in capsys.readouterr().err


def test_webhooks_serve_runs_as_a_process_applies_a_delivery_and_stops_on_sigterm(tmp_path: Path) -> None:
    """`python -m engagement webhooks serve --port 0` prints its address, answers a signed delivery with 202, applies
    it to the file's index, and ends with 0 on SIGTERM."""
    import os
    import signal
    import subprocess
    import sys

    from engagement.settings import Settings
    from tests.support.cli import ROOT

    env = {
        "PATH": os.environ.get("PATH", ""),
        "ENGAGEMENT_DB": str(tmp_path / "engagement.sqlite"),
        "FATHOM_WEBHOOK_SECRET": SECRET,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "engagement", "webhooks", "serve", "--port", "0"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()  # blocks until the receiver listens (or the process dies)
        assert "receiving Fathom webhooks on http://127.0.0.1:" in line, line
        url = line.split(" on ", 1)[1].split()[0]
        body = json.dumps(newco_meeting()).encode()
        response = httpx.post(url, content=body, headers=signed_headers(SECRET, body), timeout=10)
        assert response.status_code == 202, response.text
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    settings = Settings.from_env(env)
    runtime = create_runtime(settings, enqueue=False)
    try:
        found = runtime.index.meetings_for(workspace_of(settings), "freshfield-robotics.com")
    finally:
        runtime.close()
    assert [m.recording_id for m in found] == [4242]


class HeldIndex:
    """A meeting index whose ``add`` waits for a gate, or fails with ``error``."""

    def __init__(self, error: Exception | None = None) -> None:
        import threading

        self.gate = threading.Event()
        self.error = error
        self.added: list[int] = []

    def add(self, workspace: str, meetings: list[Any]) -> None:
        if self.error is not None:
            raise self.error
        assert self.gate.wait(30)
        self.added += [m.recording_id for m in meetings]


def receiver_on(kv: Any, index: HeldIndex, max_pending: int = 1) -> WebhookReceiver:
    from engagement.webhooks.processing import DeliveryProcessor
    from engagement.webhooks.store import WebhookStore

    store = WebhookStore(kv)
    processor = DeliveryProcessor(index=index, workspace="ws", search=None, store=store, max_pending=max_pending)  # type: ignore[arg-type]
    return WebhookReceiver(Verifier([SECRET]), store, processor)


def test_a_full_queue_answers_503_and_forgets_the_claim_so_fathoms_retry_is_applied(store: Any) -> None:
    """With every slot taken the receiver answers 503 and stores nothing for that delivery; Fathom's retry of the same
    webhook-id, once there is room, is accepted and applied."""
    index = HeldIndex()
    receiver = receiver_on(store, index)
    first = json.dumps(newco_meeting(1)).encode()
    second = json.dumps(newco_meeting(2)).encode()
    assert receiver.receive(signed_headers(SECRET, first, msg_id="msg_a"), first)[0] == 202
    assert receiver.receive(signed_headers(SECRET, second, msg_id="msg_b"), second)[0] == 503
    assert receiver.store.delivery("msg_b") is None
    index.gate.set()
    assert receiver.processor.wait_idle(30)
    assert receiver.receive(signed_headers(SECRET, second, msg_id="msg_b"), second)[0] == 202
    assert receiver.processor.wait_idle(30)
    receiver.processor.close()
    assert index.added == [1, 2]


def test_a_delivery_that_cannot_be_applied_is_kept_with_its_error(store: Any) -> None:
    """The store fails while the meeting is applied: the delivery is recorded as error with the store's message."""
    from engagement.errors import StoreError

    receiver = receiver_on(store, HeldIndex(StoreError("The meeting index could not be written (disk full).")))
    body = json.dumps(newco_meeting()).encode()
    assert receiver.receive(signed_headers(SECRET, body, msg_id="msg_x"), body)[0] == 202
    assert receiver.processor.wait_idle(30)
    receiver.processor.close()
    (failed,) = receiver.store.failed()
    assert failed.webhook_id == "msg_x" and failed.status == "error" and "disk full" in (failed.error or "")


def test_a_summary_after_a_delivery_reads_the_transcript_it_brought_not_fathom(live: Live) -> None:
    """The pushed meeting's transcript is in search, so the account's summary analyses it without asking Fathom for
    it (the fake Fathom does not even list that meeting)."""
    from engagement.jobs.service import InlineExecutor
    from engagement.models import JobStatus

    assert live.server.deliver(live.hook_id, newco_meeting()).status_code == 202
    live.settle()
    runtime = create_runtime(live.runtime.settings, executor=InlineExecutor(), enqueue=False)
    try:
        run_id = runtime.jobs.start("freshfield-robotics.com")
        record = runtime.jobs.get("freshfield-robotics.com", run_id)
    finally:
        runtime.close()
    assert record.status is JobStatus.COMPLETE, record.error
    assert record.summary is not None and record.summary.coverage is not None
    assert record.summary.coverage.analysed == 1 and record.stats.meetings_without_transcript == 0
    asked = [path for _, path, _ in live.server.request_log if "/recordings/" in path]
    assert asked == []


def test_old_deliveries_and_changes_are_pruned_and_recent_ones_kept(store: Any) -> None:
    """Deliveries older than 30 days and account changes older than 90 days are forgotten; newer ones stay."""
    from engagement.webhooks.store import WebhookStore

    hooks = WebhookStore(store)
    now = datetime(2026, 12, 7, tzinfo=UTC)
    assert hooks.claim("msg_old", 1, now=now - timedelta(days=31))
    assert hooks.claim("msg_new", 2, now=now - timedelta(days=29))
    hooks.mark_changed({"old.com"}, 1, now=now - timedelta(days=91))
    hooks.mark_changed({"new.com"}, 2, now=now - timedelta(days=89))
    assert hooks.prune(now=now) == 2
    assert hooks.delivery("msg_old") is None and hooks.delivery("msg_new") is not None
    assert [c.domain for c in hooks.changes()] == ["new.com"]


def test_a_webhook_id_is_claimed_once_on_either_store(kv: Any) -> None:
    """Of two claims of one webhook-id, on SQLite or on Redis, only the first wins; a released one can be claimed."""
    from engagement.webhooks.store import WebhookStore

    first, second = WebhookStore(kv), WebhookStore(kv)
    assert first.claim("msg_same", 1) and not second.claim("msg_same", 1)
    first.release("msg_same")
    assert second.claim("msg_same", 1)


def test_a_delivery_for_a_customer_forgotten_on_request_stores_nothing(live: Live) -> None:
    """Fathom pushes a meeting with a forgotten company: accepted (Fathom must not retry), but nothing goes into the
    index, search or the account changes."""
    from engagement.privacy import TOMBSTONES_TABLE, Tombstones

    Tombstones(live.runtime.store.table(TOMBSTONES_TABLE)).add("domain", "freshfield-robotics.com")
    assert live.server.deliver(live.hook_id, newco_meeting()).status_code == 202
    live.settle()
    nothing_changed(live)
