"""sample_weight on every estimator: weights against repeated rows."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skbm import BernoulliRBM2, BoltzmannMachine, HiddenBoltzmannMachine


def weighted_data(seed, n_rows=30, n_features=6):
    rng = np.random.default_rng(seed)
    X = (rng.random((n_rows, n_features)) < 0.4).astype(float)
    weight = rng.integers(0, 4, n_rows)
    weight[:2] = 1  # some rows kept
    return X, weight


@pytest.mark.parametrize("solver", ["exact", "pseudolikelihood"])
def test_boltzmann_machine_weights_equal_repeated_rows(solver):
    X, weight = weighted_data(0)
    make = lambda: BoltzmannMachine(  # noqa: E731
        solver=solver, alpha=0.01, tol=1e-10, max_iter=5000
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = make().fit(X, sample_weight=weight)
        repeated = make().fit(np.repeat(X, weight, axis=0))
    np.testing.assert_allclose(weighted.coupling_, repeated.coupling_, atol=1e-5)
    np.testing.assert_allclose(weighted.intercept_, repeated.intercept_, atol=1e-5)
    # And the score is the weighted mean of score_samples.
    expected = np.average(weighted.score_samples(X), weights=weight)
    assert weighted.score(X, sample_weight=weight) == pytest.approx(expected)


def test_pseudolikelihood_fit_at_defaults_reaches_the_optimum():
    # 15 rows of 30 fractional features with alpha=1e-4 (the sklearn check's
    # data): L-BFGS alone stalls about 1e-3 from the optimum, differently for
    # weights and for repeated rows; the Newton steps bring both to it.
    rng = np.random.RandomState(42)
    X = rng.rand(15, 30)
    weight = rng.randint(0, 5, size=15)
    weighted = BoltzmannMachine().fit(X, sample_weight=weight)
    repeated = BoltzmannMachine().fit(np.repeat(X, weight, axis=0))
    np.testing.assert_allclose(weighted.coupling_, repeated.coupling_, atol=1e-9)
    np.testing.assert_allclose(weighted.transform(X), repeated.transform(X), rtol=1e-9)


def test_pseudolikelihood_hessian_matches_finite_differences():
    from skbm._bm_math import (
        pack_parameters,
        pseudolikelihood_hessian,
        pseudolikelihood_objective,
    )

    rng = np.random.default_rng(0)
    n_units = 5
    X = (rng.random((40, n_units)) < 0.4).astype(float)
    X[:5] = rng.random((5, n_units))  # fractional values too
    W = rng.normal(size=(n_units, n_units))
    W = (W + W.T) / 2
    np.fill_diagonal(W, 0)
    theta = pack_parameters(W, rng.normal(size=n_units))
    weight = rng.random(40)
    weight /= weight.sum()
    hessian = pseudolikelihood_hessian(theta, X, 0.3, weight)
    step = 1e-6
    numeric = np.empty_like(hessian)
    for k in range(theta.shape[0]):
        shift = np.zeros_like(theta)
        shift[k] = step
        plus = pseudolikelihood_objective(theta + shift, X, 0.3, weight)[1]
        minus = pseudolikelihood_objective(theta - shift, X, 0.3, weight)[1]
        numeric[:, k] = (plus - minus) / (2 * step)
    np.testing.assert_allclose(hessian, numeric, atol=1e-8)
    # Distinct rows with weights give the same Hessian as those rows.
    rows = np.array([0, 3, 5, 7])
    part = np.array([0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(
        pseudolikelihood_hessian(theta, X, 0.3, part, rows),
        pseudolikelihood_hessian(theta, X[rows], 0.3, part),
        atol=1e-14,
    )


def test_hidden_machine_weights_equal_repeated_rows():
    X, weight = weighted_data(1, n_features=4)
    make = lambda: HiddenBoltzmannMachine(  # noqa: E731
        n_components=2, alpha=0.01, tol=1e-9, max_iter=3000, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = make().fit(X, sample_weight=weight)
        repeated = make().fit(np.repeat(X, weight, axis=0))
    assert weighted.solver_ == "exact"
    np.testing.assert_allclose(
        weighted.score_samples(X), repeated.score_samples(X), atol=1e-5
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: BernoulliRBM2(n_components=2, batch_size=5, random_state=0),
        lambda: BoltzmannMachine(solver="pcd", batch_size=5, random_state=0),
        lambda: HiddenBoltzmannMachine(solver="pcd", batch_size=5, random_state=0),
    ],
    ids=["BernoulliRBM2", "BoltzmannMachine", "HiddenBoltzmannMachine"],
)
def test_stochastic_epochs_draw_rows_by_weight(make, monkeypatch):
    # Rows of weight zero never enter a mini-batch; an epoch draws as many
    # rows as there are.
    X, _ = weighted_data(2, n_rows=40)
    X[20:] = 1.0  # the rows of weight zero are all ones
    weight = np.r_[np.ones(20), np.zeros(20)]
    model = make()
    seen = []
    step = model._step_function

    def spying_step_function(data):
        inner = step(data)

        def spy(params, rows, rng, rate, momentum, state):
            seen.append(np.asarray(rows).copy())
            return inner(params, rows, rng, rate, momentum, state)

        return spy

    monkeypatch.setattr(model, "_step_function", spying_step_function)
    model.partial_fit(X, sample_weight=weight)
    rows = np.vstack(seen)
    assert rows.shape[0] == 40
    kept = {tuple(row) for row in X[:20].tolist()}
    assert all(tuple(row) in kept for row in rows.tolist())


def test_pseudolikelihood_scale_is_the_hessian_diagonal_at_the_start():
    # At zero couplings and fields at the data's log-odds (where the L-BFGS
    # fits start) the preconditioner is the inverse square root of the
    # Hessian's diagonal.
    from skbm._bm_math import (
        data_statistics,
        pack_parameters,
        pseudolikelihood_hessian,
        pseudolikelihood_scale,
    )

    rng = np.random.default_rng(3)
    X = (rng.random((60, 5)) < [0.1, 0.3, 0.5, 0.7, 0.05]).astype(float)
    weight = rng.random(60)
    weight /= weight.sum()
    mean, second = data_statistics(X, weight)
    theta = pack_parameters(np.zeros((5, 5)), np.log(mean / (1 - mean)))
    diagonal = np.diagonal(pseudolikelihood_hessian(theta, X, 0.2, weight))
    np.testing.assert_allclose(
        pseudolikelihood_scale(mean, np.diagonal(second), 0.2),
        diagonal**-0.5,
        rtol=1e-10,
    )
