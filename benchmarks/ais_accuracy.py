"""Accuracy of AIS on a 64 x 20 RBM: skbm's runs against plain numpy, many seeds.

The same model, base and schedule as ``bench_ais.py`` (100 runs x 10,000
inverse temperatures per estimate). Each estimate of ln Z uses a new seed and
is compared with the exact ln Z; the mean error (with its standard error)
shows any bias, and the standard deviation over seeds is the accuracy of one
estimate. A handful of seeds cannot tell the two apart, hence the many
seeds here. Run ``python benchmarks/ais_accuracy.py [--seeds N]``; plain
numpy, three times slower, gets a third of the seeds.
"""

import argparse
import time

import numpy as np
from _common import write_json
from bench_ais import N_BETAS, N_RUNS, benchmark_model, plain_ais
from scipy.special import logsumexp
from threadpoolctl import threadpool_limits

from skbm._ais import forward_log_weights


def summary(errors):
    errors = np.asarray(errors)
    return {
        "seeds": len(errors),
        "mean error": float(errors.mean()),
        "standard error of the mean": float(errors.std(ddof=1) / np.sqrt(len(errors))),
        "std over seeds": float(errors.std(ddof=1)),
        "errors": errors.tolist(),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=180)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    _, problem, betas, exact, log_z_base, (W, b, c, a) = benchmark_model()
    ours, plain = [], []
    with threadpool_limits(args.threads):
        for seed in range(args.seeds):
            log_w = forward_log_weights(problem, betas, N_RUNS, seed=10_000 + seed)
            ours.append(log_z_base + logsumexp(log_w) - np.log(N_RUNS) - exact)
        for seed in range(max(2, args.seeds // 3)):
            rng = np.random.default_rng(50_000 + seed)
            plain.append(plain_ais(W, b, c, a, betas, N_RUNS, rng) - exact)
    result = {
        "model": "BernoulliRBM2(n_components=20) fitted on binarized digits (64x20)",
        "runs": N_RUNS,
        "betas": N_BETAS,
        "exact_log_z": exact,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "skbm forward AIS": summary(ours),
        "plain numpy AIS": summary(plain),
    }
    for name in ("skbm forward AIS", "plain numpy AIS"):
        s = result[name]
        print(
            f"{name}: {s['seeds']} seeds, ln Z error {s['mean error']:+.4f} "
            f"(standard error {s['standard error of the mean']:.4f}), "
            f"std over seeds {s['std over seeds']:.4f}"
        )
    write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
