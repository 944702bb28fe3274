"""Contact prediction on a known Potts model: skbm against per-site scikit-learn.

The benchmark of direct coupling analysis (DCA): sequences are drawn from a
Potts model whose contact graph is known, the model is fitted back, and the
pairs of sites with the strongest fitted couplings are compared with the
true contacts.

**The true model** (fixed seed, ``potts_model``): 50 sites with q = 21 states
(the 20 amino acids and the gap). The contact graph has 50 edges, pairs
i < j drawn uniformly without replacement among all 1,225 pairs (about 2
contacts per site; pairs at |i - j| <= 1 are *not* excluded: the synthetic
sites have no chain order, so sequence neighbours mean nothing here). Each
edge has a 21 x 21 coupling block J_ij with entries drawn N(0, 0.15**2) and
then put in the zero-sum gauge (every row and column of the block sums to
zero), which leaves a Frobenius norm of about 0.15 * 20 = 3 per block; every
other pair has J_ij = 0. The fields h_i(a) are N(0, 1) in the zero-sum gauge,
so that the sites are unevenly used like alignment columns (in the
sample, the rarest state of a site has typically 0.5 % of the rows). P(x)
is proportional to exp(sum_i h_i(x_i) + sum_{i<j} J_ij(x_i, x_j)).

**The sequences** (``gibbs_sample``): 10,000 rows from 1,000 independent
Gibbs chains written here, vectorised over the chains, that resample the
sites one at a time from their exact categorical conditional
P(x_i | x_rest), computed from the coupling blocks of the site's neighbours
only. The chains start from uniformly random sequences, are burned in for
500 sweeps and then read every 50 sweeps, 10 times. (From a random and a
constant start the mean energy agreed within noise after 50 sweeps, for
coupling scales 0.3 and 0.5; the script prints the correlation of each
chain's energy between successive reads, which should be about 0.) This
sampler matched exact enumeration
on a 4-site, q = 3 model (total variation 0.004 over 200,000 draws), and
the estimator's own ``sample`` on a model of this kind with coupling scale
0.3 (mean energy -46.9 there, -47.1 here). ``sample`` would do as well but
takes about 0.14 s per sweep of 1,000 chains against 0.046 s here, because
it multiplies by the dense 1,050 x 1,050 coupling matrix where this
sampler reads only the neighbours' blocks: its fixed 1,090 sweeps (1,000
burn-in, then every 10) would take about 2.5 minutes instead of 30 s.

**The fits**, timed with ``time.perf_counter`` and single-threaded
(``--threads 1``, which limits BLAS and OpenMP alike), on the same rows with
the weights of :func:`skbm.sequence_weights` (identity 0.8):

- ``CategoricalBoltzmannMachine(solver="pseudolikelihood")``, the symmetric
  plmDCA, at the benchmark settings ``BENCHMARK`` (alpha = 0.1; fields
  unpenalised, alpha_fields = 0, like scikit-learn's intercepts; no L1;
  tol = 1e-3) and at the estimator's defaults (alpha = alpha_fields = 1e-3,
  tol = 1e-5, chosen by held-out likelihood on small models). Its contact
  score is ``coupling_norms(apc=True)``. The benchmark settings were chosen
  on this problem, by the ``--sweep`` rows: a field penalty of 0.01 or
  0.001 took 38 or 45 iterations to a precision of 0.96 or 0.98, none 15
  iterations to 1.0.
- The anchor, asymmetric plmDCA with scikit-learn: for each site i, a
  multinomial ``LogisticRegression(solver="lbfgs")`` of the site's code on
  the one-hot encoding of the other 49 sites (a sparse CSR matrix, as
  ``OneHotEncoder`` returns; the dense one-hot ran about twice slower),
  with the same sample weights. scikit-learn minimises
  ``C * sum_n w_n loss_n + ||W||**2 / 2``, that is the weighted mean loss
  plus ``||W||**2 / (2 C sum(w))``; summed over the 50 sites, where each
  pair block is penalised once from each side, this is skbm's
  ``alpha / 2 * ||J||**2`` when ``C = 2 / (alpha * sum(w))``. The anchor
  is timed at that C (0.002 for alpha = 0.1 and 10,000 rows of weight 1),
  the same objective up to the symmetrisation, and once at scikit-learn's
  default C = 1. Its contact score: each coefficient block put in the
  zero-sum gauge, the blocks of (i, j) and (j, i) averaged (the plmDCA
  recipe), Frobenius norms, then the same average-product correction.

The precision is that of the top-50 pairs i < j (the number of true edges)
of each score against the true edges. The fits at the benchmark settings
and the anchor at the matching C are repeated ``--repeats`` times,
interleaved, and their medians give the ratio skbm / scikit-learn (at
scikit-learn's default tol = 1e-4); the other rows are timed once: each at
the other's tolerance (the same criterion on both: the largest gradient
component of a sum of per-site mean losses), the estimator's defaults,
scikit-learn's default C, and the benchmark settings stopped after 10
L-BFGS iterations. ``--sweep``
adds one fit per variant of the benchmark settings in ``SWEEP`` (alpha,
alpha_fields, tol, l1_ratio). ``--quick`` runs 12 sites and 2,000 sequences
(top-12) in under 30 s, for smoke testing.

``--core`` keeps only the fits at the benchmark settings and the anchor
(each also at the other's tolerance); ``--busy`` keeps one core busy with
another process (a Python busy loop) for the whole run, as on a shared
machine, and writes ``potts_contacts_busy.*``.

Run ``python benchmarks/potts_contacts.py [--quick] [--sweep] [--core]
[--busy] [--repeats N] [--threads T] [--coupling-scale S] [--json F]``; the
full run writes ``benchmarks/results/potts_contacts.json`` and
``potts_contacts.txt``.
"""

