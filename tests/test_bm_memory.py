"""Memory of BoltzmannMachine's L-BFGS fits, and their chunked objectives.

The pseudo-likelihood and exact objectives visit the data in row blocks of
bounded size (``skbm._enumeration.BLOCK_BYTES`` of float64 work each): the
data are never copied whole, sparse data stay sparse and float32 data are
converted to float64 one block at a time. These tests check the memory
(with tracemalloc, to which numpy reports its allocations), that chunked
results equal the unchunked computation, and that float32 data fit as the
same data in float64.
"""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.ndimage import gaussian_filter
from scipy.special import expit

import skbm._enumeration
from skbm import BoltzmannMachine
from skbm._bm import _distinct_rows
from skbm._bm_math import (
    _pseudolikelihood_block,
    data_statistics,
    pack_parameters,
    pseudolikelihood_gradients,
    pseudolikelihood_objective,
    unpack_parameters,
)


def smooth_images(n_images, side, seed, dtype=np.float32):
    """Binarized smoothed Gaussian noise: blobs, about 20% of pixels on."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n_images, side, side))
    images = gaussian_filter(noise, sigma=(0, 2.5, 2.5)) > 0.1
    return images.reshape(n_images, side * side).astype(dtype)


def random_parameters(n_units, seed, scale=0.3):
    rng = np.random.default_rng(seed)
    coupling = rng.normal(0.0, scale, (n_units, n_units))
    coupling = np.triu(coupling, 1) + np.triu(coupling, 1).T
    return pack_parameters(coupling, rng.normal(0.0, 1.0, n_units))


def full_pseudolikelihood(theta, X, alpha, sample_weight=None):
    """The unchunked objective, as skbm computed it before chunking."""
    n_units = X.shape[1]
    coupling, intercept = unpack_parameters(theta, n_units)
    X = np.asarray(X.toarray() if sp.issparse(X) else X, dtype=np.float64)
    if sample_weight is None:
        sample_weight = np.full(X.shape[0], 1.0 / X.shape[0])
    field = X @ coupling + intercept
    log_pl = sample_weight @ np.sum(X * field - np.logaddexp(0.0, field), axis=1)
    residual = (X - expit(field)) * sample_weight[:, None]
    cross = X.T @ residual
    grad_coupling = cross + cross.T
    np.fill_diagonal(grad_coupling, 0.0)
    upper = np.triu_indices(n_units, 1)
    weights = coupling[upper]
    loss = -log_pl + 0.5 * alpha * weights @ weights
    grad = -np.concatenate([grad_coupling[upper], residual.sum(axis=0)])
    grad[: len(weights)] += alpha * weights
    return loss, grad


def tiny_blocks(monkeypatch, n_units, rows=7):
    """Make every block of the objectives ``rows`` rows of ``n_units`` units."""
    monkeypatch.setattr(skbm._enumeration, "BLOCK_BYTES", 8 * n_units * rows)


def make_input(kind, n_samples=60, n_units=9, seed=0):
    """Data of each kind the objectives take, and the same data dense float64."""
    rng = np.random.default_rng(seed)
    values = rng.random((n_samples, n_units))
    if kind.startswith("binary"):
        X = (values < 0.3).astype(np.float64)
    else:  # values in [0, 1], mostly zero
        X = np.where(rng.random((n_samples, n_units)) < 0.3, values, 0.0)
    if kind.endswith("sparse"):  # below the density that is densified
        X *= rng.random((n_samples, n_units)) < 0.2
    if kind.endswith("float32"):
        X = X.astype(np.float32)
    expected = X.astype(np.float64)
    if kind.endswith("sparse") or kind.endswith("csr"):
        X = sp.csr_matrix(X)
    return X, expected


KINDS = [
    "binary",
    "binary-float32",
    "binary-csr",
    "binary-sparse",
    "unit-interval",
    "unit-interval-float32",
    "unit-interval-csr",
    "unit-interval-sparse",
]


# ----------------------------------------------------------------------
# Chunked results equal the unchunked computation
# ----------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_chunked_pseudolikelihood_equals_the_full_computation(monkeypatch, kind, alpha):
    X, expected = make_input(kind)
    theta = random_parameters(X.shape[1], seed=1)
    full_loss, full_grad = full_pseudolikelihood(theta, expected, alpha)
    default_loss, default_grad = pseudolikelihood_objective(theta, X, alpha)

    tiny_blocks(monkeypatch, X.shape[1])
    blocks = []

    def counting_block(block, *args):
        blocks.append(block.shape[0])
        assert sp.issparse(block) == kind.endswith("sparse")
        assert block.dtype == np.float64
        return _pseudolikelihood_block(block, *args)

    monkeypatch.setattr(skbm._bm_math, "_pseudolikelihood_block", counting_block)
    loss, grad = pseudolikelihood_objective(theta, X, alpha)
    assert blocks == [7] * 8 + [4]  # 60 rows in blocks of 7
    for value, gradient in [(loss, grad), (default_loss, default_grad)]:
        assert value == pytest.approx(full_loss, rel=1e-10, abs=1e-10)
        np.testing.assert_allclose(gradient, full_grad, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kind", ["binary", "binary-float32", "binary-sparse"])
def test_chunked_weighted_rows_equal_the_full_computation(monkeypatch, kind):
    # Selected rows with weights (how a fit passes distinct rows): as the
    # full computation on those rows.
    X, expected = make_input(kind, n_samples=80)
    rows = np.random.default_rng(2).permutation(80)[:50]
    weights = np.random.default_rng(3).random(50)
    weights /= weights.sum()
    theta = random_parameters(X.shape[1], seed=4)
    full_loss, full_grad = full_pseudolikelihood(theta, expected[rows], 0.1, weights)
    tiny_blocks(monkeypatch, X.shape[1], rows=3)
    loss, grad = pseudolikelihood_objective(theta, X, 0.1, weights, rows)
    assert loss == pytest.approx(full_loss, rel=1e-10, abs=1e-10)
    np.testing.assert_allclose(grad, full_grad, rtol=1e-10, atol=1e-10)

    coupling, intercept = unpack_parameters(theta, X.shape[1])
    log_pl, grad_coupling, grad_intercept = pseudolikelihood_gradients(
        X, coupling, intercept, weights, rows
    )
    assert -log_pl == pytest.approx(
        full_loss - 0.05 * np.sum(np.triu(coupling, 1) ** 2), rel=1e-10
    )
    n_pairs = len(theta) - X.shape[1]
    np.testing.assert_allclose(-grad_intercept, full_grad[n_pairs:], atol=1e-10)
    upper = np.triu_indices(X.shape[1], 1)
    np.testing.assert_allclose(
        -grad_coupling[upper], full_grad[:n_pairs] - 0.1 * theta[:n_pairs], atol=1e-10
    )


@pytest.mark.parametrize("kind", KINDS)
def test_chunked_data_statistics_equal_the_full_computation(monkeypatch, kind):
    X, expected = make_input(kind)
    tiny_blocks(monkeypatch, X.shape[1])
    mean, second = data_statistics(X)
    assert mean.dtype == second.dtype == np.float64
    np.testing.assert_allclose(mean, expected.mean(axis=0), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        second, expected.T @ expected / len(expected), rtol=1e-12, atol=1e-14
    )


@pytest.mark.parametrize("solver", ["exact", "pseudolikelihood"])
def test_fit_in_tiny_blocks_equals_the_fit_in_one_block(monkeypatch, solver):
    X, _ = make_input("binary", n_samples=300, n_units=8, seed=5)
    X[:, 1] = np.where(X[:, 2] == 1, X[:, 0], X[:, 1])  # correlated units
    params = dict(solver=solver, alpha=0.01, tol=1e-10, max_iter=1000)
    model = BoltzmannMachine(**params).fit(X)
    tiny_blocks(monkeypatch, X.shape[1], rows=5)
    chunked = BoltzmannMachine(**params).fit(X)
    np.testing.assert_allclose(chunked.coupling_, model.coupling_, atol=1e-8)
    np.testing.assert_allclose(chunked.intercept_, model.intercept_, atol=1e-8)


# ----------------------------------------------------------------------
# Distinct rows
# ----------------------------------------------------------------------
def rows_with_repeats(n_samples, n_units, seed):
    rng = np.random.default_rng(seed)
    pool = (rng.random((n_samples // 3, n_units)) < 0.3).astype(np.float64)
    return pool[rng.integers(0, len(pool), n_samples)]


@pytest.mark.parametrize("n_units", [1, 5, 62, 63, 64, 65, 130])
@pytest.mark.parametrize("container", ["float64", "float32", "csr", "csc"])
def test_distinct_rows_are_those_of_unique(monkeypatch, n_units, container):
    X = rows_with_repeats(200, n_units, seed=n_units)
    tiny_blocks(monkeypatch, n_units, rows=16)
    data = {
        "float64": X,
        "float32": X.astype(np.float32),
        "csr": sp.csr_matrix(X),
        "csc": sp.csc_matrix(X),
    }[container]
    first, counts = _distinct_rows(data)
    rows, unique_first, unique_counts = np.unique(
        X, axis=0, return_index=True, return_counts=True
    )
    if n_units <= 62:
        # Ordered by integer code, bit i = unit i (as before).
        codes = X.astype(np.int64) @ (np.int64(1) << np.arange(n_units))
        order = np.argsort(codes[unique_first], kind="stable")
        rows, unique_first = rows[order], unique_first[order]
        unique_counts = unique_counts[order]
    np.testing.assert_array_equal(X[first], rows)
    np.testing.assert_array_equal(first, unique_first)
    np.testing.assert_array_equal(counts, unique_counts)
    # With weights: the same rows, each with the sum of its copies' weights.
    weights = np.random.default_rng(n_units).random(X.shape[0])
    weighted_first, totals = _distinct_rows(data, weights)
    np.testing.assert_array_equal(weighted_first, first)
    expected = [weights[(X == X[index]).all(axis=1)].sum() for index in first]
    np.testing.assert_allclose(totals, expected, rtol=1e-12)


def test_distinct_rows_of_non_binary_data_are_none():
    X = rows_with_repeats(50, 70, seed=6)
    X[17, 3] = 0.5
    assert _distinct_rows(X) == (None, None)
    assert _distinct_rows(sp.csr_matrix(X)) == (None, None)


# ----------------------------------------------------------------------
# float32 fits as float64
# ----------------------------------------------------------------------
@pytest.mark.parametrize("solver", ["exact", "pseudolikelihood"])
@pytest.mark.parametrize("binary", [True, False])
def test_float32_fits_as_float64(solver, binary):
    X = smooth_images(400, 4, seed=7)[:, :10]
    if not binary:
        X *= np.random.default_rng(8).random(X.shape).astype(np.float32)
    params = dict(solver=solver, alpha=1e-2, tol=1e-10, max_iter=2000)
    fit32 = BoltzmannMachine(**params).fit(X)
    fit64 = BoltzmannMachine(**params).fit(X.astype(np.float64))
    assert fit32.coupling_.dtype == np.float32
    for name in ["coupling_", "intercept_"]:
        value32, value64 = getattr(fit32, name), getattr(fit64, name)
        scale = np.abs(value64).max()
        np.testing.assert_allclose(value32, value64, rtol=1e-6, atol=1e-6 * scale)


# ----------------------------------------------------------------------
# Memory
# ----------------------------------------------------------------------
def extra_peak(function, *args):
    """Peak of the memory ``function(*args)`` allocates beyond what is live."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        function(*args)
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def fit_quickly(X):
    model = BoltzmannMachine(solver="pseudolikelihood", max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # L-BFGS does not converge in 1 step
        return model.fit(X)


def test_fit_of_100k_float32_images_takes_under_twice_their_size():
    # 100,000 binarized 28 x 28 images, float32 (300 MiB): a fit once took
    # ten times their size, copying them to float64 several times. 5,000
    # distinct images repeat 20 times each, so that each L-BFGS step, on the
    # distinct rows, stays fast.
    X = smooth_images(5_000, 28, seed=9)
    X = X[np.random.default_rng(10).integers(0, len(X), 100_000)]
    peak = extra_peak(fit_quickly, X)
    assert peak < 2 * X.nbytes


def test_pseudolikelihood_of_all_rows_is_memory_bounded(monkeypatch):
    # Rows that do not repeat are all visited, a block at a time: the memory
    # depends on the block size, not on the number of rows.
    X = smooth_images(20_000, 28, seed=11)
    monkeypatch.setattr(skbm._enumeration, "BLOCK_BYTES", 2**20)
    theta = random_parameters(X.shape[1], seed=12, scale=0.01)
    peak = extra_peak(pseudolikelihood_objective, theta, X, 1e-4)
    # The couplings, their gradient and the work arrays of one block take
    # about 21 MiB; a float64 copy of the data would take 120 MiB.
    assert peak < X.nbytes / 2


def test_fit_of_sparse_data_does_not_densify(monkeypatch):
    # 50,000 x 500 at 1% density: 3 MiB as CSR, 191 MiB dense in float64. The
    # blocks are made small, so that the L-BFGS memory (25 MiB) and about 25
    # MiB of blocks and couplings make the whole peak.
    X = sp.random(
        50_000, 500, density=0.01, format="csr", random_state=13, dtype=np.float64
    )
    X.data[:] = 1.0
    monkeypatch.setattr(skbm._enumeration, "BLOCK_BYTES", 2**21)
    peak = extra_peak(fit_quickly, X)
    assert peak < X.shape[0] * X.shape[1] * 8 / 3
