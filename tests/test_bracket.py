"""The conservative side of the likelihood: reverse AIS from the data (RAISE).

The engine is checked against the annealing model it estimates, computed
by brute force on a tiny RBM; the estimators' brackets against exact
log-likelihoods on models small enough to enumerate.
"""

import itertools

import numpy as np
import pytest
from scipy.special import expit, logsumexp
from sklearn.datasets import load_digits
from test_ais import ais_copy

from skbm import (
    AISWarning,
    BernoulliRBM2,
    BoltzmannMachine,
    CategoricalRBM,
    HiddenBoltzmannMachine,
    LikelihoodBracket,
)
from skbm._ais import AnnealingProblem, data_reverse_log_weights
from skbm._bernoulli_units import BERNOULLI


@pytest.fixture(scope="module")
def digits():
    return (load_digits().data > 7).astype(np.float64)


# ----------------------------------------------------------------------
# The engine: E[p_ann_hat(v)] = p_ann(v), by brute force
# ----------------------------------------------------------------------
STATES_3 = np.array(list(itertools.product([0.0, 1.0], repeat=3)))
STATES_2 = np.array(list(itertools.product([0.0, 1.0], repeat=2)))


def visible_kernel(W, b, c, a, beta):
    """T_beta(v' | v): h ~ p_beta(h | v), then v' ~ p_beta(v' | h), on 8 states."""

    def bernoulli(p, states):
        return np.prod(np.where(states == 1, p, 1 - p), axis=-1)

    p_h = expit(beta * (STATES_3 @ W.T + c))  # base hidden logits are 0
    p_v = expit(beta * (STATES_2 @ W + b) + (1 - beta) * a)
    h_given_v = np.array([bernoulli(p, STATES_2) for p in p_h])  # (8, 4)
    v_given_h = np.array([bernoulli(p, STATES_3) for p in p_v])  # (4, 8)
    return h_given_v @ v_given_h


def test_data_reverse_weights_estimate_the_annealing_model_exactly():
    rng = np.random.default_rng(3)
    W = 1.5 * rng.normal(size=(2, 3))  # (hidden, visible)
    b, c, a = rng.normal(size=3), rng.normal(size=2), np.array([0.5, -1.0, 0.2])
    problem = AnnealingProblem(
        W_KK=None,
        W_KR=W.T,
        b_K=b,
        b_R=c,
        a_K=a,
        a_R=np.zeros(2),
        blocks=(np.arange(3),),
        units_K=BERNOULLI,
        units_R=BERNOULLI,
    )
    betas = np.array([0.0, 0.4, 1.0])
    # The annealing model: x_0 from the base, then T_0.4, then T_1.
    p_0 = np.prod(np.where(STATES_3 == 1, expit(a), 1 - expit(a)), axis=1)
    p_ann = p_0 @ visible_kernel(W, b, c, a, 0.4) @ visible_kernel(W, b, c, a, 1.0)
    log_f = STATES_3 @ b + np.logaddexp(0, STATES_3 @ W.T + c).sum(axis=1)
    p_model = np.exp(log_f - logsumexp(log_f))
    # A short path: the annealing model is a different model from the RBM.
    assert np.max(np.abs(p_ann / p_model - 1)) > 0.1
    log_z_0 = np.logaddexp(0, a).sum() + 2 * np.log(2)
    log_mean_w = data_reverse_log_weights(problem, STATES_3, 40000, betas, seed=0)
    estimate = np.exp(log_f - log_z_0 + log_mean_w)
    np.testing.assert_allclose(estimate, p_ann, rtol=0.02)
    # One row's estimate depends on its content only.
    again = data_reverse_log_weights(problem, STATES_3[::-1], 40000, betas, seed=0)
    np.testing.assert_array_equal(again, log_mean_w[::-1])


# ----------------------------------------------------------------------
# The estimators: brackets against exact log-likelihoods
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def rbm(digits):
    return BernoulliRBM2(n_components=16, random_state=0).fit(digits[:1200])


def test_bracket_of_an_exact_model_is_its_score(rbm, digits):
    bracket = rbm.score_bracket(digits[1200:])
    assert isinstance(bracket, LikelihoodBracket)
    assert bracket.method == "exact"
    assert bracket.lower == bracket.upper == pytest.approx(rbm.score(digits[1200:]))
    assert "exact" in str(bracket)


def test_bracket_converges_to_exact_and_errs_outward_on_a_short_path(rbm, digits):
    held_out = digits[1200:1400]
    exact = rbm.score(held_out)
    # A converged path: both sides within 0.05 nats of exact, and the
    # interval covers it.
    good = ais_copy(rbm, ais_betas=2000).score_bracket(held_out, max_rows=200)
    assert good.method == "ais" and good.n_rows == 200
    assert good.upper == pytest.approx(ais_copy(rbm, ais_betas=2000).score(held_out))
    assert abs(good.upper - exact) < 0.05 and abs(good.lower - exact) < 0.05
    assert good.interval[0] <= exact <= good.interval[1]
    # A short path (10 betas): a few forward runs dominate (400 runs, so that
    # the effective sample size is below 10% of them for every seed tried:
    # 0.5% to 8% over seeds 0-11), which warns; RAISE errs low by far more
    # than its noise, and the interval still covers exact.
    with pytest.warns(AISWarning, match="Raise ais_betas"):
        short = ais_copy(rbm, ais_betas=10, ais_runs=400).score_bracket(
            held_out, max_rows=200
        )
    assert short.lower < exact - 1.0
    assert short.lower + 3 * short.lower_se < exact
    assert short.interval[0] <= exact <= short.interval[1]
    assert np.all(np.isfinite(short.interval))
    for bracket in (good, short):
        low, high = bracket.interval
        assert low <= min(bracket.lower, bracket.upper)
        assert max(bracket.lower, bracket.upper) <= high


