"""Secrets and PII redaction with placeholders (DESIGN.md §3, StarCoder's placeholder style).

Regexes, not detect-secrets: 10x faster (research/data-pipeline.md §6) and without the flood of false
positives its entropy plugins give on hashes. Each hit is replaced by a placeholder token and counted
per kind, so the manifest says how much was redacted. IP addresses are replaced only when public
(`ipaddress` says global): 127.0.0.1, 10.x, documentation ranges and version numbers stay.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter

# (kind, placeholder, pattern). Order matters: private keys first, since their body contains base64
# that could look like other tokens.
_PATTERNS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("private_key", "<PRIVATE_KEY>", re.compile(
        r"-----BEGIN[A-Z ]{0,40}PRIVATE KEY(?: BLOCK)?-----.*?-----END[A-Z ]{0,40}PRIVATE KEY(?: BLOCK)?-----",
        re.DOTALL)),
    ("aws_key", "<KEY>", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("github_token", "<KEY>", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b|\bgithub_pat_[A-Za-z0-9_]{60,255}\b")),
    ("slack_token", "<KEY>", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,250}\b")),
    ("google_api_key", "<KEY>", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    ("jwt", "<KEY>", re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")),
)
# Cheap substring tests that rule a pattern out before its regex runs.
_HINTS: dict[str, tuple[str, ...]] = {
    "private_key": ("PRIVATE KEY",), "aws_key": ("AKIA", "ASIA"),
    "github_token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "slack_token": ("xox",), "google_api_key": ("AIza",), "jwt": ("eyJ",),
}

# Patterns that start with a literal run fast in Python's regex engine; a leading character class or
# lookbehind makes it try every position. So addresses are found from literal-led hints (`.d.d.` for
# IPv4, `:h:h:` or `::` for IPv6) grown over the address characters, then checked with `ipaddress`. Emails are found from their `@domain.tld` part, then the local part is read backwards.
_EMAIL_DOMAIN = re.compile(r"@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}\b")
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9._%+-]{1,64}$")
_IPV4_CHARS = frozenset("0123456789.")
_IPV6_CHARS = frozenset("0123456789abcdefABCDEF:")
_IPV4_HINT = re.compile(r"\.\d{1,3}\.\d{1,3}\.")
_IPV6_HINT = re.compile(r":[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{1,4}:|::")
# Global unicast IPv6 (2000::/3) starts with a 4-digit group 2xxx or 3xxx: C++'s `std::` never does.
_IPV6_START = re.compile(r"[23][0-9A-Fa-f]{3}:[0-9A-Fa-f]{0,4}:")
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")


def _public_ip(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address not in _GLOBAL_UNICAST:
        return False  # only global unicast: `a::b` in C++ or `dead::beef` are not addresses
    return address.is_global


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _email_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _EMAIL_DOMAIN.finditer(text):
        at = match.start()
        local = _EMAIL_LOCAL.search(text, max(0, at - 64), at)
        if not local:
            continue
        start = local.start()
        while start < at and not text[start].isalnum():
            start += 1  # a local part starts with a letter or digit
        before = text[start - 1] if start else ""
        if start < at and not (before and (_is_word(before) or before in ".+-")):
            spans.append((start, match.end()))
    return spans


def _ip_spans(text: str, hint: re.Pattern[str], chars: frozenset[str], edge: str) -> list[tuple[int, int]]:
    """Public addresses around each hint hit: grow the hit over address characters, then validate."""
    spans: list[tuple[int, int]] = []
    for match in hint.finditer(text):
        start, end = match.span()
        if spans and start < spans[-1][1]:
            continue
        while start > 0 and text[start - 1] in chars:
            start -= 1
        while end < len(text) and text[end] in chars:
            end += 1
        before = text[start - 1] if start else ""
        after = text[end] if end < len(text) else ""
        if any(c and (_is_word(c) or c in edge) for c in (before, after)):
            continue
        if (not spans or start >= spans[-1][1]) and _public_ip(text[start:end]):
            spans.append((start, end))
    return spans


def _replace(text: str, spans: list[tuple[int, int]], placeholder: str) -> str:
    pieces, last = [], 0
    for start, end in spans:
        pieces += [text[last:start], placeholder]
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def redact(text: str) -> tuple[str, Counter[str]]:
    """Replace secrets and PII by placeholders; return the new text and a count per kind."""
    counts: Counter[str] = Counter()
    for kind, placeholder, pattern in _PATTERNS:
        if not any(hint in text for hint in _HINTS[kind]):
            continue
        text, n = pattern.subn(placeholder, text)
        if n:
            counts[kind] += n
    finders = (("email", "<EMAIL>", "@", lambda t: _email_spans(t)),
               ("ipv4", "<IP_ADDRESS>", _IPV4_HINT, lambda t: _ip_spans(t, _IPV4_HINT, _IPV4_CHARS, "")),
               ("ipv6", "<IP_ADDRESS>", _IPV6_HINT, lambda t: _ip_spans(t, _IPV6_START, _IPV6_CHARS, ".")))
    for kind, placeholder, hint, find in finders:
        if (hint not in text) if isinstance(hint, str) else not hint.search(text):
            continue
        spans = find(text)
        if spans:
            counts[kind] += len(spans)
            text = _replace(text, spans, placeholder)
    return text, counts
