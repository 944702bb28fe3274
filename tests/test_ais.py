"""Annealed importance sampling against exact log partition functions.

The models are trained on binarized digits (pixel > 7) and small enough to
enumerate, so every AIS estimate is checked against the exact ln Z.
"""

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.datasets import load_digits
from test_units import OPAQUE

import skbm._ais as ais_module
import skbm._hbm as hbm_module
from skbm import BernoulliRBM2, BoltzmannMachine, HiddenBoltzmannMachine, LogPartition
from skbm._ais import (
    AnnealingProblem,
    PagedUniforms,
    adapted_betas,
    anneal,
    default_betas,
    forward_log_weights,
    forward_tasks,
    machine_problem,
    one_pool,
    reverse_log_weights,
    reverse_tasks,
    weight_summary,
)
from skbm._bernoulli_units import BERNOULLI
from skbm._bm_math import bm_exact_sample, bm_log_partition
from skbm._hbm_math import hidden_log_sum

# The 20-seed statements run with fewer inverse temperatures than the
# default, so that the file stays within its time budget. With 300 betas
# (and the default 100 runs) the 3-standard-error interval covered ln Z in
# 20/20 seeds for all three models in our measurements (with 100 betas,
# 19/20 for the RBM). The sides of single runs are checked on a short
# schedule, where E[run] differs from ln Z by much more than the noise of a
# mean over 50 runs; near convergence both sides sit within noise of ln Z.
SEED_BETAS = 300
SIDE_BETAS, SIDE_RUNS = 30, 50
N_SEEDS = 20


@pytest.fixture(scope="module")
def digits():
    return (load_digits().data > 7).astype(np.float64)


@pytest.fixture(scope="module")
def models(digits):
    by_variance = np.argsort(-digits.var(axis=0), kind="stable")
    bm_data = digits[:, by_variance[:16]]
    hbm_data = digits[:, by_variance[:12]]
    return {
        "rbm": BernoulliRBM2(n_components=16, random_state=0).fit(digits),
        "bm": BoltzmannMachine(random_state=0).fit(bm_data),
        "hbm": HiddenBoltzmannMachine(n_components=6, n_iter=5, random_state=0).fit(
            hbm_data
        ),
    }


@pytest.fixture(scope="module")
def exact(models):
    return {name: model.log_partition() for name, model in models.items()}


def ais_copy(model, **params):
    """The fitted model with AIS scoring (an estimator sharing the fit)."""
    copy = clone(model).set_params(score_method="ais", **params)
    copy.__dict__.update(
        {k: v for k, v in model.__dict__.items() if k not in copy.__dict__}
    )
    copy.__dict__.pop("_log_partition_cache", None)
    return copy


# ----------------------------------------------------------------------
# The engine
# ----------------------------------------------------------------------
def test_default_betas_follow_the_paper_schedule():
    betas = default_betas(14501)
    steps = np.diff(betas)
    np.testing.assert_allclose(steps[:500], 1e-3)
    np.testing.assert_allclose(steps[500:4500], 1e-4)
    np.testing.assert_allclose(steps[4500:], 1e-5)
    for n_betas in (2, 3, 10, 10000):
        betas = default_betas(n_betas)
        assert betas.shape == (n_betas,)
        assert betas[0] == 0.0 and betas[-1] == 1.0
        assert np.all(np.diff(betas) > 0)
    # Rescaled, it keeps 69% of the points above 0.9.
    assert np.mean(default_betas(10000) > 0.9) == pytest.approx(0.69, abs=0.01)
    with pytest.raises(ValueError):
        default_betas(1)


def test_adapted_betas_halve_the_spread_of_the_log_weights(models):
    # On the 64 x 16 digits RBM, 500 betas: the log weights' spread was 0.56
    # nats along the paper's schedule and 0.26 along the adapted one.
    problem = models["rbm"]._model().annealing_problem()
    adapted = adapted_betas(problem, 500, 1000, seed=0)
    assert len(adapted) == 500 and adapted[0] == 0.0 and adapted[-1] == 1.0
    assert np.all(np.diff(adapted) >= 0)
    spread = {
        name: forward_log_weights(problem, betas, 100, seed=1).std()
        for name, betas in (("paper", default_betas(500)), ("adapted", adapted))
    }
    assert spread["adapted"] < 0.6 * spread["paper"]
    # A pilot dearer than a tenth of the planned runs is skipped.
    np.testing.assert_array_equal(
        adapted_betas(problem, 500, 100, 0), default_betas(500)
    )


