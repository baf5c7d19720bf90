"""`codegen train` on a real pseudo-terminal: the progress bar is drawn, and every log line starts on a line
of its own instead of being glued onto a stale copy of the bar (issue 15)."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

from tests.train.conftest import REPO, train_args

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def _run_on_a_pty(args: list[str]) -> str:
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "CODEGEN_NO_PROGRESS"}
    env.update({"TERM": "xterm-256color", "COLUMNS": "160", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"})
    proc = subprocess.Popen([sys.executable, "-m", "codegen_cli", *args], cwd=REPO, env=env,
                            stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 600)
        if not ready:
            proc.kill()
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=600) == 0, b"".join(chunks).decode(errors="replace")[-3000:]
    return b"".join(chunks).decode("utf-8", errors="replace")


@pytest.mark.slow
def test_log_lines_and_the_bar_do_not_glue(tokens_dir: Path, tmp_path: Path) -> None:
    text = _run_on_a_pty(train_args(tokens_dir, tmp_path / "run", "--max-steps", "12", "--log-every", "3"))
    segments = [ANSI.sub("", part) for part in re.split(r"[\r\n]", text)]
    logs = [s for s in segments if re.search(r"step \d+/12 loss", s)]
    assert len(logs) >= 4, text[-2000:]
    assert all(s.startswith("step ") for s in logs), [s for s in logs if not s.startswith("step ")]
    assert any("━" in s and "/12" in s for s in segments)  # the bar was drawn (a terminal)
