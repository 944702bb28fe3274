"""Tests of HiddenBoltzmannMachine against independent brute-force computations."""

import itertools
import warnings
from functools import partial

import numpy as np
import pytest
import scipy.sparse as sp
from brute_force import all_states, brute_neg_energy
from scipy.special import expit, logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn_checks import expected_failed_checks

import skbm
import skbm._hbm as hbm_module
from skbm import HiddenBoltzmannMachine
from skbm._bm_math import bm_exact_sample

N_VISIBLE, N_HIDDEN = 4, 3
N_UNITS = N_VISIBLE + N_HIDDEN
PARITY = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=float)


# ----------------------------------------------------------------------
# Independent brute force
# ----------------------------------------------------------------------


def brute_marginal(V, W, b):
    """ln P(v) and E[h | v] for each row of V, summing h state by state."""
    n_visible = V.shape[1]
    n_hidden = len(b) - n_visible
    hidden = all_states(n_hidden)
    log_z = logsumexp(brute_neg_energy(all_states(len(b)), W, b))
    log_p, posterior = [], []
    for v in V:
        joint = np.hstack([np.tile(v, (len(hidden), 1)), hidden])
        logits = brute_neg_energy(joint, W, b)
        log_p.append(logsumexp(logits) - log_z)
        weights = np.exp(logits - logsumexp(logits))
        posterior.append(weights @ hidden)
    return np.array(log_p), np.array(posterior)


def make_mask(connectivity, n_visible=N_VISIBLE, n_hidden=N_HIDDEN):
    n_units = n_visible + n_hidden
    mask = np.ones((n_units, n_units), dtype=bool)
    if connectivity in ("semi-restricted", "restricted"):
        mask[n_visible:, n_visible:] = False
    if connectivity == "restricted":
        mask[:n_visible, :n_visible] = False
    if connectivity == "custom":
        # A ring over all units plus one hidden-hidden chord.
        mask[:] = False
        for i in range(n_units):
            j = (i + 1) % n_units
            mask[i, j] = mask[j, i] = True
        mask[n_visible, n_units - 1] = mask[n_units - 1, n_visible] = True
    np.fill_diagonal(mask, False)
    return mask


def random_parameters(mask, rng, scale=1.0):
    n_units = mask.shape[0]
    W = np.triu(rng.normal(0, scale, (n_units, n_units)), 1)
    W = (W + W.T) * mask
    return W, rng.normal(0, scale, n_units)


