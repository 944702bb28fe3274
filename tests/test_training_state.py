"""Training state and parameter validation of the fit protocol."""

import pickle

import numpy as np
import pytest
import sklearn

from skbm import BernoulliRBM2, BoltzmannMachine, HiddenBoltzmannMachine
from skbm._base import BaseBoltzmann, SolverState

X = (np.random.default_rng(0).random((40, 5)) < 0.4).astype(float)

MAKERS = {
    "rbm": lambda: BernoulliRBM2(n_components=3, n_iter=2, random_state=0),
    "bm": lambda: BoltzmannMachine(solver="pcd", n_iter=2, random_state=0),
    "hbm": lambda: HiddenBoltzmannMachine(
        n_components=2, solver="pcd", n_iter=2, random_state=0
    ),
}


@pytest.mark.parametrize("name", list(MAKERS))
def test_skip_parameter_validation_is_honoured(monkeypatch, name):
    def refuse(self):
        raise AssertionError("parameters validated")

    monkeypatch.setattr(BaseBoltzmann, "_validate_params", refuse)
    with pytest.raises(AssertionError, match="validated"):
        MAKERS[name]().fit(X)
    with sklearn.config_context(skip_parameter_validation=True):
        model = MAKERS[name]().fit(X)
        model.partial_fit(X)


@pytest.mark.parametrize("name", list(MAKERS))
def test_partial_fit_validates_parameters_set_after_fit(name):
    model = MAKERS[name]().fit(X)
    before = pickle.dumps(model)
    for bad in ({"batch_size": 0}, {"learning_rate": -1.0}, {"n_iter": -1}):
        model.set_params(**bad)
        with pytest.raises(ValueError, match="must be"):
            model.partial_fit(X)
        model.set_params(**MAKERS[name]().get_params())
        assert pickle.dumps(model) == before


@pytest.mark.parametrize("name", list(MAKERS))
def test_solver_state_is_committed_once_per_call(name):
    model = MAKERS[name]().fit(X)
    state = model._solver_state
    assert isinstance(state, SolverState)
    assert state.chains is not None and state.velocity is not None
    copy = state.copy()
    assert copy.chains is not state.chains
    np.testing.assert_array_equal(copy.chains, state.chains)
    model.partial_fit(X)
    # A new state object: the one of the last call was never updated in place.
    assert model._solver_state is not state
    np.testing.assert_array_equal(state.chains, copy.chains)
    if name == "rbm":
        assert model.h_samples_ is model._solver_state.chains
