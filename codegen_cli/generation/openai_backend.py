"""`--backend openai --base-url URL`: samples from any OpenAI-compatible server (`transformers serve`, vLLM's
server, llama.cpp's server, a hosted API), through the same batches and samples store as the hf backend,
so a killed run resumes the same way.

Completion style posts to `{base}/completions`, chat style to `{base}/chat/completions`; each row of a
batch is one request, `--concurrency` of them in flight (a server batches concurrent requests itself), and
each reply is handed to the engine as it arrives (`on_result`), so an interrupt loses only the requests
still in flight. The API key, if the server wants one, comes from OPENAI_API_KEY (never from a flag: it
would land in shell history and in generation.json).

What real servers do, and what this client does about it:
- A server that is still loading its model answers HTTP 503 (llama.cpp's server: "Loading model", with a
  `Retry-After` header). The client waits for it up to `--server-wait` seconds, honouring `Retry-After`,
  and says what it is waiting for every few seconds.
- Connection errors, timeouts and HTTP 408/409/429/500/502/504 are retried `--retries` times, after
  `Retry-After` when the server gives one, else with exponential backoff (1, 2, 4 ... s, at most 30 s);
  every retry is a line.
- A prompt the server refuses on its own (HTTP 400/413/422 saying the context is exceeded or a content
  filter fired) is a failed sample with the server's message in its row (`error`), and the run goes on.
- An answer that is not JSON, has no choices, or has no text field at all is one line naming the URL and
  what was wrong (exit 1); the samples stored so far are kept.
- A reply whose `content` is empty and whose text is all in `reasoning_content` (a reasoning parser ate it,
  or the model spent its tokens thinking) is an empty completion with a warning and the reasoning kept in
  its row: reasoning is never the answer.
- Servers default sampling knobs on (llama.cpp: `repeat_penalty` 1.1 in older builds, `top_k` 40, `min_p`
  0.05; vLLM: a model's `generation_config.json` may set `repetition_penalty`/`top_k`), so every request
  carries neutral values for them (`neutral_fields`); a server that refuses a field (transformers serve:
  HTTP 422 "Unexpected fields") gets the request again without it, with a warning, and generation.json
  records what was sent. `--extra-body` adds or overrides request fields.
- A server that ignores `max_tokens` or `n` (answers longer, or with more choices) is warned about once
  and each such row records what was asked and what came back (`server_ignored`).

The completions API takes at most 4 stop strings: Python gets the four commonest top-level starts, and
every text is then cut with the same `find_stop` as the hf backend. The seed is sent per row (batch seed +
row), which servers may or may not honour.
"""

from __future__ import annotations

import email.utils
import json
import os
import queue
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.markup import escape

from codegen_cli.errors import JobFailed, UsageError
from codegen_cli.generation.config import GenerationConfig
from codegen_cli.generation.sampler import Completion
from codegen_cli.generation.stopping import find_stop, prompt_state, rule_family
from codegen_cli.output import log as _log
from codegen_cli.output import warn as _warn

_PY_STOPS = ["\ndef ", "\nclass ", "\nif __name__", "\nprint("]
_RETRY_STATUS = {408, 409, 429, 500, 502, 504}
_LOADING_STATUS = 503
_MAX_BACKOFF = 30.0
NOTICE_EVERY = 5.0  # seconds between "still waiting" lines, and the longest silence while requests run
_TICK = 1.0  # how often the collecting thread wakes to report progress while requests are in flight
# What a server says when it refuses one prompt (not the request's form): OpenAI `context_length_exceeded`
# and `content_filter`, vLLM "maximum context length", llama.cpp "exceeds the available context size".
_REFUSAL = re.compile(r"context[_ ]length|context size|maximum context|too long|too many tokens|exceeds? the|"
                      r"content[_ ]filter|content[_ ]policy|safety", re.IGNORECASE)
# What a server says when it does not take a field (transformers serve: 422 "Unexpected fields"; hosted
# APIs: 400 "Unrecognized request argument"; llama-cpp-python's server: 500 "validation error" naming it).
_UNKNOWN_FIELD = re.compile(r"unexpected|unrecognized|unknown|not permitted|unsupported|extra (?:fields|inputs)|"
                            r"validation error", re.IGNORECASE)


