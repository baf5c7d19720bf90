"""The output sink: one final progress line, one console while a bar is live."""

from __future__ import annotations

import io
import sys

from codegen_cli import output


def test_final_plain_line_is_printed_once(monkeypatch, capsys):
    """Every advance printed (interval 0), so finish() has nothing new to say (it printed `3/3` twice)."""
    monkeypatch.setenv("CODEGEN_LOG_INTERVAL", "0")
    monkeypatch.setenv("CODEGEN_NO_PROGRESS", "1")
    with output.progress("generate", total=3, unit="samples") as bar:
        for _ in range(3):
            bar.advance(1, rate="1.0")
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("[generate]")]
    assert len(lines) == 3 and sum("3/3" in line for line in lines) == 1, lines


def test_final_plain_line_when_the_last_advance_was_quiet(monkeypatch, capsys):
    monkeypatch.setenv("CODEGEN_LOG_INTERVAL", "3600")
    monkeypatch.setenv("CODEGEN_NO_PROGRESS", "1")
    with output.progress("encode", total=2, unit="units") as bar:
        bar.advance(2)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("[encode]")]
    assert len(lines) == 1 and "2/2" in lines[0]


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_logs_during_a_live_bar_use_the_bars_console(monkeypatch):
    """Rich swaps sys.stderr for a proxy while a bar is live; log() must not build a second console on it."""
    fake = _Tty()
    monkeypatch.setattr(sys, "stderr", fake)
    monkeypatch.delenv("CODEGEN_NO_PROGRESS", raising=False)
    monkeypatch.setattr(output, "_console", None)
    with output.progress("train", total=2, unit="steps") as bar:
        assert output.console() is bar._progress.console
        output.log("step 1 loss 3.2")
        bar.advance(1)
    assert output._live_console is None
    assert "step 1 loss 3.2" in fake.getvalue()


def test_heartbeat_lines_while_a_silent_step_runs(monkeypatch):
    """A step with no progress of its own (BPE merges, a tool-cache build) still prints every interval."""
    import time

    fake = io.StringIO()
    monkeypatch.setattr(sys, "stderr", fake)
    monkeypatch.setenv("CODEGEN_LOG_INTERVAL", "0.01")
    monkeypatch.setenv("CODEGEN_NO_PROGRESS", "1")
    with output.heartbeat("tokenize: BPE", lambda: "3 documents read"):
        deadline = time.monotonic() + 60
        while fake.getvalue().count("\n") < 2 and time.monotonic() < deadline:  # wait for observable lines
            time.sleep(0.005)
    lines = fake.getvalue().splitlines()
    assert len(lines) >= 2 and all(line.startswith("[tokenize: BPE] still running after ") for line in lines)
    assert lines[0].endswith("(3 documents read)")
    count = len(fake.getvalue())
    time.sleep(0.05)
    assert len(fake.getvalue()) == count  # stopped with the block
