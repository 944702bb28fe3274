"""Tests of BoltzmannMachine against independent brute-force computations."""

import copy

import numpy as np
import pytest
import scipy.sparse as sp
from brute_force import all_states, brute_distribution, brute_neg_energy
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skbm import BoltzmannMachine
from skbm._bm import AUTO_EXACT_MAX_FEATURES

SOLVERS = ["exact", "pseudolikelihood", "pcd"]


# ----------------------------------------------------------------------
# Independent brute force
# ----------------------------------------------------------------------


def brute_log_proba(X, W, b):
    return brute_neg_energy(X, W, b) - brute_distribution(W, b)[2]


def brute_conditionals(X, W, b):
    proba = np.empty(X.shape)
    for i in range(X.shape[1]):
        on, off = X.copy(), X.copy()
        on[:, i], off[:, i] = 1.0, 0.0
        on_logit, off_logit = brute_neg_energy(on, W, b), brute_neg_energy(off, W, b)
        proba[:, i] = 1.0 / (1.0 + np.exp(off_logit - on_logit))
    return proba


def total_variation(draws, states, proba):
    index = {tuple(s): k for k, s in enumerate(states)}
    counts = np.bincount([index[tuple(row)] for row in draws], minlength=len(states))
    return 0.5 * np.abs(counts / len(draws) - proba).sum()


def known_bm(n_units=10, seed=0):
    rng = np.random.default_rng(seed)
    W = np.triu(rng.normal(0, 0.5, (n_units, n_units)), 1)
    W = W + W.T
    b = rng.normal(0, 0.5, n_units) - 0.25 * W.sum(axis=1)
    return W, b


def exact_draws(W, b, n_samples, seed):
    states, proba, _ = brute_distribution(W, b)
    rng = np.random.default_rng(seed)
    return states[rng.choice(len(states), size=n_samples, p=proba)]


@pytest.fixture(scope="module")
def recovery_problem():
    W, b = known_bm()
    return W, b, exact_draws(W, b, 50_000, seed=1)


@pytest.fixture(scope="module")
def small_data():
    rng = np.random.default_rng(2)
    X = (rng.random((300, 6)) < 0.4).astype(float)
    X[:, 1] = np.where(rng.random(300) < 0.8, X[:, 0], X[:, 1])
    X[:, 3] = np.where(rng.random(300) < 0.7, 1 - X[:, 2], X[:, 3])
    return X


# ----------------------------------------------------------------------
# scikit-learn conformance
# ----------------------------------------------------------------------
# ----------------------------------------------------------------------
# Scores, transform, moments
# ----------------------------------------------------------------------
@pytest.mark.parametrize("solver", SOLVERS)
def test_score_samples_matches_brute_force(small_data, solver):
    model = BoltzmannMachine(solver=solver, n_iter=30, random_state=0).fit(small_data)
    W, b = model.coupling_, model.intercept_
    np.testing.assert_array_equal(W, W.T)
    np.testing.assert_array_equal(np.diag(W), 0)
    assert np.abs(W).max() > 0.1  # it learned something
    X = np.vstack([small_data[:20], all_states(6)])
    expected = brute_log_proba(X, W, b)
    np.testing.assert_allclose(model.score_samples(X), expected, rtol=1e-10)
    assert model.score(X) == pytest.approx(expected.mean(), rel=1e-10)
    # ln P sums to one over all states.
    assert logsumexp(model.score_samples(all_states(6))) == pytest.approx(0, abs=1e-10)
    # Fractional data: -Phi(x) of the values themselves.
    frac = np.random.default_rng(3).random((5, 6))
    np.testing.assert_allclose(model.score_samples(frac), brute_log_proba(frac, W, b))


def test_transform_matches_brute_force_conditionals(small_data):
    model = BoltzmannMachine(solver="exact").fit(small_data)
    X = all_states(6)
    proba = model.transform(X)
    assert proba.shape == (64, 6)
    np.testing.assert_allclose(
        proba, brute_conditionals(X, model.coupling_, model.intercept_), rtol=1e-10
    )
    np.testing.assert_allclose(model.transform(sp.csr_matrix(X)), proba)
    names = model.get_feature_names_out()
    assert list(names) == [f"boltzmannmachine{i}" for i in range(6)]