import argparse
import os
import platform
import time
import warnings

import numpy as np
import scipy.sparse as sp
from _common import blas_info, busy_core, median, write_json
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from skbm import CategoricalBoltzmannMachine, sequence_weights

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")

SIZES = {
    "full": dict(
        n_sites=50, n_edges=50, n_chains=1000, burn_in=500, n_draws=10, thin=50
    ),
    "quick": dict(
        n_sites=12, n_edges=12, n_chains=500, burn_in=200, n_draws=4, thin=20
    ),
}
N_STATES = 21
COUPLING_SCALE = 0.15
FIELD_SCALE = 1.0
IDENTITY = 0.8
SEED = 0

# The fit compared with the anchor, and the estimator's defaults.
BENCHMARK = dict(alpha=0.1, alpha_fields=0.0, l1_ratio=0.0, tol=1e-3, max_iter=200)
DEFAULTS = {}
# The same settings stopped after a few L-BFGS iterations: how early the
# contact map settles (not a converged fit).
EARLY_ITERATIONS = 10
# --sweep: the benchmark settings with these changes, one fit each.
SWEEP = {
    "alpha = 0.03": dict(alpha=0.03),
    "alpha = 0.3": dict(alpha=0.3),
    "alpha_fields = 0.001": dict(alpha_fields=0.001),
    "alpha_fields = 0.01": dict(alpha_fields=0.01),
    "alpha = 0.01, l1_ratio = 0.5": dict(alpha=0.01, l1_ratio=0.5),
    "alpha = 0.1, l1_ratio = 0.5": dict(l1_ratio=0.5),
}


# ----------------------------------------------------------------------
# The true model and its samples
# ----------------------------------------------------------------------
def zero_sum(blocks):
    """Blocks (..., q, q) with every row and column summing to zero."""
    return (
        blocks
        - blocks.mean(axis=-1, keepdims=True)
        - blocks.mean(axis=-2, keepdims=True)
        + blocks.mean(axis=(-2, -1), keepdims=True)
    )


