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