def test_exact_solver_matches_moments(small_data):
    model = BoltzmannMachine(solver="exact", alpha=0.0).fit(small_data)
    states, proba, _ = brute_distribution(model.coupling_, model.intercept_)
    model_second = states.T @ (states * proba[:, None])
    data_second = small_data.T @ small_data / len(small_data)
    np.testing.assert_allclose(model_second, data_second, rtol=0, atol=1e-5)
    np.testing.assert_allclose(proba @ states, small_data.mean(0), rtol=0, atol=1e-5)
    # The maximum of a concave likelihood: no perturbation improves it.
    score = model.score(small_data)
    for seed in range(5):
        other = copy.deepcopy(model)
        rng = np.random.default_rng(seed)
        delta = np.triu(rng.normal(0, 0.01, (6, 6)), 1)
        other.coupling_ = model.coupling_ + delta + delta.T
        other.intercept_ = model.intercept_ + rng.normal(0, 0.01, 6)
        assert other.score(small_data) < score


def test_pseudolikelihood_solver_is_its_maximum(small_data):
    model = BoltzmannMachine(solver="pseudolikelihood", alpha=0.0).fit(small_data)

    def mean_log_pl(W, b):
        cond = brute_conditionals(small_data, W, b)
        return np.mean(
            np.sum(
                small_data * np.log(cond) + (1 - small_data) * np.log1p(-cond), axis=1
            )
        )

    best = mean_log_pl(model.coupling_, model.intercept_)
    rng = np.random.default_rng(4)
    for _ in range(5):
        delta = np.triu(rng.normal(0, 0.01, (6, 6)), 1)
        W = model.coupling_ + delta + delta.T
        assert mean_log_pl(W, model.intercept_ + rng.normal(0, 0.01, 6)) < best


# ----------------------------------------------------------------------
# Parameter recovery from 50,000 exact samples of a known 10-unit BM
# ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "solver, tolerance", [("exact", 0.1), ("pseudolikelihood", 0.1), ("pcd", 0.2)]
)
def test_parameter_recovery(recovery_problem, solver, tolerance):
    W, b, X = recovery_problem
    model = BoltzmannMachine(solver=solver, random_state=0).fit(X)
    assert np.abs(model.coupling_ - W).max() < tolerance
    assert np.abs(model.intercept_ - b).max() < tolerance
    # A model that ignores the couplings is far off.
    assert np.abs(W).max() > 3 * tolerance


# ----------------------------------------------------------------------
# Solvers, partial_fit, options
# ----------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_auto_solver_choice():
    rng = np.random.default_rng(5)
    small = (rng.random((50, AUTO_EXACT_MAX_FEATURES)) < 0.5).astype(float)
    large = (rng.random((50, AUTO_EXACT_MAX_FEATURES + 1)) < 0.5).astype(float)
    assert BoltzmannMachine(max_iter=2).fit(small).solver_ == "exact"
    assert BoltzmannMachine(max_iter=2).fit(large).solver_ == "pseudolikelihood"


def test_exact_solver_refuses_too_many_features():
    X = (np.random.default_rng(6).random((10, 21)) < 0.5).astype(float)
    with pytest.raises(ValueError, match="solver='exact'"):
        BoltzmannMachine(solver="exact").fit(X)


@pytest.mark.parametrize("solver", SOLVERS)
def test_partial_fit_approaches_the_fit(small_data, solver):
    reference = BoltzmannMachine(solver="exact", alpha=0.0).fit(small_data)
    model = BoltzmannMachine(
        solver=solver, alpha=0.0, learning_rate=0.2, batch_size=30, random_state=0
    )
    start = None
    for epoch in range(60):
        model.partial_fit(small_data)
        if epoch == 0:
            start = np.abs(model.coupling_ - reference.coupling_).max()
            assert model.n_iter_ == 1
    assert model.n_iter_ == 60
    error = np.abs(model.coupling_ - reference.coupling_).max()
    assert error < 0.25 * start
    # Constant-rate PCD keeps fluctuating around the optimum.
    slack = 0.05 if solver == "pcd" else 0.01
    assert model.score(small_data) > reference.score(small_data) - slack


@pytest.mark.parametrize("solver", ["exact", "pseudolikelihood"])
def test_full_batch_partial_fit_reaches_the_lbfgs_optimum(small_data, solver):
    # One batch per epoch makes partial_fit plain gradient ascent on the same
    # penalised objective that fit maximises by L-BFGS.
    reference = BoltzmannMachine(solver=solver, alpha=0.5, tol=1e-8).fit(small_data)
    assert np.abs(reference.coupling_).max() > 0.2
    model = BoltzmannMachine(
        solver=solver, alpha=0.5, learning_rate=1.0, batch_size=len(small_data)
    )
    for _ in range(300):
        model.partial_fit(small_data)
    np.testing.assert_allclose(model.coupling_, reference.coupling_, atol=1e-4)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, atol=1e-4)


