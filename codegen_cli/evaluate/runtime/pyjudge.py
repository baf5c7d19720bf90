"""The trusted side of a Python verdict: the dataset's tests run here, never in the sample's process.

The judge server runs them in its own process, in a fresh namespace per program (trusted code only:
CodeGeeX's import header, the prompt's own helper functions, the test), under an alarm that ends a test
that runs past the program's time limit. Each name the test must reach in the sample (the function under
test, and any other function only the sample defines) is a `Proxy`: calling it sends the arguments to the
candidate process as plain data (`wire`) and builds the answer here from plain data. So the test's
`assert candidate(x) == y` compares two values this process made: a result object with an `__eq__` that
always says True, a replaced `builtins.abs`, an exit hook, `-O`, `os._exit(0)` or a read of anything in
the candidate's memory cannot change what the asserts see. The verdict is `passed` only when the test code
ran to its end here, called the candidate at least once, and every call returned.

Two rules close the dataset's weak tests (issue 21, docs/eval.md "Differences"): the candidate gets a copy
of the arguments and its changes stay there (before, they were mirrored into the test's objects, so
zeroing HumanEval/32's coefficient list made `poly(xs, x) ~ 0` true for any answer); and a result holding
a NaN or an infinity fails when the problem's reference solution, called here on a copy of the same
arguments, returns a finite value (a NaN passes every `abs(a - b) > tol` check).
"""

from __future__ import annotations

import builtins
import copy
import math
import signal
import socket
import time
import traceback
from collections.abc import Callable
from typing import Any

from codegen_cli.evaluate.runtime.wire import (
    MAX_ANSWER,
    Closed,
    Expired,
    PlainDataError,
    from_wire,
    recv_frame,
    send_frame,
    to_wire,
    wait_readable,
)

ALARM_SLACK = 0.25  # seconds past the deadline before the alarm interrupts the test itself
TEST_FILE = "test.py"  # the test's filename in tracebacks: the reason names the failing test line


