"""No tier lets a sample write the tool cache unnoticed (issue 11): bwrap and unshare mount it read-only;
the rlimits tier cannot, so a content manifest detects a change after the run and removes it at once, and
the next start checks again before anything uses the cache."""

from __future__ import annotations

import json
import shutil

import pytest

from codegen_cli.evaluate import cache_manifest
from codegen_cli.evaluate.sandbox import Limits, Sandbox, SandboxUnavailable, scratch_dir

from .conftest import HUMANEVAL_X, require_toolchains


def test_manifest_finds_changed_missing_and_new_files(tmp_path):
    cache = tmp_path / "cache"
    (cache / "cpp" / "k").mkdir(parents=True)
    (cache / "cpp" / "k" / "he.h").write_text("#include <vector>\n")
    (cache / "js").mkdir()
    (cache / "js" / "md5.js").write_text("ok")
    (cache / ".cpp.lock").write_text("")
    cache_manifest.record(cache)
    assert cache_manifest.changes(cache) == []
    (cache / "cpp" / "k" / "he.h").write_text("#define vector nothing\n")
    (cache / "js" / "md5.js").unlink()
    (cache / "planted").write_text("x")
    (cache / ".rust.lock").write_text("")  # lock files come and go: not content
    found = cache_manifest.changes(cache)
    assert found == ["changed cpp/k/he.h", "missing js/md5.js", "new planted"]
    assert cache_manifest.purge(cache, found) == ["cpp", "js", "planted"]
    assert sorted(p.name for p in cache.iterdir()) == [".cpp.lock", ".rust.lock"]


def test_unshare_tier_mounts_the_cache_read_only(tmp_path):
    try:
        sandbox = Sandbox("unshare")
    except SandboxUnavailable as exc:
        pytest.skip(f"no unshare tier here: {exc}")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "entry").write_text("trusted")
    with scratch_dir() as work:
        script = f"echo poison > {cache}/entry; touch {cache}/new; umount {cache}; touch ok"
        result = sandbox.run(["sh", "-c", script], workdir=work, limits=Limits(wall_seconds=20),
                             readonly_paths=[cache])
        assert (work / "ok").exists(), result  # the program ran, its own dir is writable
    assert (cache / "entry").read_text() == "trusted" and not (cache / "new").exists()
    assert "Read-only file system" in result.stderr


def test_rlimits_tier_detects_a_changed_cache(cli, tmp_path, monkeypatch):
    require_toolchains("python")
    cache = tmp_path / "cache"
    monkeypatch.setenv("CODEGEN_SANDBOX_TIER", "rlimits")
    samples = tmp_path / "samples.jsonl"
    write = f"    open({str(cache / 'planted')!r}, 'w').write('x')\n    return number % 1.0\n"
    samples.write_text(json.dumps({"task_id": "Python/2", "completion": write}) + "\n")

    def run(out):
        return cli("eval", "--samples", samples, "--problems", HUMANEVAL_X, "-k", "1", "-o", tmp_path / out,
                   "--cache-dir", cache, "--allow-code-execution", "--json")

    first = run("one")
    from codegen_cli.evaluate.sandbox import _probe_cached

    if _probe_cached("rlimits") is not None:  # as root with the toolchains below /root: the tier refuses
        assert first.exit_code == 2 and "rlimits" in first.stderr, first.stderr  # (it never runs as root)
        return
    assert first.exit_code == 0, first.stderr
    assert "a program changed the tool cache" in first.stderr and "new planted" in first.stderr
    summary = json.loads(first.stdout)["sandbox"]
    assert summary["tool_cache_changed"] == ["new planted"] and "manifest" in summary["tool_cache"]
    assert not (cache / "planted").exists()  # removed at once, before another run can use it
    second = run("two")  # the start check finds a clean cache (the sample plants it again: caught again)
    assert second.exit_code == 0 and "changed since an evaluator prepared it" not in second.stderr
    assert "new planted" in second.stderr and not (cache / "planted").exists()


def test_a_first_install_after_the_manifest_is_kept_but_a_new_file_in_a_known_folder_is_not(tmp_path):
    """The preflight says `npm install ... --prefix <cache>/js js-md5` when js-md5 is missing; a cache
    recorded earlier without js/ must keep that install, or the fix is purged at every start (found by a
    `-l cpp` run followed by `-l js`)."""
    cache = tmp_path / "cache"
    (cache / "cpp").mkdir(parents=True)
    (cache / "cpp" / "he.h").write_text("#include <vector>\n")
    cache_manifest.record(cache)
    (cache / "js" / "node_modules" / "js-md5").mkdir(parents=True)
    (cache / "js" / "node_modules" / "js-md5" / "md5.js").write_text("ok")
    assert cache_manifest.changes(cache, first_installs=True) == []
    assert cache_manifest.changes(cache) == ["new js/node_modules/js-md5/md5.js"]  # the end-of-run check
    (cache / "cpp" / "extra.h").write_text("#define vector nothing\n")
    assert cache_manifest.changes(cache, first_installs=True) == ["new cpp/extra.h"]


def test_a_tool_cache_under_tmp_reaches_the_js_candidate_read_only(cli, tmp_path):
    """The warm runtime gives each candidate a fresh tmpfs on /tmp; a tool cache below /tmp (a HOME or
    XDG_CACHE_HOME there: CI's cold-start check) must still be seen, read-only. Found by that check:
    JavaScript/162 failed with "Cannot find module 'js-md5'"."""
    require_toolchains("js")
    from codegen_cli.evaluate.languages.context import default_cache_dir
    from codegen_cli.evaluate.problems import load_problems

    cache = tmp_path / "cache"  # pytest's tmp_path lies below /tmp
    assert str(cache).startswith("/tmp/")
    shutil.copytree(default_cache_dir() / "js", cache / "js", symlinks=True)
    canonical = load_problems(HUMANEVAL_X, tasks=["JavaScript/162"])[0].canonical_solution
    plant = ("  require('fs').writeFileSync(process.env.NODE_PATH + '/planted.js', 'x');\n"
             "  return null;\n}\n")
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps({"task_id": "JavaScript/162", "completion": c}) + "\n"
                               for c in (canonical, plant)))
    result = cli("eval", "--samples", samples, "--problems", HUMANEVAL_X, "-k", "1", "-o", tmp_path / "out",
                 "--cache-dir", cache, "--allow-code-execution", "--json")
    assert result.exit_code == 0, result.stderr
    assert "the zygote failed" not in result.stderr  # the warm runtime itself, not the per-program fallback
    rows = sorted((json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()),
                  key=lambda row: row["sample_idx"])
    assert [row["status"] for row in rows] == ["passed", "failed"], rows
    assert not (cache / "js" / "node_modules" / "planted.js").exists()
