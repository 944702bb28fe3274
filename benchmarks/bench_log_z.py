"""Exact ln Z of a 64 x 20 RBM (2**20 terms) against a plain blocked numpy loop.

Also reports the peak memory (tracemalloc) of exact enumeration at a few
sizes. Run ``python benchmarks/bench_log_z.py [--repeats N] [--threads T]``.
"""

import argparse
import tracemalloc

import numpy as np
from _common import blas_info, interleaved, median, write_json
from threadpoolctl import threadpool_limits

from skbm._rbm_math import log_partition, model_statistics


def random_rbm(n_visible=64, n_hidden=20, seed=0):
    """Weights and biases of the size of a model trained on 8x8 digits."""
    rng = np.random.default_rng(seed)
    W = rng.normal(0, 0.3, (n_hidden, n_visible))
    b = rng.normal(-1.0, 1.0, n_visible)
    c = rng.normal(0, 1.0, n_hidden)
    return W, b, c


def plain_log_z(W, b, c, block=2**14):
    """The straightforward blocked loop: enumerate h, sum v out with logaddexp."""
    n_hidden = W.shape[0]
    result = -np.inf
    for start in range(0, 2**n_hidden, block):
        codes = np.arange(start, min(start + block, 2**n_hidden))
        h = ((codes[:, None] >> np.arange(n_hidden)) & 1).astype(np.float64)
        log_w = h @ c + np.logaddexp(0, h @ W + b).sum(axis=1)
        result = np.logaddexp(result, np.logaddexp.reduce(log_w))
    return float(result)


def peak_mib(function, *args):
    tracemalloc.start()
    try:
        function(*args)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    with threadpool_limits(args.threads):
        W, b, c = random_rbm()
        ours, plain = log_partition(W, b, c), plain_log_z(W, b, c)
        times = interleaved(
            {
                "skbm log_partition": lambda: log_partition(W, b, c),
                "skbm log_partition, n_jobs=2": lambda: log_partition(
                    W, b, c, n_jobs=2
                ),
                "plain numpy loop": lambda: plain_log_z(W, b, c),
            },
            args.repeats,
        )
        med = {k: median(v) for k, v in times.items()}
        result = {
            "model": "64 visible x 20 hidden (2**20 terms)",
            "log_z": ours,
            "plain_log_z": plain,
            "abs_difference": abs(ours - plain),
            "median_seconds": med,
            "skbm / plain": med["skbm log_partition"] / med["plain numpy loop"],
            "skbm n_jobs=2 / plain": med["skbm log_partition, n_jobs=2"]
            / med["plain numpy loop"],
            "all_seconds": times,
        }
        print(
            f"ln Z 64x20: skbm {med['skbm log_partition']:.3f} s, plain "
            f"{med['plain numpy loop']:.3f} s, ratio {result['skbm / plain']:.2f}, "
            f"|difference| {result['abs_difference']:.1e}; with n_jobs=2 ratio "
            f"{result['skbm n_jobs=2 / plain']:.2f}",
            flush=True,
        )
        memory = []
        for n_visible, n_hidden in [(64, 20), (784, 20), (20, 784), (5000, 16)]:
            W, b, c = random_rbm(n_visible, n_hidden)
            for function in (log_partition, model_statistics):
                mib = peak_mib(function, W, b, c)
                memory.append(
                    {
                        "function": function.__name__,
                        "shape": f"{n_visible} visible x {n_hidden} hidden",
                        "peak_mib": mib,
                    }
                )
                print(
                    f"peak memory {function.__name__} {n_visible}x{n_hidden}: "
                    f"{mib:.1f} MiB",
                    flush=True,
                )
    write_json(
        args.json,
        {
            "blas": blas_info(),
            "threads": args.threads,
            "log_z": result,
            "memory": memory,
        },
    )


if __name__ == "__main__":
    main()
