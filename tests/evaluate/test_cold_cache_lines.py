"""The first eval on a machine builds the tool cache (a PCH, crates, ...): it says so before the wait, and
the next run, with the cache warm, does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import require_toolchains


@pytest.mark.slow
def test_cold_tool_cache_build_is_announced_once(cli, tmp_path: Path) -> None:
    require_toolchains("cpp")
    args = ["eval", "--check-references", "-l", "cpp", "--limit", "1", "--cache-dir", str(tmp_path / "cache")]
    cold = cli(*args, "-o", tmp_path / "a")
    assert cold.exit_code == 0, cold.stderr
    assert f"tool cache: building the cpp precompiled header in {tmp_path / 'cache'} (once" in cold.stderr
    warm = cli(*args, "-o", tmp_path / "b")
    assert warm.exit_code == 0, warm.stderr
    assert "tool cache: building" not in warm.stderr