def test_auto_betas_grow_until_the_ess_is_half_the_runs(models, exact, monkeypatch):
    # Started at 10 betas (ESS 11.5 of 100), "auto" tried 80 (32.8), then
    # 251 (66.7), and stopped there, 0.096 nats below exact.
    import skbm._ais as ais

    monkeypatch.setattr(ais, "AUTO_FIRST_BETAS", 10)
    estimate = ais_copy(models["rbm"], ais_betas="auto").log_partition()
    assert estimate.n_betas > 10 and estimate.ess >= 50
    assert abs(estimate.log_z - exact["rbm"].log_z) < 0.2
    # The runs kept are those of a fixed ais_betas of the length chosen.
    fixed = ais_copy(models["rbm"], ais_betas=estimate.n_betas).log_partition()
    np.testing.assert_array_equal(fixed.run_log_z, estimate.run_log_z)


def test_weight_summary_matches_a_direct_computation():
    rng = np.random.default_rng(0)
    log_w = rng.normal(500.0, 1.0, 50)  # exp would overflow
    log_mean, low, high, ess = weight_summary(log_w)
    w = np.exp(log_w - 500.0)
    se = w.std(ddof=1) / np.sqrt(50)
    assert log_mean == pytest.approx(500.0 + np.log(w.mean()), abs=1e-12)
    assert low == pytest.approx(500.0 + np.log(w.mean() - 3 * se), abs=1e-12)
    assert high == pytest.approx(500.0 + np.log(w.mean() + 3 * se), abs=1e-12)
    assert ess == pytest.approx(w.sum() ** 2 / np.sum(w**2))
    # One dominant weight: mean - 3 se < 0, so the lower end is the Markov
    # bound 3 nats below the estimate, and the ESS is about 1.
    log_mean, low, high, ess = weight_summary(np.array([0.0, -50.0, -50.0, -50.0]))
    assert low == pytest.approx(log_mean - 3.0) and np.isfinite(high)
    assert ess == pytest.approx(1.0)
    assert weight_summary(np.array([3.0]))[1:3] == (0.0, np.inf)


def test_markov_lower_end_holds_on_heavy_tailed_weights():
    # Log-normal weights with sigma = 4 (ESS about 1 of 20): E[w] = exp(8), and
    # the lower end must lie below ln E[w] in at least 95% of replicates.
    rng = np.random.default_rng(0)
    lows = [weight_summary(rng.normal(0.0, 4.0, 20))[1] for _ in range(2000)]
    assert np.all(np.isfinite(lows))
    assert np.mean(np.array(lows) <= 8.0) >= 0.95


def tiny_machine(seed=0, n_units=5):
    rng = np.random.default_rng(seed)
    W = np.triu(rng.normal(0.0, 1.0, (n_units, n_units)), 1)
    return W + W.T, rng.normal(0.0, 1.0, n_units), rng.normal(0.0, 0.5, n_units)