def neutral_fields(config: GenerationConfig) -> dict[str, Any]:
    """The sampling fields every request carries: the asked values, and for the knobs servers turn on by
    default the values that turn them off (greedy is then greedy). top_k 0 is "off" in llama.cpp's server
    (any value <= 0) and in vLLM (0 or -1); llama-cpp-python's server refuses -1 (its schema says >= 0)."""
    greedy = config.temperature == 0
    fields: dict[str, Any] = {
        "model": config.model, "max_tokens": config.max_new_tokens, "temperature": config.temperature,
        "top_p": 1.0 if greedy else config.top_p, "n": 1,
        "top_k": config.top_k if config.top_k > 0 and not greedy else 0,
        "min_p": 0.0, "repeat_penalty": 1.0, "repetition_penalty": 1.0,
        "presence_penalty": 0.0, "frequency_penalty": 0.0,
    }
    return {**fields, **extra_body(config)}


def extra_body(config: GenerationConfig) -> dict[str, Any]:
    """`--extra-body` as a dict (validated by GenerationConfig.validate)."""
    return json.loads(config.extra_body) if config.extra_body else {}


# fields a server may refuse and still serve the request without (never model, max_tokens, temperature)
_DROPPABLE = ("n", "top_k", "min_p", "repeat_penalty", "repetition_penalty", "presence_penalty",
              "frequency_penalty", "top_p", "seed")


@dataclass
class Refused:
    """A request the server refused for its prompt alone: the sample fails with this message."""

    message: str


