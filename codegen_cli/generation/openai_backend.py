"""`--backend openai --base-url URL`: samples from any OpenAI-compatible server (`transformers serve`, vLLM's
server, llama.cpp's server, a hosted API), through the same batches and samples store as the hf backend,
so a killed run resumes the same way.

Completion style posts to `{base}/completions`, chat style to `{base}/chat/completions`; each row of a
batch is one request, `--concurrency` of them in flight (a server batches concurrent requests itself).
A request that fails to connect, times out (`--request-timeout`) or gets HTTP 408/409/429/5xx is retried
`--retries` times with exponential backoff (1, 2, 4 ... s, capped at 30 s); any other HTTP error is a
one-line error with the server's message. The API key, if the server wants one, comes from
OPENAI_API_KEY (never from a flag: it would land in shell history and in generation.json).

The completions API takes at most 4 stop strings: Python gets the four commonest top-level starts, and
every text is then cut with the same `find_stop` as the hf backend. `--top-k` has no field in the API
and is not sent; the seed is sent per row (batch seed + row), which servers may or may not honour.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from codegen_cli.errors import JobFailed, UsageError
from codegen_cli.generation.config import GenerationConfig
from codegen_cli.generation.sampler import Completion
from codegen_cli.generation.stopping import find_stop, prompt_state, rule_family

_PY_STOPS = ["\ndef ", "\nclass ", "\nif __name__", "\nprint("]
_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
_MAX_BACKOFF = 30.0


class OpenAIRunner:
    def __init__(self, config: GenerationConfig) -> None:
        if not config.base_url:
            raise UsageError("--backend openai needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        self.config = config
        self.base = config.base_url.rstrip("/")
        self.device, self.dtype = "server", "n/a"
        self.on_step = None  # the engine's per-token hook; a server reports whole replies only

    def generate(self, prompts: list[str], languages: list[str], *, seed: int,
                 scan_texts: list[str] | None = None) -> list[Completion]:
        scans = scan_texts if scan_texts is not None else prompts
        bodies = [{**self._common(seed + row), "prompt": prompt,
                   **({"stop": _PY_STOPS} if rule_family(lang) == "python" else {})}
                  for row, (prompt, lang) in enumerate(zip(prompts, languages))]
        answers = self._all("/completions", bodies)
        results = []
        for answer, lang, scan in zip(answers, languages, scans):
            choice = answer["choices"][0]
            text = choice.get("text") or ""
            state = prompt_state(scan, lang) if rule_family(lang) == "brace" else None
            cut = find_stop(text, lang, state)
            reason = "stop" if cut is not None else ("length" if choice.get("finish_reason") == "length" else "eos")
            results.append(Completion(text=text[:cut] if cut is not None else text, finish_reason=reason,
                                      num_tokens=_tokens(answer)))
        return results

    def generate_chat(self, users: list[str], languages: list[str], *, seed: int) -> list[Completion]:
        bodies = [{**self._common(seed + row), "messages": [{"role": "user", "content": user}]}
                  for row, user in enumerate(users)]
        results = []
        for answer in self._all("/chat/completions", bodies):
            choice = answer["choices"][0]
            text = (choice.get("message") or {}).get("content") or ""
            reason = "length" if choice.get("finish_reason") == "length" else "eos"
            results.append(Completion(text=text, finish_reason=reason, num_tokens=_tokens(answer)))
        return results

    def describe(self) -> dict[str, Any]:
        return {"model": self.config.model, "backend": "openai", "base_url": self.base}

    def _common(self, seed: int) -> dict[str, Any]:
        c = self.config
        body: dict[str, Any] = {"model": c.model, "max_tokens": c.max_new_tokens, "temperature": c.temperature,
                                "seed": seed}
        if c.temperature > 0:
            body["top_p"] = c.top_p
        return body

    def _all(self, path: str, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with ThreadPoolExecutor(max_workers=max(1, self.config.concurrency)) as pool:
            return list(pool.map(lambda body: self._post(path, body), bodies))

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = self.base + path
        headers = {"Content-Type": "application/json"}
        if os.environ.get("OPENAI_API_KEY"):
            headers["Authorization"] = f"Bearer {os.environ['OPENAI_API_KEY']}"
        data = json.dumps(body).encode("utf-8")
        last = ""
        for attempt in range(self.config.retries + 1):
            if attempt:
                time.sleep(min(_MAX_BACKOFF, 2.0 ** (attempt - 1)))
            request = urllib.request.Request(url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.config.request_timeout) as response:
                    return json.loads(response.read().decode("utf-8"))
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode("utf-8", "replace")[:300].replace("\n", " ")
                if exc.code not in _RETRY_STATUS:
                    raise UsageError(f"{url}: HTTP {exc.code} ({detail}); check --model and --base-url") from exc
                last = f"HTTP {exc.code} ({detail})"
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                last = str(getattr(exc, "reason", exc))
            except ValueError as exc:  # not JSON
                raise JobFailed(f"{url}: the server's answer is not JSON ({exc})") from exc
        raise JobFailed(f"{url}: no answer after {self.config.retries + 1} tries ({last}); samples made so far "
                        "are kept, rerun to resume")


def _tokens(answer: dict[str, Any]) -> int:
    return int((answer.get("usage") or {}).get("completion_tokens") or 0)
