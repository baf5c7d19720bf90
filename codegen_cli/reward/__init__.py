"""Execution rewards for RL training: `ExecutionReward` (in-process) and the judge service
(`codegen judge serve`, `JudgeClient`). docs/reward.md."""

from __future__ import annotations

from codegen_cli.reward.api import ExecutionReward, Verdict
from codegen_cli.reward.config import RewardConfig

__all__ = ["ExecutionReward", "RewardConfig", "Verdict"]
