"""The zygote: a warm Python inside the sandbox that starts one isolated process per program.

It runs trusted code only. Started once per eval worker inside bwrap (the same hiding as a per-program run),
it imports what programs need (CodeGeeX's standard-library header, numpy when asked) and then waits for
`spawn` requests from its judge server. Per program it forks twice:

    zygote (root in the sandbox, or the user in bwrap's user namespace; keeps CAP_SYS_ADMIN/SETUID/SETGID)
      └─ keeper: joins the program's cgroups, unshares mount+PID+IPC+UTS namespaces, mounts private
         tmpfs on /tmp, /var/tmp and /dev/shm, forks, waits, exits with the candidate's status
           └─ candidate: PID 1 of its own PID namespace with a fresh /proc; rlimits; every capability
              dropped (bounding set too), no_new_privs; an unprivileged uid when the zygote is root;
              then it runs the program (Python: in this process; JavaScript: exec node)

So each program has its own process tree, scratch files, IPC objects and view of /proc, and nothing it
leaves survives it: its namespaces and tmpfs die with it. Killing the keeper kills the candidate (parent
death signal), and the candidate's death kills every process in its PID namespace.

The candidate serves calls from the judge over a socket (`wire` frames, plain data only); the judge runs
the tests in another process, so nothing the candidate does in its own process decides the verdict.

Standard library only: this file runs inside the sandbox, where this package is hidden; `runtime.client`
passes `wire.py` + this file to `python -I -c`. `python -I -c SOURCE single CONFIG` runs one candidate in
the current process (the per-program sandbox fallback).
"""

import builtins
import ctypes
import gc
import json
import os
import selectors
import signal
import socket
import sys
import traceback
import types

if __name__ != "__main__":  # imported from the package; as a `-c` program wire.py is prepended instead
    from codegen_cli.evaluate.runtime.wire import (  # noqa: F401
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
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_SET_NO_NEW_PRIVS = 1, 24, 28, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
SECBIT_NOROOT_AND_LOCKED = 0x3  # uid 0 gains no capabilities on exec (the user-namespace case)
CHAN_FD, SOURCE_FD = 3, 4  # where a candidate finds its call channel and its source
SETUP_FAILED = 125  # the candidate's exit status when its sandbox could not be built
WORKDIR = "/tmp"  # the candidate's cwd, HOME and TMPDIR: its own tmpfs

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
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
        before = to_wire(args)
    except PlainDataError as exc:
        return {"seq": seq, "bad": f"bad call: {exc}"}
    try:
        result = function(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - SystemExit from the function is a failure too
        return {"seq": seq, "raised": type(exc).__name__, "message": _describe(exc)}
    try:
        reply = {"seq": seq, "ok": to_wire(result, strict=False)}
        after = to_wire(args, strict=False)
    except PlainDataError as exc:
        return {"seq": seq, "bad": f"the result of {message.get('name')}: {exc}"}
    except RecursionError:
        return {"seq": seq, "bad": f"{message.get('name')} returned data nested too deeply"}
    if after != before:  # the function changed its arguments in place: the judge mirrors that
        reply["args"] = after
    return reply


def serve_python(chan: socket.socket, source: str, names: list[str]) -> None:
    """Run `source` as __main__, report which of `names` it defines, then answer calls until EOF."""
    module = types.ModuleType("__main__")
    module.__builtins__ = builtins
    module.__file__ = os.path.join(os.getcwd(), "main.py")
    sys.modules["__main__"] = module
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
        send_frame(chan, hello)
        while True:
            try:
                message = recv_frame(chan)
            except (Closed, PlainDataError):
                break
            reply = _answer(namespace, message)
            _flush()
            send_frame(chan, reply)
    except OSError:
        pass
    _flush()
    os._exit(0)


# ----------------------------------------------------------------------------------------------------------
# Building the candidate's sandbox (in the keeper and the candidate, both forks of the zygote).

def _tmpfs_options(size: int, uid: int | None) -> str:
    owner = f",uid={uid},gid={uid}" if uid is not None else ""
    return f"size={size},mode=0700{owner}"


def _keeper_setup(spec: dict, cgroup_fds: list[int]) -> None:
    """Join the program's cgroups, then give it private namespaces and scratch tmpfs mounts."""
    for fd in cgroup_fds:
        os.write(fd, b"0")  # "0" = this process; its children inherit the cgroup
        os.close(fd)
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    options = _tmpfs_options(spec["tmpfs_bytes"], spec.get("uid"))
    for target in ("/tmp", "/var/tmp", "/dev/shm"):  # /tmp is also the program's cwd and HOME
        if os.path.isdir(target):
            _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, options)


def _limit(spec: dict) -> None:
    import resource

    limits = spec["limits"]
    cpu = max(1, int(limits["cpu_seconds"]))
    pairs = [(resource.RLIMIT_CPU, (cpu, cpu + 1)), (resource.RLIMIT_FSIZE, (limits["file_size_bytes"],) * 2),
             (resource.RLIMIT_NOFILE, (limits["open_files"],) * 2), (resource.RLIMIT_CORE, (0, 0))]
    if limits.get("memory_bytes"):
        pairs.append((resource.RLIMIT_AS, (limits["memory_bytes"],) * 2))
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
    for cap in range(last + 1):
        _prctl(PR_CAPBSET_DROP, cap)
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)  # clears the permitted and effective sets
    else:  # user namespace: stay its uid 0, with empty capability sets
        header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
        _check(_libc.capset(header, (ctypes.c_uint32 * 6)()), "capset")
    _check(_prctl(PR_SET_NO_NEW_PRIVS, 1), "no_new_privs")


