"""README.md in RUN/hf and in `codegen export -o DIR`: the model card, so the folder can go to a hub as it is.

Everything on it is read from files that already exist: the folder's config.json and
codegen_tokenizer.json, the run's metrics.jsonl, config.toml and base_model.json (a run started with
`--init-from`: the base model's name and licence, which the card names with the data added), the tokens
folder's meta.json, and (when given) an eval results folder's summary.json. The YAML header is the hub's model metadata, written with
huggingface_hub's `ModelCardData` (pass@k as `model-index` eval results, which the hub shows).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codegen_cli.atomic import atomic_write_text, read_json_object
from codegen_cli.languages import HUMANEVAL_X_KEYS

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

CARD_NAME = "README.md"


def _last(rows: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    found = [row for row in rows if row.get(key) is not None]
    return found[-1] if found else None


def _metrics(run: Path | None, step: int) -> list[dict[str, Any]]:
    """metrics.jsonl rows up to `step` (an export of an earlier checkpoint shows that checkpoint's losses)."""
    from codegen_cli.train.metrics import read_metrics

    path = run / "metrics.jsonl" if run else None
    if path is None or not path.is_file():
        return []
    return [row for row in read_metrics(path) if int(row.get("step", 0)) <= step]


def _run_config(run: Path | None) -> dict[str, Any]:
    try:
        return tomllib.loads((run / "config.toml").read_text(encoding="utf-8")) if run else {}
    except (OSError, ValueError):
        return {}


def eval_rows(results: Path | None) -> list[tuple[str, str, float]]:
    """(language name, metric, value) from a results folder's summary.json, per language then overall."""
    summary = read_json_object(results / "summary.json") if results else {}
    rows = []
    for key, entry in sorted((summary.get("per_language") or {}).items()):
        for metric, value in sorted((entry.get("pass_at_k") or {}).items()):
            rows.append((HUMANEVAL_X_KEYS.get(key, key), metric, float(value)))
    for metric, value in sorted((summary.get("pass_at_k") or {}).items()):
        rows.append(("all", metric, float(value)))
    return rows


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def _fmt(value: Any, spec: str = ".4f") -> str:
    return "n/a" if value is None else format(value, spec)


def card_text(folder: Path, *, run: Path | None, step: int, tokens_seen: int, parameters: int,
              results: Path | None = None, license: str | None = None, name: str | None = None) -> str:
    """The README.md of a model folder (its config.json and tokenizer files are already in `folder`);
    `name` is what the folder will be called (it is written under a temporary name first)."""
    from huggingface_hub import EvalResult, ModelCardData

    config = read_json_object(folder / "config.json")
    tok = read_json_object(folder / "codegen_tokenizer.json")
    run_cfg = _run_config(run)
    meta = read_json_object(Path(run_cfg["tokens"]) / "meta.json") if run_cfg.get("tokens") else {}
    rows = _metrics(run, step)
    loss, val = _last(rows, "loss"), _last(rows, "val_loss")
    evals = eval_rows(results)
    name = name or folder.resolve().name
    from codegen_cli.train.init import read_base_record

    base = read_base_record(run) if run else {}
    license = license or base.get("license")  # a derivative carries its base model's licence
    card = ModelCardData(
        license=license or "other", library_name="transformers", pipeline_tag="text-generation",
        language=["code"], tags=["code", "codegen", "codegeex-recipe", *tok.get("languages", [])],
        model_name=name, eval_results=[
            EvalResult(task_type="text-generation", dataset_type="THUDM/humaneval-x", dataset_name="HumanEval-X",
                       dataset_config=lang, metric_type=metric, metric_value=round(value, 4))
            for lang, metric, value in evals if lang != "all"] or None,
    )
    per_language = (meta.get("tokens_per_language") or {}).get("train") or {}
    data = _table(["language", "train tokens"], [[lang, f"{n:,}"] for lang, n in
                                                 sorted(per_language.items(), key=lambda kv: -kv[1])])
    arch = _table(["setting", "value"], [
        ["architecture", f"{config.get('model_type', '?')} ({', '.join(config.get('architectures') or [])})"],
        ["parameters", f"{parameters:,}"],
        ["layers", config.get("num_hidden_layers", config.get("n_layer", "?"))],
        ["hidden size", config.get("hidden_size", config.get("n_embd", "?"))],
        ["attention heads", config.get("num_attention_heads", config.get("n_head", "?"))],
        ["vocabulary", f"{config.get('vocab_size', 0):,}"],
        ["context (tokens)", config.get("max_position_embeddings", config.get("n_positions", "?"))],
        ["weights dtype", config.get("dtype", config.get("torch_dtype", "float32"))],
    ])
    style = tok.get("tag_style", "none")
    tag_line = {"comment": "a comment line before the code, e.g. `# language: Python`",
                "token": "one special token before the code, e.g. `<|lang:Python|>`",
                "none": "no language tag"}.get(style, style)
    results_part = (_table(["language", "metric", "value"], [[lang, m, f"{v:.4f}"] for lang, m, v in evals])
                    + f"\n\nFrom `{results}` (HumanEval-X, functional correctness in codegen's sandbox)."
                    if evals else "Not evaluated yet: `codegen eval --model THIS_FOLDER -o results`, then "
                                  "`codegen export RUN -o THIS_FOLDER --results results` puts the table here.")
    return f"""---
{card.to_yaml()}
---

# {name}

{_intro(base, run, step, tokens_seen)}

```python
from transformers import AutoModelForCausalLM, AutoTokenizer
tok = AutoTokenizer.from_pretrained("{name}")       # transformers 4.56+ or 5.x
model = AutoModelForCausalLM.from_pretrained("{name}")
```

## Architecture

{arch}

## Training

- tokens seen: {tokens_seen:,} over {step:,} optimizer steps
- final training loss: {_fmt(loss and loss.get('loss'))} (step {loss and loss.get('step')})
- final validation loss: {_fmt(val and val.get('val_loss'))} (step {val and val.get('step')})
- schedule: peak learning rate {(run_cfg.get('optim') or {}).get('lr', '?')}, {run_cfg.get('optim', {}).get('schedule', '?')}, \
sequence length {run_cfg.get('seq_len', '?')}, seed {run_cfg.get('seed', '?')}

{_base_section(base, meta)}## Data

Tokens folder `{run_cfg.get('tokens', '?')}`: {meta.get('splits', {}).get('train', {}).get('tokens', 0):,} train
and {meta.get('splits', {}).get('val', {}).get('tokens', 0):,} validation tokens. See the corpus's own dataset
card (corpus/README.md) for the sources, filters and licences.

{data or ''}

## Tokenizer

{_tokenizer_line(base, config)}
Language tag style `{style}`: {tag_line}. Prompts must start with the same tag; the folder's chat template adds
it (`tok.apply_chat_template([{{"role": "user", "content": code}}], language="Python", tokenize=False)`).
Documents end with `<|endoftext|>`.

## Evaluation

{results_part}

## Intended use

Research on code models and a check that the recipe runs end to end: code completion in the trained
languages, given a prompt that starts with the language tag. It is not instruction-tuned, writes code that
may be wrong or insecure, and must not run generated code outside a sandbox.

## Licence

{_licence_line(license, base)}.
"""


def _intro(base: dict[str, Any], run: Path | None, step: int, tokens_seen: int) -> str:
    where = f"Step {step:,} of the run `{run or '?'}`, after {tokens_seen:,} training tokens."
    if base:
        return (f"A causal language model for source code: `{base.get('name') or base.get('spec')}` with its "
                f"pretraining continued on code by `codegen` (collect, tokenize with the base model's tokenizer, "
                f"train from its weights, eval on HumanEval-X). {where}")
    return ("A causal language model for source code, trained from scratch with `codegen` (the CodeGeeX recipe: "
            f"collect, tokenize, train, eval on HumanEval-X). {where}")


def _base_section(base: dict[str, Any], meta: dict[str, Any]) -> str:
    if not base:
        return ""
    added = base.get("added_tokens") or []
    grown = (f"; {len(added)} language tag tokens were added to its vocabulary ({', '.join(added)}), their "
             "embedding rows initialised to the mean of the existing rows" if added else
             "; its vocabulary is unchanged")
    languages = ", ".join(sorted((meta.get("tokens_per_language") or {}).get("train") or {})) or "?"
    return f"""## Base model

- started from: `{base.get('name') or base.get('spec')}` (`{base.get('spec')}`)
- its licence: {base.get('license') or 'not stated in its files; check the base model card'}
- data added: {meta.get('splits', {}).get('train', {}).get('tokens', 0):,} training tokens of {languages}{grown}
- the optimizer and the learning-rate schedule started fresh (a warm start, not a resume)

"""


def _tokenizer_line(base: dict[str, Any], config: dict[str, Any]) -> str:
    if base:
        return (f"The base model's tokenizer, {config.get('vocab_size', 0):,} ids in the embedding; the shards were "
                "packed with it and checked to decode back to the exact text.")
    return f"Byte-level BPE trained on the corpus, {config.get('vocab_size', 0):,} ids; `decode(encode(text)) == text` exactly."


def _licence_line(license: str | None, base: dict[str, Any]) -> str:
    if base:
        return (f"{license or 'other'}: the base model's licence ({base.get('license') or 'unknown'}) applies to "
                "these weights, together with the terms of the code added; see the corpus card")
    return license or "Not set (`other`): the weights follow the terms of the training data; see the corpus card"


def write_model_card(folder: Path, *, run: Path | None, step: int, tokens_seen: int, parameters: int,
                     results: Path | None = None, license: str | None = None, name: str | None = None) -> Path:
    path = Path(folder) / CARD_NAME
    atomic_write_text(path, card_text(Path(folder), run=run, step=step, tokens_seen=tokens_seen,
                                      parameters=parameters, results=results, license=license, name=name))
    return path
