"""`codegen train --init-from MODEL`: start from a pretrained causal LM instead of random weights.

MODEL is any source `codegen eval --model` takes (`codegen_cli.generation.sources`): a transformers folder
(RUN/hf of an earlier run continues it on new data), a hub id (its local cache offline), or a `.gguf` file
(dequantized to float32 once, then loaded from the model cache). Any causal LM that
`AutoModelForCausalLM` loads will do: its config, not a preset, gives the architecture.

Checked before anything is written to RUN (`prepare_init`):

- the tokens folder must be made with MODEL's tokenizer: the vocabulary hash of MODEL's tokenizer must
  equal that of TOKENS/tokenizer, or that of the tokenizer it was made from before tag tokens were added
  (`codegen tokenize --tokenizer MODEL --tag-style token`); anything else is a MismatchError (exit 4)
  naming both tokenizers;
- MODEL's embedding matrix must cover its own tokenizer (`check_model_vocabulary`, exit 4).

When TOKENS holds more ids than the model's embedding has rows (the tags added as tokens), the embedding
(and an untied output layer) grows to that size and every new row is the mean of the old rows
(`grow_embeddings`): with tied weights a new token's logit is then the average logit, so the model's next
token distribution barely changes until training moves the row (Hewitt 2021, "Initializing New Word
Embeddings for Pretrained Language Models"). transformers' own `mean_resizing` samples from a normal
around that mean instead; the plain mean is deterministic and is what the docs promise.

A warm start is not a resume: the step counter, the optimizer state and the LR schedule start fresh
(the warm-up default is longer for a warm start, see `OptimConfig.warmup_steps`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from codegen_cli.atomic import sha256_json
from codegen_cli.errors import InputDataError, MismatchError

BASE_MODEL_FILE = "base_model.json"  # in RUN: what the run started from (the model card reads it)


@dataclass
class InitPlan:
    """What `--init-from` resolved to, fixed before the first write."""

    spec: str
    folder: str  # what from_pretrained reads (a folder, the GGUF's cached folder, or the hub id)
    source: dict[str, Any]  # ModelSource.describe()
    vocab_rows: int  # rows the embedding must have for these tokens (>= the model's own)
    added_tokens: list[str] = field(default_factory=list)  # tag tokens whose rows are new
    fingerprint: dict[str, Any] = field(default_factory=dict)  # part of the run's config hash
    name: str = ""  # the base model's name, for the model card
    license: str | None = None  # the base model's licence, when its files say

    def record(self) -> dict[str, Any]:
        """RUN/base_model.json."""
        return {"spec": self.spec, "name": self.name, "license": self.license, "source": self.source,
                "vocab_rows": self.vocab_rows, "added_tokens": self.added_tokens, "fingerprint": self.fingerprint}


def _tokenizer_of(spec: str, folder: str) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(folder)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise InputDataError(f"--init-from {spec}: no tokenizer beside the weights ({first}); the tokens must be "
                             "made with the model's own tokenizer, so give a folder that has it") from exc


def _describe_tokens(meta: dict[str, Any], tokens: Path) -> str:
    base = meta.get("tokenizer_base") or {}
    if base.get("spec"):
        return f"the tokenizer of {base['spec']}"
    return f"the tokenizer in {tokens / str(meta.get('tokenizer_dir', 'tokenizer'))} (trained by codegen tokenize)"


def _fingerprint(source: Any, folder: str) -> dict[str, Any]:
    """Cheap identity of the starting weights: a GGUF's sha256; a folder's config and weight file sizes."""
    if source.kind == "gguf":
        return {"gguf_sha256": source.sha256}
    path = Path(folder)
    if not path.is_dir():
        return {"hub_id": source.spec}
    files = sorted((p.name, p.stat().st_size) for p in path.iterdir()
                   if p.suffix in (".safetensors", ".bin", ".pt") and p.is_file())
    config = (path / "config.json").read_text(encoding="utf-8") if (path / "config.json").is_file() else ""
    return {"config_sha256": sha256_json(config), "weights": files}


def base_model_facts(source: Any, folder: str) -> tuple[str, str | None]:
    """(name, licence) of the base model from its own files: GGUF metadata (general.name, general.license),
    or a folder's README.md model card header; (spec, None) when they say nothing."""
    if source.kind == "gguf":
        try:
            from gguf import GGUFReader

            reader = GGUFReader(str(source.path))
            fields = {key: reader.fields[key].contents() for key in ("general.name", "general.organization",
                                                                     "general.license") if key in reader.fields}
        except Exception:  # noqa: BLE001 - metadata is a nicety; the weights already loaded
            fields = {}
        org, name = fields.get("general.organization"), fields.get("general.name")
        label = f"{org}/{name}" if org and name else (name or source.path.name)
        return f"{label} ({source.path.name})", fields.get("general.license")
    card = Path(folder) / "README.md"
    if card.is_file():
        try:
            from huggingface_hub import ModelCard

            data = ModelCard.load(str(card)).data
            return source.spec, getattr(data, "license", None)
        except Exception:  # noqa: BLE001 - an unreadable card only loses the licence line
            return source.spec, None
    return source.spec, None


