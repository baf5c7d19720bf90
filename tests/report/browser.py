"""Open a page in a real headless Chromium (Debian's `chromium`): console messages, the DOM after scripts
ran, and a screenshot. A fresh profile per call; background networking and component updates off."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from tests.conftest import toolchain_missing

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--enable-logging=stderr", "--v=0"]
CONSOLE = re.compile(r":INFO:CONSOLE[^\]]*\] (.*)")


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    toolchain_missing("no headless browser for the report tests; install it with `apt-get install chromium`")


def open_page(page: Path, profile: Path, *, screenshot: Path | None = None,
              size: str = "1200,2400") -> tuple[str, list[str]]:
    """(the DOM after the page's scripts ran, the console messages). With `screenshot`, also a PNG."""
    base = [chromium(), *FLAGS, f"--user-data-dir={profile}", f"--window-size={size}"]
    dom = subprocess.run([*base, "--dump-dom", page.resolve().as_uri()], capture_output=True, text=True,
                         timeout=300, check=True)
    messages = [m.group(1) for m in CONSOLE.finditer(dom.stderr)]
    if screenshot is not None:
        subprocess.run([*base, f"--screenshot={screenshot}", page.resolve().as_uri()], capture_output=True,
                       timeout=300, check=True)
    return dom.stdout, messages
