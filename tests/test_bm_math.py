"""Tests of the general Boltzmann machine math core against brute force."""

import functools

import numpy as np
import pytest
from brute_force import brute_distribution, brute_neg_energy

from skbm import _exact
from skbm._bernoulli_units import BERNOULLI
from skbm._bm_math import (
    bm_conditionals,
    bm_energy,
    bm_exact_sample,
    bm_log_partition,
    bm_moments,
    data_statistics,
    exact_objective,
    pack_parameters,
    pseudolikelihood_objective,
    unpack_parameters,
)
from skbm._enumeration import state_ranges
from skbm._gibbs import gibbs_sweeps
from skbm._graph import greedy_coloring

# ----------------------------------------------------------------------
# Independent brute force, written out pair by pair
# ----------------------------------------------------------------------


def random_bm(n_units, scale, seed):
    rng = np.random.default_rng(seed)
    W = np.triu(rng.normal(0, scale, (n_units, n_units)), 1)
    return W + W.T, rng.normal(0, scale, n_units)


def finite_difference_gradient(fun, theta, step=1e-6):
    grad = np.empty_like(theta)
    for k in range(theta.size):
        delta = np.zeros_like(theta)
        delta[k] = step
        grad[k] = (fun(theta + delta)[0] - fun(theta - delta)[0]) / (2 * step)
    return grad


# ----------------------------------------------------------------------
# Energy, partition function, moments
# ----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_energy_matches_brute_force(dtype):
    W, b = random_bm(6, 1.0, seed=0)
    X = np.random.default_rng(1).random((30, 6)).astype(dtype)
    X[:10] = X[:10] > 0.5
    energy = bm_energy(X, W.astype(dtype), b.astype(dtype))
    assert energy.dtype == np.float64
    expected = -brute_neg_energy(X, W.astype(dtype), b.astype(dtype))
    np.testing.assert_allclose(
        energy, expected, rtol=1e-5 if dtype == np.float32 else 1e-12
    )


