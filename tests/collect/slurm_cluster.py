"""A real one-node Slurm cluster for the tests: munged, slurmctld and slurmd started from Debian's slurm-wlm
and munge packages in a private folder, on 127.0.0.1, and stopped afterwards. Nothing in /etc is used: the
key, the sockets, the state and slurm.conf live in the folder, and clients find it through SLURM_CONF."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo")
INSTALL = "apt-get install -y --no-install-recommends slurm-wlm munge"


def missing() -> list[str]:
    return [tool for tool in DAEMONS if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists()]


def _tool(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def _wait(ready, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"slurm test cluster: no {what} within {timeout:.0f} s")
        time.sleep(0.1)


def _node_line() -> str:
    """`NodeName=localhost ...` with this machine's CPUs, topology and memory (1 GiB left for the host)."""
    probe = subprocess.run([_tool("slurmd"), "-C"], capture_output=True, text=True, check=True).stdout
    fields = dict(re.findall(r"(\w+)=(\S+)", probe.splitlines()[0]))
    memory = max(1024, int(fields["RealMemory"]) - 1024)
    return (f"NodeName=localhost NodeAddr=127.0.0.1 CPUs={fields['CPUs']} Sockets={fields['SocketsPerBoard']} "
            f"CoresPerSocket={fields['CoresPerSocket']} ThreadsPerCore={fields['ThreadsPerCore']} "
            f"RealMemory={memory} State=UNKNOWN")


@contextmanager
def slurm_cluster() -> Iterator[dict[str, str]]:
    """Start the cluster; yields the environment for clients (SLURM_CONF set). A short base path: munged's
    socket path must fit a sockaddr_un."""
    base = Path(tempfile.mkdtemp(prefix="slurm-", dir="/tmp"))
    for name in ("keys", "run", "log", "spool", "state"):
        (base / name).mkdir()
    (base / "keys").chmod(0o700)
    base.chmod(0o755)
    (base / "run").chmod(0o755)  # munged wants its socket's folder searchable by everyone
    subprocess.run([_tool("mungekey"), "--create", f"--keyfile={base / 'keys' / 'munge.key'}", "--bits=1024"],
                   check=True, capture_output=True)
    socket = base / "run" / "munge.socket"
    conf = base / "slurm.conf"
    conf.write_text("\n".join([
        "ClusterName=codegen-test", "SlurmctldHost=localhost(127.0.0.1)", "SlurmUser=root", "SlurmdUser=root",
        "SlurmctldPort=6817", "SlurmdPort=6818", "AuthType=auth/munge", f"AuthInfo=socket={socket}",
        "CredType=cred/munge", f"StateSaveLocation={base / 'state'}", f"SlurmdSpoolDir={base / 'spool'}",
        f"SlurmctldPidFile={base / 'run' / 'slurmctld.pid'}", f"SlurmdPidFile={base / 'run' / 'slurmd.pid'}",
        f"SlurmctldLogFile={base / 'log' / 'slurmctld.log'}", f"SlurmdLogFile={base / 'log' / 'slurmd.log'}",
        "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none", "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none", "JobCompType=jobcomp/none", "MpiDefault=none",
        "MailProg=/bin/true", "SchedulerType=sched/backfill", "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core", "ReturnToService=2", _node_line(),
        "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP", ""]))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    procs: list[subprocess.Popen] = []
    logs = contextlib.ExitStack()
    try:
        procs.append(subprocess.Popen(
            [_tool("munged"), "--foreground", f"--key-file={base / 'keys' / 'munge.key'}", f"--socket={socket}",
             f"--pid-file={base / 'run' / 'munged.pid'}", f"--seed-file={base / 'keys' / 'munged.seed'}"],
            stdout=subprocess.DEVNULL, stderr=logs.enter_context(open(base / "log" / "munged.out", "w"))))
        _wait(socket.exists, "munge socket")
        for argv in ([_tool("slurmctld"), "-D", "-f", str(conf)], [_tool("slurmd"), "-D", "-N", "localhost", "-f", str(conf)]):
            log = logs.enter_context(open(base / "log" / f"{Path(argv[0]).name}.out", "w"))
            procs.append(subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT))
        _wait(lambda: subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], env=env, capture_output=True,
                                     text=True, check=False).stdout.strip() == "idle", "idle node")
        yield env
    finally:
        subprocess.run(["scancel", "--user", "root"], env=env, capture_output=True, check=False)
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        logs.close()
        shutil.rmtree(base, ignore_errors=True)


def wait_for_jobs(env: dict[str, str], job_ids: list[str], timeout: float = 600) -> None:
    """Until none of `job_ids` (arrays included) is pending or running."""
    _wait(lambda: not subprocess.run(["squeue", "-h", "-j", ",".join(job_ids)], env=env, capture_output=True,
                                     text=True, check=False).stdout.strip(), "end of the jobs", timeout)
