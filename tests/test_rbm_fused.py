"""The fused in-place training update and the bounded memory of enumeration."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit

from skbm import BernoulliRBM2
from skbm._rbm_math import _blas, _conditional, log_partition, model_statistics


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


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("order", ["C", "F"])
def test_conditionals_match_expit(dtype, order):
    """P(h | v) and P(v | h) of the fused step, also where exp overflows."""
    rng = np.random.default_rng(0)
    W = np.array(rng.normal(0, 300, (7, 5)), dtype=dtype, order=order)
    b, c = rng.normal(0, 300, 5).astype(dtype), rng.normal(0, 300, 7).astype(dtype)
    V = (rng.random((9, 5)) < 0.5).astype(dtype)
    H = (rng.random((4, 7)) < 0.5).astype(dtype)
    gemm = _blas(np.dtype(dtype))[0]
    W_blas, to_W = (W, 0) if order == "F" else (W.T, 1)
    atol = 3e-16 if dtype == np.float64 else 2e-7
    with np.errstate(over="ignore"):
        hidden = _conditional(gemm, W_blas, to_W, V, c)
        visible = _conditional(gemm, W_blas, 1 - to_W, H, b)
    assert hidden.dtype == visible.dtype == dtype
    expected_hidden = expit(V.astype(float) @ W.T.astype(float) + c)
    expected_visible = expit(H.astype(float) @ W.astype(float) + b)
    # exp(-x) overflows in float64 (x < -709) for some units, not for all.
    assert (V @ W.T + c).min() < -709 and (V @ W.T + c).max() > 0
    np.testing.assert_allclose(hidden, expected_hidden, rtol=0, atol=atol)
    np.testing.assert_allclose(visible, expected_visible, rtol=0, atol=atol)


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


@pytest.mark.parametrize("persistent", [True, False])
@pytest.mark.parametrize("centering", [True, False])
def test_fused_step_is_the_same_for_c_and_fortran_ordered_weights(
    persistent, centering
):
    """BLAS reads the weights through a different view in each memory order."""
    from skbm._rbm_math import sgd_step

    data_rng = np.random.default_rng(3)
    n_hidden, n_visible = 6, 9
    W = data_rng.normal(0, 0.5, (n_hidden, n_visible))
    V = (data_rng.random((8, n_visible)) < 0.4).astype(float)
    chains = (data_rng.random((5, n_hidden)) < 0.5).astype(float)
    offsets = (
        dict(visible_offset=V.mean(axis=0), hidden_offset=np.full(n_hidden, 0.4))
        if centering
        else {}
    )
    results = []
    for order in ("C", "F"):
        params = [
            np.array(W, order=order),
            np.full(n_visible, 0.1),
            np.full(n_hidden, -0.2),
        ]
        velocity = [
            np.array(0.01 * W, order=order),
            np.zeros(n_visible),
            np.ones(n_hidden),
        ]
        new_chains, _ = sgd_step(
            *params,
            V,
            np.random.default_rng(7),
            chains=chains if persistent else None,
            n_gibbs_steps=2,
            rate=0.3,
            momentum=0.5,
            velocity=velocity,
            alpha=0.01,
            **offsets,
        )
        assert params[0].flags["F_CONTIGUOUS" if order == "F" else "C_CONTIGUOUS"]
        results.append((params, velocity, new_chains))
    (c_params, c_velocity, c_chains), (f_params, f_velocity, f_chains) = results
    np.testing.assert_array_equal(c_chains, f_chains)
    for c_value, f_value in zip(
        c_params + c_velocity, f_params + f_velocity, strict=True
    ):
        np.testing.assert_allclose(c_value, f_value, rtol=0, atol=1e-13)
    # The step moved the weights: the comparison is not between two no-ops.
    assert np.abs(c_params[0] - W).max() > 1e-3
