"""A real RL loop (issue 25): TRL's GRPOTrainer takes 2 optimizer steps on CPU with a tiny Llama and
`ExecutionReward` itself as its reward function.

The problems are our own toys, never HumanEval-X (training on a benchmark's tests is contamination). The
tokenizer is trained here on their text and the model is a 2-layer Llama with random weights, so its
completions are mostly noise; `toy/answer`'s prompt already holds the answer and ends inside a comment,
so a completion passes exactly when it adds no line break. The first step's group then has rewards of
both kinds and a non-zero policy gradient: the verdicts really drive the update.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import require_toolchains, toolchain_missing

pytestmark = pytest.mark.slow

PROBLEMS = [
    {"task_id": "toy/answer", "language": "python", "prompt": "def answer():\n    return 42  # ",
     "test": "def check(candidate):\n    assert candidate() == 42\n", "entry_point": "answer"},
    {"task_id": "toy/add", "language": "python", "prompt": "def add(a, b):\n    \"\"\"Return a + b.\"\"\"\n",
     "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n", "entry_point": "add"},
]


def _tiny_model(folder: Path) -> Path:
    """A byte-level BPE trained on the toy problems and a random 2-layer Llama (no download)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from codegen_cli.tokenizer import train_tokenizer

    docs = [(p["prompt"] + "    return a + b\n", "Python") for p in PROBLEMS] * 20
    tokenizer_dir = train_tokenizer(docs, folder, vocab_size=300, tag_style="comment")
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, bos_token_id=None)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def test_grpo_takes_two_steps_on_execution_rewards(tmp_path):
    require_toolchains("python")
    try:
        import trl
    except ImportError:  # CI installs the extra: there this fails instead of skipping
        toolchain_missing("TRL is not installed: pip install -e '.[rl]'")
    import torch
    from datasets import Dataset
    from transformers import AutoTokenizer

    from codegen_cli.reward import ExecutionReward

    torch.set_num_threads(1)  # a tiny model gains nothing from threads on a shared, loaded machine
    model_dir = _tiny_model(tmp_path / "model")
    tok = AutoTokenizer.from_pretrained(model_dir)
    # tokens with a carriage return or a NUL would end the comment (or the source) in other ways
    suppressed = [i for i in range(len(tok)) if any(c in tok.decode([i]) for c in "\r\x00")]
    dataset = Dataset.from_list([{"prompt": p["prompt"], "task_id": p["task_id"]} for p in PROBLEMS])
    args = trl.GRPOConfig(
        output_dir=str(tmp_path / "run"), use_cpu=True, max_steps=2, per_device_train_batch_size=6,
        num_generations=6, max_completion_length=12, learning_rate=1e-3, logging_steps=1, report_to=[],
        save_strategy="no", bf16=False, seed=0, shuffle_dataset=False, dataloader_num_workers=0,
        generation_kwargs={"suppress_tokens": suppressed})
    with ExecutionReward(PROBLEMS, workers=2, timeout=5.0) as reward:
        trainer = trl.GRPOTrainer(model=str(model_dir), reward_funcs=[reward], args=args, train_dataset=dataset)
        before = [p.detach().clone() for p in trainer.model.parameters()]
        trainer.train()
        assert reward.stats["completions"] == 12  # 2 steps x 6 generations, each scored in the sandbox
    assert trainer.state.global_step == 2
    logs = [entry for entry in trainer.state.log_history if "rewards/execution_reward/mean" in entry]
    assert len(logs) == 2
    first = logs[0]  # toy/answer's group: some completions stay in the comment, some break the line
    assert 0.0 < first["rewards/execution_reward/mean"] < 1.0, first
    assert first["grad_norm"] > 0.0
    after = list(trainer.model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after))