@pytest.mark.parametrize("units", [BERNOULLI, OPAQUE], ids=["fused", "generic"])
@pytest.mark.parametrize("direction", ["forward", "reverse"])
def test_mean_weight_is_unbiased_on_a_tiny_machine(direction, units):
    # Three betas: short runs whose weights vary a lot, so a transition that
    # did not leave its intermediate distribution invariant would show. Both
    # kernels: the fused one for {0,1} units and the generic one that any
    # unit type runs.
    W, b, a = tiny_machine()
    problem = machine_problem(W, b, a, units)
    betas = np.array([0.0, 0.5, 1.0])
    n_runs = 40000
    if direction == "forward":
        log_w = forward_log_weights(problem, betas, n_runs, seed=1)
        target = bm_log_partition(W, b) - problem.log_z_base()
    else:
        draw = lambda n, rng: bm_exact_sample(W, b, n, rng)  # noqa: E731
        start = lambda n, rng: problem.start_states(draw(n, rng))  # noqa: E731
        log_w = reverse_log_weights(problem, betas, n_runs, 1, start)
        target = problem.log_z_base() - bm_log_partition(W, b)
    w = np.exp(log_w - target)  # mean 1 if unbiased
    assert w.std() > 0.2
    assert abs(w.mean() - 1.0) < 4 * w.std() / np.sqrt(n_runs)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_both_directions_in_one_pool_equal_the_separate_runs(n_jobs):
    W, b, a = tiny_machine(seed=2)
    problem = machine_problem(W, b, a, BERNOULLI)
    betas = default_betas(20)
    draw = lambda n, rng: bm_exact_sample(W, b, n, rng)  # noqa: E731
    start = lambda n, rng: problem.start_states(draw(n, rng))  # noqa: E731
    n_runs = 250  # three chunks in each direction
    forward, reverse = one_pool(
        [
            forward_tasks(problem, betas, n_runs, 3),
            reverse_tasks(problem, betas, n_runs, 3, start),
        ],
        n_jobs=n_jobs,
    )
    np.testing.assert_array_equal(
        forward, forward_log_weights(problem, betas, n_runs, 3)
    )
    np.testing.assert_array_equal(
        reverse, reverse_log_weights(problem, betas, n_runs, 3, start)
    )
    assert forward.shape == reverse.shape == (n_runs,)
    assert not np.array_equal(forward, -reverse)


@pytest.mark.parametrize("quadratic", [False, True])
def test_helper_thread_changes_no_number(quadratic):
    # anneal draws its pages and sums its log weights in a helper thread when
    # one_pool allows it and a step has at least 2**14 draws: 100 chains of
    # 200 units here. The draws, their order and the sums are the same as
    # at once, over several pages (a partial last one included), forward
    # and reverse, with steps large enough for the float64 slow path.
    rng = np.random.default_rng(0)
    n = 200
    W = rng.normal(0, 0.3, (n, n))
    W = np.triu(W, 1) + np.triu(W, 1).T
    if not quadratic:  # a bipartite 120 + 80 machine
        W[:120, :120] = W[120:, 120:] = 0
    problem = machine_problem(
        W, rng.normal(0, 0.5, n), rng.normal(0, 0.5, n), BERNOULLI
    )
    assert 100 * n >= ais_module.HELPER_DRAWS_PER_STEP
    betas = np.concatenate([[0.0, 0.2], np.linspace(0.25, 1.0, 19)])
    results = {}
    for ahead in (False, True):
        token = ais_module._draw_ahead.set(ahead)
        try:
            for name, path in (("forward", betas), ("reverse", betas[::-1])):
                stream = np.random.default_rng(1)
                start = problem.sample_base(100, stream)
                uniforms = PagedUniforms([stream], 100, n)
                results[name, ahead] = anneal(problem, start, path, uniforms)
        finally:
            ais_module._draw_ahead.reset(token)
    for name in ("forward", "reverse"):
        pairs = zip(results[name, False], results[name, True], strict=True)
        for at_once, ahead in pairs:
            np.testing.assert_array_equal(at_once, ahead)


