"""Run every benchmark and write the results page and figure for the docs.

Writes the raw results to ``benchmarks/results/*.json``, a table of every
figure against its target (issue 9) to ``benchmarks/results.rst`` (included
by ``doc/benchmarks.rst``) and a bar chart to ``benchmarks/benchmarks.png``.

Run ``python benchmarks/run_all.py [--threads T] [--quick]``, or
``--report-only`` to redraw the page and figure from the saved JSON.
"""

import argparse
import json
import os
import platform
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")


def run(args):
    import ais_accuracy
    import bench_ais
    import bench_fit
    import bench_log_z
    import bench_sweeps
    import heldout_digits

    os.makedirs(RESULTS, exist_ok=True)
    threads = [] if args.threads is None else ["--threads", str(args.threads)]
    quick = args.quick
    bench_fit.main(
        ["--repeats", "3" if quick else "7", "--json", _path("fit")] + threads
    )
    bench_log_z.main(
        ["--repeats", "3" if quick else "7", "--json", _path("log_z")] + threads
    )
    bench_ais.main(
        ["--repeats", "2" if quick else "5", "--json", _path("ais")] + threads
    )
    ais_accuracy.main(
        ["--seeds", "30" if quick else "180", "--json", _path("ais_accuracy")]
    )
    bench_sweeps.main(
        ["--repeats", "3" if quick else "7", "--json", _path("sweeps")] + threads
    )
    heldout_digits.main(["--json", _path("heldout")])
    with open(_path("environment"), "w") as f:
        json.dump(
            {
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                "load_average": os.getloadavg(),
                "threads": args.threads,
            },
            f,
            indent=1,
        )


def _path(name):
    return os.path.join(RESULTS, f"{name}.json")


def _load(name):
    with open(_path(name)) as f:
        return json.load(f)


def figures():
    """(label, measured ratio, target ratio or None, detail) for every figure."""
    fit = _load("fit")["fit"]
    log_z = _load("log_z")
    ais = _load("ais")["ais"]
    rows = []
    for row in fit:
        large = row["workload"].startswith("10000")
        label = row["workload"].split(",")[-1].strip() if large else "digits x5"
        med = row["median_seconds"]
        detail = (
            f"skbm {med['skbm']:.3f} s, scikit-learn {med['scikit-learn']:.3f} s, "
            f"bound {med['matmul bound']:.3f} s"
        )
        if large:
            rows.append(
                (
                    f"fit {label}: skbm / matmul bound",
                    row["skbm / matmul bound"],
                    1.2,
                    detail,
                )
            )
        rows.append(
            (
                f"fit {label}: skbm / scikit-learn",
                row["skbm / scikit-learn"],
                0.5 if not large else None,
                detail,
            )
        )
    lz = log_z["log_z"]
    med = lz["median_seconds"]
    rows.append(
        (
            "exact ln Z 64x20: skbm / plain numpy",
            lz["skbm / plain"],
            0.5,
            f"skbm {med['skbm log_partition']:.3f} s, "
            f"plain {med['plain numpy loop']:.3f} s, "
            f"absolute difference {lz['abs_difference']:.1e}",
        )
    )
    ratios = ais["ratios to plain numpy"]
    med = ais["median_seconds"]
    rows.append(
        (
            "AIS 100x10000 64x20 (forward): skbm / plain numpy",
            ratios["skbm forward AIS"],
            0.5,
            f"skbm {med['skbm forward AIS']:.3f} s, "
            f"plain {med['plain numpy AIS']:.3f} s"
            + (f", measured {ais['date']}" if "date" in ais else ""),
        )
    )
    return rows