class CandidateFailure(Exception):
    """A call to the candidate did not give a usable answer; `status` is the verdict it implies."""

    def __init__(self, reason: str, status: str = "failed", ended: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.status, self.ended = reason, status, ended  # ended: the candidate's process is gone


class CandidateRaised(Exception):
    """The candidate's function raised; subclassed per builtin exception type (see `_raised`), so a test
    that expects e.g. a ValueError still catches it."""

    reason = ""


class JudgeError(Exception):
    """The judge cannot run this test (its own limitation, e.g. an argument that is not plain data)."""


class TestTimeout(BaseException):
    """The alarm: the test ran past the program's time limit (a BaseException, so that a test's own
    `except Exception` cannot swallow it)."""


class Channel:
    """The judge's end of the call channel, with the program's deadline and the server's waiting function
    (which drains the candidate's output while the judge waits for an answer)."""

    def __init__(self, sock: socket.socket, deadline: float, wait: Callable[[socket.socket, float], bool],
                 reference: Callable[[str, tuple, dict[str, Any]], Any] | None = None) -> None:
        self.sock, self.deadline, self.calls, self.wait = sock, deadline, 0, wait
        self.reference = reference  # (name, args, kwargs) -> the reference's result, or None
        self.hello: dict[str, Any] | None = None

    def greet(self) -> dict[str, Any]:
        """The candidate's first message: whether its program ran and which names it defines."""
        if self.hello is None:
            self.hello = self._receive("the program to start")
            if self.hello.get("op") != "hello":
                raise CandidateFailure("the candidate did not start the call protocol")
        return self.hello

    def call(self, name: str, args: tuple, kwargs: dict[str, Any]) -> Any:
        self.calls += 1
        what = f"call {self.calls} ({name})"
        try:
            message = {"seq": self.calls, "name": name, "args": to_wire(list(args)), "kwargs": to_wire(kwargs)}
        except PlainDataError as exc:
            raise JudgeError(f"the test passes {exc} to {name}; the judge sends plain data only") from None
        try:
            send_frame(self.sock, message)
        except OSError:
            raise CandidateFailure(f"the candidate's process had ended before {what}", ended=True) from None
        reply = self._receive(what)
        if reply.get("seq") != self.calls:
            raise CandidateFailure(f"the candidate answered out of turn at {what}")
        if "ok" in reply:
            try:
                result = from_wire(reply["ok"])
            except PlainDataError as exc:
                raise CandidateFailure(f"{name} returned {exc}") from None
            if self.reference is not None and _non_finite(result):
                expected = self.reference(name, args, kwargs)
                if expected is not _NO_REFERENCE and not _non_finite(expected):
                    raise CandidateFailure(f"{name} returned {_short(result)} (NaN or infinity) where the reference "
                                           "solution returns a finite value")
            return result
        if "raised" in reply:
            raise _raised(str(reply["raised"]), str(reply.get("message", ""))[:2000], name)
        raise CandidateFailure(str(reply.get("bad") or reply.get("missing") or f"a malformed answer to {what}"))

    def _receive(self, what: str) -> dict[str, Any]:
        try:
            return recv_frame(self.sock, self.deadline, limit=MAX_ANSWER, wait=self.wait)
        except Expired:
            raise CandidateFailure(f"no answer within the time limit (waiting for {what})", "timeout") from None
        except (Closed, OSError):
            raise CandidateFailure(f"the candidate's process ended while the judge waited for {what}",
                                   ended=True) from None
        except PlainDataError as exc:
            raise CandidateFailure(f"unreadable answer to {what}: {exc}") from None


class Proxy:
    """Stands for one of the candidate's functions in the test's namespace."""

    __slots__ = ("__name__", "_channel", "_name")

    def __init__(self, channel: Channel, name: str) -> None:
        self._channel, self._name, self.__name__ = channel, name, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._channel.call(self._name, args, kwargs)

    def __repr__(self) -> str:
        return f"<candidate function {self._name}>"


def _raised(kind: str, message: str, name: str) -> Exception:
    """An exception to raise in the test for the candidate's: of the builtin class of that name when there
    is one (so `except ValueError` in a test works), always a CandidateRaised carrying the reason."""
    base = getattr(builtins, kind, None)
    bases: tuple[type, ...] = (CandidateRaised,)
    if isinstance(base, type) and issubclass(base, Exception) and base is not CandidateRaised:
        bases = (base, CandidateRaised)
    try:
        error = type(f"Candidate{kind}", bases, {})(message)
    except TypeError:  # a builtin whose constructor wants more (e.g. UnicodeDecodeError)
        error = CandidateRaised(message)
    error.reason = f"{name} raised {message}" if message.startswith(kind) else f"{name} raised {kind}: {message}"
    return error


_NO_REFERENCE = object()


def _non_finite(value: Any, depth: int = 0) -> bool:
    """Whether plain data holds a float NaN or infinity (at any depth up to 50)."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if depth < 50 and isinstance(value, (list, tuple, set, frozenset)):
        return any(_non_finite(item, depth + 1) for item in value)
    if depth < 50 and isinstance(value, dict):
        return any(_non_finite(item, depth + 1) for item in value.values())
    return False


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _reference_caller(job: dict[str, Any]) -> Callable[[str, tuple, dict[str, Any]], Any] | None:
    """Calls of the problem's reference solution (trusted dataset text, built on first use, in its own
    namespace) on a deep copy of the arguments; _NO_REFERENCE when it has none for that name or raised."""
    if not job.get("reference") or not job.get("entry"):
        return None
    namespace: dict[str, Any] = {}

    def call(name: str, args: tuple, kwargs: dict[str, Any]) -> Any:
        if name != job["entry"]:
            return _NO_REFERENCE
        if not namespace:
            namespace.update({"__name__": "reference", "__builtins__": builtins})
            try:
                exec(compile(job["reference"], "reference.py", "exec"), namespace)  # noqa: S102 - dataset text
            except Exception:  # noqa: BLE001 - a reference that does not load gives no verdict change
                namespace["__failed__"] = True
        function = namespace.get(name)
        if namespace.get("__failed__") or not callable(function):
            return _NO_REFERENCE
        try:
            return function(*copy.deepcopy(args), **copy.deepcopy(kwargs))
        except Exception:  # noqa: BLE001
            return _NO_REFERENCE

    return call


def _test_line(exc: BaseException, test: str) -> str:
    """`test line N: <text>` of the innermost test frame in `exc`'s traceback, or ''."""
    line = 0
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == TEST_FILE:
            line = frame.lineno or 0
    if not line:
        return ""
    lines = test.splitlines()
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return f"test line {line}: {text[:200]}"