@pytest.mark.parametrize("stock_words", [2**14, 16])
@pytest.mark.parametrize("n_streams, rows", [(1, 3), (4, 1), (3, 2)])
def test_pages_read_each_stream_in_order(n_streams, rows, stock_words, monkeypatch):
    # A page holds, per stream, its next PAGE_STEPS * rows * n_r 32-bit
    # words for R, then its next words for K, as u = (word >> 9) / 2**23,
    # whether the words are drawn several pages at a time (small pages) or
    # one request at a time (pages above STOCK_WORDS), and whatever other
    # streams share the page.
    monkeypatch.setattr(ais_module, "STOCK_WORDS", stock_words)
    width, n_r, n_pages = 7, 3, 9
    seeds = [[5, index] for index in range(n_streams)]
    uniforms = PagedUniforms([ais_module._stream(s) for s in seeds], rows, width)
    pages = [[page.copy() for page in uniforms.page(n_r)] for _ in range(n_pages)]
    one = np.float32(1)
    for index, seed in enumerate(seeds):
        raw = ais_module._stream(seed).bit_generator.random_raw(
            n_pages * ais_module.PAGE_STEPS * rows * width // 2
        )
        words = raw.view(np.uint32).reshape(n_pages, -1)
        chains = slice(index * rows, (index + 1) * rows)
        for page, (inverse_R, logits_K) in zip(words, pages, strict=True):
            v = ((page >> 9) | ais_module.ONE_FLOAT32_BITS).view(np.float32)
            v = v.reshape(ais_module.PAGE_STEPS, rows, width)
            split = ais_module.PAGE_STEPS * rows * n_r
            v_R = v.ravel()[:split].reshape(ais_module.PAGE_STEPS, rows, n_r)
            v_K = v.ravel()[split:].reshape(ais_module.PAGE_STEPS, rows, -1)
            with np.errstate(divide="ignore"):
                np.testing.assert_array_equal(inverse_R[:, chains], one / (v_R - one))
                expected_K = np.log((v_K - one) / (np.float32(2) - v_K))
            np.testing.assert_array_equal(logits_K[:, chains], expected_K)


def test_helper_thread_only_where_a_core_is_idle_and_allowed():
    from joblib import cpu_count
    from threadpoolctl import threadpool_limits

    from skbm._threads import helper_thread_pays, on_one_blas_thread

    with threadpool_limits(1, user_api="blas"):
        assert not helper_thread_pays(1)
        # Recorded before skbm lowers the limit: still the user's one.
        assert not on_one_blas_thread(helper_thread_pays)(1)
    assert not helper_thread_pays(cpu_count())
    with threadpool_limits(2, user_api="blas"):
        if cpu_count() > 1:
            assert on_one_blas_thread(helper_thread_pays)(1)


def test_rbm_problem_and_per_chain_problem_are_unbiased():
    # The bipartite form (W_KK None) and one problem per chain (as for the
    # clamped hidden units) against the same machine written in full.
    rng = np.random.default_rng(3)
    n_v, n_h = 4, 3
    W = rng.normal(0.0, 1.0, (n_h, n_v))
    b, c = rng.normal(0.0, 1.0, n_v), rng.normal(0.0, 1.0, n_h)
    a = rng.normal(0.0, 0.5, n_v)
    full = np.zeros((n_v + n_h, n_v + n_h))
    full[:n_v, n_v:] = W.T
    full += full.T
    log_z = bm_log_partition(full, np.concatenate([b, c]))
    n_runs = 20000
    problem = AnnealingProblem(
        None, W.T, b, c, a, np.zeros(n_h), (np.arange(n_v),), BERNOULLI, BERNOULLI
    )
    per_chain = AnnealingProblem(
        None,
        W.T,
        np.tile(b, (n_runs, 1)),
        np.tile(c, (n_runs, 1)),
        np.tile(a, (n_runs, 1)),
        np.zeros((n_runs, n_h)),
        (np.arange(n_v),),
        BERNOULLI,
        BERNOULLI,
    )
    betas = np.array([0.0, 0.5, 1.0])
    for case in (problem, per_chain):
        rng = np.random.default_rng(5)
        start = case.sample_base(n_runs, rng)
        uniforms = PagedUniforms([rng], n_runs, n_v + n_h)
        log_w = anneal(case, start, betas, uniforms)[0] + case.log_z_base()
        w = np.exp(log_w - log_z)
        assert w.std() > 0.1
        assert abs(w.mean() - 1.0) < 4 * w.std() / np.sqrt(n_runs)


# ----------------------------------------------------------------------
# The estimators against exact ln Z
# ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["rbm", "bm", "hbm"])
def test_default_ais_is_within_005_nats_of_exact(models, exact, name):
    model = ais_copy(models[name])
    assert (model.ais_runs, model.ais_betas) == (100, 10000)
    estimate = model.log_partition(reverse=True)
    truth = exact[name].log_z
    assert estimate.method == "ais" and estimate.reverse_start == "exact"
    assert abs(estimate.log_z - truth) < 0.05
    assert abs(estimate.reverse_log_z - truth) < 0.05
    assert estimate.interval[0] <= truth <= estimate.reverse_interval[1]
    assert estimate.ess > 90
    assert (estimate.n_runs, estimate.n_betas) == (100, 10000)
    assert estimate.log_z == pytest.approx(
        logsumexp(estimate.run_log_z) - np.log(100), abs=1e-12
    )


