"""Reliability: atomic training, numerical stability, reproducibility, memory.

- A fit or partial_fit interrupted mid-training (an exception, Ctrl-C) leaves
  the model byte for byte as it was, and it continues as if never called.
- With weights of magnitude 300 and 1e4 and intercepts of either sign,
  transform, score_samples, sample and a training step stay finite without a
  RuntimeWarning, and exact ln Z matches a brute force in log space.
- The same random_state gives identical fits, scores and samples; numpy's
  global random state is never touched.
- transform and score_samples on 100,000 rows of a 784x500 RBM work in
  bounded chunks.
"""

import copy
import pickle
import time
import tracemalloc
import warnings

import numpy as np
import pytest
from brute_force import all_states
from scipy.special import logsumexp

import skbm._bm
import skbm._hbm
from skbm import BernoulliRBM2, BoltzmannMachine, HiddenBoltzmannMachine, LogPartition
from skbm._enumeration import BLOCK_BYTES

RNG = np.random.default_rng(0)
X = (RNG.random((40, 6)) < 0.4).astype(float)

# Every estimator with each of its solvers (small, fast settings).
CONFIGS = {
    "rbm-pcd": lambda **kw: BernoulliRBM2(
        n_components=4, n_iter=3, batch_size=8, n_chains=6, **kw
    ),
    "rbm-cd": lambda **kw: BernoulliRBM2(
        n_components=4, n_iter=3, batch_size=8, solver="cd", **kw
    ),
    "rbm-pt": lambda **kw: BernoulliRBM2(
        n_components=4, n_iter=3, batch_size=8, n_chains=6, solver="pt", **kw
    ),
    "rbm-exact": lambda **kw: BernoulliRBM2(
        n_components=4, n_iter=3, batch_size=8, solver="exact", **kw
    ),
    "bm-exact": lambda **kw: BoltzmannMachine(solver="exact", batch_size=8, **kw),
    "bm-pseudolikelihood": lambda **kw: BoltzmannMachine(
        solver="pseudolikelihood", batch_size=8, **kw
    ),
    "bm-pcd": lambda **kw: BoltzmannMachine(
        solver="pcd", n_iter=3, batch_size=8, n_chains=6, **kw
    ),
    "hbm-exact": lambda **kw: HiddenBoltzmannMachine(
        n_components=2, n_iter=3, batch_size=8, solver="exact", **kw
    ),
    "hbm-pcd": lambda **kw: HiddenBoltzmannMachine(
        n_components=2, n_iter=3, batch_size=8, n_chains=6, solver="pcd", **kw
    ),
}


# ----------------------------------------------------------------------
# Atomicity of training
# ----------------------------------------------------------------------
class Interrupted(Exception):
    pass


def fail_after(monkeypatch, owner, names, n_calls, exception):
    """Make the calls to ``owner``'s ``names`` raise from call ``n_calls + 1``.

    The count is shared by all the names.
    """
    calls = []

    def wrap(original):
        def failing(*args, **kwargs):
            calls.append(1)
            if len(calls) > n_calls:
                raise exception
            return original(*args, **kwargs)

        return failing

    for name in names:
        if hasattr(owner, name):
            monkeypatch.setattr(owner, name, wrap(getattr(owner, name)))
    return calls


@pytest.mark.parametrize("exception", [Interrupted, KeyboardInterrupt])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("config", list(CONFIGS))
def test_failure_inside_training_changes_nothing(config, method, exception):
    model = CONFIGS[config](random_state=0).fit(X)
    model.score(X)
    reference = copy.deepcopy(model)
    before = pickle.dumps(model)
    lbfgs = method == "fit" and config in (
        "bm-exact",
        "bm-pseudolikelihood",
        "hbm-exact",
    )
    with pytest.MonkeyPatch.context() as monkeypatch:
        if lbfgs:
            # fit runs L-BFGS: fail inside its objective, after a few steps.
            owner, objective = config.split("-", 1)
            module = skbm._bm if owner == "bm" else skbm._hbm
            objective = objective.replace("-", "_")
            calls = fail_after(
                monkeypatch, module, [f"{objective}_objective"], 3, exception
            )
        else:
            # Fail on the third mini-batch, after two real updates (by the
            # gradient, or by the fused in-place step where a model has one).
            names = ["_step", "_fused_step"]
            calls = fail_after(monkeypatch, type(model), names, 2, exception)
        with pytest.raises(exception):
            getattr(model, method)(X)
    assert len(calls) == (4 if lbfgs else 3)  # it failed mid-training
    assert pickle.dumps(model) == before
    # And it carries on exactly as a model that never saw the failure.
    model.partial_fit(X)
    reference.partial_fit(X)
    assert pickle.dumps(model) == pickle.dumps(reference)


