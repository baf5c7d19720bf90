"""A stub OpenAI-compatible server (stdlib http.server on 127.0.0.1) with the quirks real servers have.

Each quirk is rebuilt from what llama.cpp's server, vLLM and transformers serve do (issue 22):
- `loading_for`: HTTP 503 "Loading model" with a `Retry-After` header until that many seconds have passed
  (llama.cpp's server while it reads its GGUF);
- `server_defaults`: unless a request turns them off (`repeat_penalty` 1, `top_k` <= 0, `min_p` 0), the
  server samples with its own defaults, which here turn the right answer into a wrong one (llama.cpp
  applies repeat_penalty 1.1, top_k 40 and min_p 0.05 to every request that does not say otherwise);
- `reject_fields`: HTTP 422 "Unexpected fields in the request: {...}" for fields it does not take
  (transformers serve validates request fields);
- `quirk`: "reasoning_only" (empty `content`, the text in `reasoning_content`), "no_choices"
  (`"choices": []`), "not_json", "ignore_max_tokens" (usage says 1,533 tokens whatever was asked),
  "ignore_n" (three choices for n=1);
- `refuse`: replies for prompts containing this text are HTTP 400 `context_length_exceeded`;
- `served_as` / `models_meta`: the `model` field answers carry and the `/v1/models` entry (llama.cpp lists
  any model under the name it was started with; two different GGUFs can both answer as "local").

`replies` maps a piece of text found in the user turn (or prompt) to the reply text. Every request body is
kept in `requests` (with its arrival time) for the tests to look at.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Stub:
    replies: dict[str, str]
    wrong: str = "def wrong():\n    pass\n"  # what the server's own sampling defaults make of every prompt
    served_as: str = "local-a.gguf"
    models_meta: dict[str, Any] | None = field(default_factory=lambda: {"n_params": 134515008, "size": 1})
    loading_for: float = 0.0
    retry_after: int | None = 1
    server_defaults: bool = True
    reject_fields: tuple[str, ...] = ()
    quirk: str | None = None
    quirk_after: int = 0  # answers given normally before the quirk starts
    fail_first: int = 0  # requests answered HTTP 502 (with Retry-After 1) before any other answer
    delay: float = 0.0  # seconds each completion takes
    refuse: str | None = None
    requests: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    answered: int = 0

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        """(status, headers, JSON body or raw text) for one request."""
        if time.monotonic() - self.started < self.loading_for:
            headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
            return 503, headers, {"error": {"message": "Loading model", "type": "unavailable_error", "code": 503}}
        if path.endswith("/models"):
            if self.models_meta is None:
                return 404, {}, {"error": {"message": "not found"}}
            return 200, {}, {"object": "list", "data": [{"id": self.served_as, "object": "model", "created": int(
                time.time()), "owned_by": "stub", "meta": self.models_meta}]}
        if self.fail_first > 0:
            self.fail_first -= 1
            return 502, {"Retry-After": "1"}, {"error": {"message": "upstream restarting"}}
        unexpected = sorted(set(body) & set(self.reject_fields))
        if unexpected:
            return 422, {}, {"detail": f"Unexpected fields in the request: {set(unexpected)}"}
        text = body["messages"][-1]["content"] if "messages" in body else body.get("prompt", "")
        if self.refuse and self.refuse in text:
            return 400, {}, {"error": {"message": "This model's maximum context length is 2048 tokens. However, "
                                       "you requested 4000 tokens.", "type": "invalid_request_error",
                                       "code": "context_length_exceeded"}}
        time.sleep(self.delay)
        self.answered += 1
        quirk = self.quirk if self.answered > self.quirk_after else None
        if quirk == "not_json":
            return 200, {}, "<html><body>502 Bad Gateway</body></html>"
        if quirk == "no_choices":
            return 200, {}, {"id": "x", "object": "chat.completion", "model": self.served_as, "choices": []}
        neutral = (body.get("repeat_penalty") == 1.0 and isinstance(body.get("top_k"), int) and body["top_k"] <= 0
                   and body.get("min_p") == 0.0)
        reply = next((r for key, r in self.replies.items() if key in text), "")
        if self.server_defaults and not neutral:
            reply = self.wrong
        tokens = 1533 if quirk == "ignore_max_tokens" else min(max(1, len(reply) // 4), body.get("max_tokens") or 10**6)
        if "messages" in body:
            message = {"role": "assistant", "content": reply}
            if quirk == "reasoning_only":
                message = {"role": "assistant", "content": "", "reasoning_content": reply}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
        else:
            choice = {"index": 0, "text": reply, "finish_reason": "stop"}
        choices = [choice, {**choice, "index": 1}, {**choice, "index": 2}] if quirk == "ignore_n" else [choice]
        return 200, {}, {"id": "x", "object": "chat.completion", "model": self.served_as, "choices": choices,
                         "usage": {"prompt_tokens": 10, "completion_tokens": tokens, "total_tokens": tokens + 10}}


class StubServer:
    """`with StubServer(stub) as url:` serves `stub` on a free 127.0.0.1 port; url ends in /v1."""

    def __init__(self, stub: Stub, port: int = 0) -> None:
        self.stub = stub
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, body: dict[str, Any]) -> None:
                owner.stub.requests.append((time.monotonic(), self.path, body))
                status, headers, payload = owner.stub.answer(self.path, body)
                data = (payload if isinstance(payload, str) else json.dumps(payload)).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._reply(json.loads(self.rfile.read(length) or b"{}"))

            def do_GET(self) -> None:
                self._reply({})

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.stub.started = time.monotonic()
        self.thread.start()
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
