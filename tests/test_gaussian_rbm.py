"""GaussianBernoulliRBM against independent computations.

The references are written here without skbm: the energy of the class
docstring integrated numerically over v by scipy's ``quad``/``nquad`` and
summed over h; finite differences of the exact score; moments and
histograms of the exact density.
"""

import itertools

import numpy as np
import pytest
from brute_force import central_differences
from scipy import integrate
from scipy.special import logsumexp

from skbm import GaussianBernoulliRBM


def hidden_states(n_hidden):
    return np.array(list(itertools.product([0, 1], repeat=n_hidden)), dtype=float)


def energy(v, h, W, b, c, sigma):
    """Phi(v, h) of Cho et al. (2011), W of shape (n_hidden, n_visible)."""
    return (
        np.sum((v - b) ** 2 / (2 * sigma**2)) - c @ h - np.sum((v / sigma**2) * (h @ W))
    )


def random_model(n_visible, n_hidden, seed, scale=1.0):
    """A fitted estimator with random parameters assigned."""
    rng = np.random.default_rng(seed)
    model = GaussianBernoulliRBM(n_components=n_hidden, n_iter=0, random_state=0)
    model.fit(rng.normal(size=(20, n_visible)))
    model.components_ = scale * rng.normal(size=(n_hidden, n_visible))
    model.intercept_visible_ = rng.normal(size=n_visible)
    model.intercept_hidden_ = rng.normal(size=n_hidden)
    model.sigma_ = rng.uniform(0.5, 1.5, size=n_visible)
    return model


def integrated_log_z(model):
    """ln sum_h int exp(-Phi(v, h)) dv, by quadrature over v for each h."""
    W, b, c = model.components_, model.intercept_visible_, model.intercept_hidden_
    sigma = model.sigma_
    n_visible = W.shape[1]
    terms = []
    for h in hidden_states(W.shape[0]):
        # The term of h is a Gaussian in v around b + W^T h: negligible
        # beyond 14 sigma of it. A shift keeps the integrand near 1 at its
        # peak.
        mean = b + h @ W
        shift = -energy(mean, h, W, b, c, sigma)

        def integrand(*v, h=h, shift=shift):
            return np.exp(-energy(np.array(v), h, W, b, c, sigma) - shift)

        ranges = list(zip(mean - 14 * sigma, mean + 14 * sigma, strict=True))
        value, _ = integrate.nquad(
            integrand, ranges, opts={"epsabs": 0, "epsrel": 1e-11, "limit": 200}
        )
        terms.append(np.log(value) + shift)
    assert n_visible <= 2
    return logsumexp(terms)


@pytest.mark.parametrize(("n_visible", "n_hidden", "seed"), [(1, 3, 0), (2, 2, 1)])
def test_log_partition_equals_numerical_integration(n_visible, n_hidden, seed):
    model = random_model(n_visible, n_hidden, seed)
    exact = model.log_partition()
    assert exact.method == "exact"
    expected = integrated_log_z(model)
    assert exact.log_z == pytest.approx(expected, rel=1e-6, abs=0)


def test_density_integrates_to_one():
    # The trapezoid rule on a fine grid: for a smooth integrand that decays
    # like a Gaussian it converges faster than any power of the step, so a
    # 12-sigma box and 700 points per axis reach about 1e-12.
    model = random_model(2, 3, 2)
    W, b = model.components_, model.intercept_visible_
    means = hidden_states(3) @ W + b
    low = means.min(axis=0) - 12 * model.sigma_
    high = means.max(axis=0) + 12 * model.sigma_
    x, y = (np.linspace(lo, hi, 700) for lo, hi in zip(low, high, strict=True))
    grid = np.stack(np.meshgrid(x, y, indexing="ij"), axis=-1).reshape(-1, 2)
    density = np.exp(model.score_samples(grid)).reshape(700, 700)
    total = integrate.trapezoid(integrate.trapezoid(density, y, axis=1), x)
    assert total == pytest.approx(1.0, abs=1e-9)


def test_score_samples_follows_the_energy():
    # ln p(v) = ln sum_h exp(-Phi(v, h)) - ln Z, with ln Z from quadrature.
    model = random_model(1, 3, 3)
    W, b, c = model.components_, model.intercept_visible_, model.intercept_hidden_
    V = np.array([[-2.0], [0.3], [4.0]])
    log_z = integrated_log_z(model)
    expected = [
        logsumexp([-energy(v, h, W, b, c, model.sigma_) for h in hidden_states(3)])
        - log_z
        for v in V
    ]
    np.testing.assert_allclose(model.score_samples(V), expected, rtol=1e-8)