# ----------------------------------------------------------------------
# Numerical stability with huge weights
# ----------------------------------------------------------------------
def brute_force_log_z(model):
    """ln Z by logsumexp over every joint state, written independently."""
    if isinstance(model, BernoulliRBM2):
        W = model.components_.astype(np.float64)
        b = model.intercept_visible_.astype(np.float64)
        c = model.intercept_hidden_.astype(np.float64)
        v, h = all_states(W.shape[1]), all_states(W.shape[0])
        neg_energy = h @ W @ v.T + (v @ b)[None, :] + (h @ c)[:, None]
        return logsumexp(neg_energy)
    W = model.coupling_.astype(np.float64)
    b = model.intercept_.astype(np.float64)
    s = all_states(W.shape[0])
    return logsumexp(0.5 * np.einsum("si,ij,sj->s", s, W, s) + s @ b)


def brute_force_log_p(model, V):
    """ln P(v) of each row of binary V, by brute force."""
    log_z = brute_force_log_z(model)
    if isinstance(model, BernoulliRBM2):
        W = model.components_.astype(np.float64)
        b = model.intercept_visible_.astype(np.float64)
        c = model.intercept_hidden_.astype(np.float64)
        h = all_states(W.shape[0])
        neg_energy = h @ W @ V.T + (V @ b)[None, :] + (h @ c)[:, None]
        return logsumexp(neg_energy, axis=0) - log_z
    W = model.coupling_.astype(np.float64)
    b = model.intercept_.astype(np.float64)
    n_hidden = W.shape[0] - V.shape[1]
    h = all_states(n_hidden)
    rows = []
    for v in V:
        s = np.hstack([np.repeat(v[None], len(h), axis=0), h])
        rows.append(logsumexp(0.5 * np.einsum("si,ij,sj->s", s, W, s) + s @ b))
    return np.array(rows) - log_z


def set_huge_parameters(model, scale, intercept_sign, seed):
    """Weights of magnitude ``scale`` (random signs), intercepts of the sign."""
    rng = np.random.default_rng(seed)
    dtype = getattr(model, model._parameter_names[0]).dtype

    def magnitudes(shape):
        return scale * rng.uniform(0.5, 1.0, shape)

    def intercepts(n):
        signs = {"+": 1.0, "-": -1.0, "mixed": rng.choice([-1.0, 1.0], n)}
        return (signs[intercept_sign] * magnitudes(n)).astype(dtype)

    if isinstance(model, BernoulliRBM2):
        shape = model.components_.shape
        model.components_ = (rng.choice([-1, 1], shape) * magnitudes(shape)).astype(
            dtype
        )
        model.intercept_visible_ = intercepts(shape[1])
        model.intercept_hidden_ = intercepts(shape[0])
        return
    n = model.coupling_.shape[0]
    upper = np.triu(rng.choice([-1, 1], (n, n)) * magnitudes((n, n)), 1)
    coupling = upper + upper.T
    if isinstance(model, HiddenBoltzmannMachine):
        coupling *= model._mask
    model.coupling_ = coupling.astype(dtype)
    model.intercept_ = intercepts(n)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("intercept_sign", ["+", "-", "mixed"])
