"""Tests of the hidden-unit math core and the exact sums, against brute force."""

import itertools
from functools import partial

import numpy as np
import pytest
from brute_force import brute_moments
from scipy.special import logsumexp

import skbm._exact as exact
from skbm._bm_math import bm_log_partition, bm_moments, pack_parameters
from skbm._enumeration import state_ranges
from skbm._graph import independent_split
from skbm._hbm_math import (
    clamped_statistics,
    exact_objective,
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
    assert len(calls) == 8  # the tiny blocks were the ones used (two per sum)
    np.testing.assert_allclose(blocked[0], single[0], atol=1e-10)
    np.testing.assert_allclose(blocked[1], single[1], atol=1e-10)
    for got, want in zip(blocked[2] + blocked[3], single[2] + single[3], strict=True):
        np.testing.assert_allclose(got, want, atol=1e-10)


@pytest.mark.parametrize("block_bytes", [1, 600, 5000, None])
def test_clamped_statistics_match_brute_force(monkeypatch, block_bytes):
    # Block sizes that put 0, 1 and both enumerated hidden units in the low
    # part of the enumeration, the others in one or more high blocks.
    if block_bytes is not None:
        small = partial(state_ranges, block_bytes=block_bytes)
        monkeypatch.setattr(exact, "state_ranges", small)
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


@pytest.mark.parametrize("density", [0.5, 1.0])
def test_exact_objective_matches_brute_force_and_finite_differences(density):
    # 4 visible and 3 hidden units; weighted distinct rows, a penalty, and a
    # mask that leaves some pairs uncoupled.
    rng = np.random.default_rng(11)
    n_visible, n_units = 4, 7
    W, b, mask = random_machine(n_units, density, rng)
    pairs = np.nonzero(np.triu(mask, 1))
    theta = pack_parameters(W, b, pairs)
    V = np.array(list(itertools.product((0.0, 1.0), repeat=n_visible)))[::2]
    weights = rng.random(V.shape[0])
    weights /= weights.sum()
    alpha = 0.3
    loss, grad = exact_objective(theta, V, weights, mask, alpha)

    def brute_loss(theta):
        W = np.zeros((n_units, n_units))
        W[pairs] = theta[: pairs[0].shape[0]]
        W = W + W.T
        b = theta[pairs[0].shape[0] :]
        states = np.array(list(itertools.product((0.0, 1.0), repeat=n_units)))
        logits = 0.5 * np.einsum("ij,jk,ik->i", states, W, states) + states @ b
        log_z = logsumexp(logits)
        log_p = [
            logsumexp(logits[(states[:, :n_visible] == v).all(axis=1)]) - log_z
            for v in V
        ]
        penalty = 0.5 * alpha * np.sum(theta[: pairs[0].shape[0]] ** 2)
        return -weights @ np.array(log_p) + penalty

    assert loss == pytest.approx(brute_loss(theta), abs=1e-10)
    eps = 1e-6
    for index in range(theta.shape[0]):
        step = np.zeros_like(theta)
        step[index] = eps
        numeric = (brute_loss(theta + step) - brute_loss(theta - step)) / (2 * eps)
        assert grad[index] == pytest.approx(numeric, abs=1e-7)
