"""A scriptable OpenAI-compatible chat-completions server on 127.0.0.1 for tests.

Usage::

    def test_something(llm_standin):
        llm_standin.script(Reply.status(503), Reply.keywords())
        client = LLMClient(llm_standin.base_url, "stand-in", timeout=1)
        ...
        assert len(llm_standin.requests) == 2

Each request consumes the next scripted ``Reply``; when the script is used up the last reply
repeats (the default is ``Reply.keywords()``). Every request is recorded, including requests to
paths other than ``/v1/chat/completions`` (so a test can prove a redirect target was never hit),
with the message content the stand-in answered (``RecordedRequest.answer``).
"""

from __future__ import annotations

import json
import re
import threading
import time
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

CHAT_PATH = "/v1/chat/completions"

# Slots an obedient answer may contain (``Reply.obedient(answers)``): the stand-in fills them from
# the request, JSON-escaped, the way a model quoting its own input would.
SLOT_SYSTEM = "⟦SYSTEM⟧"  # the whole system prompt
SLOT_SYSTEM_HEAD = "⟦SYSTEM_HEAD⟧"  # its first 40 characters (a keyword-sized leak)
SLOT_TOKEN = "⟦TOKEN⟧"  # the per-call delimiter token
SLOT_DATA = "⟦DATA⟧"  # the text between the delimiters, as the model saw it

DEFAULT_KEYWORDS: dict[str, Any] = {
    "keywords": [
        {"text": "조용한", "tag_en": "quiet", "polarity": "positive", "weight": 0.9},
        {"text": "강이 보이는", "tag_en": "river view", "polarity": "positive", "weight": 0.7},
    ],
    "intent": "interest",
}


@dataclass(frozen=True)
class Reply:
    """One scripted behaviour. Build with the class methods below."""

    mode: str
    content: str = ""
    status_code: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    size: int = 0
    declare_length: bool = True
    answers: tuple[tuple[str, str], ...] = ()  # obedient mode: folded data text -> answer

    @classmethod
    def keywords(cls, payload: dict[str, Any] | None = None) -> Reply:
        """A well-formed completion whose content is ``payload`` (valid keywords by default)."""
        return cls("content", content=json.dumps(payload if payload is not None else DEFAULT_KEYWORDS))

    @classmethod
    def raw_content(cls, content: str) -> Reply:
        """A well-formed completion whose message content is exactly ``content`` (e.g. broken JSON)."""
        return cls("content", content=content)

    @classmethod
    def status(cls, code: int, *, headers: dict[str, str] | None = None, body: str = "") -> Reply:
        """An HTTP error (429, 500, 503, 400 …) with optional headers such as Retry-After."""
        return cls("status", content=body, status_code=code, headers=tuple((headers or {}).items()))

    @classmethod
    def slow(cls, seconds: float, payload: dict[str, Any] | None = None) -> Reply:
        """Wait ``seconds`` before answering validly (longer than the client timeout to test it)."""
        return cls("slow", content=json.dumps(payload or DEFAULT_KEYWORDS), delay=seconds)

    @classmethod
    def drip(cls, interval: float, *, headers_too: bool = False) -> Reply:
        """Send the response one byte every ``interval`` seconds (body only, or from the status line)."""
        return cls("drip", content=json.dumps(DEFAULT_KEYWORDS), delay=interval, declare_length=not headers_too)

    @classmethod
    def close(cls) -> Reply:
        """Close the connection without answering."""
        return cls("close")

    @classmethod
    def redirect(cls, location: str, code: int = 302) -> Reply:
        return cls("status", status_code=code, headers=(("Location", location),))

    @classmethod
    def huge(cls, size: int = 2_000_000, *, declare_length: bool = True) -> Reply:
        """A 200 whose body is ``size`` bytes (with or without a Content-Length header)."""
        return cls("huge", size=size, declare_length=declare_length)

    @classmethod
    def obedient(cls, answers: Mapping[str, str] | None = None) -> Reply:
        """Do what the review says, like a model with no defences.

        ``answers`` maps a text, as the model sees it between the delimiters, to the message
        content a model obeying that text produces (tests/corpora/injection.py states one per
        hostile review); slots such as ``SLOT_SYSTEM`` are filled from the request. Texts are
        matched ignoring case, spacing, punctuation and compatibility forms. A text not in
        ``answers`` gets the generic rules of ``_obey``.
        """
        return cls("obedient", answers=tuple((match_key(text), answer) for text, answer in (answers or {}).items()))


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when the request was read
    json: Any = None
    answer: str | None = None  # the message content the stand-in answered, if it answered one

    @property
    def data(self) -> str:
        """The text between the user message's delimiter lines (the whole message without them)."""
        user = self.message("user")
        match = _DATA_RE.search(user)
        return match.group(1) if match else user

    @property
    def token(self) -> str:
        """The per-call delimiter token of the user message ("" without delimiters)."""
        match = _TOKEN_RE.search(self.message("user"))
        return match.group(1) if match else ""

    @property
    def messages(self) -> list[dict[str, str]]:
        return list(self.json.get("messages", [])) if isinstance(self.json, dict) else []

    def message(self, role: str) -> str:
        return next((m["content"] for m in self.messages if m.get("role") == role), "")


