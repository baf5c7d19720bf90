"""What is kept of a program's output: a head and a tail of each stream, and every evidence line.

A program may print megabytes (a debug line per loop iteration) and the harness's proof that the tests ran
comes last, so the whole stream is scanned for evidence lines (lines that start with the run's secret), while
only `head` + `tail` bytes are kept for the result row. Memory stays bounded whatever the program prints.
"""

from __future__ import annotations

MAX_EVIDENCE_LINE = 512  # bytes; an evidence line is the secret plus a test name
MAX_EVIDENCE_LINES = 10_000


class StreamKeeper:
    """Feed it chunks; it keeps the first `head` and last `tail` bytes, counts the rest, and collects the
    lines that start with `prefix` (the evidence), wherever they fall in the stream."""

    def __init__(self, head: int, tail: int, prefix: bytes | tuple[bytes, ...] | None = None) -> None:
        self.head_cap, self.tail_cap = head, tail
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.prefixes = (prefix,) if isinstance(prefix, bytes) else tuple(prefix or ())
        self.prefix = bool(self.prefixes) or None
        self.evidence: list[bytes] = []
        self._line = bytearray()  # the start of the current line (only while it may be evidence)
        self._at_line_start = True
        self._line_live = True  # the current line may still be evidence

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.total += len(chunk)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            rest = chunk[room:]
        else:
            rest = chunk
        if rest and self.tail_cap:
            self.tail += rest
            if len(self.tail) > self.tail_cap:
                del self.tail[: len(self.tail) - self.tail_cap]
        if self.prefix is not None:
            self._scan(chunk)

    def _scan(self, chunk: bytes) -> None:
        start = 0
        while start < len(chunk):
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            if self._line_live:
                self._line += piece[: MAX_EVIDENCE_LINE + 1 - len(self._line)]
                start_bytes = bytes(self._line)
                if not any(p.startswith(start_bytes[: len(p)]) for p in self.prefixes):
                    self._line_live = False
            if end < 0:
                return
            if (self._line_live and len(self._line) <= MAX_EVIDENCE_LINE
                    and any(self._line.startswith(p) for p in self.prefixes)):
                if len(self.evidence) < MAX_EVIDENCE_LINES:
                    self.evidence.append(bytes(self._line).rstrip(b"\r"))
            self._line.clear()
            self._line_live = True
            start = end + 1

    @property
    def dropped(self) -> int:
        return self.total - len(self.head) - len(self.tail)

    @property
    def truncated(self) -> bool:
        return self.dropped > 0

    def text(self) -> bytes:
        """Head and tail, with a note of how many bytes between them were dropped."""
        if not self.tail:
            return bytes(self.head)
        if self.dropped <= 0:
            return bytes(self.head + self.tail)
        return bytes(self.head) + f"\n[... {self.dropped} bytes dropped ...]\n".encode() + bytes(self.tail)