def prepare_init(spec: str, info: Any, *, announce: Any = None) -> InitPlan:
    """Resolve MODEL, check its tokenizer against the tokens folder; nothing is written to RUN here."""
    from codegen_cli.generation.sources import loadable, resolve_source
    from codegen_cli.tokenizer.pretrained import vocab_sha256
    from codegen_cli.train.data import tokens_vocab_sha256

    source = resolve_source(spec)
    folder = loadable(source, announce=announce)  # a GGUF transformers cannot read fails here, one line
    model_tok = _tokenizer_of(spec, folder)
    model_sha = vocab_sha256(model_tok)
    meta = info.meta
    base = meta.get("tokenizer_base") or {}
    added: list[str] = []
    if model_sha == tokens_vocab_sha256(info):
        rows = info.vocab_size  # the same tokenizer (tags included: an earlier run of this recipe)
    elif base.get("vocab_sha256") == model_sha:
        rows = info.vocab_size
        added = list(base.get("added_tokens") or [])
    else:
        raise MismatchError(
            f"{info.folder} was tokenized with {_describe_tokens(meta, info.folder)}, not with the tokenizer of "
            f"{spec} (vocabulary {len(model_tok):,} ids, sha256 {model_sha[:12]}); rerun `codegen tokenize "
            f"CORPUS -o TOKENS --tokenizer {spec}`")
    check_model_vocabulary(spec, folder, len(model_tok))
    name, license = base_model_facts(source, folder)
    return InitPlan(spec, folder, source.describe(), rows, added, _fingerprint(source, folder), name, license)


def check_model_vocabulary(spec: str, folder: str, tokenizer_size: int) -> int:
    """The embedding (config.vocab_size rows; read from config.json, no weights loaded) must hold a row for
    every id of the model's own tokenizer; returns its row count."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(folder)
    except (OSError, ValueError, KeyError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise InputDataError(f"--init-from {spec}: no model config transformers can read ({first})") from exc
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    rows = int(getattr(text, "vocab_size", 0) or 0)
    if rows < tokenizer_size:
        raise MismatchError(f"--init-from {spec}: its embedding has {rows:,} rows but its tokenizer has "
                            f"{tokenizer_size:,} ids; the weights and the tokenizer do not belong together")
    return rows


def grow_embeddings(model: torch.nn.Module, rows: int) -> int:
    """Resize the input (and an untied output) embedding to `rows`; new rows = mean of the old ones.
    Returns how many rows were added (0 when the model already has enough)."""
    old = int(model.get_input_embeddings().weight.shape[0])
    if rows <= old:
        return 0
    model.resize_token_embeddings(rows, mean_resizing=False)
    with torch.no_grad():
        emb = model.get_input_embeddings().weight
        emb[old:] = emb[:old].mean(dim=0)
        head = model.get_output_embeddings()
        if head is not None and head.weight is not emb:
            head.weight[old:] = head.weight[:old].mean(dim=0)
            if getattr(head, "bias", None) is not None:
                head.bias[old:] = head.bias[:old].mean()
    return rows - old


def load_init_model(plan: InitPlan) -> torch.nn.Module:
    """The pretrained model in float32 (Accelerate's mixed precision casts per op), sized for the tokens."""
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        model = AutoModelForCausalLM.from_pretrained(plan.folder, dtype=torch.float32, attn_implementation="sdpa")
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise InputDataError(f"--init-from {plan.spec}: not loadable as a causal LM ({first})") from exc
    grow_embeddings(model, plan.vocab_rows)
    model.config.use_cache = False  # no KV cache while training; export turns it back on
    return model


def read_base_record(run: Path) -> dict[str, Any]:
    """RUN/base_model.json, or {} for a run trained from scratch."""
    try:
        return json.loads((Path(run) / BASE_MODEL_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
