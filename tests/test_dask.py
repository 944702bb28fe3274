"""skbm on a dask.distributed cluster: grid search, streaming fits, worker scores.

Two worker processes on this machine (``distributed.LocalCluster``, bound to
127.0.0.1, no dashboard) stand in for a cluster: every estimator and every
array crosses a process boundary by pickling, as on a real one. The file
needs the ``dask`` extra and is skipped without it.
"""

import numpy as np
import pytest

pytest.importorskip("dask", reason="dask is not installed (pip install skbm[dask])")
distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (pip install skbm[dask])"
)
dask_ml_wrappers = pytest.importorskip(
    "dask_ml.wrappers", reason="dask-ml is not installed (pip install skbm[dask])"
)

import dask.array as da  # noqa: E402
import joblib  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold  # noqa: E402

from skbm import (  # noqa: E402
    BernoulliRBM2,
    BoltzmannMachine,
    HiddenBoltzmannMachine,
)


def bars_and_stripes(n_samples, side, noise, seed):
    """Noisy bars-and-stripes images, flattened: ``side**2`` binary features."""
    rng = np.random.default_rng(seed)
    lines = rng.random((n_samples, side)) < 0.5
    images = np.repeat(lines[:, :, None], side, axis=2)
    vertical = rng.random(n_samples) < 0.5
    images[vertical] = images[vertical].transpose(0, 2, 1)
    X = images.reshape(n_samples, side * side)
    X ^= rng.random(X.shape) < noise
    return X.astype(np.float64)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def data():
    X = bars_and_stripes(600, 3, noise=0.05, seed=0)
    return X[:450], X[450:]


def search_on(estimator, grid, X, backend=None):
    """Fit a 3-fold grid search, locally or under a joblib backend."""
    search = GridSearchCV(estimator, grid, cv=KFold(3, shuffle=True, random_state=0))
    if backend is None:
        return search.fit(X)
    with joblib.parallel_config(backend=backend):
        return search.fit(X)


def workers_used(client, run):
    """The addresses of the workers that ran tasks during ``run()``."""
    with distributed.get_task_stream(client) as stream:
        result = run()
    return result, {task["worker"] for task in stream.data}


@pytest.mark.parametrize(
    "estimator, grid",
    [
        (
            BernoulliRBM2(n_iter=5, score_method="exact", random_state=0),
            {
                "n_components": [2, 6],
                "learning_rate": [0.01, 0.1],
                "solver": ["pcd", "cd"],
            },
        ),
        (
            BoltzmannMachine(score_method="exact", random_state=0),
            {"solver": ["exact", "pseudolikelihood"], "alpha": [0.0, 0.01, 1.0]},
        ),
    ],
    ids=["BernoulliRBM2", "BoltzmannMachine"],
)
def test_grid_search_on_the_cluster_matches_the_local_one(
    client, data, estimator, grid
):
    X_train, _ = data
    local = search_on(estimator, grid, X_train)
    remote, workers = workers_used(
        client, lambda: search_on(estimator, grid, X_train, backend="dask")
    )
    # The fits and scores really ran on both worker processes.
    assert len(workers) == 2
    # The grid separates its candidates, so picking the same one means
    # something: scored by the estimators' own exact mean log-likelihood.
    scores = local.cv_results_["mean_test_score"]
    assert np.ptp(scores) > 0.05
    assert remote.best_params_ == local.best_params_
    # Same fits, same seeds, same float64 arithmetic: every score is equal.
    np.testing.assert_array_equal(remote.cv_results_["mean_test_score"], scores)
    assert remote.best_estimator_.score(X_train) == local.best_estimator_.score(X_train)


def test_incremental_matches_local_partial_fit(client, data):
    X_train, X_test = data
    chunks, epochs = 75, 6
    X = da.from_array(X_train, chunks=(chunks, X_train.shape[1]))
    assert len(X.chunks[0]) == 6
    # Five Gibbs steps on 100 chains: bars and stripes are multimodal, and
    # with the default single step on 32 chains a constant-rate partial_fit
    # fell below independent units for seed 0 (-6.44 against -6.24).
    settings = dict(n_components=6, n_chains=100, n_gibbs_steps=5, random_state=0)
    model = BernoulliRBM2(**settings)
    # Blocks in their order, so that the local run can follow the same one;
    # fit makes the first pass over the blocks, partial_fit the next ones.
    incremental = dask_ml_wrappers.Incremental(model, shuffle_blocks=False)

    def stream():
        incremental.fit(X)
        for _ in range(epochs - 1):
            incremental.partial_fit(X)

    _, workers = workers_used(client, stream)
    assert workers  # the partial_fit calls ran on the cluster

    local = BernoulliRBM2(**settings)
    for _ in range(epochs):
        for start in range(0, X_train.shape[0], chunks):
            local.partial_fit(X_train[start : start + chunks])

    remote = incremental.estimator_
    assert remote is not model  # Incremental fits a clone
    # partial_fit is deterministic given its random stream, which travels
    # with the pickled estimator from block to block, and the workers run the
    # same float64 code on the same rows in the same order: the result is
    # bit for bit the local one. (This holds because the matrix products are
    # too small for BLAS to split across threads; on large models a
    # multi-threaded BLAS in the client against the workers' single thread,
    # OMP_NUM_THREADS=1 under distributed, may round differently.)
    for name in ("components_", "intercept_visible_", "intercept_hidden_"):
        np.testing.assert_array_equal(getattr(remote, name), getattr(local, name))
    assert remote.score(X_test) == local.score(X_test)
    # It learnt something: better than independent units at the data means.
    p = X_train.mean(axis=0).clip(1e-3, 1 - 1e-3)
    independent = np.mean(X_test @ np.log(p) + (1 - X_test) @ np.log1p(-p))
    assert remote.score(X_test) > independent + 0.5


@pytest.mark.parametrize(
    "model",
    [
        BernoulliRBM2(n_components=4, n_iter=3, random_state=0),
        BoltzmannMachine(random_state=0),
        HiddenBoltzmannMachine(n_components=2, n_iter=3, random_state=0),
        BernoulliRBM2(
            n_components=4,
            n_iter=3,
            score_method="ais",
            ais_runs=20,
            ais_betas=200,
            random_state=0,
        ),
    ],
    ids=["BernoulliRBM2", "BoltzmannMachine", "HiddenBoltzmannMachine", "ais"],
)
def test_worker_scores_equal_local_scores_and_reuse_the_cache(client, data, model):
    X_train, X_test = data
    model.fit(X_train)
    local = model.score_samples(X_test)

    def on_worker(model, X):
        # The cached ln Z arrived with the model and is still valid there.
        reused = model._cache_key() == model._log_partition_cache[0]
        return model.score_samples(X), reused

    future = client.submit(on_worker, model, X_test, pure=False)
    remote, reused = future.result()
    assert reused
    np.testing.assert_array_equal(remote, local)