@pytest.mark.parametrize("name", ["rbm", "bm", "hbm"])
def test_interval_coverage_and_sides_over_seeds(models, exact, name):
    truth = exact[name].log_z
    covered = bracketed = forward_side = reverse_side = 0
    for seed in range(N_SEEDS):
        estimate = ais_copy(
            models[name], ais_betas=SEED_BETAS, random_state=seed
        ).log_partition(reverse=True)
        low, high = estimate.interval
        covered += low <= truth <= high
        bracketed += low <= truth <= estimate.reverse_interval[1]
        # Single runs are bounds in expectation: their means bracket ln Z.
        short = ais_copy(
            models[name], ais_betas=SIDE_BETAS, ais_runs=SIDE_RUNS, random_state=seed
        ).log_partition(reverse=True)
        forward_side += short.run_log_z.mean() <= truth
        reverse_side += short.reverse_run_log_z.mean() >= truth
    assert covered >= 18
    assert bracketed >= 18
    assert forward_side >= 18
    assert reverse_side >= 18


# ----------------------------------------------------------------------
# Scoring rules
# ----------------------------------------------------------------------
def test_ais_scores_are_deterministic_and_independent_of_rows(models, digits):
    model = ais_copy(models["rbm"], ais_betas=200, random_state=7)
    full = model.score_samples(digits[:50])
    # ln Z is shared; the free energies may differ in the last bit with the
    # batch shape of the matrix product.
    np.testing.assert_allclose(
        model.score_samples(digits[:50][::-1]), full[::-1], rtol=1e-14
    )
    np.testing.assert_allclose(
        model.score_samples(digits[10:20]), full[10:20], rtol=1e-14
    )
    again = ais_copy(models["rbm"], ais_betas=200, random_state=7)
    np.testing.assert_array_equal(again.score_samples(digits[:50]), full)
    other = ais_copy(models["rbm"], ais_betas=200, random_state=8)
    assert other.log_partition().log_z != model.log_partition().log_z
    # random_state=None scores with a fixed seed, so they are deterministic.
    first = ais_copy(models["rbm"], ais_betas=200, random_state=None)
    second = ais_copy(models["rbm"], ais_betas=200, random_state=None)
    assert first.log_partition() == second.log_partition()


def test_results_do_not_depend_on_n_jobs(models):
    one = ais_copy(models["rbm"], ais_betas=100, random_state=3, n_jobs=1)
    two = ais_copy(models["rbm"], ais_betas=100, random_state=3, n_jobs=2)
    assert one.log_partition() == two.log_partition()
    np.testing.assert_array_equal(
        one.log_partition().run_log_z, two.log_partition().run_log_z
    )


def test_cache_follows_parameters_and_base_rates(digits):
    model = BernoulliRBM2(
        n_components=4, n_iter=2, score_method="ais", ais_betas=50, random_state=0
    )
    model.partial_fit(digits[:100])
    first = model.log_partition()
    assert model.log_partition() is first
    np.testing.assert_allclose(model._ais_base_mean, digits[:100].mean(axis=0))
    model.partial_fit(digits[100:400])
    # partial_fit folds its rows into the base rates: a running mean.
    np.testing.assert_allclose(model._ais_base_mean, digits[:400].mean(axis=0))
    assert model.log_partition() is not first
    model.fit(digits[400:500])
    np.testing.assert_allclose(model._ais_base_mean, digits[400:500].mean(axis=0))
    model.set_params(ais_runs=20)
    assert model.log_partition().n_runs == 20


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_auto_switches_to_ais_beyond_enumeration(digits, capsys):
    # 2**24 terms: too many for "auto"; the reverse runs start from Gibbs
    # chains, and verbose training prints the AIS interval.
    model = BernoulliRBM2(
        n_components=24, n_iter=1, ais_runs=10, ais_betas=100, random_state=0
    )
    model.set_params(verbose=2).fit(digits[:200])
    assert "in [" in capsys.readouterr().out
    estimate = model.log_partition(reverse=True)
    assert estimate.method == "ais" and estimate.reverse_start == "gibbs"
    assert np.isfinite(estimate.log_z) and np.isfinite(estimate.reverse_log_z)
    assert "interval" in str(estimate)
    scores = model.score_samples(digits[:5])
    assert np.all(np.isfinite(scores)) and np.all(scores < 0)
    bm = BoltzmannMachine(ais_runs=10, ais_betas=100).fit(digits[:300, :24])
    assert bm.log_partition().method == "ais"
    assert bm.log_partition(reverse=True).reverse_start == "gibbs"