def potts_model(n_sites, n_edges, n_states, coupling_scale, field_scale, seed):
    """A random sparse Potts model in the zero-sum gauge.

    Returns
    -------
    edges : ndarray of int of shape (n_edges, 2)
        The coupled pairs (i, j), i < j, sorted.
    blocks : ndarray of shape (n_edges, n_states, n_states)
        ``blocks[e][a, c]`` is J_ij(a, c) of edge e = (i, j).
    fields : ndarray of shape (n_sites, n_states)
        h_i(a).
    """
    rng = np.random.default_rng(seed)
    first, second = np.triu_indices(n_sites, 1)
    chosen = np.sort(rng.choice(first.shape[0], n_edges, replace=False))
    edges = np.column_stack([first[chosen], second[chosen]])
    blocks = zero_sum(rng.normal(0.0, coupling_scale, (n_edges, n_states, n_states)))
    fields = rng.normal(0.0, field_scale, (n_sites, n_states))
    fields -= fields.mean(axis=1, keepdims=True)
    return edges, blocks, fields


def energy(codes, edges, blocks, fields):
    """-ln P(x) up to ln Z, for each row of codes."""
    sites = np.arange(codes.shape[1])
    value = -fields[sites, codes].sum(axis=1)
    for (i, j), block in zip(edges, blocks, strict=True):
        value -= block[codes[:, i], codes[:, j]]
    return value


def gibbs_sample(edges, blocks, fields, n_chains, burn_in, n_draws, thin, rng):
    """Rows of codes from independent Gibbs chains, site by site.

    Each sweep resamples site 0, 1, ..., n_sites - 1 in turn, every chain at
    once, from P(x_i = a | rest) proportional to
    exp(h_i(a) + sum_j J_ij(a, x_j)) over the neighbours j of i. The chains
    start uniformly at random, run ``burn_in`` sweeps, and are then read
    ``n_draws`` times, ``thin`` sweeps apart.

    Returns
    -------
    codes : ndarray of int of shape (n_chains * n_draws, n_sites)
        The reads, one block of ``n_chains`` rows per read.
    lag_correlation : float
        Correlation of the chains' energies between successive reads.
    """
    n_sites, n_states = fields.shape
    # For each site: (neighbour j, table T) with T[x_j] = J_ij(., x_j).
    neighbours = [[] for _ in range(n_sites)]
    for (i, j), block in zip(edges, blocks, strict=True):
        neighbours[i].append((j, np.ascontiguousarray(block.T)))
        neighbours[j].append((i, np.ascontiguousarray(block)))
    x = rng.integers(n_states, size=(n_chains, n_sites))

    def sweeps(n_sweeps):
        for _ in range(n_sweeps):
            uniform = rng.random((n_chains, n_sites))
            for i in range(n_sites):
                logits = np.broadcast_to(fields[i], (n_chains, n_states)).copy()
                for j, table in neighbours[i]:
                    logits += table[x[:, j]]
                logits -= logits.max(axis=1, keepdims=True)
                np.exp(logits, out=logits)
                np.cumsum(logits, axis=1, out=logits)
                # The drawn state: how many cumulative weights lie below u.
                threshold = uniform[:, i] * logits[:, -1]
                x[:, i] = np.minimum(
                    (logits < threshold[:, None]).sum(axis=1), n_states - 1
                )

    reads, energies = [], []
    for read in range(n_draws):
        sweeps(burn_in if read == 0 else thin)
        reads.append(x.copy())
        energies.append(energy(x, edges, blocks, fields))
    lag = (
        float(
            np.mean(
                [
                    np.corrcoef(before, after)[0, 1]
                    for before, after in zip(energies[:-1], energies[1:], strict=True)
                ]
            )
        )
        if n_draws > 1
        else float("nan")
    )
    return np.concatenate(reads), lag


# ----------------------------------------------------------------------
# Contact scores and their precision
# ----------------------------------------------------------------------
def apc(norms):
    """Average-product correction, as ``coupling_norms(apc=True)``."""
    n = norms.shape[0]
    row_mean = norms.sum(axis=1) / (n - 1)
    total_mean = norms.sum() / (n * (n - 1))
    corrected = norms - np.outer(row_mean, row_mean) / total_mean
    np.fill_diagonal(corrected, 0.0)
    return corrected