def _candidate_setup(spec: dict, src: int, chan: int, out: int, err: int) -> None:
    """In the candidate (PID 1 of its namespace): /proc, its fds, cwd, environment, limits, privileges."""
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    null = os.open("/dev/null", os.O_RDWR)
    for fd, target in ((null, 0), (out, 1), (err, 2)):
        os.dup2(fd, target)
    high = [os.dup(fd) for fd in (chan, src)]  # out of the way of 3 and 4 before placing them
    os.dup2(high[0], CHAN_FD)
    os.dup2(high[1], SOURCE_FD)
    os.closerange(SOURCE_FD + 1, 1 << 20)
    os.environ.clear()
    os.environ.update({**spec["env"], "HOME": WORKDIR, "TMPDIR": WORKDIR})
    _limit(spec)
    drop_privileges(spec.get("uid"))
    os.chdir(WORKDIR)  # after the switch: the dir is the program uid's, mode 0700


def _read_source(fd: int) -> str:
    with os.fdopen(fd, "rb") as handle:
        return handle.read().decode("utf-8", "surrogateescape")


def _candidate(spec: dict, fds: list[int], node: dict) -> None:
    src, chan, out, err = fds[:4]
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        _candidate_setup(spec, src, chan, out, err)
    except BaseException as exc:  # noqa: BLE001
        os.write(2, f"\n[runtime] the candidate's sandbox could not be built: {_describe(exc)}\n".encode())
        os._exit(SETUP_FAILED)
    if spec["kind"] == "node":
        os.execve(node["path"], [node["path"], *node["args"], "-e", node["runner"], "main.js"], dict(os.environ))
    serve_python(socket.socket(fileno=CHAN_FD), _read_source(SOURCE_FD), spec["names"])


def _kill_quietly(pid: int, signum: int = signal.SIGKILL) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _end(pid: int) -> None:
    """The keeper's SIGTERM: kill the candidate; if that is refused, exit (its parent-death signal)."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    except OSError:
        os._exit(128 + signal.SIGTERM)


def _keeper(spec: dict, fds: list[int], node: dict) -> None:
    """The candidate's parent: builds its namespaces, forks it, and exits with its status (signal N: 128+N)."""
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        _keeper_setup(spec, fds[4:])
        pid = os.fork()
    except BaseException as exc:  # noqa: BLE001
        os.write(fds[3], f"\n[runtime] the candidate's sandbox could not be built: {_describe(exc)}\n".encode())
        os._exit(SETUP_FAILED)
    if pid == 0:
        _candidate(spec, fds, node)
        os._exit(0)
    os.closerange(3, 1 << 20)
    # SIGTERM from the zygote = end the program: kill the candidate (PID 1 of its namespace: the kernel then
    # kills and reaps every process in it before the candidate's own exit completes), so when this process
    # exits the program's whole tree is gone
    signal.signal(signal.SIGTERM, lambda *_: _end(pid))
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    os._exit(code if code >= 0 else 128 - code)


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


def serve_zygote(config: dict) -> None:
    ctrl = socket.socket(fileno=config["ctrl"])
    loaded = _preload(config.get("preload", []))
    node = config.get("node") or {}
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    gc.collect()
    gc.freeze()  # forks then share the warm heap without the collector touching (copying) its pages
    send_control(ctrl, {"op": "ready", "preloaded": loaded, "pid": os.getpid()})
    selector = selectors.DefaultSelector()
    selector.register(ctrl, selectors.EVENT_READ)
    running: dict[int, tuple[int, int]] = {}  # pidfd -> (program id, keeper pid)
    by_id: dict[int, int] = {}  # program id -> keeper pid
    while True:
        for key, _ in selector.select():
            if key.fileobj is ctrl:
                message, fds = receive_control(ctrl)
                if message is None:
                    return  # the judge server is gone: the keepers' parent-death signal ends the programs
                if message["op"] == "spawn":
                    _spawn(ctrl, selector, message, fds, node, running, by_id)
                elif message["op"] == "kill" and message["id"] in by_id:
                    _kill_quietly(by_id[message["id"]], signal.SIGTERM)  # the keeper kills its candidate
                continue
            program, pid = running.pop(key.fd)
            selector.unregister(key.fd)
            os.close(key.fd)
            by_id.pop(program, None)
            _, status, usage = os.wait4(pid, 0)
            send_control(ctrl, {"op": "exited", "id": program, "status": os.waitstatus_to_exitcode(status),
                                "cpu_seconds": usage.ru_utime + usage.ru_stime})


def _spawn(ctrl, selector, message: dict, fds: list[int], node: dict, running: dict, by_id: dict) -> None:
    try:
        pid = os.fork()
    except OSError as exc:
        for fd in fds:
            os.close(fd)
        send_control(ctrl, {"op": "exited", "id": message["id"], "status": None, "error": str(exc)})
        return
    if pid == 0:
        try:
            ctrl.close()
            _keeper(message, fds, node)
        except BaseException:  # noqa: BLE001
            traceback.print_exc()
        finally:
            os._exit(SETUP_FAILED)
    for fd in fds:
        os.close(fd)
    pidfd = os.pidfd_open(pid)
    running[pidfd] = (message["id"], pid)
    by_id[message["id"]] = pid
    selector.register(pidfd, selectors.EVENT_READ)


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
    """One candidate in this process (the per-program sandbox fallback): source on stdin, calls on a fd."""
    source = sys.stdin.buffer.read().decode("utf-8", "surrogateescape")
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    serve_python(socket.socket(fileno=config["chan"]), source, config["names"])


if __name__ == "__main__":
    if sys.argv[1:2] == ["single"]:
        serve_single(json.loads(sys.argv[2]))
    else:
        serve_zygote(json.loads(sys.argv[1]))
