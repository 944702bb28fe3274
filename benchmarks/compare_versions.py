"""Time skbm fits of two checkouts against each other, alternating processes.

``python benchmarks/compare_versions.py OLD_TREE NEW_TREE [--rounds N]``
runs each workload once per round in a fresh process of each tree (its
``skbm`` first on ``PYTHONPATH``), alternating, and prints median seconds.
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np

CHILD = r"""
import json, sys, time, warnings
import numpy as np
sys.path.insert(0, BENCH)
from _common import digits_binary, smooth_binary_images
from sklearn.model_selection import train_test_split
from skbm import BernoulliRBM2
from bench_fit import skbm_same_work
warnings.simplefilter("ignore")
out = {}
digits = digits_binary()
train, _ = train_test_split(digits, test_size=0.3, random_state=0)
cases = {
    "defaults, digits 16 hidden": (lambda: BernoulliRBM2(n_components=16,
        random_state=0), train),
    "same work as sklearn, digits x5": (lambda: skbm_same_work(100, 10, 10),
        digits_binary(5)),
    "same work as sklearn, 10000x784 float64": (lambda: skbm_same_work(500, 100, 2),
        smooth_binary_images()),
}
for name, (make, X) in cases.items():
    make().fit(X[:200])
    start = time.perf_counter()
    make().fit(X)
    out[name] = time.perf_counter() - start
print(json.dumps(out))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    bench = os.path.dirname(os.path.abspath(__file__))
    code = CHILD.replace("BENCH", repr(bench))
    times = {"old": {}, "new": {}}
    for _ in range(args.rounds):
        for label, tree in (("old", args.old), ("new", args.new)):
            env = dict(os.environ, PYTHONPATH=os.path.abspath(tree))
            env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = str(args.threads)
            result = subprocess.run(
                [sys.executable, "-c", code],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                cwd="/",
            )
            for name, seconds in json.loads(result.stdout).items():
                times[label].setdefault(name, []).append(seconds)
    for name in times["old"]:
        old, new = np.median(times["old"][name]), np.median(times["new"][name])
        print(f"{name}: old {old:.3f} s, new {new:.3f} s, new/old {new / old:.2f}")
    return times


if __name__ == "__main__":
    main()
