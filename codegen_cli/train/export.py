"""RUN/hf: a Hugging Face folder (safetensors model + tokenizer) that loads offline.

Written at the end of `codegen train` from the live model and by `codegen export CKPT -o DIR` from a
checkpoint. The tokenizer folder is copied whole, including `codegen_tokenizer.json`, so eval can read
the language-tag style the model was trained with. The folder appears by rename, complete or not at all.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from codegen_cli.errors import InputDataError, UsageError
from codegen_cli.train.checkpoint import MODEL_CONFIG_NAME, list_checkpoints, read_state
from codegen_cli.train.config import ExportConfig
from codegen_cli.train.hub import check_repo_id, push_folder

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass
class ExportSummary:
    checkpoint: str
    export_dir: str
    step: int
    parameters: int
    dtype: str
    pushed_to: str | None = None  # the hub URL of the commit, with --push-to-hub

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def copy_tokenizer(tokenizer_dir: Path, dest: Path) -> None:
    """The tokenizer files beside the model, its config in the spelling transformers 4 and 5 both read
    (a folder made by an older codegen is fixed on the way)."""
    from codegen_cli.tokenizer.train_bpe import make_config_portable

    for item in Path(tokenizer_dir).iterdir():
        if item.is_file():
            shutil.copy2(item, dest / item.name)
    if (dest / "tokenizer_config.json").is_file():
        make_config_portable(dest)


def _swap_in(tmp: Path, final: Path) -> None:
    """Replace `final` by the complete `tmp` folder (old copy removed only once the new one exists)."""
    old = final.with_name(f".{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def save_hf(model: Any, state_dict: dict[str, Any] | None, out: Path, tokenizer_dir: Path, *,
            dtype: str = "float32", card: dict[str, Any] | None = None) -> None:
    """save_pretrained + tokenizer files + model card into `out`, atomically (call on the main process only).

    `card`: the keyword arguments of `train.card.write_model_card` besides the folder (run, step,
    tokens_seen, parameters, results, license).
    """
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no tqdm bar on stderr for a one-file save
    model.config.use_cache = True
    if dtype != "float32":  # cast the module itself, so config.json records the dtype too
        model.to(DTYPES[dtype])
        if state_dict is not None:
            state_dict = {k: v.to(DTYPES[dtype]) for k, v in state_dict.items()}
    model.save_pretrained(str(tmp), state_dict=state_dict, safe_serialization=True)
    copy_tokenizer(tokenizer_dir, tmp)
    if card is not None:
        from codegen_cli.train.card import write_model_card

        write_model_card(tmp, **{"name": out.name, **card})
    _swap_in(tmp, out)


def resolve_checkpoint(path: Path) -> Path:
    """A checkpoint folder, or a run folder (then its newest checkpoint)."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path}: no such checkpoint or run folder")
    if (path / "trainer_state.json").is_file():
        return path
    found = list_checkpoints(path)
    if not found:
        raise InputDataError(f"{path}: neither a checkpoint (no trainer_state.json) nor a run with checkpoints")
    return found[-1]


def _load_weights(ckpt: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    single = ckpt / "model.safetensors"
    if single.is_file():
        return load_file(str(single))
    if (ckpt / "pytorch_model.bin").is_file():
        return torch.load(ckpt / "pytorch_model.bin", map_location="cpu", weights_only=True)
    fsdp = ckpt / "pytorch_model_fsdp_0"
    if fsdp.is_dir():
        from accelerate.utils import merge_fsdp_weights

        merged = ckpt / ".merged"
        merge_fsdp_weights(str(fsdp), str(merged), safe_serialization=True)
        return load_file(str(merged / "model.safetensors"))
    raise InputDataError(f"{ckpt}: no model weights found (model.safetensors or an FSDP shard folder); "
                         "for DeepSpeed ZeRO checkpoints run its zero_to_fp32.py first")


def _strip_prefixes(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Keys saved from a compiled or DDP-wrapped model carry `_orig_mod.` / `module.` prefixes."""
    out = {}
    for key, value in weights.items():
        for prefix in ("_orig_mod.", "module."):
            key = key.removeprefix(prefix)
        out[key] = value
    return out


def export_checkpoint(cfg: ExportConfig) -> ExportSummary:
    """Rebuild the model from a checkpoint's model_config.json + weights and write an HF folder."""
    from transformers import CONFIG_MAPPING, AutoModelForCausalLM

    if cfg.dtype not in DTYPES:
        raise UsageError(f"--dtype {cfg.dtype!r}: use one of {', '.join(DTYPES)}")
    if cfg.push_to_hub:
        check_repo_id(cfg.push_to_hub)  # before the work, not after it
    ckpt = resolve_checkpoint(cfg.checkpoint)
    state = read_state(ckpt)
    tokenizer = Path(cfg.tokenizer) if cfg.tokenizer else ckpt.parent.parent / "tokenizer"
    if not tokenizer.is_dir():
        raise UsageError(f"{tokenizer}: tokenizer folder not found; pass --tokenizer TOKENS/tokenizer")
    try:
        config_dict = json.loads((ckpt / MODEL_CONFIG_NAME).read_text(encoding="utf-8"))
        config = CONFIG_MAPPING[config_dict["model_type"]].from_dict(config_dict)
    except (OSError, ValueError, KeyError) as exc:
        raise InputDataError(f"{ckpt / MODEL_CONFIG_NAME}: missing or unreadable ({exc})") from exc
    model = AutoModelForCausalLM.from_config(config)
    missing, unexpected = model.load_state_dict(_strip_prefixes(_load_weights(ckpt)), strict=False)
    tied = {"lm_head.weight"} if config.tie_word_embeddings else set()
    if set(missing) - tied or unexpected:
        raise InputDataError(f"{ckpt}: weights do not match model_config.json "
                             f"(missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]})")
    model.tie_weights()
    parameters = sum(p.numel() for p in model.parameters())
    if cfg.results is not None and not (Path(cfg.results) / "summary.json").is_file():
        raise UsageError(f"--results {cfg.results}: no summary.json there; pass the -o folder of `codegen eval`")
    card = {"run": ckpt.parent.parent, "step": int(state["step"]), "tokens_seen": int(state.get("tokens_seen", 0)),
            "parameters": parameters, "results": cfg.results, "license": cfg.license}
    save_hf(model, None, cfg.output, tokenizer, dtype=cfg.dtype, card=card)
    pushed = push_folder(cfg.output, cfg.push_to_hub, private=cfg.private) if cfg.push_to_hub else None
    return ExportSummary(str(ckpt), str(cfg.output), int(state["step"]), parameters, cfg.dtype, pushed)
