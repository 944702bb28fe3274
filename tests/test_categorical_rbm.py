"""CategoricalRBM against independent computations.

The reference is a brute force written here without skbm: the energy on
integer codes, W_j(a) summed per site, over every visible and hidden state.
"""

import itertools

import numpy as np
import pytest
from brute_force import central_differences
from scipy.special import expit, logsumexp

from skbm import CategoricalRBM


def blocks(model):
    """Per site j, the weights (n_hidden, q_j) and fields (q_j,) of its states."""
    offsets = model.feature_offsets_
    return [
        (model.components_[:, start:stop], model.intercept_visible_[start:stop])
        for start, stop in zip(offsets[:-1], offsets[1:], strict=True)
    ]


def joint_log_weight(codes, h, model):
    """-Phi(v, h) for integer codes v and binary h."""
    value = model.intercept_hidden_ @ h
    for (W_j, b_j), a in zip(blocks(model), codes, strict=True):
        value += b_j[a] + h @ W_j[:, a]
    return value


def all_codes(model):
    return np.array(list(itertools.product(*[range(q) for q in model.n_categories_])))


def brute_force_log_z(model):
    hidden = itertools.product([0, 1], repeat=model.components_.shape[0])
    hidden = np.array(list(hidden), dtype=float)
    return logsumexp(
        [joint_log_weight(v, h, model) for v in all_codes(model) for h in hidden]
    )


def random_model(n_categories, n_hidden, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.integers(0, q, 30) for q in n_categories])
    X[0] = np.asarray(n_categories) - 1  # every code is seen
    model = CategoricalRBM(n_components=n_hidden, n_iter=0).fit(X)
    width = int(np.sum(n_categories))
    model.components_ = scale * rng.normal(size=(n_hidden, width))
    model.intercept_visible_ = rng.normal(size=width)
    model.intercept_hidden_ = rng.normal(size=n_hidden)
    return model


@pytest.mark.parametrize(
    ("n_categories", "n_hidden"),
    [
        ([3, 2, 4], 6),  # 24 visible states: the visible layer is enumerated
        ([3, 2, 4], 3),  # 8 hidden states: the hidden layer is enumerated
        ([5, 1, 3, 2], 5),
    ],
)
def test_log_partition_equals_brute_force(n_categories, n_hidden):
    model = random_model(n_categories, n_hidden, seed=n_hidden, scale=2.0)
    estimate = model.log_partition()
    assert estimate.method == "exact"
    assert estimate.log_z == pytest.approx(brute_force_log_z(model), abs=1e-8)


def test_probabilities_sum_to_one_and_follow_the_energy():
    model = random_model([3, 3, 2], 4, seed=0)
    codes = all_codes(model)
    log_p = model.score_samples(codes)
    assert np.exp(log_p).sum() == pytest.approx(1.0, abs=1e-12)
    hidden = np.array(list(itertools.product([0, 1], repeat=4)), dtype=float)
    log_z = brute_force_log_z(model)
    expected = [
        logsumexp([joint_log_weight(v, h, model) for h in hidden]) - log_z
        for v in codes
    ]
    np.testing.assert_allclose(log_p, expected, atol=1e-10)


def test_transform_is_the_hidden_posterior():
    model = random_model([3, 4], 3, seed=1)
    codes = all_codes(model)
    expected = np.array(
        [
            expit(
                model.intercept_hidden_
                + sum(W_j[:, a] for (W_j, _), a in zip(blocks(model), v, strict=True))
            )
            for v in codes
        ]
    )
    np.testing.assert_allclose(model.transform(codes), expected, atol=1e-12)


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(2)
    model = random_model([3, 2, 3], 3, seed=2).set_params(
        solver="exact", centering=False
    )
    X = rng.integers(0, [3, 2, 3], size=(25, 3))
    V = model._validate_units(X, reset=False)
    params = {name: getattr(model, name).copy() for name in model._parameter_names}
    grads = model._gradient(params, V, rng, model._solver_state)
    codes = all_codes(model)
    hidden = np.array(list(itertools.product([0, 1], repeat=3)), dtype=float)

    def mean_log_likelihood(trial):
        saved = {name: getattr(model, name) for name in params}
        model.__dict__.update(trial)
        try:
            log_z = logsumexp(
                [joint_log_weight(v, h, model) for v in codes for h in hidden]
            )
            return (
                np.mean(
                    [
                        logsumexp([joint_log_weight(v, h, model) for h in hidden])
                        for v in X
                    ]
                )
                - log_z
            )
        finally:
            model.__dict__.update(saved)

    numeric = central_differences(mean_log_likelihood, params)
    for name, value in numeric.items():
        np.testing.assert_allclose(grads[name], value, atol=1e-7)


