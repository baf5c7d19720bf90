"""Start and stop a real `codegen judge serve` process for the reward tests."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from codegen_cli.reward.client import JudgeClient

START_SECONDS = 600  # preflight + tool cache + first runtimes on a loaded 2-core machine


def start_judge(*args: str, socket_path: Path | None = None) -> tuple[subprocess.Popen, str]:
    """`codegen judge serve ARGS` (on `socket_path`, else on a free TCP port); returns the process and its
    address once /health answers ok, or fails with the process's log."""
    env = {**os.environ, "CODEGEN_ALLOW_CODE_EXECUTION": "1", "COLUMNS": "400"}
    where = ["--socket", str(socket_path)] if socket_path is not None else ["--port", "0"]
    proc = subprocess.Popen([sys.executable, "-m", "codegen_cli", "judge", "serve", *where, "--json", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    deadline = time.monotonic() + START_SECONDS
    address = f"unix:{socket_path}" if socket_path is not None else ""
    log = []
    while not address:  # the address is printed once the server listens
        line = proc.stderr.readline()
        if not line:
            raise AssertionError(f"judge exited {proc.wait()} before listening: {''.join(log)[-3000:]}")
        log.append(line)
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        address = found.group(1) if found else ""
    client = JudgeClient(address, timeout=30)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"judge exited {proc.returncode}: {proc.stderr.read()[-3000:]}")
        try:
            if client.health()["status"] == "ok":
                return proc, address
        except OSError:
            pass
        time.sleep(0.1)  # polls an observable state (the service answers), bounded by the deadline
    proc.kill()
    raise AssertionError(f"judge did not answer /health within {START_SECONDS} s")


def stop_judge(proc: subprocess.Popen) -> dict:
    """SIGTERM; the process must exit 0 and print its summary as one JSON object."""
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out)
