"""`evaluate(EvalConfig) -> EvalRun`: the entry point of `codegen eval`.

Three ways in: score samples made elsewhere (`--samples`), score the canonical solutions
(`--check-references`), or generate the samples with a model first (`--model`, then the same scoring);
`--task translate` hands the whole config to the translation engine.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codegen_cli.config import to_dict
from codegen_cli.errors import JobFailed
from codegen_cli.evaluate.config import EvalConfig
from codegen_cli.jsonl_store import writer_lock

if TYPE_CHECKING:
    from codegen_cli.evaluate.summary import EvalSummary
    from codegen_cli.generation.config import GenerationSummary


@dataclasses.dataclass
class EvalRun:
    """What one `codegen eval` did: the summaries of the parts that ran (objects, for the renderers)."""

    task: str
    scoring: EvalSummary | None = None
    generation: GenerationSummary | None = None  # when a model made the samples
    translation: dict[str, Any] | None = None  # the source x target matrix summary

    def failure(self) -> JobFailed | None:
        """Canonical solutions that fail outside the documented data bugs fail the run (exit 1)."""
        failures = self.scoring.unexpected_failures if self.scoring is not None else []
        if not failures:
            return None
        return JobFailed(f"{len(failures)} canonical solution(s) failed unexpectedly: "
                         + ", ".join(f["task_id"] for f in failures[:20]))

    def to_dict(self) -> dict[str, Any]:
        if self.translation is not None:
            return self.translation
        if self.scoring is None:
            return {"generation": to_dict(self.generation)}
        data: dict[str, Any] = self.scoring.to_dict()  # the summary.json shape, plus a generation block
        if self.generation is not None:
            data["generation"] = to_dict(self.generation)
        return data


def evaluate(cfg: EvalConfig) -> EvalRun:
    """Generate (when a model is given) then score; with task `translate`, the translation engine."""
    cfg.validate()
    with writer_lock(cfg.output):  # generation then scoring: one writer of the folder from start to end
        return _evaluate(cfg)


def _evaluate(cfg: EvalConfig) -> EvalRun:
    from codegen_cli.evaluate.problems import load_problems
    from codegen_cli.evaluate.scoring import score

    if cfg.task == "translate":
        from codegen_cli.evaluate.translation import translate

        return EvalRun("translate", translation=translate(cfg))
    scoring = cfg.scoring
    if not cfg.generates:
        return EvalRun("generate", scoring=score(scoring))
    cfg.generation.validate()
    scoring.require_code_execution()
    problems = load_problems(scoring.problems, benchmark=scoring.benchmark, languages=scoring.languages or None,
                             tasks=scoring.tasks, limit=scoring.limit)
    from codegen_cli.generation.engine import generate_samples

    made = generate_samples(cfg.generation, problems)
    if not _release_process_group():
        return EvalRun("generate", generation=made)  # other ranks: the main process scores
    generated = dataclasses.replace(scoring, samples=cfg.output / "samples.jsonl",
                                    languages=sorted({p.language for p in problems}))
    scored = score(generated)
    _to_run_trackers(cfg.generation.model, scored)
    return EvalRun("generate", scoring=scored, generation=made)


def _to_run_trackers(model: str, summary: Any) -> None:
    """A model from `codegen train` (RUN/hf) whose run logged to trackers gets its pass@k logged there."""
    from codegen_cli.output import log
    from codegen_cli.train.trackers import log_eval_to_run_trackers

    if Path(model).is_dir():
        logged = log_eval_to_run_trackers(Path(model), summary.to_dict())
        if logged:
            log(f"pass@k logged to the run's trackers: {', '.join(logged)}")


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
