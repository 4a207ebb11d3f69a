"""A fake OpenAI-compatible server: a real HTTP server on 127.0.0.1 that answers ``POST /v1/chat/completions``.

By default a deterministic "model" answers structured-output requests the way a careful model would:
for the map schema (``MeetingAnalysis``) it reads the transcript lines of the user message and returns
schema-valid JSON whose quotes are verbatim sentences of customer lines; for the reduce schema
(``AccountAnalysis``) it reads the meetings' insights and cites the evidence ids it was given; for a
question (``AccountAnswer``) it cites the numbered excerpts that share a word with the question; for a
meeting's qualification (``QualificationAnswer``) it cites lines holding each element's words, some by the
wrong line id (see :func:`answer_qualification`). Every
default answer is checked against the request's JSON schema; violations land in ``errors``.

Knobs (each ``*_next`` applies to the next request only, in the order they were set)::

    latency_s                       sleep before every answer
    gate                            when set to an ``Event``, every answer waits until it is set (at most a minute)
    api_key                         when set, any other bearer token gets 401 (the body echoes the token)
    fail_next(status, times, body, headers)   answer with an error status (429 and 5xx carry retry-after-ms: 10)
    refuse_next(text)               message.refusal set, content null
    truncate_next()                 half the JSON, finish_reason "length"
    invalid_json_next()             content that is not JSON
    hang_next(seconds)              wait before answering (for client time-outs)
    invent_quote_next(quote)        add a goal quoting words nobody said (reduce: cite an unknown id;
                                    a question: a point citing T1 with the invented quote)
    respond_with(fn)                fn(request body) -> dict (sent as JSON content) or str; None restores the default
    context_tokens                  when set, the prompt is cut to this many tokens (usage shows it), like a
                                    compatible server with a small context window

For a reasoning model's name (gpt-5*, gpt-6*, o1/o3/o4...) it refuses what OpenAI refuses: ``temperature``
other than 1 and ``max_tokens`` (use ``max_completion_tokens``), with a 400 and OpenAI's error body
(``message``, ``type``, ``param``, ``code``).
    requests / headers              every request body (parsed JSON) and its headers, in order
    responses                       every 200 answer sent (chat.completion objects, with usage)
    max_in_flight                   the most requests handled at the same time
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.loopback import serve

__all__ = ["FakeOpenAI", "INVENTED_QUOTE"]

INVENTED_QUOTE = "We have already signed a three-year contract with your biggest competitor."

_LINE = re.compile(r"^\[(?P<ts>\d{1,2}:\d{2}:\d{2})\] (?P<speaker>.+?) \((?P<who>[^()]*)\): (?P<text>.*)$")
_SPLIT = re.compile(r"(?<=[.!?])\s+")
_MEETING = re.compile(r"^## Meeting (?P<id>\d+) \|")
_SECTION = re.compile(r"^(?P<name>Themes|Goals|Challenges|Risks|Next steps|Roles|Open action items):")
_BULLET = re.compile(r"^- (?P<text>.*?)(?: \[(?P<ids>E\d+(?:, E\d+)*)\])?$")
_ROLE_SAID = re.compile(r"\bI(?:'m| am) the (?P<role>[A-Z][\w ]{1,40}?)(?:[,.;]| at | and |$)")

_GOAL = ("goal", "want to", "need to", "aiming", "like to", "looking to")
_CHALLENGE = ("problem", "struggle", "painful", "manual", "challenge", "takes us")
_RISK = ("worried", "concern", "risk", "budget freeze", "competitor", "delay")
_THEMES = {
    "Pricing": ("price", "pricing", "cost"),
    "Security review": ("security",),
    "SSO": ("sso", "single sign-on"),
    "Integration": ("integrat", "salesforce", "api"),
    "Reporting": ("report", "dashboard"),
    "Budget": ("budget",),
    "Timeline": ("deadline", "timeline", "quarter"),
}


def _has(text: str, words: tuple[str, ...]) -> bool:
    low = text.lower()
    return any(w in low for w in words)


def _kind(sentence: str) -> str | None:
    for kind, words in (("risks", _RISK), ("challenges", _CHALLENGE), ("goals", _GOAL)):
        if _has(sentence, words):
            return kind
    return None


def answer_map(user: str) -> dict[str, Any]:
    """The default map answer: customer sentences that state goals, challenges, risks; themes; roles."""
    out: dict[str, list[Any]] = {k: [] for k in ("themes", "goals", "challenges", "risks", "roles", "next_steps")}
    seen_topics: set[str] = set()
    for line in user.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        who = [w.strip() for w in m["who"].split(",")]
        customer = "customer" in who
        email = next((w for w in who if "@" in w), None)
        for sentence in (s.strip() for s in _SPLIT.split(m["text"])):
            if not sentence:
                continue
            quote = {"timestamp": m["ts"], "speaker": m["speaker"], "quote": sentence}
            if re.search(r"\bnext step|\bI'll send\b", sentence, re.IGNORECASE):
                out["next_steps"].append({"text": sentence, "evidence": [quote]})
            if not customer:
                continue
            for topic, words in _THEMES.items():
                if topic not in seen_topics and _has(sentence, words):
                    seen_topics.add(topic)
                    out["themes"].append({"text": topic, "evidence": [quote]})
            said = _ROLE_SAID.search(sentence)
            if said:
                out["roles"].append(
                    {"name": m["speaker"], "email": email, "role": said["role"].strip(), "evidence": [quote]}
                )
            if sentence.endswith("?"):
                continue
            kind = _kind(sentence)
            if kind:
                out[kind].append({"text": sentence, "evidence": [quote]})
    return out


_QUALIFY_LINE = re.compile(r"^T(?P<n>\d+) \[(?P<ts>[\d:]+)\] (?P<speaker>.+?) \((?P<side>\w+)\): (?P<text>.*)$")
_ELEMENT_LINE = re.compile(r"^- (?P<key>[a-z_]+) \(")
# A fake "model"'s reading of each MEDDPICC element: its own words, not the rubric's, so the model path is
# measured apart from the offline one.
_QUALIFY_WORDS = {
    "metrics": ("percent", "hours", "half a day", "million", "days every"),
    "economic_buyer": ("signs off", "signed by", "sign-off", "my desk", "approve it", "the one to convince"),
    "decision_criteria": ("has to", "must", "requirement", "criterion", "non-negotiable", "not negotiable"),
    "decision_process": ("board", "committee", "approval", "take it to", "signature before"),
    "paper_process": ("legal", "procurement", "order form", "msa", "dpa", "redline", "call-off", "countersign"),
    "identify_pain": ("problem", "painful", "by hand", "struggle", "spreadsheet", "exhausted"),
    "champion": ("pushing", "champion", "own it", "sponsor", "selling you"),
    "competition": ("evaluating", "came in", "quoted us", "demo from", "ourselves", "competitor", "cheaper"),
}


def answer_qualification(system: str, user: str) -> dict[str, Any]:
    """The default qualification answer: sentences holding an element's words, from any side (the app sorts the
    sides); every third cites the line before the right one, so the app must re-attribute it; promises are our side's
    "I'll ..." sentences and deliveries any "thanks for ..." sentence."""
    keys = [m["key"] for line in system.splitlines() if (m := _ELEMENT_LINE.match(line))]
    out: dict[str, list[Any]] = {"evidence": [], "promises": [], "deliveries": []}
    for line in user.splitlines():
        m = _QUALIFY_LINE.match(line)
        if not m:
            continue
        for sentence in (s.strip() for s in _SPLIT.split(m["text"])):
            if len(sentence.split()) < 3:
                continue
            lowered = sentence.lower()
            for key in keys:
                if any(word in lowered for word in _QUALIFY_WORDS.get(key, ())):
                    cited = int(m["n"]) - 1 if len(out["evidence"]) % 3 == 2 and int(m["n"]) > 1 else int(m["n"])
                    out["evidence"].append({"element": key, "turn": f"T{cited}", "quote": sentence})
            if m["side"] == "internal" and re.search(r"\bI'll (?:send|share|put together|set up|draft)\b", sentence):
                out["promises"].append({"turn": f"T{m['n']}", "quote": sentence})
            if re.search(r"\bthanks? (?:you )?for (?:sending|the|turning)\b", sentence, re.IGNORECASE):
                out["deliveries"].append({"turn": f"T{m['n']}", "quote": sentence})
    return out


def answer_reduce(user: str) -> dict[str, Any]:
    """The default reduce answer: the meetings' points merged by text, citing the ids it was given."""
    meeting: int | None = None
    section = ""
    themes: dict[str, dict[str, Any]] = {}
    lists: dict[str, dict[str, dict[str, Any]]] = {"goals": {}, "challenges": {}, "risks": {}}
    for line in user.splitlines():
        if line.startswith("Evidence:"):
            break
        if m := _MEETING.match(line):
            meeting, section = int(m["id"]), ""
            continue
        if m := _SECTION.match(line):
            section = m["name"]
            continue
        if meeting is None or not line.startswith("- "):
            continue
        if section == "Roles":
            continue
        b = _BULLET.match(line)
        if not b:
            continue
        ids = b["ids"].split(", ") if b["ids"] else []
        if section == "Themes":
            t = themes.setdefault(b["text"].lower(), {"topic": b["text"], "meeting_ids": [], "evidence_ids": []})
            t["meeting_ids"].append(meeting)
            t["evidence_ids"] += [i for i in ids if i not in t["evidence_ids"]]
        elif section.lower() in lists:
            item = lists[section.lower()].setdefault(b["text"].lower(), {"text": b["text"], "evidence_ids": []})
            item["evidence_ids"] += [i for i in ids if i not in item["evidence_ids"]]
    recommendations = []
    for kind, verb in (("risks", "Get ahead of"), ("challenges", "Solve"), ("goals", "Deliver on")):
        for item in lists[kind].values():
            recommendations.append({"text": f"{verb}: {item['text']}", "evidence_ids": item["evidence_ids"][:2]})
    for t in themes.values():
        recommendations.append({"text": f"Prepare material on {t['topic']}.", "evidence_ids": t["evidence_ids"][:1]})
    return {
        "themes": list(themes.values()),
        "goals": list(lists["goals"].values()),
        "challenges": list(lists["challenges"].values()),
        "risks": list(lists["risks"].values()),
        "recommendations": recommendations[:7],
    }


