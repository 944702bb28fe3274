"""BernoulliRBM2 (solver="pcd") fit against scikit-learn's BernoulliRBM.

Both do the same work: one persistent chain per row of a mini-batch, one Gibbs
step per update, plain SGD with a constant rate, no shuffling, the same
epochs. The matrix-multiply bound is timed in the same run: the 5 products
each mini-batch needs (3 conditionals, 2 gradient outer products), at the
same shapes, with preallocated outputs.

Run ``python benchmarks/bench_fit.py [--repeats N] [--quick]``.
"""

import argparse
import warnings

import numpy as np
from _common import (
    blas_info,
    digits_binary,
    interleaved,
    median,
    smooth_binary_images,
    write_json,
)
from sklearn.neural_network import BernoulliRBM
from threadpoolctl import threadpool_limits

from skbm import BernoulliRBM2

WORKLOADS = {
    "10000x784, 500 hidden, batch 100, 2 epochs, float64": dict(
        data="images", dtype=np.float64, n_components=500, batch_size=100, n_iter=2
    ),
    "10000x784, 500 hidden, batch 100, 2 epochs, float32": dict(
        data="images", dtype=np.float32, n_components=500, batch_size=100, n_iter=2
    ),
    "digits x5 (8985x64), 100 hidden, batch 10, 10 epochs": dict(
        data="digits", dtype=np.float64, n_components=100, batch_size=10, n_iter=10
    ),
}


def skbm_same_work(n_components, batch_size, n_iter):
    """BernoulliRBM2 configured to do exactly what BernoulliRBM does."""
    return BernoulliRBM2(
        n_components=n_components,
        batch_size=batch_size,
        n_iter=n_iter,
        learning_rate=0.1,
        solver="pcd",
        n_gibbs_steps=1,
        momentum=0.0,
        centering=False,
        shuffle=False,
        learning_rate_schedule="constant",
        n_chains=batch_size,
        random_state=0,
    )


def matmul_bound(X, n_components, batch_size, n_iter):
    """The 5 matrix products of each mini-batch, at the same shapes."""
    rng = np.random.default_rng(0)
    dtype = X.dtype
    n_features = X.shape[1]
    W = rng.normal(0, 0.01, (n_components, n_features)).astype(dtype)
    H = (rng.random((batch_size, n_components)) < 0.5).astype(dtype)
    V = np.empty((batch_size, n_features), dtype)
    Hout = np.empty((batch_size, n_components), dtype)
    G = np.empty_like(W)
    starts = range(0, X.shape[0] - batch_size + 1, batch_size)

    def run():
        for _ in range(n_iter):
            for start in starts:
                batch = X[start : start + batch_size]
                np.matmul(batch, W.T, out=Hout)  # P(h | data)
                np.matmul(H, W, out=V)  # P(v | chains)
                np.matmul(V, W.T, out=Hout)  # P(h | v_neg)
                np.matmul(Hout.T, batch, out=G)  # positive statistic
                np.matmul(Hout.T, V, out=G)  # negative statistic

    return run


def make_data(spec):
    if spec["data"] == "images":
        return smooth_binary_images(dtype=spec["dtype"])
    return digits_binary(repeat=5, dtype=spec["dtype"])


def bench_workload(name, spec, repeats):
    X = make_data(spec)
    params = {k: spec[k] for k in ("n_components", "batch_size", "n_iter")}
    sk = BernoulliRBM(random_state=0, **params)
    ours = skbm_same_work(**params)
    functions = {
        "scikit-learn": lambda: sk.fit(X),
        "skbm": lambda: ours.fit(X),
        "matmul bound": matmul_bound(X, **params),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for function in functions.values():  # warm up caches and BLAS threads
            function()
        times = interleaved(functions, repeats)
    med = {k: median(v) for k, v in times.items()}
    return {
        "workload": name,
        "repeats": repeats,
        "median_seconds": med,
        "skbm / scikit-learn": med["skbm"] / med["scikit-learn"],
        "skbm / matmul bound": med["skbm"] / med["matmul bound"],
        "scikit-learn / matmul bound": med["scikit-learn"] / med["matmul bound"],
        "all_seconds": times,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--only", default=None, help="substring of a workload name")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument(
        "--threads", type=int, default=None, help="BLAS threads (default: all)"
    )
    args = parser.parse_args(argv)
    with threadpool_limits(args.threads):
        return run(args)


def run(args):
    results = []
    for name, spec in WORKLOADS.items():
        if args.only and args.only not in name:
            continue
        result = bench_workload(name, spec, args.repeats)
        results.append(result)
        med = result["median_seconds"]
        print(
            f"{name}: scikit-learn {med['scikit-learn']:.3f} s, "
            f"skbm {med['skbm']:.3f} s, bound {med['matmul bound']:.3f} s; "
            f"skbm/sklearn {result['skbm / scikit-learn']:.2f}, "
            f"skbm/bound {result['skbm / matmul bound']:.2f}, "
            f"sklearn/bound {result['scikit-learn / matmul bound']:.2f}",
            flush=True,
        )
    write_json(
        args.json, {"blas": blas_info(), "threads": args.threads, "fit": results}
    )
    return results


if __name__ == "__main__":
    main()
