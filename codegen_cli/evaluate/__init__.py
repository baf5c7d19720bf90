"""`codegen eval`: HumanEval-X problems, sample generation, sandboxed execution and pass@k."""
