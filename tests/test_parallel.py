"""Parallel work: n_jobs never changes a result, and fitted models travel.

- Exact ln Z enumerates its states in blocks on ``n_jobs`` joblib threads,
  and AIS splits its runs into chunks on ``n_jobs`` workers; both give the
  same bits for any ``n_jobs``.
- Fitted estimators pickle small (no stored data, nothing that grows with
  the rows or the AIS schedule) and score on loky worker processes exactly
  as they do locally, reusing the ln Z cached before they were sent.
"""

import functools
import pickle

import numpy as np
import pytest
from joblib import Parallel, delayed
from scipy.special import logsumexp

import skbm._enumeration
import skbm._exact
import skbm._rbm_math
from skbm import BernoulliRBM2, BoltzmannMachine, HiddenBoltzmannMachine
from skbm._ais import CHUNK_RUNS
from skbm._bm_math import bm_log_partition
from skbm._rbm_math import _LogWeightTable, _smaller_layer_first, log_partition


def random_machine(n_units, seed, scale=0.3):
    rng = np.random.default_rng(seed)
    W = rng.normal(0, scale, (n_units, n_units))
    W = np.triu(W, 1)
    return W + W.T, rng.normal(0, 1, n_units)


def binary_data(n_samples, n_features, seed):
    rng = np.random.default_rng(seed)
    return (rng.random((n_samples, n_features)) < 0.3).astype(np.float64)


# ----------------------------------------------------------------------
# n_jobs does not change results
# ----------------------------------------------------------------------
def test_rbm_log_partition_is_the_same_for_any_n_jobs():
    rng = np.random.default_rng(0)
    W = rng.normal(0, 0.5, (12, 64))
    b, c = rng.normal(size=64), rng.normal(size=12)
    # Several groups of blocks of the enumerated (hidden) layer.
    assert _LogWeightTable(*_smaller_layer_first(W, b, c)[:3]).n_blocks > 4
    values = [log_partition(W, b, c, n_jobs=n_jobs) for n_jobs in (1, 2, 3)]
    assert values[0] == values[1] == values[2]
    # Against a direct sum over the 2**12 hidden states.
    H = (np.arange(2**12)[:, None] >> np.arange(12)) & 1
    direct = logsumexp(H @ c + np.logaddexp(0, H @ W + b).sum(axis=1))
    assert values[0] == pytest.approx(direct, rel=1e-12)


def test_machine_log_partition_is_the_same_for_any_n_jobs(monkeypatch):
    # 19 units, fully connected: 2**18 states enumerated (one unit summed
    # out), in several blocks of the high part (blocks of 1 MiB).
    W, b = random_machine(19, seed=1)
    one_block = bm_log_partition(W, b)
    small = functools.partial(skbm._enumeration.state_ranges, block_bytes=2**20)
    seen = []
    monkeypatch.setattr(
        skbm._exact,
        "state_ranges",
        lambda *a: seen.append(list(small(*a))) or small(*a),
    )
    values = [bm_log_partition(W, b, n_jobs=n_jobs) for n_jobs in (1, 2, 3)]
    assert len(seen[1]) > 4
    assert values[0] == values[1] == values[2]
    assert values[0] == pytest.approx(one_block, rel=1e-13)


@pytest.mark.parametrize(
    "module, make",
    [
        (skbm._rbm_math, lambda: BernoulliRBM2(n_components=3, n_iter=1)),
        (skbm._exact, lambda: BoltzmannMachine(solver="pcd", n_iter=1)),
        (skbm._exact, lambda: HiddenBoltzmannMachine(n_components=2, n_iter=1)),
    ],
    ids=["BernoulliRBM2", "BoltzmannMachine", "HiddenBoltzmannMachine"],
)
def test_estimators_give_n_jobs_to_exact_enumeration(monkeypatch, module, make):
    seen = []
    original = module.map_blocks

    def spy(function, bounds, n_jobs=None):
        seen.append(n_jobs)
        return original(function, bounds, n_jobs)

    model = make().set_params(random_state=0).fit(binary_data(50, 6, 0))
    one = model.log_partition().log_z
    monkeypatch.setattr(module, "map_blocks", spy)
    model.set_params(n_jobs=2)
    # n_jobs is not part of the cache key (it changes nothing): recompute.
    model.__dict__.pop("_log_partition_cache")
    assert model.log_partition().log_z == one
    assert seen == [2]


