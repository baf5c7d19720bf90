"""The train stage: `train(TrainConfig) -> TrainSummary` (loop.py) and `export_checkpoint` (export.py).

Submodules import torch/transformers; import them lazily from the CLI so `codegen --help` stays fast.
"""