_EXCERPT = re.compile(r"^\[(?P<id>T\d+)\] .*? \((?:customer|internal|external|unknown)\): (?P<text>.*)$")
_QUESTION = re.compile(r"^Question: (?P<q>.*)$", re.MULTILINE)
_ASK_STOP = frozenset(
    "what did they say about the a an of to on in is are was were we our their how why when who".split()
)


def answer_ask(user: str) -> dict[str, Any]:
    """The default answer to a question: one point per excerpt that shares a word with it, quoting its first sentence."""
    found = _QUESTION.search(user)
    said = re.findall(r"[a-z0-9]+", (found["q"] if found else "").lower())
    words = {w for w in said if w not in _ASK_STOP}
    words |= {"".join(w[0] for w in said[i : i + 3]) for i in range(len(said) - 2)}  # "single sign on" is "sso"
    points = []
    for line in user.splitlines():
        m = _EXCERPT.match(line)
        if not m or not words & set(re.findall(r"[a-z0-9]+", m["text"].lower())):
            continue
        sentence = next((s for s in _SPLIT.split(m["text"]) if words & set(re.findall(r"[a-z0-9]+", s.lower()))), "")
        points.append(
            {"text": f"They said: {sentence}", "citations": [{"turn_id": m["id"], "quote": sentence or m["text"]}]}
        )
    return {"points": points[:5]}


