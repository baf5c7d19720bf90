"""Plain data between the trusted judge and the sandboxed candidate, and the frames that carry it.

The judge never runs an object the candidate made: a candidate's result crosses as JSON text and the judge
builds fresh builtin values from it (int, float, str, bool, None, list, tuple, dict, set, frozenset), so a
result cannot carry an `__eq__` that always says True, a patched builtin or any other code. JSON alone lacks
tuples, sets, dicts with non-string keys, big ints and non-finite floats, so those are one-key objects:

    {"t": [...]} tuple   {"s": [...]} set   {"f": [...]} frozenset   {"d": [[key, value], ...]} dict
    {"i": "-0x1f"} an int outside +-2**53 (hex: no 4300-digit str() limit)   {"x": "nan"|"inf"|"-inf"}

Plain JSON objects never appear otherwise, so the encoding is unambiguous. `to_wire(strict=False)` is the
candidate side: it also accepts numpy scalars and the dict subclasses of `collections` (Counter,
OrderedDict, defaultdict) and sends their plain values, which compare exactly as the originals do against
the literals in HumanEval tests. Whatever the candidate sends, `from_wire` accepts only the shapes above.

This module is standard-library only: the zygote runs it inside the sandbox, where this package is hidden.
Frames: a 4-byte big-endian length, then that many bytes of UTF-8 JSON.
"""

from __future__ import annotations

import json
import math
import os
import select
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

MAX_DEPTH = 100  # nesting levels; deeper (or a container that holds itself) is refused
MAX_FRAME = 32 << 20  # bytes of one message; a bigger result is refused, not buffered
# Bytes of one message from a candidate (its hello, an answer): the trusted judges decode these outside the
# sandbox's memory cap, and JSON text grows ~50x into objects (a 32 MB list of empty lists took the judge
# server to 1.6 GB and 10 s of CPU); HumanEval-X answers are a few KB.
MAX_ANSWER = 4 << 20
_BIG = 1 << 53  # ints beyond this go as hex (JSON readers outside Python round them to doubles)
_HEADER = struct.Struct(">I")


class PlainDataError(ValueError):
    """A value that is not plain data, or malformed wire data; the message says which."""


def _type_name(value: Any) -> str:
    kind = type(value)
    module = getattr(kind, "__module__", "") or ""
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def _lenient(value: Any) -> Any:
    """The plain value of a numpy scalar or a `collections` dict subclass, else the value unchanged."""
    kind = type(value)
    module = getattr(kind, "__module__", "") or ""
    if module == "numpy" and hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()
    if module == "collections" and isinstance(value, dict):
        return dict.copy(value)
    return value


def to_wire(value: Any, *, strict: bool = True, depth: int = 0) -> Any:
    """A JSON-ready structure for `value`; PlainDataError naming the first part that is not plain data."""
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return value if -_BIG < value < _BIG else {"i": hex(value)}
    if kind is float:
        return value if math.isfinite(value) else {"x": repr(value)}
    if depth >= MAX_DEPTH:
        raise PlainDataError(f"nested more than {MAX_DEPTH} levels deep (or a container holds itself)")
    deeper = depth + 1
    if kind is list:
        return [to_wire(v, strict=strict, depth=deeper) for v in value]
    if kind is tuple or kind is set or kind is frozenset:
        tag = "t" if kind is tuple else "s" if kind is set else "f"
        return {tag: [to_wire(v, strict=strict, depth=deeper) for v in value]}
    if kind is dict:
        return {"d": [[to_wire(k, strict=strict, depth=deeper), to_wire(v, strict=strict, depth=deeper)]
                      for k, v in value.items()]}
    if not strict:
        plain = _lenient(value)
        if plain is not value:
            return to_wire(plain, strict=True, depth=depth)
    raise PlainDataError(f"a {_type_name(value)} is not plain data")


