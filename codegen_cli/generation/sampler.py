"""Loading a causal LM and sampling completions from it with transformers `generate`.

Batches mix prompts of different lengths, so prompts are padded on the LEFT: a decoder-only model then
continues every row right after its own last prompt token (bigcode pads on the right and generates one
prompt per call, which wastes the batch). A prompt longer than the model's context minus
`max_new_tokens` is cut from the left (the start of the prompt, usually the tag and imports, is lost;
the function signature the completion continues is kept) and counted in the summary.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from codegen_cli.errors import InputDataError, UsageError
from codegen_cli.generation.criteria import PerSequenceStop
from codegen_cli.generation.stopping import prompt_state, rule_family

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
    source: dict[str, Any] = field(default_factory=dict)  # ModelSource.describe(): folder | hub | gguf

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
    reply: str | None = None  # chat style: the model's whole reply (text is then the fitted completion)
    notes: dict[str, Any] = field(default_factory=dict)  # extra samples-row fields (a server's refusal, ...)


def pick_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """bf16 on a GPU that has it, fp32 otherwise (fp16 matmuls on CPU are slow or unsupported)."""
    if dtype == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]


def load_model(
    name: str, *, device: str | torch.device | None = None, dtype: str = "auto", trust_remote_code: bool = False,
    announce: Callable[[str], None] | None = None,
) -> LoadedModel:
    """Load tokenizer + AutoModelForCausalLM from a folder, hub id or GGUF file (sources.py), with one-line
    errors for bad input; `announce(message)` hears about the slow phases (dequantizing, loading)."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from codegen_cli.generation.sources import loadable, resolve_source

    hf_logging.disable_progress_bar()  # "Loading weights" bars would clutter stderr around our own progress
    say = announce or (lambda message: None)
    source = resolve_source(name)
    local = source.kind != "hub"
    where = name if local else f"{name} (hub id)"
    path = loadable(source, announce=say)
    say(f"loading {name}" + (f" from {path}" if path != name else ""))
    try:
        config = AutoConfig.from_pretrained(path, trust_remote_code=trust_remote_code)
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
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError, TypeError) as exc:
        raise InputDataError(f"{where}: no usable tokenizer ({_first_line(exc)})") from exc
    try:
        model = AutoModelForCausalLM.from_pretrained(
            path, config=config, dtype=torch_dtype, trust_remote_code=trust_remote_code
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
                       dtype=str(torch_dtype).replace("torch.", ""), context_length=_context_length(config),
                       source=source.describe())


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


def encode_prompts(lm: LoadedModel, prompts: Sequence[str], max_new_tokens: int, *, add_special_tokens: bool = True,
                   heal: bool = False):
    """Left-truncated, left-padded input_ids and attention_mask, which prompts were truncated, and (with
    `heal`) the text of each prompt's backed-off last token (healing.py; "" where none was).

    A chat-templated prompt already holds its special tokens (add_special_tokens=False)."""
    from codegen_cli.generation.healing import back_off

    limit = None
    if lm.context_length is not None:
        limit = lm.context_length - max_new_tokens
        if limit < 1:
            raise UsageError(
                f"--max-new-tokens {max_new_tokens} leaves no room for a prompt in {lm.name}'s context of "
                f"{lm.context_length} tokens; lower it"
            )
    encoded = lm.tokenizer(list(prompts), add_special_tokens=add_special_tokens)["input_ids"]
    bos = lm.tokenizer.bos_token_id
    rows, truncated, healed = [], [], []
    for ids in encoded:
        ids, prefix = back_off(lm.tokenizer, ids) if heal else (ids, "")
        healed.append(prefix)
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
    return input_ids.to(lm.device), mask.to(lm.device), truncated, healed


def hf_generation_config(lm: LoadedModel, *, temperature: float, top_p: float, top_k: int, max_new_tokens: int):
    """A fresh transformers GenerationConfig: only our settings (the model's own sampling defaults are ignored)."""
    from transformers import GenerationConfig as HFGenerationConfig

    sampling: dict[str, Any] = {"do_sample": False}
    if temperature > 0:
        sampling = {"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": top_k}  # 0 = off
    return HFGenerationConfig(
        max_new_tokens=max_new_tokens, num_beams=1, pad_token_id=lm.tokenizer.pad_token_id,
        eos_token_id=lm.eos_ids or None, use_cache=True, return_dict_in_generate=True, **sampling,
    )