def run_tests(sock: socket.socket, job: dict[str, Any], deadline: float,
              wait: Callable[[socket.socket, float], bool] = wait_readable) -> dict[str, Any]:
    """Run the job's test against the candidate at the other end of `sock`; the verdict as a dict
    {"status": passed|failed|timeout|memory|sandbox_error, "reason": str, "calls": int[, "ended": bool]}."""
    channel = Channel(sock, deadline, wait, _reference_caller(job))
    test = job["test"]
    previous = signal.signal(signal.SIGALRM, _alarm)
    # a backstop for test code that loops by itself; a call that does not return expires first (better reason)
    signal.setitimer(signal.ITIMER_REAL, max(0.001, deadline - time.monotonic()) + ALARM_SLACK)
    _armed[0] = True
    try:
        try:
            reason = _run(channel, job)
        finally:
            _armed[0] = False  # from here on a late alarm is ignored
    except TestTimeout:
        return _verdict("timeout", f"the test did not finish within the time limit ({channel.calls} calls made)",
                        channel)
    except CandidateFailure as exc:
        return {**_verdict(exc.status, exc.reason, channel), "ended": exc.ended}
    except JudgeError as exc:
        return _verdict("sandbox_error", str(exc), channel)
    except CandidateRaised as exc:
        where = _test_line(exc, test)
        status = "memory" if isinstance(exc, MemoryError) else "failed"
        return _verdict(status, exc.reason + (f" ({where})" if where else ""), channel)
    except AssertionError as exc:
        detail = f": {str(exc)[:200]}" if str(exc) else ""
        return _verdict("failed", f"assertion failed at {_test_line(exc, test) or 'the test'}{detail}", channel)
    except BaseException as exc:  # noqa: BLE001 - whatever else the test raised fails the sample
        where = _test_line(exc, test)
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:300]
        return _verdict("failed", f"the test raised {text}" + (f" at {where}" if where else ""), channel)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if reason:
        return _verdict("failed", reason, channel)
    if channel.calls == 0:
        return _verdict("failed", "the tests never called the candidate", channel)
    return _verdict("passed", "", channel)


def _run(channel: Channel, job: dict[str, Any]) -> str:
    """Set up the test's namespace (trusted helpers + proxies) and run the test; '' or why it failed."""
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    exec(compile(job["trusted"], "prompt.py", "exec"), namespace)  # noqa: S102 - trusted dataset text
    hello = channel.greet()
    if hello.get("error"):
        status = "memory" if "MemoryError" in str(hello["error"]) else "failed"
        raise CandidateFailure(f"the program failed before the tests: {hello['error']}", status)
    kinds = hello.get("names") if isinstance(hello.get("names"), dict) else {}
    missing = [name for name in job["names"] if kinds.get(name) != "function"]
    if missing:
        return f"the program does not define {', '.join(missing)} (as a function)"
    for name in job["names"]:
        namespace[name] = Proxy(channel, name)
    exec(compile(job["test"], TEST_FILE, "exec"), namespace)  # noqa: S102 - trusted dataset text
    if job.get("check"):
        namespace["check"](namespace[job["check"]])
    return ""


_armed = [False]


def _alarm(_signum: int, _frame: Any) -> None:
    if _armed[0]:
        raise TestTimeout


def _verdict(status: str, reason: str, channel: Channel) -> dict[str, Any]:
    return {"status": status, "reason": reason, "calls": channel.calls}