class OpenAIRunner:
    streamed_methods = ("on_result",)  # generate/generate_chat hand each reply over as it arrives

    def __init__(self, config: GenerationConfig) -> None:
        if not config.base_url:
            raise UsageError("--backend openai needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        self.config = config
        self.base = config.base_url.rstrip("/")
        self.device, self.dtype = "server", "n/a"
        self.on_step = None  # the engine's per-token hook; a server reports whole replies only
        self.on_tick: Callable[[int], None] | None = None  # about every second: requests not yet answered
        self.fields = neutral_fields(config)
        self.dropped: dict[str, str] = {}  # fields the server refused -> its message
        self.served_models: list[str] = []  # the `model` values the answers named, in order of first sight
        self.ignored: dict[str, int] = {}  # max_tokens | n -> answers that ignored it
        self.reasoning_only = 0  # replies with empty content and text only in reasoning_content
        self._lock = threading.Lock()
        self._last_notice = 0.0

    # ------------------------------------------------------------ generation

    def generate(self, prompts: list[str], languages: list[str], *, seed: int,
                 scan_texts: list[str] | None = None,
                 on_result: Callable[[int, Completion], None] | None = None) -> list[Completion]:
        scans = scan_texts if scan_texts is not None else prompts
        bodies = [{"prompt": prompt, "seed": seed + row,
                   **({"stop": _PY_STOPS} if rule_family(lang) == "python" else {})}
                  for row, (prompt, lang) in enumerate(zip(prompts, languages))]

        def read(row: int, answer: dict[str, Any] | Refused, url: str) -> Completion:
            if isinstance(answer, Refused):
                return _refused(answer)
            choice, notes = self._choice(answer, url)
            text = choice.get("text")
            if not isinstance(text, str):
                raise JobFailed(f"{url}: the answer's choice has no `text` ({_snippet(answer)}); is this an "
                                "OpenAI-compatible completions endpoint?")
            lang = languages[row]
            state = prompt_state(scans[row], lang) if rule_family(lang) == "brace" else None
            cut = find_stop(text, lang, state)
            reason = "stop" if cut is not None else ("length" if choice.get("finish_reason") == "length" else "eos")
            return Completion(text=text[:cut] if cut is not None else text, finish_reason=reason,
                              num_tokens=_tokens(answer), notes=notes)

        return self._run("/completions", bodies, read, on_result)

    def generate_chat(self, users: list[str], languages: list[str], *, seed: int,
                      on_result: Callable[[int, Completion], None] | None = None) -> list[Completion]:
        bodies = [{"messages": [{"role": "user", "content": user}], "seed": seed + row}
                  for row, user in enumerate(users)]

        def read(row: int, answer: dict[str, Any] | Refused, url: str) -> Completion:
            if isinstance(answer, Refused):
                return _refused(answer)
            choice, notes = self._choice(answer, url)
            message = choice.get("message")
            if not isinstance(message, dict):
                raise JobFailed(f"{url}: the answer's choice has no `message` ({_snippet(answer)}); is this an "
                                "OpenAI-compatible chat endpoint?")
            content = message.get("content")
            reasoning = message.get("reasoning_content") or message.get("reasoning")
            if not isinstance(content, str) and not isinstance(reasoning, str):
                raise JobFailed(f"{url}: the answer has no text (`message` holds neither `content` nor "
                                f"`reasoning_content`: {_snippet(answer)})")
            reason = "length" if choice.get("finish_reason") == "length" else "eos"
            if not (content or "").strip() and isinstance(reasoning, str) and reasoning.strip():
                self._reasoning_only(url, len(reasoning))
                notes.update(reasoning=reasoning, error="the reply's content is empty; its text is all in "
                             "reasoning_content, which is never taken as the answer")
            return Completion(text=content or "", finish_reason=reason, num_tokens=_tokens(answer), notes=notes)

        return self._run("/chat/completions", bodies, read, on_result)

    def describe(self) -> dict[str, Any]:
        """What generation.json records about the server: what was sent, what it answered as."""
        sent = {k: v for k, v in self.fields.items() if k not in self.dropped}
        data: dict[str, Any] = {"model": self.config.model, "backend": "openai", "base_url": self.base,
                                "request_fields": sent}
        if self.dropped:
            data["refused_fields"] = dict(self.dropped)
        if self.served_models:
            data["served_models"] = list(self.served_models)
        if self.ignored:
            data["server_ignored"] = dict(self.ignored)
        return data

    def identity(self) -> dict[str, Any]:
        """What identifies the served model before any sample is made (part of the settings hash): the name
        asked for, the base URL, and the server's `/v1/models` entry for it (llama.cpp lists size, parameter
        count and context there; vLLM the weights' `root` and `max_model_len`), volatile fields left out. A
        server that lists one model and no entry of the asked name (llama.cpp's server answers any name) is
        identified by the one it lists. Waits for a loading server like any request; a server without
        `/v1/models` is identified by name and URL alone."""
        url = self.base + "/models"
        try:
            listing = self._send(url, None, threading.Event())
        except UsageError:  # 404 and the like: no model list here
            return {"served": self.config.model, "base_url": self.base, "models_entry": None}
        data = listing.get("data") if isinstance(listing, dict) else None
        entries = [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []
        entry = next((e for e in entries if e.get("id") == self.config.model), None)
        if entry is None and len(entries) == 1:
            entry = entries[0]
        return {"served": self.config.model, "base_url": self.base, "models_entry": _stable(entry)}

    # ------------------------------------------------------------ answers

    def _choice(self, answer: dict[str, Any], url: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The first choice of an answer (exit 1 when there is none), and the row notes it calls for."""
        if not isinstance(answer, dict):
            raise JobFailed(f"{url}: the answer is JSON but not an object ({_snippet(answer)})")
        choices = answer.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise JobFailed(f"{url}: the answer has no choices ({_snippet(answer)}); check the server's log")
        notes: dict[str, Any] = {}
        served = answer.get("model")
        if isinstance(served, str) and served:
            notes["served_model"] = served
            with self._lock:
                if served not in self.served_models:
                    self.served_models.append(served)
        ignored = {}
        got_tokens = _tokens(answer)
        if got_tokens > self.config.max_new_tokens:
            ignored["max_tokens"] = {"asked": self.config.max_new_tokens, "got": got_tokens}
        if "n" in self.fields and "n" not in self.dropped and len(choices) > 1:
            ignored["n"] = {"asked": 1, "got": len(choices)}
        if ignored:
            notes["server_ignored"] = ignored
            self._ignored(url, ignored)
        return choices[0], notes

    def _ignored(self, url: str, ignored: dict[str, dict[str, int]]) -> None:
        with self._lock:
            for field, counts in ignored.items():
                self.ignored[field] = self.ignored.get(field, 0) + 1
                if self.ignored[field] == 1:
                    warn(f"{url}: the server ignored {field}={counts['asked']} (answered with {counts['got']}"
                         f"{' tokens' if field == 'max_tokens' else ' choices'}); each such sample records "
                         "`server_ignored` (asked, got)")

    def _reasoning_only(self, url: str, chars: int) -> None:
        with self._lock:
            self.reasoning_only += 1
            if self.reasoning_only == 1:
                warn(f"{url}: a reply has empty content and {chars} characters of reasoning_content only; it "
                     "counts as an empty (failed) completion, the reasoning is kept in its row; raise "
                     "--max-new-tokens or turn the server's reasoning off")

    # ------------------------------------------------------------ requests

    def _run(self, path: str, bodies: list[dict[str, Any]],
             read: Callable[[int, Any, str], Completion],
             on_result: Callable[[int, Completion], None] | None) -> list[Completion]:
        """Post every body (`--concurrency` daemon threads), read each answer IN THIS THREAD as it arrives and
        hand it to `on_result`; a fatal error stops the rest (their threads die with the process)."""
        url = self.base + path
        todo: queue.Queue[int] = queue.Queue()
        for index in range(len(bodies)):
            todo.put(index)
        done: queue.Queue[tuple[int, Any, BaseException | None]] = queue.Queue()
        stop = threading.Event()

        def worker() -> None:
            while not stop.is_set():
                try:
                    index = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    done.put((index, self._send(url, bodies[index], stop), None))
                except BaseException as exc:  # noqa: BLE001 - handed to the collecting thread
                    done.put((index, None, exc))

        for _ in range(min(len(bodies), max(1, self.config.concurrency))):
            threading.Thread(target=worker, daemon=True, name="openai-request").start()
        results: list[Completion | None] = [None] * len(bodies)
        pending = len(bodies)
        try:
            while pending:
                try:
                    index, answer, error = done.get(timeout=_TICK)
                except queue.Empty:
                    if self.on_tick is not None:
                        self.on_tick(pending)
                    continue
                pending -= 1
                if error is not None:
                    raise error
                completion = read(index, answer, url)
                results[index] = completion
                if on_result is not None:
                    on_result(index, completion)
        finally:
            stop.set()
        return results  # type: ignore[return-value]  # every index was filled before the loop ended

    def _send(self, url: str, row: dict[str, Any] | None, stop: threading.Event) -> Any:
        """POST the sampling fields + `row` (GET when `row` is None); the parsed answer, or Refused."""
        headers = {"Content-Type": "application/json"}
        if os.environ.get("OPENAI_API_KEY"):
            headers["Authorization"] = f"Bearer {os.environ['OPENAI_API_KEY']}"
        retries, loading_since = 0, None
        for _ in range(10_000):  # bounded by the retries, the wait budget and the refusable fields
            data = None
            if row is not None:
                with self._lock:
                    body = {**self.fields, **row}
                    data = json.dumps({k: v for k, v in body.items() if k not in self.dropped}).encode("utf-8")
            request = urllib.request.Request(url, data=data, headers=headers, method="GET" if row is None else "POST")
            try:
                with urllib.request.urlopen(request, timeout=self.config.request_timeout) as response:
                    raw = response.read().decode("utf-8", "replace")
            except urllib.error.HTTPError as exc:
                detail = _detail(exc)
                after = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
                if exc.code == _LOADING_STATUS:
                    loading_since = loading_since if loading_since is not None else time.monotonic()
                    waited = time.monotonic() - loading_since
                    if waited >= self.config.server_wait:
                        raise JobFailed(f"{url}: still HTTP 503 ({detail}) after waiting {waited:.0f} s "
                                        "(--server-wait); samples made so far are kept, rerun to resume") from exc
                    delay = min(after if after is not None else 2.0, self.config.server_wait - waited)
                    told = f" (Retry-After {after:g} s)" if after is not None else ""
                    self._wait(stop, delay, lambda left, since=loading_since, detail=detail, told=told: (
                        f"waiting for {url}: HTTP 503 ({detail}); next try in {left:.0f} s{told}, "
                        f"{time.monotonic() - since:.0f} s of --server-wait {self.config.server_wait:g} s"))
                    continue
                if row is not None and exc.code in (400, 422, 500) and self._drop_refused_fields(url, detail):
                    continue
                if exc.code in _RETRY_STATUS:
                    retries = self._retry(url, f"HTTP {exc.code} ({detail})", retries, after, stop=stop)
                    continue
                if row is not None and exc.code in (400, 413, 422) and _REFUSAL.search(detail):
                    return Refused(f"HTTP {exc.code}: {detail}")
                hint = "check --model and --base-url" if exc.code in (401, 403, 404) else \
                    "check --model, --base-url and --extra-body"
                raise UsageError(f"{url}: HTTP {exc.code} ({detail}); {hint}") from exc
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                retries = self._retry(url, str(getattr(exc, "reason", exc)), retries, None, stop=stop)
                continue
            try:
                return json.loads(raw)
            except ValueError as exc:
                raise JobFailed(f"{url}: the answer is not JSON ({_snippet(raw)}); samples made so far are "
                                "kept") from exc
        raise JobFailed(f"{url}: gave up after too many attempts")

    def _retry(self, url: str, what: str, retries: int, after: float | None, *, stop: threading.Event) -> int:
        """One more retry (a line saying so), or exit 1 when --retries are spent."""
        if retries >= self.config.retries:
            raise JobFailed(f"{url}: no answer after {retries + 1} tries ({what}); samples made so far are kept, "
                            "rerun to resume")
        delay = after if after is not None else min(_MAX_BACKOFF, 2.0 ** retries)
        warn(f"{url}: {what}; retry {retries + 1} of {self.config.retries} in {delay:.0f} s"
             + (" (the server's Retry-After)" if after is not None else ""))
        self._wait(stop, delay, lambda left: f"waiting {left:.0f} s more to retry {url}")
        return retries + 1

    def _wait(self, stop: threading.Event, seconds: float, line: Callable[[float], str]) -> None:
        """Sleep `seconds` (less when the run stops), with one line at most every NOTICE_EVERY s across all
        request threads."""
        end = time.monotonic() + max(0.0, seconds)
        while not stop.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return
            with self._lock:
                now = time.monotonic()
                if now - self._last_notice >= NOTICE_EVERY:
                    self._last_notice = now
                    log(line(left))
            stop.wait(min(left, _TICK))

    def _drop_refused_fields(self, url: str, detail: str) -> bool:
        """A 400/422 that names fields this client added (the server takes no such field): leave them out of
        every later request, with a warning; False when the message names none of them."""
        if not _UNKNOWN_FIELD.search(detail):
            return False
        with self._lock:
            named = [f for f in _DROPPABLE if f in self.fields and f not in extra_body(self.config)
                     and re.search(rf"(?<![\w]){re.escape(f)}(?![\w])", detail)]
            new = [f for f in named if f not in self.dropped]
            if not named:
                return False
            for field in new:
                self.dropped[field] = detail
        if new:
            warn(f"{url}: the server takes no {', '.join(new)} ({detail}); sent without them, so it samples with "
                 "its own defaults for those (generation.json records what was sent)")
        return True


def _stable(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    """A /v1/models entry without what changes between calls (`created` times, vLLM's `permission` ids)."""
    if not isinstance(entry, dict):
        return None
    return {k: _stable(v) if isinstance(v, dict) else v for k, v in entry.items()
            if k not in ("created", "permission", "object")}


def log(message: str) -> None:
    _log(escape(message))  # a server's text may hold [brackets], which Rich would read as markup


def warn(message: str) -> None:
    _warn(escape(message))


def _refused(refusal: Refused) -> Completion:
    return Completion(text="", finish_reason="refused", num_tokens=0, notes={"error": refusal.message})


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read().decode("utf-8", "replace")
    except OSError:
        text = ""
    try:  # OpenAI's shape: {"error": {"message": ..., "code": ...}}
        error = json.loads(text).get("error")
        if isinstance(error, dict) and error.get("message"):
            code = error.get("code") or error.get("type")
            text = f"{error['message']}" + (f" [{code}]" if code else "")
        elif isinstance(error, str):
            text = error
    except (ValueError, AttributeError):
        pass
    return " ".join(text.split())[:300] or (exc.reason if isinstance(exc.reason, str) else "") or "no message"


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (RFC 9110: delay-seconds or an HTTP-date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _snippet(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    text = " ".join(text.split())
    return (text[:120] + "...") if len(text) > 120 else (text or "empty")


def _tokens(answer: dict[str, Any]) -> int:
    usage = answer.get("usage") if isinstance(answer, dict) else None
    try:
        return int((usage or {}).get("completion_tokens") or 0)
    except (TypeError, ValueError):
        return 0