@pytest.mark.parametrize(
    "make",
    [
        lambda: BernoulliRBM2(n_components=3, n_iter=2),
        lambda: BoltzmannMachine(solver="pcd", n_iter=2),
        lambda: HiddenBoltzmannMachine(n_components=2, n_iter=2),
    ],
    ids=["BernoulliRBM2", "BoltzmannMachine", "HiddenBoltzmannMachine"],
)
def test_ais_scores_are_the_same_for_any_n_jobs(make):
    X = binary_data(60, 8, 1)
    # Three chunks of runs (a short last one), shared unevenly by two workers.
    n_runs = 2 * CHUNK_RUNS + 20
    settings = dict(score_method="ais", ais_runs=n_runs, ais_betas=50, random_state=0)
    scores = []
    for n_jobs in (1, 2):
        model = make().set_params(n_jobs=n_jobs, **settings).fit(X)
        scores.append((model.score_samples(X), model.log_partition()))
    np.testing.assert_array_equal(scores[0][0], scores[1][0])
    assert scores[0][1] == scores[1][1]
    np.testing.assert_array_equal(scores[0][1].run_log_z, scores[1][1].run_log_z)


# ----------------------------------------------------------------------
# Pickles are small
# ----------------------------------------------------------------------
ESTIMATORS = {
    "BernoulliRBM2": lambda: BernoulliRBM2(n_components=8, n_iter=2),
    "BoltzmannMachine-pcd": lambda: BoltzmannMachine(solver="pcd", n_iter=2),
    "BoltzmannMachine-exact": lambda: BoltzmannMachine(solver="exact"),
    "HiddenBoltzmannMachine": lambda: HiddenBoltzmannMachine(
        n_components=3, n_iter=2, max_iter=5
    ),
    "BernoulliRBM2-ais": lambda: BernoulliRBM2(
        n_components=8, n_iter=2, score_method="ais", ais_runs=100, ais_betas=50
    ),
}


@pytest.mark.parametrize("make", ESTIMATORS.values(), ids=ESTIMATORS.keys())
def test_pickle_holds_no_data_and_stays_small(make):
    sizes = []
    for n_samples in (200, 20000):
        X = binary_data(n_samples, 16, 2)
        model = make().set_params(random_state=0).fit(X)
        model.score(X[:10])  # with the cached ln Z (and AIS runs)
        sizes.append(len(pickle.dumps(model)))
    # Nothing grows with the rows seen (only an integer count differs).
    assert abs(sizes[1] - sizes[0]) <= 16
    # What a fitted model holds: its parameters, a velocity of the same
    # size, the AIS base means, persistent chains (at most n_chains x
    # n_units, whatever the data) and, when scored by AIS, two arrays of
    # ais_runs single-run estimates; plus a few kilobytes of Python objects.
    parameters = sum(getattr(model, name).nbytes for name in model._parameter_names)
    n_units = sum(getattr(model, name).shape[0] for name in model._parameter_names[1:])
    chains = 8 * model.get_params().get("n_chains", 0) * n_units
    runs = 2 * 8 * model.ais_runs if model.score_method == "ais" else 0
    assert sizes[1] <= 2 * parameters + 8 * 16 + chains + runs + 6000


def test_pickle_does_not_grow_with_the_ais_schedule():
    X = binary_data(100, 10, 3)
    sizes = []
    for ais_betas in (50, 500):
        model = BoltzmannMachine(
            solver="exact", score_method="ais", ais_runs=60, ais_betas=ais_betas
        ).fit(X)
        model.score(X)
        sizes.append(len(pickle.dumps(model)))
    assert abs(sizes[1] - sizes[0]) <= 8


# ----------------------------------------------------------------------
# Scores on loky worker processes
# ----------------------------------------------------------------------
def _score_on_worker(model, X):
    """Scores on a worker, and whether the shipped ln Z cache was still valid."""
    reused = model._cache_key() == model._log_partition_cache[0]
    return model.score_samples(X), reused


@pytest.mark.parametrize("make", ESTIMATORS.values(), ids=ESTIMATORS.keys())
@pytest.mark.parametrize("random_state", [0, "RandomState"])
def test_scores_on_loky_workers_equal_local_scores(make, random_state):
    if random_state == "RandomState":
        # Its repr holds an address, which must not key the cache.
        random_state = np.random.RandomState(0)
    X = binary_data(300, 12, 4)
    X_test = binary_data(50, 12, 5)
    model = make().set_params(random_state=random_state).fit(X)
    parts = (X_test, X_test[10:30])
    # Compared part by part: BLAS may round a row's product differently
    # (last bit) depending on the rows around it, locally as on a worker.
    local = [model.score_samples(part) for part in parts]
    results = Parallel(n_jobs=2, backend="loky")(
        delayed(_score_on_worker)(model, part) for part in parts
    )
    for (remote, reused), expected in zip(results, local, strict=True):
        assert reused
        np.testing.assert_array_equal(remote, expected)
