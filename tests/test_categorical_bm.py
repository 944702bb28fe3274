"""CategoricalBoltzmannMachine against brute force and known optima."""

import warnings

import numpy as np
import pytest
from brute_force import brute_potts, random_potts
from sklearn.exceptions import ConvergenceWarning

from skbm import BoltzmannMachine, CategoricalBoltzmannMachine
from skbm._bm_math import (
    exact_objective,
    pack_parameters,
    pseudolikelihood_objective,
)
from skbm._categorical_bm import zero_sum_gauge
from skbm._categorical_units import CategoricalUnits


def model_with(n_categories, W, b, **params):
    """A fitted model whose parameters are then set to (W, b)."""
    codes = np.array([[q - 1 for q in n_categories], [0] * len(n_categories)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = CategoricalBoltzmannMachine(
            n_categories=n_categories, max_iter=1, **params
        ).fit(codes)
    model.coupling_, model.intercept_ = W.copy(), b.copy()
    return model


CASES = [[2, 2, 2, 2], [3, 3, 3], [4, 4, 2], [2, 3, 4, 3]]


# ----------------------------------------------------------------------
# Exact values against brute force
# ----------------------------------------------------------------------
@pytest.mark.parametrize("n_categories", CASES)
def test_scores_log_partition_and_conditionals_match_brute_force(n_categories):
    W, b = random_potts(n_categories, seed=sum(n_categories))
    codes, X, proba, log_z = brute_potts(n_categories, W, b)
    model = model_with(n_categories, W, b)
    assert model.log_partition().log_z == pytest.approx(log_z, abs=1e-8)
    np.testing.assert_allclose(model.score_samples(codes), np.log(proba), atol=1e-8)
    # P(x_i = a | rest): renormalise the joint over site i's states.
    got = model.transform(codes)
    offsets = model.feature_offsets_
    for row, code in enumerate(codes[:20]):
        for site, q in enumerate(n_categories):
            options = np.repeat(code[None, :], q, axis=0)
            options[:, site] = np.arange(q)
            index = [np.flatnonzero((codes == o).all(axis=1))[0] for o in options]
            expected = proba[index] / proba[index].sum()
            np.testing.assert_allclose(
                got[row, offsets[site] : offsets[site + 1]], expected, atol=1e-10
            )


def test_sample_histogram_matches_brute_force():
    n_categories = [3, 2, 3]
    W, b = random_potts(n_categories, seed=4)
    codes, _, proba, _ = brute_potts(n_categories, W, b)
    draws = model_with(n_categories, W, b).sample(30000, random_state=0)
    assert draws.dtype.kind == "i"
    index = {tuple(code): k for k, code in enumerate(codes.tolist())}
    counts = np.bincount([index[tuple(r)] for r in draws.tolist()], minlength=18)
    tolerance = 4 * np.sqrt(proba * (1 - proba) / 30000) + 1e-4
    assert np.all(np.abs(counts / 30000 - proba) <= tolerance)


def test_ais_estimate_is_close_to_exact():
    n_categories = [3, 3, 3, 3]
    W, b = random_potts(n_categories, seed=7, scale=0.5)
    _, _, _, log_z = brute_potts(n_categories, W, b)
    model = model_with(
        n_categories, W, b, score_method="ais", ais_runs=100, ais_betas=3000
    )
    estimate = model.log_partition()
    assert estimate.method == "ais"
    assert estimate.log_z == pytest.approx(log_z, abs=0.05)


# ----------------------------------------------------------------------
# Gradients against finite differences, with weights and penalties
# ----------------------------------------------------------------------
@pytest.mark.parametrize("objective", ["exact", "pseudolikelihood"])
def test_objective_gradients_match_finite_differences(objective):
    n_categories = [2, 3, 3]
    W, b = random_potts(n_categories, seed=1, scale=0.7)
    units = CategoricalUnits(n_categories)
    model = model_with(n_categories, W, b)
    pairs = model._pairs()
    theta = pack_parameters(W, b, pairs)
    rng = np.random.default_rng(2)
    codes = np.column_stack([rng.integers(0, q, 12) for q in n_categories])
    X = units.one_hot(codes)
    weight = rng.random(12)
    weight /= weight.sum()
    keywords = {"units": units, "pairs": pairs, "alpha_fields": 0.2}
    if objective == "exact":
        mean = weight @ X
        second = X.T @ (X * weight[:, None])

        def fun(theta):
            return exact_objective(theta, mean, second, 0.3, **keywords)

        # The loss is the weighted mean negative log-likelihood, by brute
        # force, plus the penalties.
        _, all_X, proba, _ = brute_potts(n_categories, W, b)
        lookup = {tuple(row): p for row, p in zip(all_X.tolist(), proba, strict=True)}
        nll = -weight @ np.log([lookup[tuple(row)] for row in X.tolist()])
        penalty = 0.15 * np.sum(theta[: pairs[0].size] ** 2) + 0.1 * np.sum(b**2)
        assert fun(theta)[0] == pytest.approx(nll + penalty, abs=1e-10)
    else:

        def fun(theta):
            return pseudolikelihood_objective(theta, X, 0.3, weight, **keywords)

    _, grad = fun(theta)
    eps = 1e-6
    for index in range(theta.shape[0]):
        step = np.zeros_like(theta)
        step[index] = eps
        numeric = (fun(theta + step)[0] - fun(theta - step)[0]) / (2 * eps)
        assert grad[index] == pytest.approx(numeric, abs=1e-6)


# ----------------------------------------------------------------------
# Gauge, q = 2, L1
# ----------------------------------------------------------------------
def test_zero_sum_gauge_keeps_the_distribution():
    n_categories = [3, 2, 4]
    W, b = random_potts(n_categories, seed=3)
    units = CategoricalUnits(n_categories)
    W2, b2 = zero_sum_gauge(W, b, units.offsets)
    _, _, proba, _ = brute_potts(n_categories, W, b)
    _, _, proba2, _ = brute_potts(n_categories, W2, b2)
    np.testing.assert_allclose(proba2, proba, atol=1e-12)
    np.testing.assert_array_equal(W2, W2.T)
    for i in range(3):
        span_i = slice(units.offsets[i], units.offsets[i + 1])
        assert abs(b2[span_i].sum()) < 1e-12
        for j in range(3):
            block = W2[span_i, units.offsets[j] : units.offsets[j + 1]]
            np.testing.assert_allclose(block.sum(axis=0), 0, atol=1e-12)
            np.testing.assert_allclose(block.sum(axis=1), 0, atol=1e-12)


def test_binary_features_agree_with_boltzmann_machine():
    # q = 2 everywhere: with x_i = s_i one-hot as (1 - s_i, s_i), the BM's
    # w_ij = J(1,1) - J(1,0) - J(0,1) + J(0,0) and
    # b_i = h_i(1) - h_i(0) + sum_j (J_ij(1,0) - J_ij(0,0)).
    rng = np.random.default_rng(5)
    S = (rng.random((400, 5)) < [0.2, 0.4, 0.5, 0.6, 0.7]).astype(float)
    S[:, 1] = np.where(rng.random(400) < 0.8, S[:, 0], S[:, 1])
    potts = CategoricalBoltzmannMachine(
        solver="exact", alpha=0.0, alpha_fields=0.0, tol=1e-8, max_iter=500
    ).fit(S.astype(int))
    bm = BoltzmannMachine(solver="exact", alpha=0.0, tol=1e-8, max_iter=500).fit(S)
    J, h = potts.coupling_, potts.intercept_
    w = J[1::2, 1::2] - J[1::2, 0::2] - J[0::2, 1::2] + J[0::2, 0::2]
    np.fill_diagonal(w, 0.0)
    b = h[1::2] - h[0::2] + (J[1::2, 0::2] - J[0::2, 0::2]).sum(axis=1)
    np.testing.assert_allclose(w, bm.coupling_, atol=1e-4)
    np.testing.assert_allclose(b, bm.intercept_, atol=1e-4)
    assert potts.score(S.astype(int)) == pytest.approx(bm.score(S), abs=1e-8)


def test_l1_gives_exact_zeros_and_shrinks_with_alpha():
    rng = np.random.default_rng(6)
    X = np.column_stack([rng.integers(0, 3, 300) for _ in range(5)])
    X[:, 1] = np.where(rng.random(300) < 0.7, X[:, 0], X[:, 1])
    dense = CategoricalBoltzmannMachine(solver="pseudolikelihood").fit(X)
    sparse = CategoricalBoltzmannMachine(
        solver="pseudolikelihood", alpha=0.1, l1_ratio=1.0
    ).fit(X)
    norms = sparse.coupling_norms(apc=False)
    # The planted pair survives; most others are exactly zero blocks.
    assert norms[0, 1] > 0.5
    off = norms[np.triu_indices(5, 1)]
    assert np.sum(off == 0.0) >= 7
    assert not np.any(dense.coupling_norms(apc=False)[np.triu_indices(5, 1)] == 0)


# ----------------------------------------------------------------------
# Sample weights
# ----------------------------------------------------------------------
@pytest.mark.parametrize("solver", ["exact", "pseudolikelihood"])
def test_integer_weights_equal_repeated_rows_and_zero_removes(solver):
    rng = np.random.default_rng(8)
    X = np.column_stack([rng.integers(0, q, 15) for q in (2, 3, 3)])
    X[0] = [1, 2, 2]  # every code present in the kept rows
    weight = rng.integers(0, 4, 15)
    weight[0] = 2
    make = lambda: CategoricalBoltzmannMachine(  # noqa: E731
        n_categories=[2, 3, 3], solver=solver, tol=1e-9, max_iter=1000
    )
    weighted = make().fit(X, sample_weight=weight)
    repeated = make().fit(np.repeat(X, weight, axis=0))
    np.testing.assert_allclose(weighted.coupling_, repeated.coupling_, atol=1e-5)
    np.testing.assert_allclose(weighted.intercept_, repeated.intercept_, atol=1e-5)
    assert weighted.score(X) == pytest.approx(repeated.score(X), abs=1e-6)


def test_weighted_stochastic_gradient_is_the_weighted_gradient_in_expectation():
    # partial_fit draws rows with probability proportional to the weights:
    # with a zero weight on half the rows, those rows never enter a batch.
    rng = np.random.default_rng(9)
    X = np.column_stack([rng.integers(0, 3, 40) for _ in range(3)])
    weight = np.r_[np.ones(20), np.zeros(20)]
    model = CategoricalBoltzmannMachine(
        n_categories=3, solver="pseudolikelihood", batch_size=5, random_state=0
    )
    seen = []
    original = model._gradient

    def spy(params, rows, rng, state):
        seen.append(rows.copy())
        return original(params, rows, rng, state)

    model._gradient = spy
    model.partial_fit(X, sample_weight=weight)
    drawn = {tuple(row) for block in seen for row in block.tolist()}
    allowed = {
        tuple(row) for row in model._validate_units(X[:20], reset=False).tolist()
    }
    assert drawn <= allowed
    assert sum(len(block) for block in seen) == 40


def test_bad_weights_are_refused():
    X = np.array([[0, 1], [1, 0], [1, 1]])
    model = CategoricalBoltzmannMachine()
    with pytest.raises(ValueError, match="non-zero|sum to zero"):
        model.fit(X, sample_weight=[0, 0, 0])
    with pytest.raises(ValueError, match="(?i)negative"):
        model.fit(X, sample_weight=[1, -1, 1])
    with pytest.raises(ValueError):
        model.fit(X, sample_weight=[1, 1])


# ----------------------------------------------------------------------
# Input policy and attributes
# ----------------------------------------------------------------------
def test_codes_are_checked_after_fit():
    model = CategoricalBoltzmannMachine().fit(np.array([[0, 1], [1, 2], [1, 0]]))
    assert model.n_categories_.tolist() == [2, 3]
    assert model.feature_offsets_.tolist() == [0, 2, 5]
    assert list(model.get_feature_names_out()) == [
        "x0_0",
        "x0_1",
        "x1_0",
        "x1_1",
        "x1_2",
    ]
    with pytest.raises(ValueError, match=r"column 1 holds 3 .*beyond the 3"):
        model.score(np.array([[0, 3]]))
    with pytest.raises(ValueError, match="not an integer"):
        model.transform(np.array([[0.5, 1]]))


# ----------------------------------------------------------------------
# Recovery of a known Potts model
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def known_potts():
    """8 sites with q = 3, couplings of standard deviation 0.3 before the
    zero-sum gauge, and 50,000 exact draws from it."""
    n_categories = [3] * 8
    W, b = random_potts(n_categories, seed=0, scale=0.3)
    units = CategoricalUnits(n_categories)
    W, b = zero_sum_gauge(W, b, units.offsets)
    model = model_with(n_categories, W, b)
    return W, model.sample(50000, random_state=1), model._coupled_mask()


@pytest.mark.parametrize(
    "solver, params, bound",
    [
        # Measured maximum errors: 0.059, 0.057 and 0.064.
        ("exact", {}, 0.1),
        ("pseudolikelihood", {}, 0.1),
        ("pcd", {"n_iter": 10, "random_state": 0}, 0.2),
    ],
)
def test_recovers_a_known_potts_model(known_potts, solver, params, bound):
    W, X, coupled = known_potts
    model = CategoricalBoltzmannMachine(solver=solver, **params).fit(X)
    assert model.solver_ == solver
    assert np.abs(model.coupling_ - W)[coupled].max() < bound


def test_pseudolikelihood_threads_over_row_blocks_give_the_same_fit(monkeypatch):
    from skbm import _enumeration

    # Blocks of 7 rows: 50 rows make 8 blocks, shared by 2 threads.
    monkeypatch.setattr(_enumeration, "BLOCK_BYTES", 8 * 12 * 7)
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.integers(q, size=50) for q in (3, 4, 5)])
    weight = rng.random(50)
    fits = [
        CategoricalBoltzmannMachine(solver="pseudolikelihood", n_jobs=n_jobs).fit(
            X, sample_weight=weight
        )
        for n_jobs in (None, 2)
    ]
    np.testing.assert_array_equal(fits[0].coupling_, fits[1].coupling_)
    np.testing.assert_array_equal(fits[0].intercept_, fits[1].intercept_)
