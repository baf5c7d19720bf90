"""`samples.jsonl`: append-only, resumable, tied to the settings that made it.

Each row carries `settings_hash`, a hash of everything that changes what a sample looks like (model
fingerprint, tag style, temperature, top-p, top-k, max-new-tokens, seed, stop-rule and prompt versions).
Not in the hash, so they can change between runs: `n` (a rerun with a larger n adds samples), the problem
selection, batch size, dtype, device and backend (they change numerics, not the distribution; they are
recorded in generation.json). For `--backend openai` the model fingerprint is the served name, the base URL
and the server's /v1/models entry, and each row records the `model` the answer named (engine.py refuses
another in the same folder). Each row also records `prompt_sha`, the hash of what the model was given for
its problem: a changed prompt makes that problem's rows stale, and only they are made again.

The file is a `JsonlStore` (codegen_cli/jsonl_store.py): a batch's rows are appended with ONE write under an
exclusive lock, then fsynced, so a kill -9 leaves at most a torn last line, which the next run drops. Rows
are keyed by (task_id, sample_idx): a resumed run skips keys already present, and a duplicate key (should
never happen) keeps its first row.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from codegen_cli.atomic import atomic_write_json, sha256_json
from codegen_cli.errors import MismatchError
from codegen_cli.jsonl_store import JsonlStore, Key, Row
from codegen_cli.output import warn

SAMPLES_FILE = "samples.jsonl"
SETTINGS_FILE = "generation.json"
PROMPT_FORMAT_VERSION = 1  # bump when prompts.py changes what the model sees
_EDGE_BYTES = 1 << 20  # bytes read from each end of a weights file for its fingerprint



def model_fingerprint(model: str) -> dict[str, Any]:
    """What identifies a model cheaply: its config, tokenizer and the ends of its weight files.

    Hashing a multi-GB checkpoint on every run would cost minutes; its size plus the first and last MiB
    changes whenever the model is retrained or re-exported. A hub id is identified by its name, a GGUF file
    by its sha256 (which also names its dequantized copy in the model cache).
    """
    from codegen_cli.generation.sources import resolve_source

    source = resolve_source(model)
    if source.kind == "gguf":
        return {"gguf_sha256": source.sha256}
    if source.kind == "hub":
        return {"hub_id": model}
    folder = Path(model).expanduser()
    files: dict[str, str] = {}
    for path in sorted(folder.iterdir()):
        if path.name in ("config.json", "tokenizer.json", "tokenizer_config.json", "codegen_tokenizer.json"):
            files[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.suffix in (".safetensors", ".bin", ".pt") and path.is_file():
            files[path.name] = _edge_hash(path)
    return {"files": files}


def _edge_hash(path: Path) -> str:
    digest = hashlib.sha256(str(path.stat().st_size).encode())
    with path.open("rb") as handle:
        digest.update(handle.read(_EDGE_BYTES))
        handle.seek(max(0, path.stat().st_size - _EDGE_BYTES))
        digest.update(handle.read(_EDGE_BYTES))
    return digest.hexdigest()


def settings_hash(settings: dict[str, Any]) -> str:
    return sha256_json(settings)[:16]


class SampleStore(JsonlStore):
    """The samples file of one output folder: a JsonlStore whose rows carry the settings hash."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        super().__init__(self.folder / SAMPLES_FILE, what="sample row")

    def read(self, *, bad_rows: str = "raise", hint: str = "fix or move the file, or pass --force") -> list[Row]:
        return super().read(bad_rows=bad_rows, hint=hint)

    def check(self, expected_hash: str, *, force: bool, discard: bool = True) -> dict[Key, Row]:
        """Rows already made with these settings, keyed; other settings refuse (exit 4) unless force.

        With force, rows of other settings are moved aside when `discard` (the main process), else only
        ignored, so every process of a multi-process run decides the same way without waiting on another.
        """
        rows = self.read()
        other = {row.get("settings_hash") for row in rows} - {expected_hash}
        if other and not force:
            raise MismatchError(
                f"{self.path} holds samples made with other generation settings (settings_hash "
                f"{min(map(str, other))} != {expected_hash}); use another -o folder, or --force to discard them"
            )
        if other and not discard:
            return {}
        if other:
            backup = self.path.with_name(SAMPLES_FILE + ".old")
            os.replace(self.path, backup)
            warn(f"--force: moved {len(rows)} samples made with other settings to {backup}")
            return {}
        done = self.keyed(rows)
        if len(done) < len(rows):
            warn(f"{self.path}: {len(rows) - len(done)} duplicate (task_id, sample_idx) rows; the first is used")
        return done

    def write_settings(self, record: dict[str, Any]) -> None:
        atomic_write_json(self.folder / SETTINGS_FILE, record)
