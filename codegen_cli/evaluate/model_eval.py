"""`codegen eval --model`: generate samples with a causal LM, then score them with the same engine.

The options are the union of the scoring options (EvalConfig) and the generation options
(GenerationConfig), flat, so one recipe table or one command line carries both.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Optional  # noqa: F401 - resolved by get_type_hints on the made class

from codegen_cli.config import option, to_dict
from codegen_cli.errors import UsageError
from codegen_cli.evaluate.config import ALLOW_ENV, EvalConfig
from codegen_cli.generation.config import GenerationConfig

_SCORING = {f.name for f in dataclasses.fields(EvalConfig)}
_GENERATION_ONLY = [f for f in dataclasses.fields(GenerationConfig) if f.name not in _SCORING]
TASKS = ("generate", "translate")
# Translation options (issue 8): neither scoring nor generation reads them; `evaluate` dispatches on task.
_TASK_FIELDS = [
    ("task", str, option("generate", "generate (complete HumanEval-X prompts) or translate (HumanEval-X "
                                     "code translation: source canonical solution -> target language).")),
    ("source_language", "str | None", option(
        None, "--task translate: the source language(s), e.g. python, python,cpp, or all (every pair); "
              "--languages are the targets.")),
]


def _copy_field(item: dataclasses.Field) -> tuple[str, Any, dataclasses.Field]:
    if item.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        new = dataclasses.field(default_factory=item.default_factory, metadata=item.metadata)
    else:
        new = dataclasses.field(default=item.default, metadata=item.metadata)
    return item.name, item.type, new


ModelEvalConfig = dataclasses.make_dataclass(
    "ModelEvalConfig",
    [_copy_field(item) for item in _GENERATION_ONLY] + _TASK_FIELDS,
    bases=(EvalConfig,),
    namespace={"__doc__": "Scoring options plus, with `model` set, the generation options.",
               "__module__": __name__},
)


def split_config(cfg: Any) -> tuple[EvalConfig, GenerationConfig | None]:
    """The scoring config and (when a model is given) the generation config of a ModelEvalConfig."""
    values = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}
    scoring = {k: v for k, v in values.items() if k in _SCORING}
    if not values.get("model"):
        return EvalConfig(**scoring), None
    generation_names = {f.name for f in dataclasses.fields(GenerationConfig)}
    generation = GenerationConfig(**{k: v for k, v in values.items() if k in generation_names})
    scoring["samples"] = Path(cfg.output) / "samples.jsonl"
    return EvalConfig(**scoring), generation


@dataclasses.dataclass
class EvalRun:
    """What one `codegen eval` did: the summaries of the parts that ran (objects, for the renderers)."""

    task: str
    scoring: Any = None  # EvalSummary
    generation: Any = None  # GenerationSummary, when a model made the samples
    translation: dict[str, Any] | None = None  # the source x target matrix summary

    def to_dict(self) -> dict[str, Any]:
        if self.translation is not None:
            return self.translation
        if self.scoring is None:
            return {"generation": to_dict(self.generation)}
        data: dict[str, Any] = self.scoring.to_dict()  # the summary.json shape, plus a generation block
        if self.generation is not None:
            data["generation"] = to_dict(self.generation)
        return data


def evaluate(cfg: Any) -> EvalRun:
    """Generate (when a model is given) then score; with task `translate`, the translation engine."""
    from codegen_cli.evaluate.problems import load_problems
    from codegen_cli.evaluate.scoring import score

    task = getattr(cfg, "task", "generate")
    if task not in TASKS:
        raise UsageError(f"--task {task!r}: use generate or translate")
    if task == "translate":
        from codegen_cli.evaluate.translation import translate

        return EvalRun("translate", translation=translate(cfg))
    if getattr(cfg, "source_language", None):
        raise UsageError("--source-language is for --task translate")
    scoring, generation = split_config(cfg)
    if generation is None:
        return EvalRun("generate", scoring=score(scoring))
    if cfg.samples or cfg.check_references:
        raise UsageError("--model generates the samples: drop --samples/--check-references")
    generation.validate()
    if not scoring.code_execution_allowed():
        raise UsageError(
            "scoring runs model-generated code, which may be harmful; it runs in a sandbox, but you must opt "
            f"in: add --allow-code-execution or set {ALLOW_ENV}=1"
        )
    problems = load_problems(scoring.problems, benchmark=scoring.benchmark, languages=scoring.languages or None,
                             tasks=scoring.tasks, limit=scoring.limit)
    from codegen_cli.generation.engine import generate_samples

    made = generate_samples(generation, problems)
    if not _release_process_group():
        return EvalRun("generate", generation=made)  # other ranks: the main process scores
    scoring.languages = sorted({p.language for p in problems})
    return EvalRun("generate", scoring=score(scoring), generation=made)


def _release_process_group() -> bool:
    """Tear down the process group `accelerate launch` made for generation, before the interpreter exits.

    Left to shutdown, gloo's threads can abort the process ("terminate called without an active exception").
    """
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return True
    is_main = dist.get_rank() == 0
    dist.barrier()
    dist.destroy_process_group()
    return is_main  # True on the process that goes on to score
