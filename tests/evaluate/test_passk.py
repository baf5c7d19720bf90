"""pass@k against values computed by hand (C(n-c, k) / C(n, k)), incl. n < k, c = 0 and c = n."""

import math

import pytest

from codegen_cli.evaluate.passk import mean_pass_at_k, pass_at_k, reportable_ks

# (n, c, k, expected): expected = 1 - C(n-c, k) / C(n, k), worked out by hand.
TABLE = [
    (5, 0, 1, 0.0),  # c = 0
    (5, 5, 1, 1.0),  # c = n
    (5, 5, 5, 1.0),
    (5, 2, 1, 0.4),  # 1 - 3/5
    (5, 2, 2, 0.7),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
    (10, 1, 5, 0.5),  # 1 - C(9,5)/C(10,5) = 1 - 126/252
    (4, 3, 2, 1.0),  # n - c < k: every draw of 2 holds a pass
    (20, 0, 10, 0.0),
    (3, 1, 3, 1.0),
]


@pytest.mark.parametrize("n,c,k,expected", TABLE)
def test_hand_computed(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_matches_binomials_and_is_stable_for_large_n():
    assert pass_at_k(200, 10, 10) == pytest.approx(1 - math.comb(190, 10) / math.comb(200, 10), abs=1e-12)
    assert pass_at_k(200, 10, 10) == pytest.approx(0.408548, abs=1e-6)
    assert pass_at_k(100000, 1, 1) == pytest.approx(1e-5, rel=1e-9)
    assert 0.0 <= pass_at_k(5000, 37, 100) <= 1.0


def test_undefined_when_fewer_samples_than_k():
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 5)
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)


def test_mean_reports_only_k_supported_by_every_problem():
    per_problem = {"A/0": (5, 2), "A/1": (3, 0), "A/2": (3, 3)}
    result = mean_pass_at_k(per_problem, [1, 3, 5, 10])
    assert set(result) == {"pass@1", "pass@3"}  # n_min = 3: pass@5 and pass@10 are not reported
    assert result["pass@1"] == pytest.approx((0.4 + 0.0 + 1.0) / 3)
    assert result["pass@3"] == pytest.approx((0.9 + 0.0 + 1.0) / 3)  # A/0: 1 - C(3,3)/C(5,3) = 0.9
    assert reportable_ks([10, 1, 1], [12, 10]) == [1, 10]
    assert mean_pass_at_k({}, [1]) == {}