def test_subset_estimates_the_full_bracket(rbm, digits):
    model = ais_copy(rbm, ais_betas=300)
    held_out = digits[1200:1500]
    full = model.score_bracket(held_out, max_rows=300)
    part = model.score_bracket(held_out, max_rows=60)
    assert part.n_rows == 60 and len(part.row_indices) == 60
    assert np.all(np.diff(part.row_indices) >= 0)
    assert part.upper == full.upper
    # The subset mean of the rows' ln Z estimates: within 3 of its standard
    # errors of the full one, and far tighter than ln f varies over rows.
    assert abs(part.lower - full.lower) < 3 * part.lower_se + 1e-9
    assert part.lower_se < 0.1 * np.std(model.score_samples(held_out))
    # Deterministic.
    assert model.score_bracket(held_out, max_rows=60).lower == part.lower


def test_weighted_bracket_matches_repeated_rows(rbm, digits):
    model = ais_copy(rbm, ais_betas=200)
    rows = digits[1200:1230]
    weights = np.arange(30) % 3
    weighted = model.score_bracket(rows, sample_weight=weights)
    repeated = model.score_bracket(np.repeat(rows, weights, axis=0), max_rows=100)
    assert weighted.upper == pytest.approx(repeated.upper, abs=1e-10)
    # Each row draws its own stream; only the float32 products of the
    # annealing may round differently with the number of chains batched.
    assert weighted.lower == pytest.approx(repeated.lower, abs=1e-6)
    assert weighted.n_rows == np.count_nonzero(weights)


def test_fully_visible_machine_brackets_its_exact_score(digits):
    # AIS sums some units out (an independent set R); the data give all of
    # them, and ln p(v) = ln f(v) - (ln Z_0 - ln w) holds for the full row.
    data = digits[:, np.argsort(-digits.var(axis=0), kind="stable")[:14]]
    model = BoltzmannMachine(solver="exact", random_state=0).fit(data[:1000])
    exact = model.score(data[1000:1200])
    bracket = ais_copy(model, ais_betas=1000).score_bracket(data[1000:1200])
    assert abs(bracket.lower - exact) < 0.05 and abs(bracket.upper - exact) < 0.05


def test_categorical_rbm_brackets_its_exact_score():
    codes = np.minimum(load_digits().data[:, ::6] // 6, 2).astype(int)
    model = CategoricalRBM(n_components=6, n_iter=5, random_state=0).fit(codes[:1000])
    exact = model.score(codes[1000:1100])
    bracket = ais_copy(model, ais_betas=500).score_bracket(codes[1000:1100])
    assert abs(bracket.lower - exact) < 0.05 and abs(bracket.upper - exact) < 0.05


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_machine_annealing_hidden_units_refuses_with_advice(digits):
    model = HiddenBoltzmannMachine(n_components=3, n_iter=1, random_state=0)
    model.fit(digits[:200, :8])
    with pytest.raises(ValueError, match="samples hidden units"):
        ais_copy(model, ais_betas=20).score_bracket(digits[:10, :8])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_rows": 0}, "max_rows must be a positive integer"),
        ({"runs_per_row": 1.5}, "runs_per_row must be a positive integer"),
        ({"sample_weight": np.zeros(5)}, "at least one non-zero"),
    ],
)
def test_bad_bracket_arguments(rbm, digits, kwargs, match):
    with pytest.raises(ValueError, match=match):
        rbm.score_bracket(digits[:5], **kwargs)


def test_verbose_prints_annealing_progress(rbm, digits, capsys):
    model = ais_copy(rbm, ais_betas=50, ais_runs=10, verbose=1)
    model.score_bracket(digits[:5])
    out = capsys.readouterr().out
    assert "[forward AIS, runs 1-10 of 10] step 49 of 49 (100%)" in out
    assert "[RAISE, rows 1-5 of 5] step 50 of 50 (100%)" in out
    assert "s left" in out


def test_bracket_is_the_same_whether_its_runs_share_a_pool(rbm, digits):
    # Uncached, the forward runs and RAISE run in one pool (two workers);
    # after log_partition, RAISE runs alone. Same streams, same results.
    rows = digits[1200:1260]
    together = ais_copy(rbm, ais_betas=200, n_jobs=2).score_bracket(rows)
    model = ais_copy(rbm, ais_betas=200)
    first = model.log_partition()
    apart = model.score_bracket(rows)
    assert apart.log_partition is first
    assert together.upper == apart.upper
    assert together.lower == pytest.approx(apart.lower, abs=1e-12)