def test_gradient_matches_finite_differences():
    """The exact gradient of the mean log-density, for every parameter.

    The training step of W and b is their gradient times sigma**2 (see
    ``_parameter_gradient``); sigma is learned through ln sigma.
    """
    rng = np.random.default_rng(4)
    model = random_model(3, 4, 4, scale=0.5).set_params(solver="exact", centering=False)
    X = rng.normal(size=(30, 3))
    params = model._to_working(
        {name: getattr(model, name).copy() for name in model._parameter_names}
    )
    state = model._solver_state
    grads = model._gradient(params, X, rng, state)
    variance = model.sigma_**2

    def mean_log_density(working):
        family = model._model(model._from_working(working))
        return family.unnormalized_log_proba(X).mean() - family.exact_log_partition()

    numeric = central_differences(mean_log_density, params)
    expected_scale = {
        "components_": variance,
        "intercept_visible_": variance,
        "intercept_hidden_": 1.0,
        "log_sigma": 1.0,
    }
    for name, value in numeric.items():
        np.testing.assert_allclose(
            grads[name], value * expected_scale[name], rtol=1e-5, atol=1e-7
        )


def test_exact_samples_have_the_exact_moments_and_histogram():
    model = random_model(1, 3, 5)
    W, b, c, sigma = (
        model.components_,
        model.intercept_visible_,
        model.intercept_hidden_,
        model.sigma_,
    )
    samples = model.sample(200_000, random_state=0)[:, 0]
    # The marginal of v is a mixture over h of N(b + W^T h, sigma**2) with
    # weights proportional to the Gaussian integrals.
    H = hidden_states(3)
    means = (H @ W + b)[:, 0]
    log_w = np.array(
        [
            -energy(np.array([m]), h, W, b, c, sigma) + np.log(sigma[0])
            for m, h in zip(means, H, strict=True)
        ]
    )
    weights = np.exp(log_w - logsumexp(log_w))
    mean = weights @ means
    second = weights @ (means**2 + sigma[0] ** 2)
    se = np.sqrt((second - mean**2) / samples.size)
    assert abs(samples.mean() - mean) < 5 * se
    assert samples.var() == pytest.approx(second - mean**2, rel=0.02)
    # Histogram against the mixture's probabilities of each bin.
    from scipy.stats import norm

    edges = np.linspace(samples.min(), samples.max(), 21)
    counts, _ = np.histogram(samples, edges)
    cdf = weights @ norm.cdf((edges[None, :] - means[:, None]) / sigma[0])
    expected = np.diff(cdf) * samples.size
    chi2 = np.sum((counts - expected) ** 2 / expected)
    assert chi2 < 60  # 20 bins: a correct sampler gives about 20


def test_gibbs_chains_have_the_exact_moments():
    # Beyond exact sampling (forced here), draws come from Gibbs chains.
    model = random_model(2, 3, 6, scale=0.7)
    family = model._model()
    draws = family.gibbs_sample(20_000, np.random.default_rng(0))[:, :2]
    # Exact moments by enumerating h: E[v] = sum_h p(h) (b + W^T h).
    W, b, c, sigma = (
        model.components_,
        model.intercept_visible_,
        model.intercept_hidden_,
        model.sigma_,
    )
    H = hidden_states(3)
    means = H @ W + b
    log_w = np.array(
        [-energy(m, h, W, b, c, sigma) for m, h in zip(means, H, strict=True)]
    )
    weights = np.exp(log_w - logsumexp(log_w))
    np.testing.assert_allclose(draws.mean(axis=0), weights @ means, atol=0.05)
    second = weights @ (means**2) + sigma**2
    np.testing.assert_allclose((draws**2).mean(axis=0), second, rtol=0.03)


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    X, _ = load_digits(return_X_y=True)
    return (X + np.random.default_rng(0).random(X.shape)) / 17


def test_ais_within_005_nats_of_exact_on_a_trained_model(digits):
    model = GaussianBernoulliRBM(n_components=12, random_state=0, n_iter=10)
    model.fit(digits[:600])
    exact = model.log_partition().log_z
    estimate = model.set_params(score_method="ais").log_partition()
    assert estimate.method == "ais"
    assert abs(estimate.log_z - exact) < 0.05
    assert estimate.interval[0] <= exact <= estimate.interval[1]