@pytest.mark.parametrize("n_units", [1, 2, 5, 9])
def test_log_partition_and_moments_match_brute_force(n_units):
    W, b = random_bm(n_units, 1.5, seed=n_units)
    states, proba, log_z = brute_distribution(W, b)
    assert bm_log_partition(W, b) == pytest.approx(log_z, rel=1e-12, abs=1e-12)
    log_z2, mean, second = bm_moments(W, b)
    assert log_z2 == pytest.approx(log_z, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(mean, proba @ states, atol=1e-12)
    np.testing.assert_allclose(second, states.T @ (states * proba[:, None]), atol=1e-12)


def test_blocked_enumeration_rescales_across_blocks(monkeypatch):
    # Tiny blocks, and a model whose most probable states come last in code
    # order, so the largest log weight rises from block to block. The dense
    # machine enumerates 7 of its 8 units (one is summed out).
    small = functools.partial(state_ranges, block_bytes=8 * 8 * 3)
    calls = []
    monkeypatch.setattr(
        _exact, "state_ranges", lambda *args: calls.append(args) or small(*args)
    )
    assert len(list(small(2**7, 7, 8))) > 40
    W, b = random_bm(8, 30.0, seed=3)
    b = b + 200.0 * np.arange(8) / 8
    states, proba, log_z = brute_distribution(W, b)
    assert bm_log_partition(W, b) == pytest.approx(log_z, rel=1e-13)
    log_z2, mean, second = bm_moments(W, b)
    assert log_z2 == pytest.approx(log_z, rel=1e-13)
    np.testing.assert_allclose(mean, proba @ states, atol=1e-12)
    np.testing.assert_allclose(second, states.T @ (states * proba[:, None]), atol=1e-12)
    # The small blocks were the ones used (ln Z and the moments; each asks
    # for the block size of K, then splits the high part of K into blocks).
    assert len(calls) == 4
    assert len(list(small(*calls[1]))) > 10


def test_weights_of_magnitude_1e4_stay_finite():
    W, b = random_bm(7, 1.0, seed=5)
    W, b = 1e4 * W, 1e4 * b
    states, _, _ = brute_distribution(W, b)
    logits = brute_neg_energy(states, W, b)
    top = logits.max()
    # Exactly computed reference: the top state dominates.
    expected = top + np.log(np.sum(np.exp(logits - top)))
    assert np.isfinite(top) and abs(top) > 1e4
    assert bm_log_partition(W, b) == pytest.approx(expected, rel=1e-14)
    log_z, mean, second = bm_moments(W, b)
    assert log_z == pytest.approx(expected, rel=1e-14)
    best = states[np.argmax(logits)]
    np.testing.assert_allclose(mean, best, atol=1e-12)
    np.testing.assert_allclose(second, np.outer(best, best), atol=1e-12)
    proba = bm_conditionals(states, W, b)
    assert np.all(np.isfinite(proba)) and np.all((proba >= 0) & (proba <= 1))


# ----------------------------------------------------------------------
# Conditionals
# ----------------------------------------------------------------------
def test_conditionals_match_brute_force():
    W, b = random_bm(5, 1.0, seed=7)
    X = np.random.default_rng(8).integers(0, 2, (40, 5)).astype(float)
    proba = bm_conditionals(X, W, b)
    for i in range(5):
        on, off = X.copy(), X.copy()
        on[:, i], off[:, i] = 1.0, 0.0
        on_logit, off_logit = brute_neg_energy(on, W, b), brute_neg_energy(off, W, b)
        expected = np.exp(on_logit - np.logaddexp(on_logit, off_logit))
        np.testing.assert_allclose(proba[:, i], expected, rtol=1e-12)
    assert bm_conditionals(X.astype(np.float32), W, b).dtype == np.float32


# ----------------------------------------------------------------------
# Colouring and Gibbs sampling
# ----------------------------------------------------------------------
def test_greedy_coloring_partitions_into_independent_sets():
    rng = np.random.default_rng(0)
    for density in (0.0, 0.2, 0.6, 1.0):
        upper = np.triu(rng.random((15, 15)) < density, 1)
        adjacency = upper | upper.T
        blocks = greedy_coloring(adjacency)
        units = np.sort(np.concatenate(blocks))
        np.testing.assert_array_equal(units, np.arange(15))
        for block in blocks:
            assert not adjacency[np.ix_(block, block)].any()
    assert len(greedy_coloring(np.zeros((4, 4), bool))) == 1
    assert len(greedy_coloring(~np.eye(4, dtype=bool))) == 4


def total_variation(draws, states, proba):
    codes = {tuple(s): k for k, s in enumerate(states)}
    counts = np.zeros(len(states))
    for row in draws:
        counts[codes[tuple(row)]] += 1
    return 0.5 * np.abs(counts / len(draws) - proba).sum()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("structure", ["complete", "chain"])
def test_gibbs_histogram_matches_exact(dtype, structure):
    W, b = random_bm(4, 1.0, seed=11)
    if structure == "chain":
        W = W * (np.eye(4, k=1) + np.eye(4, k=-1))
    states, proba, _ = brute_distribution(W, b)
    blocks = greedy_coloring(W != 0)
    assert len(blocks) == (4 if structure == "complete" else 2)
    rng = np.random.default_rng(12)
    start = np.zeros((20000, 4), dtype=dtype)
    draws = gibbs_sweeps(start, W, b, 30, rng, blocks, BERNOULLI)
    assert draws.dtype == dtype
    assert np.all(start == 0)  # the input is not mutated
    assert total_variation(draws, states, proba) < 0.02


def test_gibbs_temperature_and_clamping():
    W, b = random_bm(4, 1.0, seed=13)
    rng = np.random.default_rng(14)
    blocks = greedy_coloring(W != 0)
    # beta scales W and b.
    states, proba, _ = brute_distribution(0.4 * W, 0.4 * b)
    draws = gibbs_sweeps(
        np.ones((20000, 4)), W, b, 30, rng, blocks, BERNOULLI, beta=0.4
    )
    assert total_variation(draws, states, proba) < 0.02
    # Clamped units stay; the free ones follow the conditional given them.
    free = np.array([True, False, True, False])
    start = np.tile([0.0, 1.0, 0.0, 0.0], (20000, 1))
    draws = gibbs_sweeps(start, W, b, 30, rng, blocks, BERNOULLI, free=free)
    np.testing.assert_array_equal(draws[:, ~free], start[:, ~free])
    states, proba, _ = brute_distribution(W, b)
    keep = (states[:, 1] == 1) & (states[:, 3] == 0)
    conditional = proba[keep] / proba[keep].sum()
    assert total_variation(draws, states[keep], conditional) < 0.02


def test_exact_sample_histogram_matches_exact():
    W, b = random_bm(5, 1.0, seed=15)
    states, proba, _ = brute_distribution(W, b)
    draws = bm_exact_sample(W, b, 20000, np.random.default_rng(16), dtype=np.float32)
    assert draws.dtype == np.float32 and draws.shape == (20000, 5)
    assert total_variation(draws, states, proba) < 0.02


# ----------------------------------------------------------------------
# Objectives
# ----------------------------------------------------------------------
def test_pack_unpack_round_trip():
    W, b = random_bm(5, 1.0, seed=17)
    theta = pack_parameters(W, b)
    assert theta.shape == (15,)
    W2, b2 = unpack_parameters(theta, 5)
    np.testing.assert_array_equal(W2, W)
    np.testing.assert_array_equal(b2, b)


def make_data(n_units, n_samples, seed):
    rng = np.random.default_rng(seed)
    X = (rng.random((n_samples, n_units)) < 0.4).astype(float)
    X[:, 1] = np.where(rng.random(n_samples) < 0.8, X[:, 0], X[:, 1])
    return X


@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_exact_objective_value_and_gradient(alpha):
    X = make_data(4, 50, seed=18)
    W, b = random_bm(4, 0.7, seed=19)
    theta = pack_parameters(W, b)
    fun = functools.partial(
        exact_objective, data_mean=X.mean(0), data_second=X.T @ X / 50, alpha=alpha
    )
    loss, grad = fun(theta)
    _, _, log_z = brute_distribution(W, b)
    upper = np.triu_indices(4, 1)
    expected = -np.mean(brute_neg_energy(X, W, b) - log_z) + 0.5 * alpha * np.sum(
        W[upper] ** 2
    )
    assert loss == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(grad, finite_difference_gradient(fun, theta), atol=1e-7)


def test_data_statistics_of_sparse_and_dense_agree():
    import scipy.sparse as sp

    X = make_data(5, 40, seed=20)
    mean, second = data_statistics(X)
    np.testing.assert_allclose(mean, X.mean(0))
    np.testing.assert_allclose(second, X.T @ X / 40)
    mean_sp, second_sp = data_statistics(sp.csr_matrix(X))
    np.testing.assert_allclose(mean_sp, mean)
    np.testing.assert_allclose(second_sp, second)


def brute_log_pseudolikelihood(X, W, b):
    total = np.zeros(len(X))
    for i in range(X.shape[1]):
        on, off = X.copy(), X.copy()
        on[:, i], off[:, i] = 1.0, 0.0
        on_logit, off_logit = brute_neg_energy(on, W, b), brute_neg_energy(off, W, b)
        own = np.where(X[:, i] == 1, on_logit, off_logit)
        total += own - np.logaddexp(on_logit, off_logit)
    return total


@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_pseudolikelihood_objective_value_and_gradient(alpha):
    X = make_data(5, 60, seed=21)
    W, b = random_bm(5, 0.7, seed=22)
    theta = pack_parameters(W, b)
    fun = functools.partial(pseudolikelihood_objective, X=X, alpha=alpha)
    loss, grad = fun(theta)
    upper = np.triu_indices(5, 1)
    expected = -brute_log_pseudolikelihood(X, W, b).mean() + 0.5 * alpha * np.sum(
        W[upper] ** 2
    )
    assert loss == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(grad, finite_difference_gradient(fun, theta), atol=1e-7)


def test_pseudolikelihood_weights_equal_repeated_rows():
    X = make_data(5, 60, seed=23)
    theta = pack_parameters(*random_bm(5, 0.7, seed=24))
    rows, counts = np.unique(X, axis=0, return_counts=True)
    assert len(rows) < len(X)
    loss, grad = pseudolikelihood_objective(theta, X, 0.1)
    loss_w, grad_w = pseudolikelihood_objective(theta, rows, 0.1, counts / len(X))
    assert loss_w == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(grad_w, grad, atol=1e-12)