def test_score_runs_forward_only_and_reverse_reuses_it(models, monkeypatch):
    # score needs the forward runs only; asking for the reverse side later
    # runs just the reverse runs, and gives what one call asking for both
    # gives.
    import skbm._base as base

    model = ais_copy(models["rbm"], ais_betas=200, ais_runs=20)
    model.score(np.zeros((1, model.n_features_in_)))
    forward = model.log_partition()
    assert forward.reverse_log_z is None and forward.reverse_run_log_z is None
    monkeypatch.setattr(
        base,
        "forward_tasks",
        lambda *args, **kwargs: pytest.fail("forward runs were repeated"),
    )
    both = model.log_partition(reverse=True)
    monkeypatch.undo()
    assert both.log_z == forward.log_z and np.isfinite(both.reverse_log_z)
    assert model.log_partition() is both  # the fuller record stays cached
    fresh = ais_copy(models["rbm"], ais_betas=200, ais_runs=20)
    together = fresh.log_partition(reverse=True)
    assert together == both
    np.testing.assert_array_equal(together.run_log_z, both.run_log_z)
    np.testing.assert_array_equal(together.reverse_run_log_z, both.reverse_run_log_z)


def test_exact_log_partition_keeps_its_short_form():
    exact = LogPartition(log_z=1.5, method="exact", interval=(1.5, 1.5))
    assert str(exact) == "ln Z = 1.500000 (exact)"
    assert exact.ess is None and exact.reverse_log_z is None


# ----------------------------------------------------------------------
# HiddenBoltzmannMachine: sums over coupled hidden units by AIS
# ----------------------------------------------------------------------
@pytest.fixture
def clamped_hbm(models, monkeypatch):
    # Hidden-hidden edges and (with the threshold lowered) too many hidden
    # states to enumerate: each row's sum over h is estimated by AIS.
    monkeypatch.setattr(hbm_module, "MAX_HIDDEN_SUM_BITS", 0)
    return models["hbm"]


def test_clamped_hidden_sums_match_exact(clamped_hbm, digits):
    model = ais_copy(clamped_hbm, ais_betas=1000, random_state=0)
    assert model._hidden_sum_by_ais()
    by_variance = np.argsort(-digits.var(axis=0), kind="stable")
    V = digits[:60, by_variance[:12]]
    estimate = model._unnormalized_log_proba(V)
    truth = hidden_log_sum(V, model.coupling_, model.intercept_)
    assert np.max(np.abs(estimate - truth)) < 0.05
    # score_method="exact" still enumerates.
    exact_model = ais_copy(clamped_hbm).set_params(score_method="exact")
    np.testing.assert_allclose(
        exact_model.score_samples(V) + exact_model.log_partition().log_z, truth
    )


def test_clamped_scores_are_row_independent_and_deterministic(clamped_hbm, digits):
    by_variance = np.argsort(-digits.var(axis=0), kind="stable")
    V = digits[:40, by_variance[:12]]
    model = ais_copy(clamped_hbm, ais_betas=100, ais_runs=20, random_state=1)
    full = model.score_samples(V)
    np.testing.assert_array_equal(model.score_samples(V[::-1]), full[::-1])
    np.testing.assert_array_equal(model.score_samples(V[7:19]), full[7:19])
    model.set_params(n_jobs=2)
    np.testing.assert_array_equal(model.score_samples(V), full)
    twin = ais_copy(clamped_hbm, ais_betas=100, ais_runs=20, random_state=1)
    np.testing.assert_array_equal(twin.score_samples(V), full)
