"""Loading a causal LM and sampling completions from it with transformers `generate`.

Batches mix prompts of different lengths, so prompts are padded on the LEFT: a decoder-only model then
continues every row right after its own last prompt token (bigcode pads on the right and generates one
prompt per call, which wastes the batch). A prompt longer than the model's context minus
`max_new_tokens` is cut from the left (the start of the prompt, usually the tag and imports, is lost;
the function signature the completion continues is kept) and counted in the summary.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from codegen_cli.errors import InputDataError, UsageError
from codegen_cli.evaluate.generation.criteria import PerSequenceStop
from codegen_cli.evaluate.generation.stopping import prompt_state, rule_family

_OOM = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)  # torch < 2.5 only has the cuda one
_CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length", "n_ctx")


@dataclass
class LoadedModel:
    """A model and its tokenizer, ready to generate (eval mode, on its device)."""

    name: str
    model: Any
    tokenizer: Any
    device: torch.device
    dtype: str
    context_length: int | None

    @property
    def eos_ids(self) -> list[int]:
        ids = self.model.generation_config.eos_token_id
        if ids is None:
            ids = self.tokenizer.eos_token_id
        if ids is None:
            return []
        return [int(i) for i in (ids if isinstance(ids, (list, tuple)) else [ids])]


@dataclass
class Completion:
    text: str  # cut at the stop point
    finish_reason: str  # stop | eos | length
    num_tokens: int  # tokens generated for this row until it ended
    truncated_prompt: bool = False


def pick_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """bf16 on a GPU that has it, fp32 otherwise (fp16 matmuls on CPU are slow or unsupported)."""
    if dtype == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]


def _check_local_folder(name: str) -> bool:
    """True for an existing model folder; one-line errors for a path that cannot be one."""
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise InputDataError(
                f"{path}: not a transformers model folder (no config.json); give RUN/hf or a `codegen export` folder"
            )
        return True
    if path.exists():
        raise InputDataError(f"{path}: is a file; --model wants a model folder (RUN/hf) or a hub id")
    if name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name:
        raise UsageError(f"{name}: no such model folder")
    return False


def load_model(
    name: str, *, device: str | torch.device | None = None, dtype: str = "auto", trust_remote_code: bool = False
) -> LoadedModel:
    """Load tokenizer + AutoModelForCausalLM from a folder or hub id, with one-line errors for bad input."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Loading weights" bars would clutter stderr around our own progress
    local = _check_local_folder(name)
    where = name if local else f"{name} (hub id)"
    try:
        config = AutoConfig.from_pretrained(name, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        if local:
            raise InputDataError(f"{where}: unreadable config.json ({_first_line(exc)})") from exc
        raise UsageError(
            f"{name}: no such model folder, and not loadable as a hub id ({_first_line(exc)}); "
            "offline, pass a local folder"
        ) from exc
    torch_device = torch.device(device) if device is not None else _default_device()
    torch_dtype = pick_dtype(dtype, torch_device)
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=trust_remote_code)
    except (OSError, ValueError, TypeError) as exc:
        raise InputDataError(f"{where}: no usable tokenizer ({_first_line(exc)})") from exc
    try:
        model = AutoModelForCausalLM.from_pretrained(
            name, config=config, dtype=torch_dtype, trust_remote_code=trust_remote_code
        )
    except ValueError as exc:
        raise InputDataError(
            f"{where}: not a causal language model ({config.model_type}): {_first_line(exc)}"
        ) from exc
    except OSError as exc:
        raise InputDataError(f"{where}: weights missing or unreadable ({_first_line(exc)})") from exc
    _ensure_pad_token(tokenizer)
    model.to(torch_device).eval()
    return LoadedModel(name=name, model=model, tokenizer=tokenizer, device=torch_device,
                       dtype=str(torch_dtype).replace("torch.", ""), context_length=_context_length(config))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def process_state() -> Any:
    """Accelerate's PartialState; on a machine without CUDA it must be told so, or processes started by
    `accelerate launch`/torchrun would not join a gloo group and would each generate everything."""
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def _default_device() -> torch.device:
    return process_state().device


def _context_length(config: Any) -> int | None:
    for key in _CONTEXT_KEYS:
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def _ensure_pad_token(tokenizer: Any) -> None:
    """Give a tokenizer without a pad token one: eos (bigcode's choice), else unk, else id 0.

    Padded positions are masked out, so any id the embedding covers works; adding a new token would not
    (the model has no embedding row for it).
    """
    if tokenizer.pad_token_id is not None:
        return
    for candidate in (tokenizer.eos_token, tokenizer.unk_token):
        if candidate is not None:
            tokenizer.pad_token = candidate
            return
    tokenizer.pad_token = tokenizer.convert_ids_to_tokens(0)


