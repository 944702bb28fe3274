"""Held-out log-density on dequantized digits: GaussianBernoulliRBM against
scikit-learn's density estimators.

**The data**: scikit-learn's bundled digits (1,797 rows, 64 pixels with
grey levels 0..16), dequantized as
``(X + np.random.default_rng(0).random(X.shape)) / 17`` (uniform noise on
each grey level gives the discrete data a density), then
split 70/30 with ``train_test_split(random_state=0)``: 1,257 training and
540 held-out rows.

**The estimators**, every one with its hyper-parameters chosen by 3-fold
``GridSearchCV`` on the training part only, scored by its own ``score``
(the mean log-density; ``KernelDensity.score`` is a total over rows, so
its cross-validation scores are divided by the rows of each fold), then
refitted on the whole training part and scored on the held-out part:

- ``GaussianMixture`` with "diag" covariance over ``n_components``;
- ``GaussianMixture`` with "full" covariance and ``reg_covar=1e-4`` over
  ``n_components``;
- ``FactorAnalysis`` and ``PCA`` over ``n_components`` (``PCA.score`` is the
  probabilistic-PCA likelihood);
- ``KernelDensity`` over ``bandwidth``;
- ``GaussianBernoulliRBM`` over ``n_components`` (and ``learning_rate``), at
  its other defaults. With more than 20 hidden units its ``score`` estimates
  ln Z by annealed importance sampling (100 runs x 10,000 betas); the table
  shows the held-out interval implied by the AIS interval on ln Z and the
  effective sample size.

Run ``python benchmarks/density_digits.py --json FILE``; ``--quick`` uses
small grids (a smoke test of the script, not the benchmark).
"""

import argparse
import time

import numpy as np
from _common import blas_info, write_json
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neighbors import KernelDensity
from threadpoolctl import threadpool_limits

from skbm import GaussianBernoulliRBM

# Issue #12's reference figures (3-fold GridSearchCV, held-out mean
# log-density), for the comparison column.
REFERENCE = {
    "GaussianMixture, diag": 63.26,
    "GaussianMixture, full": 60.11,
    "FactorAnalysis": 49.61,
    "PCA": 49.61,
    "KernelDensity": 37.8,
}


def dequantized_digits():
    X, _ = load_digits(return_X_y=True)
    X = (X + np.random.default_rng(0).random(X.shape)) / 17
    return train_test_split(X, test_size=0.3, random_state=0)


def mean_kde_score(estimator, X, y=None):
    """KernelDensity's total log-density, per row."""
    return estimator.score(X) / X.shape[0]


def searches(quick):
    """(name, estimator, grid, scoring) of every search."""
    grids = {
        "GaussianMixture, diag": [5, 10, 20, 40, 80],
        "GaussianMixture, full": [1, 2, 5, 10, 20],
        "FactorAnalysis": [10, 20, 30, 40, 50, 63],
        "PCA": [10, 20, 30, 40, 50, 63],
        "KernelDensity": [0.05, 0.07, 0.1, 0.15, 0.2],
        "GaussianBernoulliRBM": {
            "n_components": [128, 256, 512],
            "learning_rate": [0.001, 0.003],
        },
    }
    if quick:
        grids = {
            name: (
                {key: values[:1] for key, values in grid.items()}
                if isinstance(grid, dict)
                else grid[:2]
            )
            for name, grid in grids.items()
        }
        grids["GaussianBernoulliRBM"] = {"n_components": [16, 20]}
    return [
        (
            "GaussianMixture, diag",
            GaussianMixture(covariance_type="diag", random_state=0),
            {"n_components": grids["GaussianMixture, diag"]},
            None,
        ),
        (
            "GaussianMixture, full",
            GaussianMixture(covariance_type="full", reg_covar=1e-4, random_state=0),
            {"n_components": grids["GaussianMixture, full"]},
            None,
        ),
        (
            "FactorAnalysis",
            FactorAnalysis(random_state=0),
            {"n_components": grids["FactorAnalysis"]},
            None,
        ),
        ("PCA", PCA(), {"n_components": grids["PCA"]}, None),
        (
            "KernelDensity",
            KernelDensity(),
            {"bandwidth": grids["KernelDensity"]},
            mean_kde_score,
        ),
        (
            "GaussianBernoulliRBM",
            GaussianBernoulliRBM(random_state=0),
            grids["GaussianBernoulliRBM"],
            None,
        ),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small grids")
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument(
        "--threads", type=int, default=1, help="BLAS threads (default 1)"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="GridSearchCV workers of the RBM's search (default 1)",
    )
    args = parser.parse_args()
    X_train, X_test = dequantized_digits()
    rows = []
    with threadpool_limits(args.threads):
        for name, estimator, grid, scoring in searches(args.quick):
            start = time.perf_counter()
            jobs = args.jobs if isinstance(estimator, GaussianBernoulliRBM) else None
            search = GridSearchCV(estimator, grid, cv=3, scoring=scoring, n_jobs=jobs)
            search.fit(X_train)
            seconds = time.perf_counter() - start
            best = search.best_estimator_
            held_out = best.score(X_test)
            if isinstance(best, KernelDensity):
                held_out /= X_test.shape[0]
            row = {
                "estimator": name,
                "chosen": search.best_params_,
                "cv_score": float(search.best_score_),
                "held_out": float(held_out),
                "search_seconds": seconds,
                "reference": REFERENCE.get(name),
            }
            if isinstance(best, GaussianBernoulliRBM):
                estimate = best.log_partition()
                shift = held_out + estimate.log_z
                low, high = estimate.interval
                row.update(
                    method=estimate.method,
                    interval=[shift - high, shift - low],
                    ess=estimate.ess,
                    reverse_held_out=(
                        shift - estimate.reverse_log_z
                        if estimate.reverse_log_z is not None
                        else None
                    ),
                    cv_results={
                        str(params): float(score)
                        for params, score in zip(
                            search.cv_results_["params"],
                            search.cv_results_["mean_test_score"],
                            strict=True,
                        )
                    },
                )
            rows.append(row)
            print(
                f"{name:<24} {str(search.best_params_):<46} "
                f"cv {search.best_score_:7.2f}  held-out {held_out:7.2f}  "
                f"({seconds:.0f} s)",
                flush=True,
            )
    print()
    print(f"{'estimator':<24} {'chosen setting':<46} {'held-out':>9} {'issue':>7}")
    for row in rows:
        reference = row["reference"]
        print(
            f"{row['estimator']:<24} {str(row['chosen']):<46} "
            f"{row['held_out']:9.2f} "
            f"{'' if reference is None else f'{reference:7.2f}'}"
        )
        if row.get("method") == "ais":
            low, high = row["interval"]
            print(
                f"{'':<24} ln Z by AIS: held-out in [{low:.2f}, {high:.2f}], "
                f"ESS {row['ess']:.1f}, reverse AIS gives "
                f"{row['reverse_held_out']:.2f}"
            )
    write_json(
        args.json,
        {
            "rows": rows,
            "blas": blas_info(),
            "threads": args.threads,
            "jobs": args.jobs,
        },
    )


if __name__ == "__main__":
    main()
