"""Tests of the hidden-unit math core and the exact sums, against brute force."""

import itertools
from functools import partial

import numpy as np
import pytest
from brute_force import brute_moments
from scipy.special import logsumexp

import skbm._exact as exact
from skbm._bm_math import bm_log_partition, bm_moments
from skbm._enumeration import state_ranges
from skbm._graph import independent_split
from skbm._hbm_math import (
    clamped_statistics,
    hidden_log_sum,
    hidden_posterior,
    split_sizes,
)


def random_machine(n_units, density, rng, scale=1.0):
    mask = np.triu(rng.random((n_units, n_units)) < density, 1)
    mask = mask | mask.T
    W = np.triu(rng.normal(0, scale, (n_units, n_units)), 1)
    return (W + W.T) * mask, rng.normal(0, scale, n_units), mask


@pytest.mark.parametrize("seed", range(6))
def test_independent_split_is_a_partition_with_an_independent_part(seed):
    rng = np.random.default_rng(seed)
    _, _, mask = random_machine(9, [0.2, 0.5, 1.0][seed % 3], rng)
    free = np.arange(2, 9)
    enumerated, summed = independent_split(mask, free)
    np.testing.assert_array_equal(np.sort(np.r_[enumerated, summed]), free)
    assert not mask[np.ix_(summed, summed)].any()
    # Maximal: every enumerated unit has a neighbour in the summed set.
    assert all(mask[unit, summed].any() for unit in enumerated)


@pytest.mark.parametrize("density", [0.0, 0.3, 0.7, 1.0])
def test_log_partition_and_moments_match_full_enumeration(density):
    rng = np.random.default_rng(int(density * 10))
    W, b, _ = random_machine(8, density, rng)
    log_z, mean, second = bm_moments(W, b)
    expected = brute_moments(W, b)
    assert log_z == pytest.approx(expected[0], abs=1e-10)
    assert bm_log_partition(W, b) == pytest.approx(expected[0], abs=1e-10)
    np.testing.assert_allclose(mean, expected[1], atol=1e-10)
    np.testing.assert_allclose(second, expected[2], atol=1e-10)


def test_bipartite_log_partition_enumerates_the_smaller_layer():
    mask = np.zeros((30, 30), dtype=bool)
    mask[:25, 25:] = mask[25:, :25] = True
    assert split_sizes(mask, 25) == (0, 5)
    mask[25:, 25:] = ~np.eye(5, dtype=bool)
    # Semi-restricted the other way round: the visible layer is summed out.
    assert split_sizes(mask, 25) == (4, 5)


def test_multi_block_enumeration_matches_single_block(monkeypatch):
    rng = np.random.default_rng(3)
    W, b, _ = random_machine(9, 1.0, rng)
    V = rng.integers(0, 2, (6, 3)).astype(float)
    single = (
        hidden_log_sum(V, W, b),
        hidden_posterior(V, W, b),
        clamped_statistics(V, W, b),
        bm_moments(W, b),
    )
    # One state per block: many blocks and the two-pass statistics.
    tiny = partial(state_ranges, block_bytes=1)
    calls = []
    monkeypatch.setattr(
        exact, "state_ranges", lambda *args: calls.append(args) or tiny(*args)
    )
    blocked = (
        hidden_log_sum(V, W, b),
        hidden_posterior(V, W, b),
        clamped_statistics(V, W, b),
        bm_moments(W, b),
    )
    assert len(calls) == 4  # the tiny blocks were the ones used
    np.testing.assert_allclose(blocked[0], single[0], atol=1e-10)
    np.testing.assert_allclose(blocked[1], single[1], atol=1e-10)
    for got, want in zip(blocked[2] + blocked[3], single[2] + single[3], strict=True):
        np.testing.assert_allclose(got, want, atol=1e-10)


def test_clamped_statistics_match_brute_force():
    rng = np.random.default_rng(4)
    W, b, _ = random_machine(7, 0.8, rng)
    V = rng.random((5, 3))  # fractional data enter as given values
    hidden = np.array(list(itertools.product((0.0, 1.0), repeat=4)))
    mean, second = np.zeros(7), np.zeros((7, 7))
    for v in V:
        X = np.hstack([np.tile(v, (16, 1)), hidden])
        logits = 0.5 * np.einsum("ij,jk,ik->i", X, W, X) + X @ b
        p = np.exp(logits - logsumexp(logits))
        mean += p @ X / len(V)
        second += (X * p[:, None]).T @ X / len(V)
    np.fill_diagonal(second, mean)
    got_mean, got_second = clamped_statistics(V, W, b)
    np.testing.assert_allclose(got_mean, mean, atol=1e-12)
    np.testing.assert_allclose(got_second, second, atol=1e-12)


def test_extreme_parameters_stay_finite():
    rng = np.random.default_rng(5)
    W, b, _ = random_machine(8, 1.0, rng, scale=400.0)
    V = rng.integers(0, 2, (4, 3)).astype(float)
    assert np.all(np.isfinite(hidden_log_sum(V, W, b)))
    assert np.all(np.isfinite(hidden_posterior(V, W, b)))
    log_z, mean, second = bm_moments(W, b)
    assert np.isfinite(log_z) and np.all(np.isfinite(second))
    assert log_z == pytest.approx(brute_moments(W, b)[0], rel=1e-12)