def write_report():
    env = _load("environment")
    rows = figures()
    memory = _load("log_z")["memory"]
    heldout = _load("heldout")
    ais = _load("ais")["ais"]
    blas = _load("fit")["blas"]
    lines = [
        "Latest recorded run",
        "~~~~~~~~~~~~~~~~~~~",
        "",
        f"Recorded {env['date']} on {env['machine']} "
        f"(1-minute load average {env['load_average'][0]:.1f} when it ended, "
        "this run included; the machine is shared), "
        f"BLAS threads: {env['threads'] or 'all'}; "
        + ", ".join(
            f"{b['internal_api']} {b['version']} ({b['architecture']})" for b in blas
        )
        + ". Ratios are medians of interleaved repeats in one process.",
        "",
        ".. list-table:: Figures against the targets of issue 9",
        "   :header-rows: 1",
        "",
        "   * - figure",
        "     - measured",
        "     - target",
        "     - met",
        "     - times",
    ]
    for label, ratio, target, detail in rows:
        met = "--" if target is None else ("yes" if ratio <= target else "no")
        lines += [
            f"   * - {label}",
            f"     - {ratio:.2f}",
            f"     - {'at most ' + format(target, '.2f') if target else '--'}",
            f"     - {met}",
            f"     - {detail}",
        ]
    lines += [
        "",
        ".. list-table:: Peak memory of exact enumeration (tracemalloc)",
        "   :header-rows: 1",
        "",
        "   * - function",
        "     - model",
        "     - peak (MiB)",
    ]
    for row in memory:
        lines += [
            f"   * - ``{row['function']}``",
            f"     - {row['shape']}",
            f"     - {row['peak_mib']:.1f}",
        ]
    extra = os.path.join(RESULTS, "fit_all_threads.json")
    if os.path.isfile(extra):
        # bench_fit.py --json results/fit_all_threads.json, without --threads.
        with open(extra) as f:
            rows_all = json.load(f)["fit"]
        lines += [
            "",
            ".. list-table:: The fit with all BLAS threads (2 cores shared with "
            "other work: multi-threaded times swing widely)",
            "   :header-rows: 1",
            "",
            "   * - workload",
            "     - skbm / matmul bound",
            "     - skbm / scikit-learn",
        ]
        for row in rows_all:
            lines += [
                f"   * - {row['workload']}",
                f"     - {row['skbm / matmul bound']:.2f}",
                f"     - {row['skbm / scikit-learn']:.2f}",
            ]
    if os.path.isfile(_path("sweeps")):
        lines += sweeps_table(_load("sweeps"))
    lines += ["", ais_accuracy_sentence(ais)]
    lines += [
        "",
        "The whole ``score_method='ais'`` estimate that ``score`` runs (forward "
        "runs only) took "
        f"{ais['median_seconds']['skbm log_partition (default, forward)']:.2f} s, "
        f"{ais['ratios to plain numpy']['skbm log_partition (default, forward)']:.2f}"
        " times the plain numpy forward loop; with the reverse runs "
        "(``log_partition(reverse=True)``) it took "
        f"{ais['median_seconds']['skbm log_partition(reverse=True)']:.2f} s.",
        "",
        "Held-out exact log-likelihood of ``BernoulliRBM2(n_components=16)`` with "
        "its defaults on binarized digits (70/30 split, seeds 0-9): "
        f"{heldout['mean_heldout_log_likelihood']:.3f} "
        f"(std {heldout['std_over_seeds']:.3f}), median fit "
        f"{heldout['median_fit_seconds']:.2f} s (the previous defaults, "
        "``n_chains=100, n_gibbs_steps=5``: -18.65 in 0.38 s; see "
        "``time_to_quality.py``).",
        "",
    ]
    with open(os.path.join(HERE, "results.rst"), "w") as f:
        f.write("\n".join(lines))
    plot(rows)


