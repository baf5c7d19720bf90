"""`--model` sources: a folder, a hub id, a .gguf file or a folder holding one (dequantized once, cached)."""

from __future__ import annotations

import shutil
import time

import pytest

from codegen_cli.errors import InputDataError, UsageError
from codegen_cli.generation.sources import gguf_cache_folder, loadable, resolve_source


def test_kinds_and_bad_paths(tmp_path, random_model):
    assert resolve_source(str(random_model)).kind == "folder"
    assert resolve_source("org/some-model").kind == "hub"
    with pytest.raises(UsageError, match="no such model"):
        resolve_source(str(tmp_path / "absent"))
    with pytest.raises(UsageError, match="no such model"):
        resolve_source("missing.gguf")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputDataError, match="not a .gguf"):
        resolve_source(str(tmp_path / "notes.txt"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputDataError, match="no config.json. and no .gguf"):
        resolve_source(str(empty))
    two = tmp_path / "two"
    two.mkdir()
    for name in ("a.gguf", "b.gguf"):
        (two / name).write_bytes(b"GGUF")
    with pytest.raises(InputDataError, match="holds 2 .gguf files"):
        resolve_source(str(two))


def test_a_broken_gguf_is_bad_input(tmp_path, model_cache):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    source = resolve_source(str(broken))
    with pytest.raises(InputDataError, match="not loadable as a GGUF"):
        loadable(source)
    # nothing half-written is left as if complete (the session's cache may hold other, real models)
    entry = gguf_cache_folder(source)
    assert not entry.exists() and not list(model_cache.glob(entry.name + "*"))


@pytest.mark.slow
def test_gguf_file_and_folder_load_and_the_second_run_is_fast(smollm2_gguf, model_cache, tmp_path):
    """The first load dequantizes and saves the model under the GGUF's hash; the second reads that folder.

    The folder form (a folder holding one .gguf) resolves to the same cache entry."""
    from codegen_cli.generation.sampler import generate_batch, load_model

    said: list[str] = []
    cached = gguf_cache_folder(resolve_source(str(smollm2_gguf)))
    shutil.rmtree(cached, ignore_errors=True)
    lm = load_model(str(smollm2_gguf), announce=said.append)
    assert any("dequantizing" in line for line in said) and cached.is_dir()
    assert lm.source["kind"] == "gguf" and lm.model.config.model_type == "llama"
    assert lm.tokenizer.chat_template  # the GGUF's chat template survives the round trip
    first = generate_batch(lm, ["def add(a, b):\n    return"], ["python"], temperature=0, top_p=1, top_k=0,
                           max_new_tokens=8, seed=1)[0]

    folder = tmp_path / "holder"
    folder.mkdir()
    (folder / smollm2_gguf.name).symlink_to(smollm2_gguf)
    said.clear()
    started = time.monotonic()
    again = load_model(str(folder), announce=said.append)
    assert not any("dequantizing" in line for line in said)
    assert time.monotonic() - started < 20  # ~0.5 s idle; the dequantize took ~30 s
    second = generate_batch(again, ["def add(a, b):\n    return"], ["python"], temperature=0, top_p=1, top_k=0,
                            max_new_tokens=8, seed=1)[0]
    assert second.text == first.text


@pytest.mark.slow
def test_gguf_fingerprint_is_its_hash(smollm2_gguf):
    from codegen_cli.generation.store import model_fingerprint

    assert model_fingerprint(str(smollm2_gguf)) == {"gguf_sha256": resolve_source(str(smollm2_gguf)).sha256}


def test_a_cut_off_gguf_names_the_file_and_what_to_do(smollm2_gguf, tmp_path, model_cache):
    """The SmolLM2 GGUF cut at 1 MiB (an interrupted download): exit 3 naming the file and saying to download
    it again (it was `error: unpack_from requires a buffer of at least ...`, no file named)."""
    cut = tmp_path / "cut.gguf"
    with smollm2_gguf.open("rb") as whole:
        cut.write_bytes(whole.read(1 << 20))
    with pytest.raises(InputDataError) as failure:
        loadable(resolve_source(str(cut)))
    assert str(failure.value).startswith(f"{cut}: not loadable as a GGUF file: it ends early")
    assert "download the file again" in str(failure.value) and failure.value.exit_code == 3
