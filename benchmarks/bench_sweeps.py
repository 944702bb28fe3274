"""Gibbs sweeps of fully visible Boltzmann machines: unit by unit vs blocks.

``skbm._gibbs.gibbs_sweeps`` resamples the blocks of a colouring of the
graph in turn, each block in one step vectorised over the chains. Timed on
100 chains, float64, per sweep:

- **unit by unit**: one block per unit, so one Python step per unit (still
  vectorised over the chains);
- **colour blocks**: the blocks of ``greedy_coloring(W != 0)``;
- **per-chain loop**: unit by unit, and one chain at a time (one Python step
  per unit and chain), on the fully connected machine only.

Three graphs of 64 to 96 units: fully connected (every pair coupled: a
colour class is a single unit, so the colouring gives the unit-by-unit
sweep itself), bipartite 64 + 32 (an RBM written as a Boltzmann machine: 2
blocks) and an 8 x 8 grid with 4 neighbours (2 blocks, a checkerboard).
Runs are interleaved and the median of repeats is reported. Run
``python benchmarks/bench_sweeps.py [--repeats N] [--threads T] [--json F]``.
"""

import argparse
import time

import numpy as np
from _common import blas_info, interleaved, median, write_json
from threadpoolctl import threadpool_limits

from skbm._bernoulli_units import BERNOULLI
from skbm._gibbs import gibbs_sweeps
from skbm._graph import greedy_coloring

N_CHAINS = 100
SWEEPS = 20  # per timed call, vectorised over chains
LOOP_SWEEPS = 2  # per timed call, one chain at a time


def symmetric(mask, scale, rng):
    """Couplings with standard deviation ``scale`` on the edges of ``mask``."""
    W = np.triu(rng.normal(0.0, scale, mask.shape) * mask, 1)
    return W + W.T


def graphs(rng):
    """(name, coupling, intercept) of the three machines."""
    n = 64
    full = ~np.eye(n, dtype=bool)
    bipartite = np.zeros((96, 96), dtype=bool)
    bipartite[:64, 64:] = bipartite[64:, :64] = True
    side = 8
    grid = np.zeros((n, n), dtype=bool)
    for i in range(n):
        row, col = divmod(i, side)
        if col + 1 < side:
            grid[i, i + 1] = grid[i + 1, i] = True
        if row + 1 < side:
            grid[i, i + side] = grid[i + side, i] = True
    return [
        ("fully connected, 64 units", symmetric(full, 0.1, rng), 64),
        ("bipartite 64 + 32 (RBM-like)", symmetric(bipartite, 0.1, rng), 96),
        ("8 x 8 grid, 4 neighbours", symmetric(grid, 0.5, rng), 64),
    ]


def time_graph(name, W, b, repeats, rng):
    """Median seconds per sweep of each method on one machine."""
    n_units = b.shape[0]
    colouring = greedy_coloring(W != 0)
    units = [np.array([i]) for i in range(n_units)]
    start = (rng.random((N_CHAINS, n_units)) < 0.5).astype(np.float64)
    draws = np.random.default_rng(1)

    def sweep(blocks):
        return lambda: gibbs_sweeps(start, W, b, SWEEPS, draws, blocks, BERNOULLI)

    def per_chain():
        for c in range(N_CHAINS):
            gibbs_sweeps(start[c : c + 1], W, b, LOOP_SWEEPS, draws, units, BERNOULLI)

    functions = {"unit by unit": sweep(units), "colour blocks": sweep(colouring)}
    if name.startswith("fully"):
        functions["per-chain loop"] = per_chain
    times = interleaved(functions, repeats)
    per_sweep = {
        k: median(v) / (LOOP_SWEEPS if k == "per-chain loop" else SWEEPS)
        for k, v in times.items()
    }
    row = {
        "graph": name,
        "units": n_units,
        "chains": N_CHAINS,
        "block sizes": [len(block) for block in colouring],
        "median seconds per sweep": per_sweep,
        "unit by unit / colour blocks": per_sweep["unit by unit"]
        / per_sweep["colour blocks"],
        "all_seconds": times,
    }
    if "per-chain loop" in per_sweep:
        row["per-chain loop / unit by unit"] = (
            per_sweep["per-chain loop"] / per_sweep["unit by unit"]
        )
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    rows = []
    with threadpool_limits(args.threads):
        for name, W, n_units in graphs(rng):
            b = rng.normal(0.0, 0.5, n_units)
            row = time_graph(name, W, b, args.repeats, rng)
            rows.append(row)
            sizes = row["block sizes"]
            loop = row.get("per-chain loop / unit by unit")
            print(
                f"{name}: {len(sizes)} blocks (sizes {min(sizes)}-{max(sizes)}); "
                + ", ".join(
                    f"{k} {v * 1e3:.3f} ms"
                    for k, v in row["median seconds per sweep"].items()
                )
                + f"; unit by unit / blocks {row['unit by unit / colour blocks']:.1f}x"
                + (f"; per-chain loop / unit by unit {loop:.0f}x" if loop else "")
            )
    write_json(
        args.json,
        {
            "blas": blas_info(),
            "threads": args.threads,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "sweeps": rows,
        },
    )
    return rows


if __name__ == "__main__":
    main()