def test_partial_fit_is_atomic_and_invalidates_the_cache(small_data):
    model = BoltzmannMachine(solver="pcd", random_state=0).partial_fit(small_data)
    coupling = model.coupling_
    saved = coupling.copy()
    score = model.score(small_data)
    with pytest.raises(ValueError):
        model.partial_fit(small_data[:, :5])
    assert model.coupling_ is coupling
    assert model.score(small_data) == score
    model.partial_fit(small_data)
    # Training replaced the array rather than writing into it.
    assert model.coupling_ is not coupling
    np.testing.assert_array_equal(coupling, saved)
    assert model.score(small_data) != score


def test_pcd_is_reproducible(small_data):
    first = BoltzmannMachine(solver="pcd", n_iter=2, random_state=7).fit(small_data)
    second = BoltzmannMachine(solver="pcd", n_iter=2, random_state=7).fit(small_data)
    np.testing.assert_array_equal(first.coupling_, second.coupling_)
    assert first.n_iter_ == 2


def test_convergence_warning(small_data):
    with pytest.warns(ConvergenceWarning, match="did not converge") as record:
        BoltzmannMachine(solver="exact", max_iter=2).fit(small_data)
    # It names the user's line, also from inside a grid search.
    assert [w.filename for w in record] == [__file__]
    search = GridSearchCV(
        BoltzmannMachine(solver="exact", max_iter=1), {"alpha": [1e-3]}
    )
    with pytest.warns(ConvergenceWarning, match="did not converge") as record:
        search.fit(small_data)
    assert {w.filename for w in record} == {__file__}


@pytest.mark.parametrize("solver", SOLVERS)
def test_float32_is_preserved(small_data, solver):
    X32 = small_data.astype(np.float32)
    model = BoltzmannMachine(solver=solver, n_iter=2, random_state=0).fit(X32)
    assert model.coupling_.dtype == np.float32
    assert model.intercept_.dtype == np.float32
    assert model.transform(X32).dtype == np.float32
    assert model.sample(3, random_state=0).dtype == np.float32
    scores = model.score_samples(X32)
    assert scores.dtype == np.float64
    np.testing.assert_allclose(
        scores,
        brute_log_proba(small_data, model.coupling_, model.intercept_),
        rtol=1e-6,
    )
    if solver != "pcd":  # PCD draws float32 uniforms: another random stream
        model64 = BoltzmannMachine(solver=solver).fit(small_data)
        np.testing.assert_allclose(model.coupling_, model64.coupling_, atol=1e-3)


def test_sparse_input_gives_the_same_fit(small_data):
    dense = BoltzmannMachine(solver="pseudolikelihood").fit(small_data)
    sparse = BoltzmannMachine(solver="pseudolikelihood").fit(sp.csr_matrix(small_data))
    np.testing.assert_allclose(sparse.coupling_, dense.coupling_, atol=1e-10)
    np.testing.assert_allclose(
        sparse.score_samples(sp.csc_matrix(small_data)), dense.score_samples(small_data)
    )