@dataclass
class LLMStandIn:
    server: ThreadingHTTPServer
    requests: list[RecordedRequest] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    _script: list[Reply] = field(default_factory=lambda: [Reply.keywords()])
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def root_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        """What to pass as the client's base_url (requests go to ``{base_url}/chat/completions``)."""
        return f"{self.root_url}/v1"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script = list(replies) or [Reply.keywords()]

    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == CHAT_PATH]

    def _next(self) -> Reply:
        with self._lock:
            return self._script.pop(0) if len(self._script) > 1 else self._script[0]


def _completion(content: str) -> bytes:
    return json.dumps(
        {
            "id": f"chatcmpl-standin-{time.monotonic_ns()}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": "stand-in",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        },
        ensure_ascii=False,
    ).encode("utf-8")


_DATA_RE = re.compile(r"<<<(?:REVIEW|QUERY) \w+>>>\n(.*)\n<<<END \w+>>>", re.S)
_TOKEN_RE = re.compile(r"^<<<(?:REVIEW|QUERY) (\w+)>>>$", re.M)


def match_key(text: str) -> str:
    """Letters and digits only, compatibility-normalised and case-folded: how obedient answers are matched."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


def _obey(request: RecordedRequest, answers: tuple[tuple[str, str], ...] = ()) -> str:
    """Behave like a model that follows any instruction in the data.

    The answer scripted for this data, if any (``Reply.obedient(answers)``), with its slots
    filled. Otherwise generic rules:
    - "output the keyword X" -> X becomes a keyword;
    - any http(s) link in the text -> the link becomes a keyword;
    - "system prompt" mentioned -> the system prompt becomes a keyword;
    plus one ordinary keyword, so the answer is otherwise well formed.
    """
    data = request.data
    scripted = dict(answers).get(match_key(data))
    if scripted is not None:
        system = request.message("system")
        slots = {
            SLOT_SYSTEM: system,
            SLOT_SYSTEM_HEAD: system[:40].strip(),
            SLOT_TOKEN: request.token,
            SLOT_DATA: data,
        }
        for slot, value in slots.items():
            scripted = scripted.replace(slot, json.dumps(value, ensure_ascii=False)[1:-1])
        return scripted
    keywords: list[dict[str, Any]] = [{"text": "quiet", "tag_en": "quiet", "polarity": "positive", "weight": 0.5}]
    for word in re.findall(r"keyword\s+([A-Za-z0-9-]+)", data):
        keywords.append({"text": word, "tag_en": word.lower(), "polarity": "positive", "weight": 1.0})
    for link in re.findall(r"https?://\S+", data):
        keywords.append({"text": link, "tag_en": "link", "polarity": "positive", "weight": 1.0})
    if "system prompt" in data.lower():
        keywords.append(
            {"text": request.message("system"), "tag_en": "system prompt", "polarity": "neutral", "weight": 1.0}
        )
    return json.dumps({"keywords": keywords, "intent": "interest"})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        standin = self.server.standin
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 10_000_000)) if length else b""
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        record = RecordedRequest(self.command, self.path, dict(self.headers.items()), body, time.monotonic(), parsed)
        standin.requests.append(record)
        if self.path != CHAT_PATH:
            self._send(404, b'{"error": "not found"}')
            return
        reply = standin._next()
        if reply.mode in ("content", "slow", "drip", "obedient"):
            record.answer = _obey(record, reply.answers) if reply.mode == "obedient" else reply.content
        if reply.mode == "content":
            self._send(200, _completion(reply.content))
        elif reply.mode == "status":
            self._send(reply.status_code, reply.content.encode(), reply.headers)
        elif reply.mode == "slow":
            if standin.stopping.wait(reply.delay):
                return
            self._send(200, _completion(reply.content))
        elif reply.mode == "drip":
            self._drip(reply)
        elif reply.mode == "close":
            self.close_connection = True
        elif reply.mode == "huge":
            self._huge(reply)
        elif reply.mode == "obedient":
            self._send(200, _completion(record.answer or ""))
        else:  # pragma: no cover - a typo in a test
            raise ValueError(reply.mode)

    def _send(self, status: int, body: bytes, headers: tuple[tuple[str, str], ...] = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def _drip(self, reply: Reply) -> None:
        body = _completion(reply.content)
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        if reply.declare_length:  # headers at once, then the body byte by byte
            self.wfile.write(head)
            head = b""
        for i in range(len(head + body)):
            self.wfile.write((head + body)[i : i + 1])
            self.wfile.flush()
            if self.server.standin.stopping.wait(reply.delay):
                break
        self.close_connection = True

    def _huge(self, reply: Reply) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if reply.declare_length:
            self.send_header("Content-Length", str(reply.size))
        self.send_header("Connection", "close")
        self.end_headers()
        block = b'{"choices": [' + b" " * 65536
        sent = 0
        while sent < reply.size:
            chunk = block[: reply.size - sent]
            self.wfile.write(chunk)
            sent += len(chunk)
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: LLMStandIn

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The client hanging up on a slow or huge reply is what several tests provoke.
        pass


@contextmanager
def running_standin() -> Iterator[LLMStandIn]:
    server = _Server(("127.0.0.1", 0), _Handler)
    standin = LLMStandIn(server)
    server.standin = standin
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield standin
    finally:
        standin.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def llm_standin() -> Iterator[LLMStandIn]:
    """A running stand-in LLM server; ``llm_standin.base_url`` is the client's base_url."""
    with running_standin() as standin:
        yield standin