@pytest.mark.parametrize("scale", [300.0, 1e4])
@pytest.mark.parametrize("config", list(CONFIGS))
def test_huge_weights_stay_finite_and_exact(config, scale, intercept_sign, dtype):
    data = X.astype(dtype)
    model = CONFIGS[config](random_state=0).fit(data)
    set_huge_parameters(model, scale, intercept_sign, seed=1)
    V = all_states(X.shape[1]).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        transformed = model.transform(V)
        log_p = model.score_samples(V)
        log_z = model.log_partition().log_z
        samples = model.sample(50, random_state=0)
        step = copy.deepcopy(model).partial_fit(data)
    assert np.isfinite(transformed).all()
    assert ((transformed >= 0) & (transformed <= 1)).all()
    assert np.isfinite(log_p).all()
    assert np.isin(samples, (0, 1)).all()
    for name in step._parameter_names:
        assert np.isfinite(getattr(step, name)).all(), name
    # Exact ln Z and ln P against the brute force; ln P sums to one.
    expected = brute_force_log_z(model)
    assert log_z == pytest.approx(expected, rel=1e-12, abs=1e-9)
    np.testing.assert_allclose(
        log_p, brute_force_log_p(model, V.astype(np.float64)), rtol=1e-12, atol=1e-8
    )
    assert logsumexp(log_p) == pytest.approx(0.0, abs=1e-9)
    # Samples come from the most probable states: their mean ln P is close
    # to the best (at these magnitudes almost all mass is on a few states).
    assert model.score(samples) >= log_p.max() - np.log(len(V)) - 1


@pytest.mark.parametrize("scale", [300.0, 1e4])
@pytest.mark.parametrize(
    "model",
    [
        BernoulliRBM2(n_components=30, n_iter=1, n_chains=5, random_state=0),
        BoltzmannMachine(solver="pcd", n_iter=1, n_chains=5, random_state=0),
        HiddenBoltzmannMachine(
            n_components=3, solver="pcd", n_iter=1, n_chains=5, random_state=0
        ),
    ],
    ids=["rbm", "bm", "hbm"],
)
def test_huge_weights_gibbs_paths_stay_finite(model, scale):
    # Models too large for exact sampling: sample() runs Gibbs chains.
    data = (RNG.random((20, 24)) < 0.4).astype(float)
    model = copy.deepcopy(model).fit(data)
    set_huge_parameters(model, scale, "mixed", seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        samples = model.sample(5, random_state=0)
        transformed = model.transform(data)
        model.partial_fit(data)
    assert np.isin(samples, (0, 1)).all()
    assert np.isfinite(transformed).all()
    for name in model._parameter_names:
        assert np.isfinite(getattr(model, name)).all(), name


# ----------------------------------------------------------------------
# Reproducibility
# ----------------------------------------------------------------------
def global_state():
    return pickle.dumps(np.random.get_state())  # noqa: NPY002 (on purpose)


@pytest.mark.parametrize("random_state", [None, 0, "RandomState"])
@pytest.mark.parametrize("config", list(CONFIGS))
def test_global_random_state_untouched(config, random_state):
    if random_state == "RandomState":
        random_state = np.random.RandomState(0)
    np.random.seed(12345)  # noqa: NPY002 (the state under test)
    before = global_state()
    model = CONFIGS[config](random_state=random_state)
    model.fit(X)
    model.partial_fit(X)
    model.transform(X)
    model.score_samples(X)
    model.score(X)
    model.sample(10)
    model.sample(10, random_state=0)
    model.sample(10, random_state=np.random.RandomState(1))
    if hasattr(model, "gibbs"):
        model.gibbs(X)
    fresh = CONFIGS[config](random_state=random_state)
    fresh.partial_fit(X)  # a first partial_fit initialises the model
    fresh.fit_transform(X)
    assert global_state() == before


@pytest.mark.parametrize("config", list(CONFIGS))
def test_same_random_state_same_everything(config):
    runs = []
    for _ in range(2):
        model = CONFIGS[config](random_state=7).fit(X)
        fitted = pickle.dumps(model)
        results = [
            model.transform(X),
            model.score_samples(X),
            model.sample(30, random_state=3),
        ]
        if hasattr(model, "gibbs"):
            results.append(model.gibbs(X))
        model.partial_fit(X)
        runs.append((fitted, results, pickle.dumps(model)))
    (fit_a, results_a, after_a), (fit_b, results_b, after_b) = runs
    assert fit_a == fit_b  # identical fits, byte for byte
    for a, b in zip(results_a, results_b, strict=True):
        np.testing.assert_array_equal(a, b)
    assert after_a == after_b
    # A RandomState instance seeded alike gives the same fit as well.
    one = CONFIGS[config](random_state=np.random.RandomState(5)).fit(X)
    two = CONFIGS[config](random_state=np.random.RandomState(5)).fit(X)
    for name in one._parameter_names:
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name))


