"""Licence detection from LICENSE texts and the --licenses allow-list."""

from __future__ import annotations

from codegen_cli.collect.licenses import allowed, classify_license_text, parse_allow_list

MIT = """MIT License\n\nCopyright (c) 2024 Someone\n\nPermission is hereby granted, free of charge, to any person
obtaining a copy of this software ... THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND."""
APACHE = "                                 Apache License\n                           Version 2.0, January 2004\n"
BSD3 = ("Redistribution and use in source and binary forms, with or without modification, are permitted ...\n"
        "3. Neither the name of the copyright holder nor the names of its contributors may be used")
GPL3 = "GNU GENERAL PUBLIC LICENSE\n Version 3, 29 June 2007\n"


def test_known_texts():
    assert classify_license_text(MIT) == "MIT"
    assert classify_license_text(APACHE) == "Apache-2.0"
    assert classify_license_text(BSD3) == "BSD-3-Clause"
    assert classify_license_text(BSD3.split("\n")[0]) == "BSD-2-Clause"
    assert classify_license_text(GPL3) == "GPL-3.0"
    assert classify_license_text("SPDX-License-Identifier: MPL-2.0\n") == "MPL-2.0"
    assert classify_license_text("All rights reserved.") is None


def test_allow_list():
    allow = parse_allow_list("mit, Apache-2.0")
    assert allowed("MIT", allow) and allowed("Apache-2.0", allow)
    assert not allowed("GPL-3.0", allow) and not allowed(None, allow)
    assert allowed(None, parse_allow_list("MIT,none"))
    assert allowed("GPL-3.0", None)
