"""The fused in-place training update and the bounded memory of enumeration."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit

from skbm import BernoulliRBM2
from skbm._rbm_math import log_partition, model_statistics, sigmoid


@pytest.mark.parametrize("solver", ["pcd", "cd"])
@pytest.mark.parametrize(
    "params",
    [
        dict(momentum=0.0, centering=False, alpha=0.0, n_gibbs_steps=1),
        dict(momentum=0.0, centering=False, alpha=0.01, n_gibbs_steps=2),
        dict(momentum=0.9, centering=False, alpha=0.01, n_gibbs_steps=1),
        dict(momentum=0.0, centering=True, alpha=0.0, n_gibbs_steps=3),
        dict(momentum=0.5, centering=True, alpha=0.02, n_gibbs_steps=2),
    ],
)
def test_fused_update_equals_the_gradient_path(solver, params):
    """Dense batches take sgd_step; sparse ones _gradient plus the SGD loop."""
    rng = np.random.default_rng(0)
    X = (rng.random((53, 7)) < 0.35).astype(float)
    common = dict(
        n_components=5,
        n_iter=3,
        batch_size=10,
        n_chains=10 if solver == "pcd" else 100,
        learning_rate=0.2,
        solver=solver,
        random_state=1,
        **params,
    )
    dense = BernoulliRBM2(**common).fit(X)
    sparse = BernoulliRBM2(**common).fit(sp.csr_matrix(X))
    for name in ("components_", "intercept_visible_", "intercept_hidden_"):
        np.testing.assert_allclose(
            getattr(dense, name), getattr(sparse, name), rtol=0, atol=1e-12
        )
    np.testing.assert_array_equal(dense.h_samples_, sparse.h_samples_)
    # partial_fit continues both the same way too.
    dense.partial_fit(X)
    sparse.partial_fit(sp.csr_matrix(X))
    np.testing.assert_allclose(dense.components_, sparse.components_, atol=1e-12)


def test_pcd_with_fewer_chains_than_rows_scales_each_phase():
    rng = np.random.default_rng(1)
    X = (rng.random((40, 6)) < 0.5).astype(float)
    common = dict(n_components=4, n_iter=2, batch_size=20, n_chains=7, random_state=0)
    dense = BernoulliRBM2(**common).fit(X)
    sparse = BernoulliRBM2(**common).fit(sp.csc_matrix(X))
    np.testing.assert_allclose(dense.components_, sparse.components_, atol=1e-12)


def test_sigmoid_matches_expit():
    x = np.linspace(-800, 800, 20001)
    np.testing.assert_allclose(sigmoid(x), expit(x), rtol=0, atol=3e-16)
    x32 = x.astype(np.float32)
    assert sigmoid(x32).dtype == np.float32
    np.testing.assert_allclose(sigmoid(x32), expit(x32), rtol=0, atol=2e-7)
    y = x.copy()
    assert sigmoid(y, out=y) is y


@pytest.mark.parametrize("function", [log_partition, model_statistics])
def test_exact_enumeration_memory_is_bounded(function):
    """2**20 enumerated states with 200 units on the other side: far below
    256 MiB, whereas one array of all the states' activations would take
    2**20 * 200 * 8 bytes = 1.6 GiB."""
    rng = np.random.default_rng(0)
    W = rng.normal(0, 0.1, (20, 200))
    b, c = rng.normal(0, 0.1, 200), rng.normal(0, 0.1, 20)
    tracemalloc.start()
    try:
        function(W, b, c)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 256 * 2**20


def test_fused_update_with_parameters_of_another_dtype():
    """A user-assigned float64 bias of a float32 model is still updated."""
    rng = np.random.default_rng(2)
    X = (rng.random((30, 6)) < 0.4).astype(np.float32)
    models = []
    for dtype in (np.float32, np.float64):
        model = BernoulliRBM2(n_components=4, n_iter=1, random_state=0).fit(X)
        model.intercept_visible_ = model.intercept_visible_.astype(dtype)
        model.intercept_hidden_ = model.intercept_hidden_.astype(dtype)
        before = model.intercept_visible_.copy()
        model.partial_fit(X)
        assert not np.allclose(model.intercept_visible_, before)
        models.append(model)
    for name in ("components_", "intercept_visible_", "intercept_hidden_"):
        np.testing.assert_allclose(
            getattr(models[0], name), getattr(models[1], name), atol=1e-5
        )
