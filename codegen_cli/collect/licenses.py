"""Licence detection from LICENSE/COPYING files, as SPDX ids (DESIGN.md §3, The Stack's approach).

A file's licence is the one found in the nearest LICENSE/COPYING/LICENCE file of its own folder or a
parent folder inside its source. Detection is by the characteristic sentences of each licence text
(plus an explicit `SPDX-License-Identifier:` line), not a full-text comparison: the sentences survive
the usual edits (copyright holder, year, reflowed lines) and cost microseconds.
"""

from __future__ import annotations

import re
from pathlib import Path

LICENSE_FILE = re.compile(r"^(?:un)?(?:licen[cs]e|copying)(?:[-_.][\w.-]*)?$", re.IGNORECASE)
_SPDX_LINE = re.compile(r"SPDX-License-Identifier:\s*([A-Za-z0-9.+-]+)")
_MAX_LICENSE_BYTES = 256 * 1024

# (SPDX id, phrases that must all appear in the whitespace-normalised, lower-cased text); first match wins.
_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("AGPL-3.0", ("gnu affero general public license", "version 3")),
    ("LGPL-3.0", ("gnu lesser general public license", "version 3")),
    ("LGPL-2.1", ("gnu lesser general public license", "version 2.1")),
    ("LGPL-2.0", ("gnu library general public license",)),
    ("GPL-3.0", ("gnu general public license", "version 3")),
    ("GPL-2.0", ("gnu general public license", "version 2")),
    ("Apache-2.0", ("apache license", "version 2.0")),
    ("MPL-2.0", ("mozilla public license", "2.0")),
    ("EPL-2.0", ("eclipse public license", "2.0")),
    ("EPL-1.0", ("eclipse public license", "1.0")),
    ("PSF-2.0", ("python software foundation license",)),
    ("BSL-1.0", ("boost software license",)),
    ("Unlicense", ("this is free and unencumbered software released into the public domain",)),
    ("CC0-1.0", ("cc0 1.0 universal",)),
    ("0BSD", (("permission to use, copy, modify, and/or distribute this software for any purpose with or "
               "without fee is hereby granted"), "the software is provided \"as is\"", "in no event")),
    ("ISC", ("permission to use, copy, modify, and/or distribute this software for any purpose",)),
    ("ISC", ("permission to use, copy, modify, and distribute this software for any purpose",)),
    ("MIT", ("permission is hereby granted, free of charge",)),
    ("BSD-3-Clause", ("redistribution and use in source and binary forms", "neither the name")),
    ("BSD-2-Clause", ("redistribution and use in source and binary forms",)),
    ("Zlib", ("this software is provided 'as-is', without any express or implied warranty",
              "altered source versions must be plainly marked")),
    ("Artistic-2.0", ("artistic license 2.0",)),
)


def classify_license_text(text: str) -> str | None:
    """SPDX id of a licence text, or None when it is not one of the licences we recognise."""
    spdx = _SPDX_LINE.search(text)
    if spdx:
        return spdx.group(1)
    normal = " ".join(text.lower().split())
    for spdx_id, phrases in _RULES:
        if all(phrase in normal for phrase in phrases):
            if spdx_id == "0BSD" and "copyright notice and this permission notice appear" in normal:
                continue  # that sentence makes it ISC, not zero-clause BSD
            return spdx_id
    return None


def detect_in_folder(folder: Path, names: list[str]) -> str | None:
    """Licence of a folder from the licence files among its entry `names` (sorted, first recognised wins)."""
    for name in names:
        if not LICENSE_FILE.match(name):
            continue
        path = folder / name
        try:
            if not path.is_file():
                continue
            with path.open("rb") as handle:
                text = handle.read(_MAX_LICENSE_BYTES).decode("utf-8", errors="replace")
        except OSError:
            continue
        found = classify_license_text(text)
        if found:
            return found
    return None


def parse_allow_list(text: str | None) -> frozenset[str] | None:
    """`--licenses MIT,Apache-2.0,none`: case-insensitive SPDX ids; `none` keeps files without a licence."""
    if not text:
        return None
    return frozenset(part.strip().lower() for part in text.split(",") if part.strip())


def allowed(license_id: str | None, allow: frozenset[str] | None) -> bool:
    if allow is None:
        return True
    return (license_id or "none").lower() in allow