# Finished rows leave the batch (their KV-cache rows are dropped), so a batch does not keep computing
# for finished samples until its slowest row ends. A `generate` call ends, and its finished rows are
# dropped, once COMPACT_SHARE of its rows (at least one) have ended, and at the latest after
# COMPACT_EVERY tokens. A compaction costs one `generate` call plus a copy of the kept cache rows (~the
# cost of a third of a decode step at batch 16 for SmolLM2-135M on this CPU), while a finished row left
# in a batch of 16 costs ~6 % of every later step (docs/generation.md, profile); a quarter of the rows
# is the point where dropping them pays back within a few steps. None turns the share rule off.
COMPACT_EVERY = 32
COMPACT_SHARE: float | None = 0.25


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
    scan_texts: Sequence[str] | None = None,
    add_special_tokens: bool = True,
    heal: bool = False,
    on_step: Callable[[int], None] | None = None,
) -> list[Completion]:
    """Generate a batch; each row stops at its own stop point, is cut there, and leaves the batch.

    `generate` runs in chunks of COMPACT_EVERY tokens: after each chunk the finished rows are collected
    and the rest continue from the same KV cache with those rows removed (greedy output is unchanged by
    this, which the tests check). A streamer gets one uninterrupted call (it would end at each chunk).
    `scan_texts` (default: the prompts) is the code whose open braces each row must close.
    """
    from codegen_cli.generation.healing import HealingProcessor

    input_ids, mask, truncated, healed = encode_prompts(lm, prompts, max_new_tokens,
                                                        add_special_tokens=add_special_tokens, heal=heal)
    width = input_ids.shape[1]
    states = [prompt_state(p, lang) if lang and rule_family(lang) == "brace" else None
              for p, lang in zip(scan_texts if scan_texts is not None else prompts, languages)]
    results: list[Completion | None] = [None] * len(prompts)
    rows = list(range(len(prompts)))  # original index of each row still running
    ids, cache = input_ids, None
    torch.manual_seed(seed)  # seeds every device too; rows of one batch draw from one stream
    while rows:
        remaining = max_new_tokens - (ids.shape[1] - width)
        chunk = remaining if streamer is not None else min(COMPACT_EVERY, remaining)
        release = None if streamer is not None or COMPACT_SHARE is None \
            else max(1, math.ceil(COMPACT_SHARE * len(rows)))
        criterion = PerSequenceStop(lm.tokenizer, prompt_length=width, languages=[languages[r] for r in rows],
                                    states=[states[r] for r in rows], eos_ids=lm.eos_ids,
                                    prefixes=[healed[r] for r in rows], on_step=on_step, release_after=release)
        config = hf_generation_config(lm, temperature=temperature, top_p=top_p, top_k=top_k,
                                      max_new_tokens=chunk)
        healing = HealingProcessor(lm.tokenizer, prompt_length=width, prefixes=[healed[r] for r in rows]) \
            if any(healed[r] for r in rows) else None
        output = _generate_call(lm, ids, mask, cache=cache, config=config, criterion=criterion, streamer=streamer,
                                healing=healing)
        sequences = output.sequences
        at_limit = sequences.shape[1] - width >= max_new_tokens
        keep: list[int] = []
        for i, row in enumerate(rows):
            if criterion.done[i] or at_limit:
                results[row] = _completion(lm, criterion, i, sequences[i, width:].tolist(), truncated=truncated[row])
            else:
                keep.append(i)
        if not keep:
            break
        ids, mask, cache = _compact(output, mask, keep)
        rows = [rows[i] for i in keep]
    return results  # type: ignore[return-value]  # every row was filled before the loop ended


def _generate_call(lm: LoadedModel, ids, mask, *, cache, config, criterion: PerSequenceStop, streamer: Any,
                   healing: Any = None):
    from transformers import LogitsProcessorList, StoppingCriteriaList

    extra = {_CACHE_KWARG: cache} if cache is not None else {}
    if healing is not None:  # runs before temperature/top-p (transformers puts custom processors first)
        extra["logits_processor"] = LogitsProcessorList([healing])
    try:
        with torch.inference_mode():
            return lm.model.generate(input_ids=ids, attention_mask=mask, generation_config=config,
                                     stopping_criteria=StoppingCriteriaList([criterion]), streamer=streamer,
                                     **extra)
    except (_OOM, RuntimeError) as exc:
        if not isinstance(exc, _OOM) and "can't allocate memory" not in str(exc):  # CPU allocator wording
            raise
        raise UsageError(
            f"out of memory generating {ids.shape[0]} sequences on {lm.device}; rerun with --batch-size "
            f"{max(1, ids.shape[0] // 2)} (samples already written are kept)"
        ) from exc


def _compact(output: Any, mask: torch.Tensor, keep: list[int]):
    """input_ids, attention mask and KV cache of the rows in `keep`, to continue generating them.

    A cache that cannot drop rows (some exotic cache classes) is discarded instead: the next call then
    recomputes the kept rows' prefix, which is slower but gives the same tokens.
    """
    sequences = output.sequences
    index = torch.tensor(keep, device=sequences.device)
    grown = torch.cat([mask, mask.new_ones(mask.shape[0], sequences.shape[1] - mask.shape[1])], dim=1)
    cache = output.get("cache") if "cache" in output else output.get("past_key_values")
    try:
        cache.batch_select_indices(index)
    except (AttributeError, NotImplementedError, TypeError, ValueError):
        cache = None
    return sequences[index], grown[index], cache


def _cache_kwarg() -> str:
    """`generate`'s name for a cache to continue from: `cache` in recent transformers, else the old name."""
    from transformers.generation import utils

    return "cache" if "cache" in getattr(utils, "ALL_CACHE_NAMES", ()) else "past_key_values"


_CACHE_KWARG = _cache_kwarg()


def _completion(lm: LoadedModel, criterion: PerSequenceStop, i: int, ids: list[int], *,
                truncated: bool) -> Completion:
    """Row i of a chunk as a finished Completion: tokens up to its end, decoded and cut."""
    steps = criterion.stop_tokens[i]
    ids = ids[:steps] if steps is not None else ids
    reason = criterion.reason[i] or "length"
    if reason == "eos":
        ids = ids[:-1]
    text = lm.tokenizer.decode(ids, skip_special_tokens=True)
    text = criterion.after_prefix(i, text)
    cut = criterion.cut[i]
    if cut is not None:
        text = text[:cut]
    return Completion(text=text, finish_reason=reason, num_tokens=steps or len(ids), truncated_prompt=truncated)


def describe(lm: LoadedModel) -> dict[str, Any]:
    """What a results header records about the model (its config, for provenance)."""
    return {"model": lm.name, "source": lm.source, "device": str(lm.device), "dtype": lm.dtype, "context_length": lm.context_length,
            "model_type": getattr(lm.model.config, "model_type", None),
            "parameters": sum(p.numel() for p in lm.model.parameters()),
            "config": json.loads(lm.model.config.to_json_string())}