def from_wire(data: Any, depth: int = 0) -> Any:
    """Fresh builtin values from a structure made by `json.loads` (the judge side: trusts nothing in it)."""
    kind = type(data)
    if data is None or kind is bool or kind is str or kind is int or kind is float:
        return data
    if depth >= MAX_DEPTH:
        raise PlainDataError(f"nested more than {MAX_DEPTH} levels deep")
    deeper = depth + 1
    if kind is list:
        return [from_wire(v, deeper) for v in data]
    if kind is dict and len(data) == 1:
        ((tag, body),) = data.items()
        try:
            if tag == "i" and type(body) is str:
                return int(body, 16)
            if tag == "x" and body in ("nan", "inf", "-inf"):
                return float(body)
            if tag in ("t", "s", "f") and type(body) is list:
                items = [from_wire(v, deeper) for v in body]
                return tuple(items) if tag == "t" else set(items) if tag == "s" else frozenset(items)
            if tag == "d" and type(body) is list:
                pairs = [(from_wire(p[0], deeper), from_wire(p[1], deeper)) for p in body
                         if type(p) is list and len(p) == 2]
                if len(pairs) == len(body):
                    return dict(pairs)
        except (TypeError, ValueError) as exc:  # unhashable keys or set items, a bad hex string
            raise PlainDataError(f"malformed plain data: {exc}") from None
    raise PlainDataError("malformed plain data")


def dumps(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8",
                                                                                                "surrogatepass")


def loads(frame: bytes) -> dict[str, Any]:
    """One message (a JSON object); PlainDataError when it is anything else."""
    try:
        message = json.loads(frame.decode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError) as exc:
        raise PlainDataError(f"unreadable message: {str(exc)[:200]}") from None
    if type(message) is not dict:
        raise PlainDataError("a message must be a JSON object")
    return message


def send_frame(sock: socket.socket, message: dict[str, Any], limit: int = MAX_FRAME) -> None:
    payload = dumps(message)
    if len(payload) > limit:
        raise PlainDataError(f"message of {len(payload)} bytes is over the {limit}-byte limit")
    sock.sendall(_HEADER.pack(len(payload)) + payload)


class Closed(EOFError):
    """The other end closed the channel (for a candidate: its process ended)."""


class Expired(TimeoutError):
    """The deadline passed before a whole frame arrived."""


def wait_readable(sock: socket.socket | int, deadline: float) -> bool:
    """Block until `sock` (a socket or an fd) is readable (True) or `deadline` (monotonic) passes (False)."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    wait = deadline - time.monotonic()
    return wait > 0 and bool(poller.poll(wait * 1000))


def recv_frame(sock: socket.socket, deadline: float | None = None, limit: int = MAX_FRAME,
               wait: Callable[[socket.socket, float], bool] = wait_readable) -> dict[str, Any]:
    """The next message; Closed at EOF, Expired past `deadline` (time.monotonic()), PlainDataError if the
    frame is over `limit` bytes or not a JSON object. `wait` blocks until the socket is readable (the judge
    server passes one that also drains the candidate's output meanwhile)."""
    return loads(recv_raw(sock, deadline, limit, wait))


def recv_raw(source: socket.socket | int, deadline: float | None = None, limit: int = MAX_FRAME,
             wait: Callable[[Any, float], bool] = wait_readable) -> bytes:
    """The next frame's bytes from a socket or a pipe's fd (errors as recv_frame's)."""
    (size,) = _HEADER.unpack(_recv_exact(source, _HEADER.size, deadline, wait))
    if size > limit:
        raise PlainDataError(f"a message of {size} bytes is over the {limit}-byte limit")
    return _recv_exact(source, size, deadline, wait)


def send_raw(target: socket.socket | int, payload: bytes) -> None:
    """One frame of `payload` to a socket or a pipe's fd (blocking until all is written)."""
    data = memoryview(_HEADER.pack(len(payload)) + payload)
    fd = target if isinstance(target, int) else target.fileno()
    while data:
        data = data[os.write(fd, data):]


def _recv_exact(source: socket.socket | int, size: int, deadline: float | None,
                wait: Callable[[Any, float], bool]) -> bytes:
    fd = source if isinstance(source, int) else source.fileno()
    chunks, left = [], size
    while left:
        if deadline is not None and not wait(source, deadline):
            raise Expired("no reply before the deadline")
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise Closed("the channel was closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
