"""The data order: a true permutation per epoch, seeded, epoch-dependent, identical across calls."""

from __future__ import annotations

import numpy as np
import pytest

from codegen_cli.train.data import Permutation, WindowOrder


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64, 1000, 1523, 65_537])
def test_permutation_is_a_bijection(n: int) -> None:
    values = Permutation(n, seed=1, epoch=0)(np.arange(n))
    assert np.array_equal(np.sort(values), np.arange(n))


def test_permutation_depends_on_seed_and_epoch_and_mixes() -> None:
    n = 10_000
    a = Permutation(n, 1, 0)(np.arange(n))
    assert np.array_equal(a, Permutation(n, 1, 0)(np.arange(n)))
    assert not np.array_equal(a, Permutation(n, 2, 0)(np.arange(n)))
    assert not np.array_equal(a, Permutation(n, 1, 1)(np.arange(n)))
    assert abs(np.corrcoef(np.arange(n), a)[0, 1]) < 0.05  # no visible trace of the input order
    assert np.mean(np.abs(np.diff(a))) > n / 5  # neighbours land far apart


def test_window_order_spans_epochs_and_is_position_addressable() -> None:
    order = WindowOrder(10, seed=3)
    first, second = order.take(0, 10), order.take(10, 10)
    assert sorted(first) == sorted(second) == list(range(10)) and list(first) != list(second)
    assert list(order.take(7, 6)) == list(first[7:]) + list(second[:3])  # across the epoch boundary
    assert list(WindowOrder(10, seed=3).take(13, 4)) == list(second[3:7])  # fresh object, same answer
    assert order.epoch_of(19) == 1 and order.epoch_of(20) == 2
