"""AIS, 100 runs x 10,000 inverse temperatures, on a 64 x 20 RBM.

skbm's forward AIS (``skbm._ais.forward_log_weights``, the runs behind
``score_method="ais"``) against a plain vectorised numpy loop of the same
algorithm (Salakhutdinov and Murray, 2008: hidden units summed out with
``np.logaddexp``, the same base model and schedule). Both estimates are
compared with the exact ln Z (every call draws from a new seed). The whole
estimator call is timed too: the default (forward runs, what ``score``
runs) and ``log_partition(reverse=True)``. Run
``python benchmarks/bench_ais.py [--repeats N]``.
"""

import argparse
import copy
import time

import numpy as np
from _common import blas_info, digits_binary, interleaved, median, write_json
from scipy.special import expit, logsumexp
from threadpoolctl import threadpool_limits

from skbm import BernoulliRBM2
from skbm._ais import default_betas, forward_log_weights

N_RUNS, N_BETAS = 100, 10_000


def plain_ais(W, b, c, a, betas, n_runs, rng):
    """Forward AIS from independent visible units with logits ``a``."""
    n_hidden, n_visible = W.shape
    v = (rng.random((n_runs, n_visible)) < expit(a)).astype(np.float64)
    log_w = np.zeros(n_runs)
    for old, new in zip(betas[:-1], betas[1:], strict=True):
        lam = v @ W.T + c
        log_w += (new - old) * (v @ (b - a))
        log_w += np.logaddexp(0, new * lam).sum(axis=1)
        log_w -= np.logaddexp(0, old * lam).sum(axis=1)
        if new == betas[-1]:
            break
        h = (rng.random((n_runs, n_hidden)) < expit(new * lam)).astype(np.float64)
        field = (1 - new) * a + new * (h @ W + b)
        v = (rng.random((n_runs, n_visible)) < expit(field)).astype(np.float64)
    log_z_base = np.logaddexp(0, a).sum() + n_hidden * np.log(2)
    return log_z_base + logsumexp(log_w) - np.log(n_runs)


def benchmark_model():
    """The 64 x 20 RBM fitted on digits, its AIS problem and its exact ln Z.

    Returns
    -------
    model, problem, betas, exact, log_z_base, (W, b, c, a)
        ``a`` are the base model's visible logits, shared by both AIS codes.
    """
    X = digits_binary()
    model = BernoulliRBM2(n_components=20, n_iter=20, random_state=0).fit(X)
    problem = model._model().annealing_problem()
    parameters = (
        model.components_,
        model.intercept_visible_,
        model.intercept_hidden_,
        np.asarray(problem.a_K),
    )
    return (
        model,
        problem,
        default_betas(N_BETAS),
        model.log_partition().log_z,
        float(problem.log_z_base()),
        parameters,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    model, problem, betas, exact, log_z_base, (W, b, c, a) = benchmark_model()
    estimates = {"skbm forward AIS": [], "plain numpy AIS": []}
    # A new seed for every call, so that the errors are over seeds.
    seeds = iter(range(10**6))

    def ours(n_jobs):
        def run():
            log_w = forward_log_weights(
                problem, betas, N_RUNS, seed=next(seeds), n_jobs=n_jobs
            )
            estimates["skbm forward AIS"].append(
                log_z_base + logsumexp(log_w) - np.log(N_RUNS)
            )

        return run

    def plain():
        rng = np.random.default_rng(next(seeds))
        estimates["plain numpy AIS"].append(plain_ais(W, b, c, a, betas, N_RUNS, rng))

    def estimator(reverse):
        def run():
            # A copy scored by AIS: the cache starts empty.
            copy.deepcopy(model).set_params(score_method="ais").log_partition(
                reverse=reverse
            )

        return run

    with threadpool_limits(args.threads):
        functions = {
            "skbm forward AIS": ours(None),
            "skbm forward AIS, n_jobs=2": ours(2),
            "plain numpy AIS": plain,
            "skbm log_partition (default, forward)": estimator(False),
            "skbm log_partition(reverse=True)": estimator(True),
        }
        times = interleaved(functions, args.repeats)
    med = {k: median(v) for k, v in times.items()}
    plain_time = med["plain numpy AIS"]
    result = {
        "model": "BernoulliRBM2(n_components=20) fitted on binarized digits (64x20)",
        "runs": N_RUNS,
        "betas": N_BETAS,
        "exact_log_z": exact,
        "median_seconds": med,
        "ratios to plain numpy": {k: v / plain_time for k, v in med.items()},
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "estimates": estimates,
        "mean abs error vs exact": {
            k: float(np.mean(np.abs(np.array(v) - exact))) for k, v in estimates.items()
        },
        "all_seconds": times,
    }
    for name, seconds in med.items():
        print(f"{name}: {seconds:.3f} s ({seconds / plain_time:.2f}x plain numpy)")
    for name, error in result["mean abs error vs exact"].items():
        print(f"{name}: mean |ln Z error| {error:.4f} (exact {exact:.4f})")
    write_json(args.json, {"blas": blas_info(), "threads": args.threads, "ais": result})
    return result


if __name__ == "__main__":
    main()