def ais_accuracy_sentence(ais):
    """AIS accuracy: from ais_accuracy.py (many seeds) if run, else bench_ais."""
    if os.path.isfile(_path("ais_accuracy")):
        accuracy = _load("ais_accuracy")
        parts = []
        for name, label in (
            ("skbm forward AIS", "skbm's forward runs"),
            ("plain numpy AIS", "plain numpy"),
        ):
            s = accuracy[name]
            parts.append(
                f"{label}: {s['seeds']} seeds, mean error "
                f"{s['mean error']:+.4f} (standard error "
                f"{s['standard error of the mean']:.4f}), standard deviation "
                f"{s['std over seeds']:.4f}"
            )
        return (
            f"AIS accuracy on the same model (exact ln Z "
            f"{accuracy['exact_log_z']:.4f}; {accuracy['runs']} runs x "
            f"{accuracy['betas']} inverse temperatures per estimate, a new seed "
            f"per estimate; ais_accuracy.py, {accuracy['date']}): "
            + "; ".join(parts)
            + "."
        )
    errors = ais["mean abs error vs exact"]
    return (
        f"AIS accuracy on the same model (exact ln Z {ais['exact_log_z']:.4f}): "
        f"mean absolute error of ln Z {errors['skbm forward AIS']:.4f} (skbm "
        f"forward runs) and {errors['plain numpy AIS']:.4f} (plain numpy)."
    )


def sweeps_table(sweeps):
    """The Gibbs sweep figures of bench_sweeps.py, as a list-table."""
    rows = sweeps["sweeps"]
    lines = [
        "",
        f".. list-table:: Gibbs sweeps of Boltzmann machines, {rows[0]['chains']} "
        f"chains, float64, ms per sweep (bench_sweeps.py, {sweeps['date']}, BLAS "
        f"threads: {sweeps['threads'] or 'all'})",
        "   :header-rows: 1",
        "",
        "   * - graph",
        "     - colour blocks",
        "     - unit by unit",
        "     - by colour blocks",
        "     - unit by unit / blocks",
        "     - one chain at a time",
    ]
    for row in rows:
        per_sweep = row["median seconds per sweep"]
        sizes = row["block sizes"]
        loop = per_sweep.get("per-chain loop")
        lines += [
            f"   * - {row['graph']}",
            f"     - {len(sizes)} of {min(sizes)} unit{'s' * (max(sizes) > 1)}"
            if min(sizes) == max(sizes)
            else f"     - {len(sizes)} of {min(sizes)} to {max(sizes)} units",
            f"     - {per_sweep['unit by unit'] * 1e3:.3f}",
            f"     - {per_sweep['colour blocks'] * 1e3:.3f}",
            f"     - {row['unit by unit / colour blocks']:.1f}",
            "     - --"
            if loop is None
            else f"     - {loop * 1e3:.1f} "
            f"({row['per-chain loop / unit by unit']:.0f}x unit by unit)",
        ]
    lines += [
        "",
        "Unit by unit is one Python step per unit, vectorised over the chains; "
        "one chain at a time also loops over the chains. In a fully connected "
        "graph every colour class is a single unit, so the colour blocks are "
        "the unit-by-unit sweep.",
    ]
    return lines


def plot(rows):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [r[0].replace(": ", "\n") for r in rows]
    ratios = np.array([r[1] for r in rows])
    targets = [r[2] for r in rows]
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(rows) + 1.2))
    y = np.arange(len(rows))[::-1]
    colors = [
        "tab:gray" if t is None else ("tab:green" if r <= t else "tab:red")
        for r, t in zip(ratios, targets, strict=True)
    ]
    ax.barh(y, ratios, color=colors)
    for yi, t in zip(y, targets, strict=True):
        if t is not None:
            ax.plot([t, t], [yi - 0.4, yi + 0.4], color="black", lw=2)
    for yi, r in zip(y, ratios, strict=True):
        ax.text(r + 0.02, yi, f"{r:.2f}", va="center", fontsize=8)
    ax.axvline(1.0, color="tab:gray", lw=0.8, ls="--")
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlabel("time ratio (lower is faster); black tick: target of issue 9")
    ax.set_title("skbm speed, ratios measured in the same run", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "benchmarks.png"), dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    if not args.report_only:
        run(args)
    write_report()


if __name__ == "__main__":
    main()