def top_precision(scores, edges, k):
    """Share of true edges among the k pairs i < j of highest score."""
    n = scores.shape[0]
    first, second = np.triu_indices(n, 1)
    order = np.argsort(-scores[first, second], kind="stable")[:k]
    true = np.zeros((n, n), dtype=bool)
    true[edges[:, 0], edges[:, 1]] = True
    return float(true[first[order], second[order]].mean())


# ----------------------------------------------------------------------
# The fits
# ----------------------------------------------------------------------
def fit_skbm(X, weights, params):
    """Fit by pseudo-likelihood; returns (seconds, model)."""
    model = CategoricalBoltzmannMachine(
        n_categories=N_STATES, solver="pseudolikelihood", **params
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X, sample_weight=weights)
        seconds = time.perf_counter() - start
    return seconds, model


def one_hot_csr(X, n_states):
    """Sparse one-hot of codes, site i in columns i*q .. (i+1)*q - 1."""
    n_rows, n_sites = X.shape
    columns = (X + n_states * np.arange(n_sites)).ravel()
    indptr = np.arange(0, n_rows * n_sites + 1, n_sites)
    data = np.ones(n_rows * n_sites)
    return sp.csr_matrix((data, columns, indptr), shape=(n_rows, n_sites * n_states))


def fit_sklearn(X, onehot, weights, C, tol=1e-4):
    """50 (n_sites) multinomial logistic regressions, asymmetric plmDCA.

    Returns (seconds, coefficient blocks, mean iterations, fits that hit
    max_iter). ``blocks[i, j]`` is site i's coefficient block of site j,
    indexed [state of i, state of j], zero where i's state never occurs.
    """
    n_sites, q = X.shape[1], N_STATES
    blocks = np.zeros((n_sites, n_sites, q, q))
    iterations = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        for i in range(n_sites):
            others = np.r_[0 : i * q, (i + 1) * q : n_sites * q]
            model = LogisticRegression(C=C, solver="lbfgs", tol=tol)
            model.fit(onehot[:, others], X[:, i], sample_weight=weights)
            iterations.append(int(model.n_iter_.max()))
            coef = np.zeros((q, n_sites * q))
            fitted = model.coef_
            if fitted.shape[0] == 1:  # two states seen: one logit difference
                fitted = np.vstack([-fitted / 2, fitted / 2])
            coef[np.ix_(model.classes_, others)] = fitted
            blocks[i] = coef.reshape(q, n_sites, q).transpose(1, 0, 2)
        seconds = time.perf_counter() - start
    hit_max = int(np.sum(np.asarray(iterations) >= LogisticRegression().max_iter))
    return seconds, blocks, float(np.mean(iterations)), hit_max


def sklearn_scores(blocks):
    """Zero-sum blocks, (i, j) and (j, i) averaged, Frobenius norms, APC."""
    gauged = zero_sum(blocks)
    symmetric = (gauged + gauged.transpose(1, 0, 3, 2)) / 2
    norms = np.sqrt((symmetric**2).sum(axis=(2, 3)))
    np.fill_diagonal(norms, 0.0)
    return apc(norms)


