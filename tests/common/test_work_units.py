"""The one work-unit executor (codegen_cli/work_units.py): resume, workers, errors, dead workers, signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from codegen_cli.errors import InputDataError, JobFailed
from codegen_cli.work_units import WorkerPool, run_units
from tests.conftest import freeze_when, thaw


class Squares:
    """Unit n writes n*n to folder/n.json (its marker); units listed in `bad` raise bad input."""

    def __init__(self, folder: Path, bad: tuple[int, ...] = (), die: tuple[int, ...] = ()) -> None:
        self.folder, self.bad, self.die = folder, bad, die

    def finished(self, unit: int) -> dict | None:
        path = self.folder / f"{unit}.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def run(self, unit: int) -> dict:
        if unit in self.bad:
            raise InputDataError(f"unit {unit}: bad input")
        if unit in self.die:
            os._exit(9)
        marker = {"unit": unit, "value": unit * unit}
        (self.folder / f"{unit}.json").write_text(json.dumps(marker))
        return marker


@pytest.mark.parametrize("workers,start", [(1, "fork"), (3, "fork"), (2, "spawn"), (3, "thread")])
def test_runs_every_unit_and_skips_finished_ones(tmp_path, workers, start):
    work = Squares(tmp_path)
    work.run(4)  # finished by an "earlier run"
    seen: dict[int, bool] = {}
    ran = run_units(range(10), work, on_done=lambda m, resumed: seen.__setitem__(m["unit"], resumed),
                    workers=workers, start=start)
    assert ran == 9 and sorted(seen) == list(range(10)) and seen[4] is True
    assert sum(seen.values()) == 1


@pytest.mark.parametrize("workers", [1, 2])
def test_a_unit_error_keeps_its_exit_code(tmp_path, workers):
    with pytest.raises(InputDataError, match="unit 3: bad input") as info:
        run_units(range(6), Squares(tmp_path, bad=(3,)), on_done=lambda m, r: None, workers=workers)
    assert info.value.exit_code == 3


def test_a_dead_worker_fails_the_job_instead_of_hanging(tmp_path):
    with pytest.raises(JobFailed, match="worker process died"):
        run_units(range(6), Squares(tmp_path, die=(2,)), on_done=lambda m, r: None, workers=2)


def test_pool_for_dynamic_schedulers(tmp_path):
    """What eval's build/run scheduler uses: submit, wait, and new units submitted from results."""
    pool = WorkerPool(Squares(tmp_path).run, workers=2, start="thread")
    pool.submit("a", 2)
    got = {}
    while pool.busy:
        for key, marker in pool.wait():
            got[key] = marker["value"]
            if key == "a":
                pool.submit("b", marker["value"])  # a follow-up unit made from a result
    pool.close()
    assert got == {"a": 4, "b": 16}


SLOW_SCRIPT = """
import json, sys, time
from pathlib import Path
from codegen_cli.errors import CodegenError
from codegen_cli.work_units import run_units

class Slow:
    def finished(self, unit):
        return None
    def run(self, unit):
        Path(sys.argv[1], f"{unit}.started").write_text("")
        time.sleep(60)
        return {}

try:
    run_units(range(8), Slow(), on_done=lambda m, r: None, workers=2)
except CodegenError as exc:
    print(exc, file=sys.stderr)
    sys.exit(exc.exit_code)
"""


@pytest.mark.parametrize("signum,group", [(signal.SIGTERM, False), (signal.SIGTERM, True), (signal.SIGINT, True)])
def test_a_signal_stops_the_workers_and_exits_130(tmp_path, signum, group):
    proc = subprocess.Popen([sys.executable, "-c", SLOW_SCRIPT, str(tmp_path)], stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    freeze_when(proc, lambda: len(list(tmp_path.glob("*.started"))) >= 2, "two running units")
    (os.killpg if group else os.kill)(proc.pid, signum)
    thaw(proc)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
