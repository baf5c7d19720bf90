"""What `--model` names, and the folder transformers loads it from.

Four kinds of source:

- `folder`: a transformers model folder (`config.json` + weights + tokenizer), e.g. RUN/hf;
- `hub`: a hub id (`org/name`), loaded by transformers (offline: only from its local cache);
- `gguf`: a `.gguf` file, or a folder holding exactly one `.gguf` and no `config.json`. transformers reads
  GGUF through the `gguf` package and dequantizes every tensor to float32 (`from_pretrained(folder,
  gguf_file=NAME)`), which costs ~30 s for a 135M Q4 file on this 2-core box against ~0.3 s for loading a
  safetensors folder. So the dequantized model is saved once, as an ordinary transformers folder, in the
  model cache (`CODEGEN_MODEL_CACHE`, else `~/.cache/codegen/models`) under `gguf-<sha256 of the file>`:
  every later run loads that folder. The values are kept in float32 (a Q4 block's scale times its 4-bit
  value is not exact in bfloat16), so the cache holds 4 bytes per parameter.

The sha256 of a GGUF file is also its fingerprint in the samples' settings hash.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen_cli.errors import InputDataError, UsageError

CACHE_ENV = "CODEGEN_MODEL_CACHE"
_DONE = "codegen_gguf.json"  # written last into a cache folder: its presence means the folder is complete


@dataclass(frozen=True)
class ModelSource:
    spec: str  # what the user gave
    kind: str  # folder | hub | gguf
    path: Path | None = None  # the folder (folder), or the .gguf file (gguf)
    sha256: str | None = None  # gguf only

    def describe(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "spec": self.spec}
        if self.kind == "gguf":
            data.update(gguf_file=self.path.name if self.path else None, gguf_sha256=self.sha256)
        return data


def model_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "codegen" / "models").expanduser()


def resolve_source(spec: str) -> ModelSource:
    """Which kind of source `spec` is; one-line errors for paths that cannot be a model (no loading here)."""
    path = Path(spec).expanduser()
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise InputDataError(f"{path}: is a file but not a .gguf; --model wants a model folder (RUN/hf), "
                                 "a .gguf file or a hub id")
        return _gguf(spec, path)
    if path.is_dir():
        if (path / "config.json").is_file():
            return ModelSource(spec, "folder", path)
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) == 1:
            return _gguf(spec, ggufs[0])
        if len(ggufs) > 1:
            names = ", ".join(p.name for p in ggufs[:5])
            raise InputDataError(f"{path}: holds {len(ggufs)} .gguf files ({names}); pass one of them as --model")
        raise InputDataError(f"{path}: not a transformers model folder (no config.json) and no .gguf file in it; "
                             "give RUN/hf, a `codegen export` folder or a .gguf file")
    if spec.startswith((".", "/", "~")) or spec.count("/") > 1 or "\\" in spec or spec.lower().endswith(".gguf"):
        raise UsageError(f"{spec}: no such model folder or file")
    return ModelSource(spec, "hub")


def _gguf(spec: str, path: Path) -> ModelSource:
    stat = path.stat()
    return ModelSource(spec, "gguf", path, _sha256(str(path.resolve()), stat.st_size, stat.st_mtime_ns))


@functools.lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """sha256 of a file, computed once per process for the same (path, size, mtime): ~0.3 s per 100 MB."""
    from codegen_cli.atomic import sha256_file

    del size, mtime_ns  # part of the cache key only
    return sha256_file(path)


def gguf_cache_folder(source: ModelSource) -> Path:
    return model_cache_dir() / f"gguf-{source.sha256[:16]}"


def loadable(source: ModelSource, *, announce=None) -> str:
    """What `from_pretrained` reads for `source`: the folder, the hub id, or the GGUF's cached folder
    (dequantized and saved on the first use; `announce(message)` is told about each slow phase)."""
    if source.kind != "gguf":
        return str(source.path) if source.path is not None else source.spec
    folder = gguf_cache_folder(source)
    if (folder / _DONE).is_file():
        return str(folder)
    say = announce or (lambda message: None)
    size_mb = source.path.stat().st_size / 2**20
    say(f"dequantizing {source.path.name} ({size_mb:.0f} MB) to float32, once: later runs load {folder}")
    _dequantize_into(source, folder)
    say(f"dequantized {source.path.name} into {folder}")
    return str(folder)


def check_gguf(path: Path) -> None:
    """Refuse (exit 3, naming the file) a GGUF whose header, metadata or tensor data do not fit in the file:
    an interrupted download ends anywhere, and the readers below would fail with a bare struct or numpy
    error. Called after a load failed, to explain it: parsing the metadata of a 49k-token vocabulary takes
    seconds."""
    from gguf import GGUFReader

    size = path.stat().st_size
    advice = "the download was probably cut off; download the file again"
    try:
        reader = GGUFReader(str(path))
        end = max((int(t.data_offset) + int(t.n_bytes) for t in reader.tensors), default=0)
    except Exception as exc:
        text = str(exc).strip().splitlines()
        raise InputDataError(f"{path}: not loadable as a GGUF file: it ends early or is damaged ({size:,} bytes; "
                             f"{text[0] if text else type(exc).__name__}); {advice}") from exc
    if not reader.tensors:
        raise InputDataError(f"{path}: not loadable as a GGUF file: no tensors in its {size:,} bytes; {advice}")
    if end > size:
        raise InputDataError(f"{path}: not loadable as a GGUF file: its tensors need {end:,} bytes but it has "
                             f"{size:,}; {advice}")


def _dequantize_into(source: ModelSource, folder: Path) -> None:
    """Load the GGUF through transformers, then save a plain folder; renamed into place when complete."""
    import importlib.util

    if importlib.util.find_spec("gguf") is None:
        raise UsageError(f"{source.path}: reading GGUF files needs the gguf package (pip install gguf)")
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our own lines announce the phase; tqdm bars would flood a log
    where, name = str(source.path.parent), source.path.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(where, gguf_file=name)
        model = AutoModelForCausalLM.from_pretrained(where, gguf_file=name)
    except (ValueError, KeyError, OSError, RuntimeError, IndexError, struct.error) as exc:
        check_gguf(source.path)  # a cut-off file: say so (only now: the check costs seconds on a big file)
        text = str(exc).strip().splitlines()
        raise InputDataError(f"{source.path}: not loadable as a GGUF causal LM "
                             f"({text[0] if text else type(exc).__name__})") from exc
    # transformers marks a GGUF-loaded model as quantized and refuses to save it, although its weights are
    # plain float tensors by now; dropping the marker saves it as the ordinary model it has become.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    model.save_pretrained(scratch)
    tokenizer.save_pretrained(scratch)
    (scratch / _DONE).write_text(json.dumps({"gguf_file": name, "sha256": source.sha256}) + "\n")
    if folder.is_dir() and not (folder / _DONE).is_file():
        shutil.rmtree(folder, ignore_errors=True)  # left by a version that wrote in place
    try:
        os.rename(scratch, folder)
    except OSError:  # another process finished first: its folder is the same model
        shutil.rmtree(scratch, ignore_errors=True)
        if not (folder / _DONE).is_file():
            raise