# ----------------------------------------------------------------------
# The run
# ----------------------------------------------------------------------
def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run(args):
    size = SIZES["quick" if args.quick else "full"]
    n_sites, n_edges = size["n_sites"], size["n_edges"]
    edges, blocks, fields = potts_model(
        n_sites, n_edges, N_STATES, args.coupling_scale, FIELD_SCALE, args.seed
    )
    rng = np.random.default_rng(args.seed + 1)
    start = time.perf_counter()
    X, lag = gibbs_sample(
        edges,
        blocks,
        fields,
        size["n_chains"],
        size["burn_in"],
        size["n_draws"],
        size["thin"],
        rng,
    )
    sampling_seconds = time.perf_counter() - start
    start = time.perf_counter()
    weights = sequence_weights(X, identity=IDENTITY)
    weight_seconds = time.perf_counter() - start
    m_eff = float(weights.sum())
    print(
        f"{X.shape[0]} sequences x {n_sites} sites, q = {N_STATES}, {n_edges} "
        f"contacts, coupling scale {args.coupling_scale}: Gibbs sampling "
        f"{sampling_seconds:.1f} s (energy correlation between successive "
        f"reads {lag:.3f}); sequence_weights {weight_seconds:.2f} s, "
        f"M_eff = {m_eff:.1f}",
        flush=True,
    )
    C = 2.0 / (BENCHMARK["alpha"] * m_eff)
    onehot = one_hot_csr(X, N_STATES)
    k = n_edges
    rows = {}

    def record(name, seconds, precision, **extra):
        entry = rows.setdefault(name, {"seconds": [], **extra})
        entry["seconds"].append(seconds)
        entry["precision"] = precision
        entry.update(extra)
        print(
            f"  {name}: {seconds:.2f} s, top-{k} precision {precision:.2f}"
            + "".join(f", {key} {value}" for key, value in extra.items()),
            flush=True,
        )

    bench_name = "skbm PL, benchmark settings"
    anchor_name = f"scikit-learn, C = {C:.3g} (matches alpha)"
    for _ in range(args.repeats):
        seconds, model = fit_skbm(X, weights, BENCHMARK)
        record(
            bench_name,
            seconds,
            top_precision(model.coupling_norms(apc=True), edges, k),
            n_iter=model.n_iter_,
        )
        seconds, coef, mean_iter, hit_max = fit_sklearn(X, onehot, weights, C)
        record(
            anchor_name,
            seconds,
            top_precision(sklearn_scores(coef), edges, k),
            mean_iter=round(mean_iter, 1),
            hit_max_iter=hit_max,
        )
    # Both at the other's tolerance: gtol on the largest gradient component,
    # of one objective that sums the sites' mean losses (skbm) or of each
    # site's mean loss (scikit-learn), so the same scale.
    seconds, model = fit_skbm(X, weights, {**BENCHMARK, "tol": 1e-4})
    record(
        "skbm PL, benchmark settings with tol = 1e-4",
        seconds,
        top_precision(model.coupling_norms(apc=True), edges, k),
        n_iter=model.n_iter_,
    )
    seconds, coef, mean_iter, hit_max = fit_sklearn(
        X, onehot, weights, C, tol=BENCHMARK["tol"]
    )
    record(
        f"scikit-learn, C = {C:.3g}, tol = {BENCHMARK['tol']:g}",
        seconds,
        top_precision(sklearn_scores(coef), edges, k),
        mean_iter=round(mean_iter, 1),
        hit_max_iter=hit_max,
    )
    # The rest is context: --core leaves it out.
    if not args.core:
        seconds, model = fit_skbm(X, weights, DEFAULTS)
        record(
            "skbm PL, estimator defaults",
            seconds,
            top_precision(model.coupling_norms(apc=True), edges, k),
            n_iter=model.n_iter_,
        )
        seconds, coef, mean_iter, hit_max = fit_sklearn(X, onehot, weights, 1.0)
        record(
            "scikit-learn, default C = 1",
            seconds,
            top_precision(sklearn_scores(coef), edges, k),
            mean_iter=round(mean_iter, 1),
            hit_max_iter=hit_max,
        )
        seconds, model = fit_skbm(
            X, weights, {**BENCHMARK, "max_iter": EARLY_ITERATIONS}
        )
        record(
            f"skbm PL, benchmark settings, max_iter = {EARLY_ITERATIONS} (unconverged)",
            seconds,
            top_precision(model.coupling_norms(apc=True), edges, k),
            n_iter=model.n_iter_,
        )

        if args.sweep:
            for label, change in SWEEP.items():
                seconds, model = fit_skbm(X, weights, {**BENCHMARK, **change})
                record(
                    f"skbm PL, benchmark settings with {label}",
                    seconds,
                    top_precision(model.coupling_norms(apc=True), edges, k),
                    n_iter=model.n_iter_,
                    nonzero_blocks=int(
                        np.count_nonzero(np.triu(model.coupling_norms(apc=False), 1))
                    ),
                )

    for entry in rows.values():
        entry["median_seconds"] = median(entry["seconds"])
    ratio = rows[bench_name]["median_seconds"] / rows[anchor_name]["median_seconds"]
    record_json = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{cpu_name()}, {os.cpu_count()} cores (shared)",
        "load_average_at_end": os.getloadavg(),
        "threads": args.threads,
        "busy_process": args.busy,
        "blas": blas_info(),
        "quick": args.quick,
        "problem": {
            "n_sequences": int(X.shape[0]),
            "n_sites": n_sites,
            "n_states": N_STATES,
            "n_edges": n_edges,
            "coupling_scale": args.coupling_scale,
            "field_scale": FIELD_SCALE,
            "seed": args.seed,
            "gibbs": size,
            "energy_lag_correlation": lag,
            "sampling_seconds": sampling_seconds,
            "identity": IDENTITY,
            "m_eff": m_eff,
            "sequence_weights_seconds": weight_seconds,
        },
        "benchmark_settings": BENCHMARK,
        "sklearn_C": C,
        "top_k": k,
        "fits": rows,
        "skbm / scikit-learn": ratio,
        "target": "top-k precision >= 0.9 and skbm / scikit-learn <= 0.5",
    }
    table = format_table(record_json)
    print(table)
    json_path, text_path = args.json, None
    if json_path is None and not args.quick:
        os.makedirs(RESULTS, exist_ok=True)
        name = "potts_contacts_busy.json" if args.busy else "potts_contacts.json"
        json_path = os.path.join(RESULTS, name)
    if json_path:
        write_json(json_path, record_json)
        text_path = os.path.splitext(json_path)[0] + ".txt"
        with open(text_path, "w") as f:
            f.write(table + "\n")
    return record_json


