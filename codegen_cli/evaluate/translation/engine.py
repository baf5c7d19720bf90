"""`translate(cfg) -> dict`: HumanEval-X code translation (`codegen eval --task translate`), pass@k per pair.

Every (source, target) pair gets its own ordinary eval folder, `<output>/<source>-to-<target>/`, with
samples.jsonl, results.jsonl, summary.json and manifest.json made by the generation and scoring engines,
so resume, result caching and sandboxing work as for generation. With `--model`, every pair is
generated first (one model load for all pairs), then every pair is scored. With `--samples FILE`,
translations made elsewhere are split per pair and scored. `<output>/summary.json` holds the
source x target matrix of pass@k.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from codegen_cli.atomic import atomic_write_json, sha256_file
from codegen_cli.config import to_dict
from codegen_cli.errors import UsageError
from codegen_cli.evaluate.config import EvalConfig, ScoringConfig
from codegen_cli.evaluate.problems import Problem, load_problems
from codegen_cli.evaluate.translation.prompt import pair_name, translation_format
from codegen_cli.languages import LANGUAGE_KEYS, language_key
from codegen_cli.options import config_mapping
from codegen_cli.output import log, warn

Pair = tuple[str, str]
SAMPLES = "samples.jsonl"


def parse_sources(value: str | list[str] | None) -> list[str] | None:
    """`python`, `python,cpp` or `all` -> language keys (None when not given)."""
    if value is None:
        return None
    items = value if isinstance(value, list) else value.split(",")
    items = [item.strip() for item in items if item.strip()]
    if not items:
        return None
    if any(item.lower() == "all" for item in items):
        return list(LANGUAGE_KEYS)
    return list(dict.fromkeys(language_key(item) for item in items))


def _check(cfg: EvalConfig) -> tuple[list[str] | None, list[str] | None]:
    """Every cross-option problem in one UsageError; returns (sources, targets) (None: any)."""
    scoring = cfg.scoring
    problems = scoring.problems_list()
    if scoring.benchmark != "humaneval-x":
        problems.append("--task translate needs --benchmark humaneval-x (humaneval has Python only)")
    if scoring.check_references:
        problems.append("--check-references scores canonical solutions; it has no translation form "
                        "(run it without --task translate)")
    if cfg.generates == (scoring.samples is not None):
        problems.append("--task translate needs either --model (generate translations) or --samples FILE")
    sources = parse_sources(cfg.translation.source_language)
    if cfg.generates and sources is None:
        problems.append("--task translate --model needs --source-language (a language, a list, or all)")
    if problems:
        raise UsageError("; ".join(problems))
    scoring.require_code_execution()
    return sources, (list(scoring.languages) or None)


def _problems(cfg: ScoringConfig, languages: list[str]) -> tuple[dict[str, dict[int, Problem]], dict[str, dict[int, Problem]]]:
    """(every problem, selected target problems), by language then number."""
    every = load_problems(cfg.problems, benchmark=cfg.benchmark, languages=languages)
    chosen = every
    if cfg.tasks or cfg.limit:
        chosen = load_problems(cfg.problems, benchmark=cfg.benchmark, languages=languages, tasks=cfg.tasks,
                               limit=cfg.limit)

    def index(problems: list[Problem]) -> dict[str, dict[int, Problem]]:
        out: dict[str, dict[int, Problem]] = {}
        for problem in problems:
            out.setdefault(problem.language, {})[problem.number] = problem
        return out

    return index(every), index(chosen)


def _pairs(sources: list[str], targets: list[str]) -> list[Pair]:
    pairs = [(s, t) for s in sources for t in targets if s != t]
    if not pairs:
        raise UsageError("no translation pairs: --source-language and --languages name the same single "
                         "language (a pair needs two)")
    return pairs


def _targets_of(pair: Pair, every, chosen) -> list[Problem]:
    """Selected target problems whose same-numbered source problem exists."""
    source, target = pair
    return [p for n, p in sorted(chosen.get(target, {}).items()) if n in every.get(source, {})]


def translate(cfg: EvalConfig) -> dict[str, Any]:
    """Generate (with --model) or read (--samples) translations, score every pair, write the matrix."""
    start = time.monotonic()
    sources, targets = _check(cfg)
    output = Path(cfg.output)
    languages = sorted(set(sources or LANGUAGE_KEYS) | set(targets or LANGUAGE_KEYS), key=LANGUAGE_KEYS.index)
    every, chosen = _problems(cfg.scoring, languages)
    generation: dict[str, Any] = {}
    if cfg.generates:
        pairs = _pairs(sources or [], targets or list(LANGUAGE_KEYS))
        empty = [pair for pair in pairs if not _targets_of(pair, every, chosen)]
        if empty:
            warn(f"no selected target problems for {', '.join(pair_name(*p) for p in empty)}; skipped")
            pairs = [pair for pair in pairs if pair not in empty]
        if not pairs:
            raise UsageError("no problems selected for any pair (check --tasks, --limit and --languages)")
        generation = _generate_all(cfg, pairs, every=every, chosen=chosen, output=output)
    else:
        pairs = _write_file_samples(cfg.scoring, sources=sources, targets=targets, every=every, chosen=chosen,
                                     output=output)
    scores = {pair_name(*pair): _score_pair(cfg.scoring, pair, every=every, chosen=chosen, output=output)
              for pair in pairs}
    summary = build_summary(cfg, pairs, scores=scores, generation=generation, seconds=time.monotonic() - start)
    output.mkdir(parents=True, exist_ok=True)
    atomic_write_json(output / "summary.json", summary)
    _write_manifest(cfg, summary)
    return summary


def _generate_all(cfg: EvalConfig, pairs: list[Pair], *, every, chosen, output: Path) -> dict[str, Any]:
    from codegen_cli.generation.engine import generate_samples, make_runner

    base = cfg.generation
    base.validate()
    shared: dict[str, Any] = {}

    def runner() -> Any:  # loaded on first need only: a fully resumed run never loads the model
        if "runner" not in shared:
            shared["runner"] = make_runner(base)
        return shared["runner"]

    made = {}
    for pair in pairs:
        problems = _targets_of(pair, every, chosen)
        log(f"translate {pair_name(*pair)}: {len(problems)} problems x {base.n_samples} samples")
        config = dataclasses.replace(base, output=output / pair_name(*pair))
        summary = generate_samples(config, problems, prompt_format=translation_format(pair[0], every[pair[0]]),
                                   get_runner=runner)
        made[pair_name(*pair)] = to_dict(summary)
    return made


def _write_file_samples(cfg: ScoringConfig, *, sources, targets, every, chosen, output: Path) -> list[Pair]:
    from codegen_cli.evaluate.translation.samples import read_translation_samples, write_pair_samples

    ids = {lang: {n: p.task_id for n, p in by_number.items()} for lang, by_number in chosen.items()}
    per_pair = read_translation_samples(Path(cfg.samples), sources=sources, targets=targets, target_ids=ids)
    for pair, rows in per_pair.items():
        write_pair_samples(output / pair_name(*pair) / SAMPLES, rows)
    return list(per_pair)


def _score_pair(cfg: ScoringConfig, pair: Pair, *, every, chosen, output: Path) -> dict[str, Any]:
    from codegen_cli.evaluate.scoring import score

    folder = output / pair_name(*pair)
    tasks = [p.task_id for p in _targets_of(pair, every, chosen)]
    pair_cfg = dataclasses.replace(cfg, output=folder, samples=folder / SAMPLES, check_references=False,
                                   languages=[pair[1]], tasks=tasks, limit=None)
    log(f"scoring {pair_name(*pair)}")
    return score(pair_cfg).to_dict()


def build_summary(cfg: EvalConfig, pairs: list[Pair], *, scores: dict[str, Any], generation: dict[str, Any],
                  seconds: float) -> dict[str, Any]:
    """The top-level summary: per pair figures and the source x target matrix for each k."""
    ks = [f"pass@{k}" for k in cfg.scoring.k or []]
    sources = [s for s in LANGUAGE_KEYS if any(p[0] == s for p in pairs)]
    targets = [t for t in LANGUAGE_KEYS if any(p[1] == t for p in pairs)]
    per_pair = {}
    for source, target in pairs:
        name = pair_name(source, target)
        scored = scores[name]
        per_pair[name] = {
            "source": source, "target": target, "folder": name,
            "pass_at_k": scored.get("pass_at_k", {}), "problems": scored.get("problems"),
            "samples": scored.get("samples"), "statuses": scored.get("statuses", {}),
            "programs": scored.get("programs", {}),
        }
        if name in generation:
            per_pair[name]["generation"] = {key: generation[name].get(key) for key in
                                            ("settings_hash", "generated", "reused", "seconds", "finish_reasons")}
    matrix = {k: {s: {t: per_pair[pair_name(s, t)]["pass_at_k"].get(k)
                      for t in targets if pair_name(s, t) in per_pair} for s in sources} for k in ks}
    mean = {}
    for k in ks:
        values = [v["pass_at_k"][k] for v in per_pair.values() if k in v["pass_at_k"]]
        if values and len(values) == len(per_pair):
            mean[k] = sum(values) / len(values)
    return {
        "task": "translate", "output": str(cfg.output), "mode": "model" if cfg.generates else "samples",
        "benchmark": cfg.scoring.benchmark, "ks": list(cfg.scoring.k or []), "sources": sources, "targets": targets,
        "pairs": per_pair, "matrix": matrix, "mean_pass_at_k": mean, "seconds": round(seconds, 2),
    }


def _write_manifest(cfg: EvalConfig, summary: dict[str, Any]) -> None:
    from codegen_cli.manifest import Manifest, write_manifest

    inputs = []
    scoring = cfg.scoring
    if scoring.samples is not None:
        inputs.append({"path": str(scoring.samples), "sha256": sha256_file(Path(scoring.samples))})
    if cfg.generates:
        inputs.append({"path": str(cfg.generation.model)})
    inputs.append({"path": str(scoring.problems or scoring.benchmark)})
    options = config_mapping(cfg)
    options["scoring"].pop("allow_code_execution", None)
    counts = {"pairs": len(summary["pairs"]),
              "samples": sum(v["samples"] or 0 for v in summary["pairs"].values())}
    write_manifest(Path(cfg.output), Manifest(stage="eval", inputs=inputs, options=options, counts=counts,
                                              timings={"seconds": summary["seconds"]},
                                              extra={"task": "translate", "pairs": list(summary["pairs"])}))