def model_with(W, b, n_visible, **params):
    """A fitted HiddenBoltzmannMachine with the given parameters."""
    n_hidden = len(b) - n_visible
    X = np.random.default_rng(0).integers(0, 2, (8, n_visible)).astype(float)
    # One L-BFGS iteration or no epoch: only the fitted state is wanted.
    settings = {"n_iter": 0, "max_iter": 1, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = HiddenBoltzmannMachine(n_components=n_hidden, **settings).fit(X)
    model.coupling_ = np.array(W, dtype=np.float64)
    model.intercept_ = np.array(b, dtype=np.float64)
    return model


def binary_data(rng, n_samples, n_visible=N_VISIBLE):
    return rng.integers(0, 2, (n_samples, n_visible)).astype(float)


CONNECTIVITIES = ["full", "semi-restricted", "restricted", "custom"]


def connectivity_param(name):
    return make_mask(name) if name == "custom" else name


# ----------------------------------------------------------------------
# Exact scores, posteriors and gradients against brute force
# ----------------------------------------------------------------------
@pytest.mark.parametrize("connectivity", CONNECTIVITIES)
def test_score_samples_and_transform_match_brute_force(connectivity):
    rng = np.random.default_rng(1)
    W, b = random_parameters(make_mask(connectivity), rng, scale=1.5)
    model = model_with(W, b, N_VISIBLE, connectivity=connectivity_param(connectivity))
    V = all_states(N_VISIBLE)
    expected_log_p, expected_posterior = brute_marginal(V, W, b)
    np.testing.assert_allclose(model.score_samples(V), expected_log_p, atol=1e-10)
    np.testing.assert_allclose(model.transform(V), expected_posterior, atol=1e-10)
    # The visible marginal is a distribution.
    assert abs(logsumexp(model.score_samples(V))) < 1e-10
    # Fractional data: the closed form / enumeration in v is multilinear, so
    # the values themselves enter -Phi(v, h), as in the brute force.
    fractional = rng.random((5, N_VISIBLE))
    expected_fractional = brute_marginal(fractional, W, b)[0]
    np.testing.assert_allclose(
        model.score_samples(fractional), expected_fractional, atol=1e-10
    )


def test_each_distinct_row_is_scored_once(monkeypatch):
    # Binary data repeat rows: the hidden sum of each distinct row is
    # computed once, and every copy gets its brute-force value.
    import skbm._hbm_math as hbm_math

    rng = np.random.default_rng(2)
    W, b = random_parameters(make_mask("full"), rng, scale=1.5)
    model = model_with(W, b, N_VISIBLE)
    V = all_states(N_VISIBLE)[rng.integers(0, 2**N_VISIBLE, 40)]
    seen = []
    original = hbm_math.hidden_log_sum

    def counting(rows, *args, **kwargs):
        seen.append(len(rows))
        return original(rows, *args, **kwargs)

    monkeypatch.setattr(hbm_math, "hidden_log_sum", counting)
    scores = model.score_samples(V)
    assert seen == [len(np.unique(V, axis=0))] and seen[0] < len(V)
    np.testing.assert_allclose(scores, brute_marginal(V, W, b)[0], atol=1e-10)


@pytest.mark.parametrize("connectivity", CONNECTIVITIES)
def test_fit_keeps_structure(connectivity):
    rng = np.random.default_rng(2)
    X = binary_data(rng, 60)
    mask = make_mask(connectivity)
    for solver in ("exact", "pcd"):
        model = HiddenBoltzmannMachine(
            n_components=N_HIDDEN,
            connectivity=connectivity_param(connectivity),
            solver=solver,
            n_iter=3,
            random_state=0,
        ).fit(X)
        W = model.coupling_
        assert W.shape == (N_UNITS, N_UNITS)
        assert model.intercept_.shape == (N_UNITS,)
        np.testing.assert_array_equal(W, W.T)
        np.testing.assert_array_equal(np.diag(W), 0)
        np.testing.assert_array_equal(W[~mask], 0)
        assert np.count_nonzero(W[mask]) == mask.sum()


def log_likelihood(V, W, b):
    return brute_marginal(V, W, b)[0].mean()


@pytest.mark.parametrize("connectivity", ["full", "semi-restricted", "custom"])
def test_gradient_matches_finite_differences(connectivity):
    rng = np.random.default_rng(3)
    mask = make_mask(connectivity)
    W, b = random_parameters(mask, rng, scale=0.8)
    V = binary_data(rng, 9)
    model = model_with(
        W,
        b,
        N_VISIBLE,
        connectivity=connectivity_param(connectivity),
        solver="exact",
        alpha=0.0,
    )
    grad = model._gradient(
        {"coupling_": W, "intercept_": b}, V, rng, model._solver_state.copy()
    )
    eps = 1e-5
    for i, j in itertools.combinations(range(N_UNITS), 2):
        step = np.zeros_like(W)
        step[i, j] = step[j, i] = eps
        numeric = (log_likelihood(V, W + step, b) - log_likelihood(V, W - step, b)) / (
            2 * eps
        )
        expected = numeric if mask[i, j] else 0.0
        assert grad["coupling_"][i, j] == pytest.approx(expected, abs=1e-7)
        assert grad["coupling_"][j, i] == grad["coupling_"][i, j]
    for i in range(N_UNITS):
        step = np.zeros_like(b)
        step[i] = eps
        numeric = (log_likelihood(V, W, b + step) - log_likelihood(V, W, b - step)) / (
            2 * eps
        )
        assert grad["intercept_"][i] == pytest.approx(numeric, abs=1e-7)


def test_pcd_gradient_estimates_exact_gradient():
    """At equilibrium, the chains' negative phase matches the exact one."""
    rng = np.random.default_rng(4)
    mask = make_mask("full")
    W, b = random_parameters(mask, rng, scale=0.5)
    V = binary_data(rng, 20)
    exact = model_with(W, b, N_VISIBLE, solver="exact")
    pcd = model_with(W, b, N_VISIBLE, solver="pcd", n_chains=20000)
    pcd._solver_state.chains = bm_exact_sample(W, b, 20000, np.random.default_rng(5))
    params = {"coupling_": W, "intercept_": b}
    expected = exact._gradient(params, V, rng, exact._solver_state.copy())
    estimate = pcd._gradient(params, V, np.random.default_rng(6), pcd._solver_state)
    for name in ("coupling_", "intercept_"):
        np.testing.assert_allclose(estimate[name], expected[name], atol=0.03)
    # A wrong negative phase would be off by far more than the tolerance.
    assert np.abs(expected["coupling_"]).max() > 0.1


def test_mean_field_transform_is_a_fixed_point(monkeypatch):
    rng = np.random.default_rng(7)
    W, b = random_parameters(make_mask("full"), rng, scale=0.5)
    model = model_with(W, b, N_VISIBLE)
    V = all_states(N_VISIBLE)
    exact = model.transform(V)
    monkeypatch.setattr(hbm_module, "MAX_POSTERIOR_BITS", 0)
    approx = model.transform(V)
    field = V @ W[:N_VISIBLE, N_VISIBLE:] + b[N_VISIBLE:]
    residual = expit(field + approx @ W[N_VISIBLE:, N_VISIBLE:]) - approx
    assert np.abs(residual).max() < 1e-5
    # An approximation: close to, but not equal to, the exact posterior.
    assert 0 < np.abs(approx - exact).max() < 0.1


def test_mean_field_positive_phase_trains(monkeypatch):
    monkeypatch.setattr(hbm_module, "MAX_POSTERIOR_BITS", 0)
    rng = np.random.default_rng(8)
    X = binary_data(rng, 40)
    model = HiddenBoltzmannMachine(
        n_components=N_HIDDEN, solver="pcd", n_iter=3, random_state=0
    ).fit(X)
    assert not model._exact_posterior
    assert np.isfinite(model.score(X))


# ----------------------------------------------------------------------
# Cross-checks with the other estimators
# ----------------------------------------------------------------------
def test_restricted_scores_equal_bernoulli_rbm2():
    rng = np.random.default_rng(9)
    W, b = random_parameters(make_mask("restricted"), rng, scale=1.2)
    hbm = model_with(W, b, N_VISIBLE, connectivity="restricted")
    X = binary_data(rng, 30)
    rbm = skbm.BernoulliRBM2(n_components=N_HIDDEN, n_iter=1, random_state=0).fit(X)
    rbm.components_ = W[N_VISIBLE:, :N_VISIBLE].copy()
    rbm.intercept_visible_ = b[:N_VISIBLE].copy()
    rbm.intercept_hidden_ = b[N_VISIBLE:].copy()
    np.testing.assert_allclose(hbm.score_samples(X), rbm.score_samples(X), atol=1e-10)
    np.testing.assert_allclose(hbm.transform(X), rbm.transform(X), atol=1e-12)


@pytest.mark.parametrize("n_hidden", [0, 3])
def test_uncoupled_hidden_units_equal_boltzmann_machine(n_hidden):
    rng = np.random.default_rng(10)
    W_v, b_v = random_parameters(make_mask("full", N_VISIBLE, 0), rng, scale=1.0)
    W = np.zeros((N_VISIBLE + n_hidden,) * 2)
    W[:N_VISIBLE, :N_VISIBLE] = W_v
    b = np.concatenate([b_v, np.zeros(n_hidden)])
    hbm = model_with(W, b, N_VISIBLE)
    X = binary_data(rng, 30)
    bm = skbm.BoltzmannMachine(n_iter=1, random_state=0).fit(X)
    bm.coupling_, bm.intercept_ = W_v.copy(), b_v.copy()
    np.testing.assert_allclose(hbm.score_samples(X), bm.score_samples(X), atol=1e-10)
    # Numerator and ln Z each carry n_hidden ln 2, which cancels.
    log_z_shift = hbm.log_partition().log_z - bm.log_partition().log_z
    assert log_z_shift == pytest.approx(n_hidden * np.log(2), abs=1e-10)


@pytest.mark.parametrize("seed", range(5))
def test_parity_needs_hidden_units(seed):
    # L-BFGS on the exact likelihood (the default here): measured -1.396 to
    # -1.411 on seeds 0-59 (ln 1/4 = -1.3863; alpha=1e-4 keeps the couplings
    # finite); from the saddle where the hidden units are unused, -ln 8.
    X = np.tile(PARITY, (25, 1))
    hbm = HiddenBoltzmannMachine(n_components=2, random_state=seed).fit(X)
    assert hbm.solver_ == "exact"
    assert -1.42 <= hbm.score(X) <= -np.log(4) + 1e-9
    bm = skbm.BoltzmannMachine(random_state=0).fit(X)
    assert bm.score(X) == pytest.approx(-np.log(8), abs=0.01)


def test_parity_by_stochastic_exact_gradient():
    # partial_fit takes stochastic steps on the exact gradient; measured
    # -1.409 to -1.437 over seeds 0-4 after 400 epochs (about 3 s).
    X = np.tile(PARITY, (25, 1))
    hbm = HiddenBoltzmannMachine(n_components=2, momentum=0.9, random_state=0)
    for _ in range(400):
        hbm.partial_fit(X)
    assert -1.45 <= hbm.score(X) <= -np.log(4) + 1e-9


# ----------------------------------------------------------------------
# Sampling
# ----------------------------------------------------------------------
@pytest.mark.parametrize("exact", [True, False])
def test_sample_histogram_matches_marginal(exact, monkeypatch):
    rng = np.random.default_rng(11)
    W, b = random_parameters(make_mask("full"), rng, scale=0.8)
    model = model_with(W, b, N_VISIBLE)
    if not exact:
        monkeypatch.setattr(hbm_module, "MAX_EXACT_BITS", -1)
    n_samples = 20000 if exact else 4000
    samples = model.sample(n_samples, random_state=0)
    assert samples.shape == (n_samples, N_VISIBLE)
    codes = samples @ (2 ** np.arange(N_VISIBLE))[::-1]
    counts = np.bincount(codes.astype(int), minlength=2**N_VISIBLE)
    expected = np.exp(brute_marginal(all_states(N_VISIBLE), W, b)[0])
    total_variation = 0.5 * np.abs(counts / n_samples - expected).sum()
    assert total_variation < (0.02 if exact else 0.05)
    np.testing.assert_array_equal(model.sample(5, random_state=1), model.sample(5, 1))


# ----------------------------------------------------------------------
# Input policy, dtypes and parameters
# ----------------------------------------------------------------------
def test_float32_is_preserved():
    rng = np.random.default_rng(12)
    X = binary_data(rng, 40).astype(np.float32)
    # alpha makes the maximum finite: without it, 40 random rows are fitted
    # by couplings that grow without bound, and two starting points 1e-8
    # apart (float32 rounding) end far apart.
    for solver in ("exact", "pcd"):
        model = HiddenBoltzmannMachine(
            n_components=2, solver=solver, n_iter=2, alpha=0.01, random_state=0
        ).fit(X)
        assert model.coupling_.dtype == np.float32
        assert model.intercept_.dtype == np.float32
        assert model.transform(X).dtype == np.float32
        assert model.sample(3, random_state=0).dtype == np.float32
        assert model.score_samples(X).dtype == np.float64
        model64 = HiddenBoltzmannMachine(
            n_components=2, solver=solver, n_iter=2, alpha=0.01, random_state=0
        ).fit(X.astype(np.float64))
        if solver == "exact":
            # Deterministic given the seed (L-BFGS to the same maximum); pcd
            # draws its uniforms in the dtype of the chains, so its float32
            # and float64 streams differ.
            np.testing.assert_allclose(model.coupling_, model64.coupling_, atol=1e-4)


def test_sparse_input_matches_dense():
    rng = np.random.default_rng(13)
    X = binary_data(rng, 40)
    # The data means of sparse and dense input differ in the last bit, so
    # the starting points do; alpha makes the maximum finite, where both
    # fits meet.
    make = partial(HiddenBoltzmannMachine, n_components=2, alpha=0.01, random_state=0)
    dense = make().fit(X)
    sparse = make().fit(sp.csr_matrix(X))
    assert dense.solver_ == "exact"
    np.testing.assert_allclose(sparse.coupling_, dense.coupling_, atol=1e-9)
    pcd = partial(make, solver="pcd", n_iter=2)
    np.testing.assert_allclose(
        pcd().fit(sp.csr_matrix(X)).coupling_, pcd().fit(X).coupling_, atol=1e-12
    )
    np.testing.assert_allclose(
        sparse.score_samples(sp.csr_matrix(X)), dense.score_samples(X), atol=1e-10
    )
    np.testing.assert_allclose(
        sparse.transform(sp.csc_matrix(X)), dense.transform(X), atol=1e-12
    )


def test_auto_solver_by_size():
    rng = np.random.default_rng(14)
    small = HiddenBoltzmannMachine(n_components=2, n_iter=1).fit(binary_data(rng, 20))
    assert small.solver_ == "exact"
    X = rng.integers(0, 2, (20, 12)).astype(float)
    # 22 units, fully connected: ln Z enumerates 2**21 states.
    large = HiddenBoltzmannMachine(n_components=10, n_iter=1).fit(X)
    assert large.solver_ == "pcd"
    # 21 units: 2**20 states, the largest that "auto" fits exactly.
    assert (
        HiddenBoltzmannMachine(n_components=9)._resolve_solver(
            np.ones((21, 21), dtype=bool), 12
        )
        == "exact"
    )
    with pytest.raises(ValueError, match="solver='pcd'"):
        HiddenBoltzmannMachine(n_components=20, solver="exact").fit(X)


@pytest.mark.parametrize(
    "mask, message",
    [
        (np.ones((3, 3), dtype=bool), r"shape \(n_units, n_units\) = \(7, 7\)"),
        (np.triu(np.ones((7, 7), dtype=bool), 1), "symmetric"),
        (np.full((7, 7), 0.5), "boolean"),
        (np.full((7, 7), "a"), "boolean"),
    ],
)
def test_invalid_connectivity_mask(mask, message):
    X = binary_data(np.random.default_rng(15), 10)
    model = HiddenBoltzmannMachine(n_components=N_HIDDEN, connectivity=mask)
    with pytest.raises(ValueError, match=message):
        model.fit(X)


def test_integer_mask_is_accepted():
    X = binary_data(np.random.default_rng(16), 10)
    mask = make_mask("restricted").astype(int)
    model = HiddenBoltzmannMachine(n_components=N_HIDDEN, connectivity=mask, n_iter=1)
    model.fit(X)
    np.testing.assert_array_equal(model.coupling_[mask == 0], 0)


def test_failed_partial_fit_changes_nothing():
    rng = np.random.default_rng(17)
    X = binary_data(rng, 20)
    model = HiddenBoltzmannMachine(n_components=2, solver="pcd", random_state=0)
    model.partial_fit(X)
    before = model.coupling_.copy(), model._solver_state.chains.copy()
    with pytest.raises(ValueError, match="Negative values in data"):
        model.partial_fit(-X)
    np.testing.assert_array_equal(model.coupling_, before[0])
    np.testing.assert_array_equal(model._solver_state.chains, before[1])
    model.partial_fit(X)
    assert not np.array_equal(model.coupling_, before[0])


# The default instance is checked in test_common.py.
@parametrize_with_checks(
    [HiddenBoltzmannMachine(n_components=3, connectivity="restricted", solver="pcd")],
    expected_failed_checks=expected_failed_checks,
)
@pytest.mark.filterwarnings("ignore:Values above 1 in data")
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_l1_ratio_gives_exact_zero_couplings():
    rng = np.random.default_rng(22)
    X = (rng.random((200, 4)) < 0.5).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = HiddenBoltzmannMachine(
            n_components=2, alpha=0.2, l1_ratio=1.0, random_state=0
        ).fit(X)
    assert model.solver_ == "exact"
    upper = np.triu_indices(6, 1)
    assert np.sum(model.coupling_[upper] == 0.0) >= 5