def test_fit_beats_independent_gaussians(digits):
    from scipy.stats import norm

    train, test = digits[:1200], digits[1200:]
    model = GaussianBernoulliRBM(n_components=16, random_state=0, n_iter=30)
    model.fit(train)
    independent = norm.logpdf(test, train.mean(axis=0), train.std(axis=0))
    assert model.score(test) > independent.sum(axis=1).mean() + 10
    assert np.all(model.sigma_ >= 0.1 * train.std(axis=0) * (1 - 1e-6))


def test_units_of_the_data_do_not_change_the_fit(digits):
    # Training on rescaled features gives the same model, rescaled: the
    # log-density moves by the log Jacobian. Powers of two rescale exactly.
    X = digits[:300]
    scale = 2.0 ** np.resize(np.arange(-4, 8), X.shape[1])
    first = GaussianBernoulliRBM(n_components=4, n_iter=3, random_state=0).fit(X)
    second = GaussianBernoulliRBM(n_components=4, n_iter=3, random_state=0).fit(
        X * scale
    )
    np.testing.assert_allclose(second.sigma_, first.sigma_ * scale, rtol=1e-9)
    np.testing.assert_allclose(second.components_, first.components_ * scale)
    np.testing.assert_allclose(
        second.score(X * scale), first.score(X) - np.log(scale).sum(), rtol=1e-9
    )


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_rejected(bad):
    X = np.random.default_rng(0).normal(size=(10, 3))
    model = GaussianBernoulliRBM(n_components=2, n_iter=1).fit(X)
    X_bad = X.copy()
    X_bad[2, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        model.score_samples(X_bad)
    with pytest.raises(ValueError, match="NaN|infinity"):
        GaussianBernoulliRBM(n_components=2).fit(X_bad)


def test_negative_and_large_values_are_valid():
    X = np.random.default_rng(0).normal(scale=1000, size=(50, 3)) - 5000
    model = GaussianBernoulliRBM(n_components=2, n_iter=2, random_state=0).fit(X)
    assert np.all(np.isfinite(model.score_samples(X)))


def test_strings_are_rejected_with_a_message_for_real_data():
    with pytest.raises(ValueError, match="expects real numbers, but"):
        GaussianBernoulliRBM().fit([["a", "b"], ["c", "d"]])


def test_non_positive_sigma_is_refused():
    model = random_model(2, 2, 0)
    model.sigma_ = np.array([1.0, 0.0])
    with pytest.raises(ValueError, match="sigma_ must be positive"):
        model.score_samples(np.zeros((1, 2)))


def test_partial_fit_continues_and_keeps_the_floor(digits):
    model = GaussianBernoulliRBM(n_components=4, random_state=0, sigma_floor=0.5)
    for chunk in np.array_split(digits[:400], 4):
        model.partial_fit(chunk)
    floor = 0.5 * digits[:100].std(axis=0)
    assert np.all(model.sigma_ >= floor * (1 - 1e-6))
    assert np.isfinite(model.score(digits[400:500]))


@pytest.mark.parametrize("solver", ["pcd", "cd", "exact"])
def test_every_solver_fits_a_two_cluster_mixture(solver):
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(-2, 0.5, (200, 2)), rng.normal(2, 0.5, (200, 2))])
    model = GaussianBernoulliRBM(n_components=2, random_state=0, solver=solver)
    model.fit(X)
    # One Gaussian per feature scores about -4.1; the two clusters -2.05.
    assert model.score(X) > -3.0


def test_float32_data_keep_float32():
    X = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    model = GaussianBernoulliRBM(n_components=2, n_iter=2, random_state=0).fit(X)
    assert model.components_.dtype == np.float32
    assert model.sigma_.dtype == np.float32
    assert model.transform(X).dtype == np.float32


def test_bracket_of_real_valued_rows_brackets_the_exact_log_density(digits):
    # Gaussian visible units take the generic annealing path; RAISE starts
    # from the real-valued rows themselves. Measured: both sides 0.007 nats
    # below exact, standard errors 0.017 and 0.018.
    model = GaussianBernoulliRBM(n_components=12, random_state=0, n_iter=10)
    model.fit(digits[:600])
    exact = model.score(digits[600:700])
    model.set_params(score_method="ais", ais_betas=1000)
    bracket = model.score_bracket(digits[600:700])
    assert bracket.method == "ais" and bracket.n_rows == 100
    assert abs(bracket.upper - exact) < 0.05 and abs(bracket.lower - exact) < 0.05
    assert bracket.interval[0] <= exact <= bracket.interval[1]