REASONING_MODEL = re.compile(r"^(gpt-5|gpt-6|o\d)")


def refusal_of_parameters(body: dict[str, Any]) -> dict[str, Any] | None:
    """OpenAI's 400 body for a sampling parameter a reasoning model does not take; ``None`` when all is well."""
    model = str(body.get("model", ""))
    if not REASONING_MODEL.match(model):
        return None
    if "temperature" in body and body["temperature"] != 1:
        return _error(
            f"Unsupported value: 'temperature' does not support {body['temperature']} with this model. Only the "
            "default (1) value is supported.",
            "invalid_request_error",
            "unsupported_value",
            param="temperature",
        )
    if "max_tokens" in body:
        return _error(
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' "
            "instead.",
            "invalid_request_error",
            "unsupported_parameter",
            param="max_tokens",
        )
    return None


def _schema_errors(content: Any, body: dict[str, Any]) -> list[str]:
    schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema")
    if not schema:
        return []
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(content)]


class FakeOpenAI:
    """The fake server; ``with FakeOpenAI() as server:`` starts it on a free port and stops it."""

    def __init__(
        self, *, api_key: str | None = None, latency_s: float = 0.0, context_tokens: int | None = None
    ) -> None:
        self.api_key = api_key
        self.latency_s = latency_s
        self.gate: threading.Event | None = None
        self.context_tokens = context_tokens
        self.refused: list[dict[str, Any]] = []  # 400 bodies sent for parameters the model does not take
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.errors: list[str] = []
        self.responses: list[dict[str, Any]] = []  # every 200 answer, as sent
        self.in_flight = 0
        self.max_in_flight = 0
        self._script: deque[tuple[Any, ...]] = deque()
        self._respond: Callable[[dict[str, Any]], Any] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ids = 0

    # -- life cycle

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server, self._thread = serve(Handler, "fake-openai")
        return self

    def close(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the server first"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- knobs

    def fail_next(self, status: int, times: int = 1, body: Any = None, headers: dict[str, str] | None = None) -> None:
        if headers is None:
            headers = {"retry-after-ms": "10"} if status == 429 or status >= 500 else {}
        with self._lock:
            for _ in range(times):
                self._script.append(("fail", status, body, headers))

    def refuse_next(self, text: str = "I'm sorry, I can't help with that request.") -> None:
        with self._lock:
            self._script.append(("refuse", text))

    def truncate_next(self) -> None:
        with self._lock:
            self._script.append(("truncate",))

    def invalid_json_next(self) -> None:
        with self._lock:
            self._script.append(("invalid",))

    def hang_next(self, seconds: float) -> None:
        with self._lock:
            self._script.append(("hang", seconds))

    def invent_quote_next(self, quote: str = INVENTED_QUOTE) -> None:
        with self._lock:
            self._script.append(("invent", quote))

    def respond_with(self, fn: Callable[[dict[str, Any]], Any] | None) -> None:
        self._respond = fn

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()
            self.headers.clear()
            self.errors.clear()
            self.responses.clear()
            self.max_in_flight = 0
        self._respond = None
        self.latency_s = 0.0

    # -- answering

    def _next_action(self) -> tuple[Any, ...]:
        with self._lock:
            return self._script.popleft() if self._script else ("default",)

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._stop.wait(seconds)

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, str], Any]:
        """Status, headers and JSON body of the answer to one request."""
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            status, extra, payload = self._answer(path, headers, raw)
        finally:
            with self._lock:
                self.in_flight -= 1
        if status == 200:
            with self._lock:
                self.responses.append(payload)
        return status, extra, payload

    def _answer(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, str], Any]:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return 400, {}, _error("The request body is not JSON.", "invalid_request_error")
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            self._ids += 1
            number = self._ids
        if path.rstrip("/") != "/v1/chat/completions":
            return 404, {}, _error(f"Unknown path {path}.", "invalid_request_error")
        token = headers.get("authorization", "").removeprefix("Bearer ")
        if self.api_key is not None and token != self.api_key:
            return 401, {}, _error(f"Incorrect API key provided: {token}.", "invalid_request_error", "invalid_api_key")
        self._wait(self.latency_s)
        gate = self.gate
        if gate is not None:
            gate.wait(60)
        refusal = refusal_of_parameters(body)
        if refusal is not None:
            with self._lock:
                self.refused.append(refusal)
            return 400, {}, refusal
        action = self._next_action()
        kind = action[0]
        if kind == "fail":
            _, status, err_body, err_headers = action
            if err_body is None:
                err_body = _error(f"Fake failure {status}.", "server_error" if status >= 500 else "rate_limit_error")
            return status, err_headers, err_body
        if kind == "hang":
            self._wait(action[1])
        if kind == "refuse":
            return 200, {}, self._completion(body, number, None, refusal=action[1])
        if kind == "invalid":
            return 200, {}, self._completion(body, number, '{"themes": [ this is not json')

        schema_name = ((body.get("response_format") or {}).get("json_schema") or {}).get("name", "")
        if self._respond is not None:
            content = self._respond(body)
        else:
            user = "\n".join(str(m.get("content", "")) for m in body.get("messages", []) if m.get("role") == "user")
            if schema_name == "AccountAnalysis":
                content = answer_reduce(user)
            elif schema_name == "MeetingAnalysis":
                content = answer_map(user)
            elif schema_name == "AccountAnswer":
                content = answer_ask(user)
            elif schema_name == "QualificationAnswer":
                system = "\n".join(
                    str(m.get("content", "")) for m in body.get("messages", []) if m.get("role") == "system"
                )
                content = answer_qualification(system, user)
            else:
                self.errors.append(f"request {number}: unknown response_format {schema_name!r}")
                content = {}
            if kind == "invent":
                if schema_name == "AccountAnalysis":
                    content["goals"].append({"text": "A goal nobody stated.", "evidence_ids": ["E999"]})
                elif schema_name == "QualificationAnswer":
                    content["evidence"].append({"element": "economic_buyer", "turn": "T1", "quote": action[1]})
                elif schema_name == "AccountAnswer":
                    content["points"].append(
                        {
                            "text": "They have signed with a competitor.",
                            "citations": [{"turn_id": "T1", "quote": action[1]}],
                        }
                    )
                else:
                    ts = next(iter(_LINE.finditer(user)), None)
                    content["goals"].append(
                        {
                            "text": "They have signed with a competitor.",
                            "evidence": [
                                {"timestamp": ts["ts"] if ts else "00:00:01", "speaker": "Someone", "quote": action[1]}
                            ],
                        }
                    )
            for problem in _schema_errors(content, body):
                self.errors.append(f"request {number}: {problem}")
        text = content if isinstance(content, str) else json.dumps(content)
        if kind == "truncate":
            return 200, {}, self._completion(body, number, text[: len(text) // 2], finish_reason="length")
        return 200, {}, self._completion(body, number, text)

    def _completion(
        self,
        body: dict[str, Any],
        number: int,
        content: str | None,
        *,
        refusal: str | None = None,
        finish_reason: str = "stop",
    ) -> dict[str, Any]:
        prompt = sum(len(str(m.get("content") or "")) for m in body.get("messages", []))
        if self.context_tokens is not None:
            prompt = min(prompt, self.context_tokens * 4)  # what a small context keeps of the prompt
        completion = len(content or refusal or "")
        return {
            "id": f"chatcmpl-fake-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake-model"),
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": refusal},
                    "finish_reason": finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt // 4 + 1,
                "completion_tokens": completion // 4 + 1,
                "total_tokens": prompt // 4 + completion // 4 + 2,
            },
        }


def _error(message: str, type_: str, code: str | None = None, *, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    server_fake: FakeOpenAI
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, payload = self.server_fake.handle(self.path, headers, raw)
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a time-out test)

    def do_GET(self) -> None:  # noqa: N802
        self.do_POST()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's signature
        pass