def test_bad_input_raises():
    model = BoltzmannMachine()
    with pytest.raises(ValueError, match="Negative values in data"):
        model.fit(np.array([[0.0, -1.0], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="NaN"):
        model.fit(np.array([[0.0, np.nan], [1.0, 0.0]]))
    with pytest.warns(UserWarning, match="Values above 1"):
        model.fit(np.array([[0.0, 2.0], [1.0, 0.0]]))


# ----------------------------------------------------------------------
# Large weights and sampling
# ----------------------------------------------------------------------
def test_weights_of_magnitude_1e4_stay_finite(small_data):
    model = BoltzmannMachine(solver="exact").fit(small_data)
    rng = np.random.default_rng(8)
    W = np.triu(rng.normal(0, 1e4, (6, 6)), 1)
    model.coupling_ = W + W.T
    model.intercept_ = rng.normal(0, 1e4, 6)
    X = all_states(6)
    scores = model.score_samples(X)
    assert np.all(np.isfinite(scores))
    logits = brute_neg_energy(X, model.coupling_, model.intercept_)
    top = logits.max()
    np.testing.assert_allclose(
        scores, logits - (top + np.log(np.exp(logits - top).sum())), rtol=1e-12
    )
    assert np.all(np.isfinite(model.transform(X)))
    draws = model.sample(10, random_state=0)
    np.testing.assert_array_equal(draws, np.tile(X[np.argmax(logits)], (10, 1)))


def test_exact_sample_histogram(small_data):
    model = BoltzmannMachine(solver="exact").fit(small_data)
    states, proba, _ = brute_distribution(model.coupling_, model.intercept_)
    draws = model.sample(20000, random_state=9)
    assert draws.shape == (20000, 6)
    assert total_variation(draws, states, proba) < 0.02
    np.testing.assert_array_equal(draws, model.sample(20000, random_state=9))


def test_gibbs_sample_beyond_enumeration():
    # 22 units in 11 independent coupled pairs: too many to enumerate, but
    # each pair's exact distribution is known.
    n_units = 22
    rng = np.random.default_rng(10)
    W = np.zeros((n_units, n_units))
    for i in range(0, n_units, 2):
        W[i, i + 1] = W[i + 1, i] = rng.choice([-2.5, 2.5])
    b = rng.normal(0, 1, n_units) - 0.5 * W.sum(axis=1)
    model = BoltzmannMachine(solver="pseudolikelihood").fit(
        (rng.random((5, n_units)) < 0.5).astype(float)
    )
    model.coupling_, model.intercept_ = W, b
    draws = model.sample(4000, random_state=11)
    assert draws.shape == (4000, n_units)
    pair_states = all_states(2)
    for i in range(0, n_units, 2):
        _, proba, _ = brute_distribution(W[i : i + 2, i : i + 2], b[i : i + 2])
        assert total_variation(draws[:, i : i + 2], pair_states, proba) < 0.04


@pytest.mark.parametrize("solver", ["exact", "pseudolikelihood"])
def test_l1_ratio_gives_exact_zeros_and_keeps_the_planted_pair(solver):
    rng = np.random.default_rng(21)
    X = (rng.random((400, 6)) < 0.5).astype(float)
    X[:, 1] = np.where(rng.random(400) < 0.9, X[:, 0], X[:, 1])
    sparse = BoltzmannMachine(solver=solver, alpha=0.05, l1_ratio=1.0).fit(X)
    dense = BoltzmannMachine(solver=solver).fit(X)
    upper = np.triu_indices(6, 1)
    assert abs(sparse.coupling_[0, 1]) > 1.0
    assert np.sum(sparse.coupling_[upper] == 0.0) >= 10
    assert not np.any(dense.coupling_[upper] == 0.0)
    np.testing.assert_array_equal(sparse.coupling_, sparse.coupling_.T)


def test_l1_ratio_in_stochastic_updates_is_a_proximal_step():
    # Full-batch partial_fit of solver="exact" is proximal gradient descent
    # on the exact objective: it meets the L-BFGS-B optimum, zeros included.
    rng = np.random.default_rng(21)
    X = (rng.random((400, 6)) < 0.5).astype(float)
    X[:, 1] = np.where(rng.random(400) < 0.9, X[:, 0], X[:, 1])
    params = dict(solver="exact", alpha=0.05, l1_ratio=1.0)
    reference = BoltzmannMachine(**params, tol=1e-8).fit(X)
    proximal = BoltzmannMachine(**params, batch_size=400, learning_rate=2.0)
    for _ in range(1500):
        proximal.partial_fit(X)
    upper = np.triu_indices(6, 1)
    np.testing.assert_array_equal(
        proximal.coupling_[upper] == 0.0, reference.coupling_[upper] == 0.0
    )
    np.testing.assert_allclose(proximal.coupling_, reference.coupling_, atol=1e-3)
    # PCD leaves exact zeros too; without L1 it leaves none.
    pcd = BoltzmannMachine(solver="pcd", alpha=0.05, l1_ratio=1.0, random_state=0)
    pcd.fit(X)
    assert np.sum(pcd.coupling_[upper] == 0.0) >= 3  # 5 here; chain noise
    assert pcd.coupling_[0, 1] > 0.3
    plain = BoltzmannMachine(solver="pcd", alpha=0.05, random_state=0).fit(X)
    assert not np.any(plain.coupling_[upper] == 0.0)