# Not the BM's L-BFGS solvers: their fits are deterministic by design.
@pytest.mark.parametrize("config", ["rbm-pcd", "bm-pcd", "hbm-exact"])
def test_different_random_state_different_fit(config):
    # The seed is used: otherwise the test above could not fail.
    one = CONFIGS[config](random_state=1).fit(X)
    two = CONFIGS[config](random_state=2).fit(X)
    name = one._parameter_names[0]
    assert not np.array_equal(getattr(one, name), getattr(two, name))


@pytest.mark.parametrize("config", ["rbm-pcd", "bm-exact", "hbm-exact"])
def test_sample_integer_random_state_fresh_but_reproducible(config):
    model = CONFIGS[config](random_state=0).fit(X)
    first = model.sample(200, random_state=11)
    # Reproducible: the same integer gives the same draws, every time.
    np.testing.assert_array_equal(model.sample(200, random_state=11), first)
    # Fresh: another integer, or None, gives other draws; the integer does
    # not leave state behind (the model's own random_state is not reused).
    assert not np.array_equal(model.sample(200, random_state=12), first)
    assert not np.array_equal(model.sample(200), model.sample(200))
    # A Generator passed in advances: two calls give two different draws.
    generator = np.random.default_rng(11)
    assert not np.array_equal(
        model.sample(200, random_state=generator),
        model.sample(200, random_state=generator),
    )
    # And the draws follow the model: their mean ln P is that of the model
    # (the entropy), not the lower value of uniform noise.
    entropy = -np.sum(
        np.exp(model.score_samples(all_states(6))) * model.score_samples(all_states(6))
    )
    assert model.score(first) == pytest.approx(-entropy, abs=0.5)


# ----------------------------------------------------------------------
# Memory
# ----------------------------------------------------------------------
def peak_bytes(function, *args):
    tracemalloc.start()
    try:
        start = time.perf_counter()
        result = function(*args)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak, seconds


def test_large_model_scores_and_transforms_in_bounded_chunks(monkeypatch):
    # A 784x500 RBM cannot be scored exactly (2**500 terms) and its AIS is
    # not what this test is about: ln Z is set to a known value, so that
    # score_samples measures the chunked free-energy part. Its input is a
    # broadcast view of one row (no memory of its own) in float32.
    rng = np.random.default_rng(0)
    model = BernoulliRBM2(n_components=500, n_iter=0, random_state=0)
    model.fit(np.eye(784, dtype=np.float32)[:10])
    model.components_ = rng.normal(0, 0.1, (500, 784)).astype(np.float32)
    log_z = 123.0
    known = LogPartition(log_z=log_z, method="exact", interval=(log_z, log_z))
    monkeypatch.setattr(model, "log_partition", lambda: known)
    row = (rng.random(784) < 0.2).astype(np.float32)
    X_big = np.broadcast_to(row, (100_000, 784))

    log_p, peak, seconds = peak_bytes(model.score_samples, X_big)
    assert log_p.shape == (100_000,)
    expected = model.score_samples(row[None])[0]
    np.testing.assert_allclose(log_p, expected, rtol=1e-12)
    # The unchunked computation would hold 100,000 x 500 float64 (400 MB).
    assert peak <= 2 * log_p.nbytes + 4 * BLOCK_BYTES, (peak, seconds)

    hidden, peak, seconds = peak_bytes(model.transform, X_big)
    assert hidden.shape == (100_000, 500) and hidden.dtype == np.float32
    # (float32 products of one row and of a chunk may differ in the last bit)
    np.testing.assert_allclose(hidden[-1], model.transform(row[None])[0], rtol=1e-5)
    # The output plus one chunk's work arrays, not a second copy of it.
    assert peak <= 1.25 * hidden.nbytes + 4 * BLOCK_BYTES, (peak, seconds)