def encode_prompts(lm: LoadedModel, prompts: Sequence[str], max_new_tokens: int):
    """Left-truncated, left-padded input_ids and attention_mask, plus which prompts were truncated."""
    limit = None
    if lm.context_length is not None:
        limit = lm.context_length - max_new_tokens
        if limit < 1:
            raise UsageError(
                f"--max-new-tokens {max_new_tokens} leaves no room for a prompt in {lm.name}'s context of "
                f"{lm.context_length} tokens; lower it"
            )
    encoded = lm.tokenizer(list(prompts), add_special_tokens=True)["input_ids"]
    bos = lm.tokenizer.bos_token_id
    rows, truncated = [], []
    for ids in encoded:
        cut = limit is not None and len(ids) > limit
        if cut:
            keep_bos = bos is not None and ids[0] == bos
            ids = ([bos] if keep_bos else []) + ids[len(ids) - limit + (1 if keep_bos else 0):]
        rows.append(ids)
        truncated.append(cut)
    width = max(len(ids) for ids in rows)
    pad = lm.tokenizer.pad_token_id
    input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in rows], dtype=torch.long)
    mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in rows], dtype=torch.long)
    return input_ids.to(lm.device), mask.to(lm.device), truncated


def hf_generation_config(lm: LoadedModel, *, temperature: float, top_p: float, top_k: int, max_new_tokens: int):
    """A fresh transformers GenerationConfig: only our settings (the model's own sampling defaults are ignored)."""
    from transformers import GenerationConfig as HFGenerationConfig

    sampling: dict[str, Any] = {"do_sample": False}
    if temperature > 0:
        sampling = {"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": top_k}  # 0 = off
    return HFGenerationConfig(
        max_new_tokens=max_new_tokens, num_beams=1, pad_token_id=lm.tokenizer.pad_token_id,
        eos_token_id=lm.eos_ids or None, use_cache=True, **sampling,
    )


def generate_batch(
    lm: LoadedModel,
    prompts: Sequence[str],
    languages: Sequence[str | None],
    *,
    temperature: float,
    top_p: float,
    top_k: int,
    max_new_tokens: int,
    seed: int,
    streamer: Any = None,
) -> list[Completion]:
    """One `generate` call for a batch; each row stops at its own stop point and is cut there."""
    from transformers import StoppingCriteriaList

    input_ids, mask, truncated = encode_prompts(lm, prompts, max_new_tokens)
    states = [prompt_state(p, lang) if lang and rule_family(lang) == "brace" else None
              for p, lang in zip(prompts, languages)]
    criterion = PerSequenceStop(lm.tokenizer, prompt_length=input_ids.shape[1], languages=languages,
                                states=states, eos_ids=lm.eos_ids)
    config = hf_generation_config(lm, temperature=temperature, top_p=top_p, top_k=top_k,
                                  max_new_tokens=max_new_tokens)
    torch.manual_seed(seed)  # seeds every device too; rows of one batch draw from one stream
    try:
        with torch.inference_mode():
            output = lm.model.generate(input_ids=input_ids, attention_mask=mask, generation_config=config,
                                       stopping_criteria=StoppingCriteriaList([criterion]), streamer=streamer)
    except (_OOM, RuntimeError) as exc:
        if not isinstance(exc, _OOM) and "can't allocate memory" not in str(exc):  # CPU allocator wording
            raise
        raise UsageError(
            f"out of memory generating {len(prompts)} sequences on {lm.device}; rerun with --batch-size "
            f"{max(1, len(prompts) // 2)} (samples already written are kept)"
        ) from exc
    sequences = output.sequences if hasattr(output, "sequences") else output
    return _completions(lm, criterion, sequences[:, input_ids.shape[1]:].tolist(), truncated, max_new_tokens)


def _completions(lm: LoadedModel, criterion: PerSequenceStop, generated: list[list[int]],
                 truncated: list[bool], max_new_tokens: int) -> list[Completion]:
    results = []
    for row, ids in enumerate(generated):
        steps = criterion.stop_tokens[row]
        ids = ids[:steps] if steps is not None else ids
        reason = criterion.reason[row] or "length"
        if reason == "eos":
            ids = ids[:-1]
        text = lm.tokenizer.decode(ids, skip_special_tokens=True)
        cut = criterion.cut[row]
        if cut is not None:
            text = text[:cut]
        results.append(Completion(text=text, finish_reason=reason, num_tokens=steps or len(ids),
                                  truncated_prompt=truncated[row]))
    return results


def describe(lm: LoadedModel) -> dict[str, Any]:
    """What a results header records about the model (its config, for provenance)."""
    return {"model": lm.name, "device": str(lm.device), "dtype": lm.dtype, "context_length": lm.context_length,
            "model_type": getattr(lm.model.config, "model_type", None),
            "parameters": sum(p.numel() for p in lm.model.parameters()),
            "config": json.loads(lm.model.config.to_json_string())}
