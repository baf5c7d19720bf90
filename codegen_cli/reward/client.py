"""`JudgeClient`: the judge service (`codegen judge serve`) as a reward function, for a trainer in another
process. Same call as `ExecutionReward`: `client(completions, task_id=[...]) -> [float]`. Standard library
only (http.client), over TCP on 127.0.0.1 or a unix socket.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit


class JudgeError(RuntimeError):
    """The service answered with an error; `status` is its HTTP status (503: retry later)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"judge service: HTTP {status}: {message}")
        self.status = status


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.path)
        self.sock = sock


class JudgeClient:
    """address: `http://127.0.0.1:PORT` or `unix:/path/to.sock` (what the service prints at start).
    timeout: seconds to wait for one answer (the service's own --request-timeout also applies)."""

    __name__ = "execution_reward"

    def __init__(self, address: str, *, timeout: float = 900.0) -> None:
        self.address, self.timeout = address, timeout

    def _connection(self) -> http.client.HTTPConnection:
        if self.address.startswith("unix:"):
            return _UnixConnection(self.address[len("unix:"):], self.timeout)
        parts = urlsplit(self.address)
        return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=self.timeout)

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        connection = self._connection()
        try:
            data = json.dumps(body).encode("utf-8") if body is not None else None
            headers = {"Content-Type": "application/json"} if data is not None else {}
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            payload = json.loads(response.read() or b"{}")
        finally:
            connection.close()
        if response.status != 200:
            raise JudgeError(response.status, str(payload.get("error", payload)))
        return payload

    def health(self) -> dict[str, Any]:
        return self._request("GET", "/health")

    def score(self, completions: Sequence[Any], task_id: Sequence[str] | None = None, *,
              timeout: float | None = None) -> list[dict[str, Any]]:
        """The verdict rows (`ExecutionReward.Verdict.to_row()`), one per completion."""
        return self._post(completions, task_id, verdicts=True, timeout=timeout)["verdicts"]

    def __call__(self, completions: Sequence[Any], task_id: Sequence[str] | None = None, **columns: Any) -> list[float]:
        """TRL's reward-function signature; the other dataset columns are not sent."""
        return self._post(completions, task_id, verdicts=False)["rewards"]

    def _post(self, completions: Sequence[Any], task_id: Sequence[str] | None, *, verdicts: bool,
              timeout: float | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"completions": list(completions), "task_id": list(task_id or []),
                                "verdicts": verdicts}
        if timeout is not None:
            body["timeout"] = timeout
        return self._request("POST", "/score", body)