def format_table(record):
    problem = record["problem"]
    k = record["top_k"]
    lines = [
        f"Potts contact prediction, {record['date']}, {record['machine']}, "
        f"threads {record['threads']}, "
        + ("one busy process beside, " if record.get("busy_process") else "")
        + "load average at end "
        f"{record['load_average_at_end'][0]:.1f}",
        f"{problem['n_sequences']} sequences x {problem['n_sites']} sites, "
        f"q = {problem['n_states']}, {problem['n_edges']} contacts, coupling "
        f"scale {problem['coupling_scale']}, M_eff = {problem['m_eff']:.1f}",
        f"benchmark settings: {record['benchmark_settings']}",
        "",
        f"{'fit':<62} {'median s':>9} {'top-' + str(k):>7}  notes",
    ]
    for name, entry in record["fits"].items():
        notes = ", ".join(
            f"{key} {value}"
            for key, value in entry.items()
            if key not in ("seconds", "median_seconds", "precision")
        )
        runs = len(entry["seconds"])
        if runs > 1:
            notes += f", {runs} runs: " + " ".join(f"{s:.1f}" for s in entry["seconds"])
        lines.append(
            f"{name:<62} {entry['median_seconds']:>9.2f} "
            f"{entry['precision']:>7.2f}  {notes}"
        )
    lines += [
        "",
        f"skbm / scikit-learn (benchmark settings, matching C): "
        f"{record['skbm / scikit-learn']:.2f} (target: at most 0.5, with "
        f"top-{k} precision at least 0.9)",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="12 sites, 2,000 rows")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads")
    parser.add_argument("--coupling-scale", type=float, default=COUPLING_SCALE)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--sweep", action="store_true", help="also fit the settings of SWEEP"
    )
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument(
        "--busy",
        action="store_true",
        help="keep one core busy with another process during the run",
    )
    parser.add_argument(
        "--core",
        action="store_true",
        help="only the fits at the benchmark settings and the anchor, each at "
        "both tolerances",
    )
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.quick else 2
    with busy_core(active=args.busy), threadpool_limits(args.threads):
        return run(args)


if __name__ == "__main__":
    main()
