"""The categorical unit type and the engines on Potts machines, by brute force."""

from functools import partial

import numpy as np
import pytest
from brute_force import brute_potts, potts_states, random_potts
from scipy.special import logsumexp, softmax

import skbm._exact as exact
from skbm._bm_math import bm_exact_sample, bm_log_partition, bm_moments
from skbm._categorical_units import CategoricalUnits, check_n_categories
from skbm._enumeration import state_ranges


# ----------------------------------------------------------------------
# The unit type
# ----------------------------------------------------------------------
def test_cumulant_mean_and_states_match_direct_sums():
    units = CategoricalUnits([2, 3, 4])
    field = np.random.default_rng(0).normal(0.0, 3.0, (5, 9))
    blocks = [(0, 2), (2, 5), (5, 9)]
    expected_cumulant = np.stack(
        [logsumexp(field[:, a:b], axis=1) for a, b in blocks], 1
    )
    np.testing.assert_allclose(units.cumulant(field), expected_cumulant, atol=1e-12)
    expected_mean = np.hstack([softmax(field[:, a:b], axis=1) for a, b in blocks])
    np.testing.assert_allclose(units.mean(field), expected_mean, atol=1e-12)
    # Extreme fields stay finite.
    assert np.isfinite(units.cumulant(1e300 * np.sign(field))).all()
    assert np.isfinite(units.mean(-1e300 * np.abs(field))).all()
    # Mixed radix, unit 0 fastest, one-hot.
    codes, X = potts_states([2, 3, 4])
    order = np.lexsort(codes.T)  # unit 0 fastest
    np.testing.assert_array_equal(units.states(np.arange(24), 3), X[order])
    assert units.n_joint_states(3) == 24
    assert units.state_bits(3) == pytest.approx(np.log2(24))
    np.testing.assert_array_equal(units.codes(X), codes)


def test_sampler_histogram_matches_softmax():
    units = CategoricalUnits([3, 2, 4])
    field = np.array([0.5, -1.0, 2.0, 0.0, 1.5, -2.0, 0.3, 0.3, 1.0])
    rng = np.random.default_rng(1)
    draws = units.sample(np.tile(field, (40000, 1)), rng)
    # Exactly one state per unit.
    np.testing.assert_array_equal(
        np.add.reduceat(draws, units.offsets[:-1], axis=1), np.ones((40000, 3))
    )
    expected = units.mean(field[None, :])[0]
    # Four standard errors of a frequency of 40,000 draws.
    tolerance = 4 * np.sqrt(expected * (1 - expected) / 40000)
    assert np.all(np.abs(draws.mean(axis=0) - expected) <= tolerance)


def test_layer_structure():
    units = CategoricalUnits([2, 3, 1])
    np.testing.assert_array_equal(units.columns([2, 0]), [5, 0, 1])
    assert units.restrict([1, 2]).n_categories.tolist() == [3, 1]
    assert units.n_units(5) == 2
    adjacency = np.zeros((6, 6), dtype=bool)
    adjacency[0, 3] = adjacency[3, 0] = True
    graph = units.unit_graph(adjacency)
    assert graph.tolist() == [
        [False, True, False],
        [True, False, False],
        [False, False, False],
    ]


def test_check_values_one_hot_encodes_and_names_bad_codes():
    units = CategoricalUnits([2, 3])
    X = np.array([[0, 2], [1, 0]], dtype=float)
    np.testing.assert_array_equal(
        units.check_values(X, "model"), [[1, 0, 0, 0, 1], [0, 1, 1, 0, 0]]
    )
    for bad, message in [
        ([[0, 3]], r"column 1 holds 3 .*beyond the 3 categories"),
        ([[-1, 0]], r"column 0 holds -1 .*negative"),
        ([[0, 1.5]], r"column 1 holds 1\.5.*not an integer"),
    ]:
        with pytest.raises(ValueError, match=message):
            units.check_values(np.array(bad, dtype=float), "model")


def test_n_categories_resolution():
    observed = np.array([2, 3])
    assert check_n_categories("auto", observed, "m").tolist() == [2, 3]
    assert check_n_categories(4, observed, "m").tolist() == [4, 4]
    assert check_n_categories([1, 5], observed, "m").tolist() == [2, 5]
    for bad in ([1, 2, 3], 0, [True, 2], 2.5):
        with pytest.raises(ValueError, match="n_categories"):
            check_n_categories(bad, observed, "m")


# ----------------------------------------------------------------------
# The engines on Potts machines
# ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "n_categories", [[2, 2, 2], [3, 3, 3, 3], [4, 2, 3], [2, 3, 4, 2, 3]]
)
@pytest.mark.parametrize("block_bytes", [None, 300])
def test_log_partition_and_moments_match_brute_force(
    monkeypatch, n_categories, block_bytes
):
    if block_bytes is not None:
        # Small blocks: the low part of the enumeration holds one or two
        # units and the high part comes in several blocks.
        monkeypatch.setattr(
            exact, "state_ranges", partial(state_ranges, block_bytes=block_bytes)
        )
    W, b = random_potts(n_categories, seed=len(n_categories))
    units = CategoricalUnits(n_categories)
    _, X, proba, log_z = brute_potts(n_categories, W, b)
    assert bm_log_partition(W, b, units=units) == pytest.approx(log_z, abs=1e-10)
    log_z2, mean, second = bm_moments(W, b, units=units)
    assert log_z2 == pytest.approx(log_z, abs=1e-10)
    np.testing.assert_allclose(mean, proba @ X, atol=1e-10)
    expected = X.T @ (X * proba[:, None])
    # Pairs within one unit are not statistics of the model (their
    # couplings are zero); all others must match.
    between = units.unit_of_column[:, None] != units.unit_of_column[None, :]
    np.testing.assert_allclose(second[between], expected[between], atol=1e-10)


def test_exact_sampler_histogram_matches_brute_force():
    n_categories = [3, 2, 3]
    W, b = random_potts(n_categories, seed=5)
    units = CategoricalUnits(n_categories)
    codes, X, proba, _ = brute_potts(n_categories, W, b)
    draws = bm_exact_sample(W, b, 30000, np.random.default_rng(2), units=units)
    drawn = units.codes(draws)
    index = {tuple(code): k for k, code in enumerate(codes.tolist())}
    counts = np.bincount([index[tuple(row)] for row in drawn.tolist()], minlength=18)
    frequencies = counts / 30000
    tolerance = 4 * np.sqrt(proba * (1 - proba) / 30000) + 1e-4
    assert np.all(np.abs(frequencies - proba) <= tolerance)