@pytest.mark.parametrize("n_hidden", [2, 12])
def test_exact_samples_follow_the_brute_force_distribution(n_hidden):
    # 2 hidden units: the hidden layer is enumerated; 12: the visible one.
    model = random_model([3, 2, 3], n_hidden, seed=3, scale=0.5)
    codes = all_codes(model)
    proba = np.exp(model.score_samples(codes))
    draws = model.sample(40_000, random_state=0)
    index = {tuple(code): i for i, code in enumerate(codes)}
    counts = np.bincount([index[tuple(row)] for row in draws], minlength=len(codes))
    expected = proba * draws.shape[0]
    chi2 = np.sum((counts - expected) ** 2 / expected)
    assert chi2 < 3 * len(codes)  # a correct sampler gives about len(codes)


def test_gibbs_chains_follow_the_brute_force_distribution():
    model = random_model([3, 2, 3], 3, seed=4, scale=0.5)
    codes = all_codes(model)
    proba = np.exp(model.score_samples(codes))
    family = model._model()
    states = family.gibbs_sample(20_000, np.random.default_rng(0))
    draws = model._visible_values(states[:, : family.n_visible])
    index = {tuple(code): i for i, code in enumerate(codes)}
    counts = np.bincount([index[tuple(row)] for row in draws], minlength=len(codes))
    np.testing.assert_allclose(counts / draws.shape[0], proba, atol=0.02)


def test_gibbs_returns_codes():
    model = random_model([3, 2, 3], 3, seed=5)
    X = all_codes(model)
    step = model.gibbs(X)
    assert step.shape == X.shape
    assert np.all((step >= 0) & (step < model.n_categories_))


@pytest.fixture(scope="module")
def sequences():
    """Codes with structure: site 1 copies site 0, site 3 is site 0 + site 2 mod 3."""
    rng = np.random.default_rng(0)
    X = rng.integers(0, 3, size=(1500, 8))
    X[:, 1] = X[:, 0]
    X[:, 3] = (X[:, 0] + X[:, 2]) % 3
    return X


def test_ais_within_005_nats_of_exact_on_a_trained_model(sequences):
    model = CategoricalRBM(n_components=14, n_iter=5, random_state=0)
    model.fit(sequences)
    exact = model.log_partition()
    assert exact.method == "exact"
    estimate = model.set_params(score_method="ais").log_partition()
    assert abs(estimate.log_z - exact.log_z) < 0.05
    assert estimate.interval[0] <= exact.log_z <= estimate.interval[1]


@pytest.mark.parametrize("solver", ["pcd", "cd", "exact"])
def test_fit_learns_the_dependencies(sequences, solver):
    # Independent sites score 8 ln(1/3) = -8.79; the structure is worth
    # 2 ln 3 = 2.20 nats more, -6.59 at best.
    train, test = sequences[:1000], sequences[1000:]
    model = CategoricalRBM(
        n_components=8, n_iter=10, solver=solver, random_state=0
    ).fit(train)
    assert model.score(test) > -7.6


def test_sample_weight_counts_as_repeated_rows_for_the_base(sequences):
    X = sequences[:50]
    weights = np.arange(50) % 3
    weighted = CategoricalRBM(n_components=2, n_iter=0).fit(X, sample_weight=weights)
    repeated = CategoricalRBM(n_components=2, n_iter=0).fit(np.repeat(X, weights, 0))
    np.testing.assert_allclose(
        weighted.intercept_visible_, repeated.intercept_visible_, atol=1e-12
    )


def test_codes_beyond_n_categories_are_rejected():
    model = CategoricalRBM(n_components=2, n_iter=1).fit([[0, 1], [2, 0]])
    with pytest.raises(ValueError, match="beyond the 3 categories"):
        model.score_samples([[3, 0]])
    with pytest.raises(ValueError, match="not an integer"):
        model.transform([[0.5, 0]])
