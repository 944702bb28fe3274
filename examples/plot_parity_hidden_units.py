"""
===================================
What hidden units add: 3-bit parity
===================================

The four 3-bit vectors with an even number of ones,
000, 011, 101 and 110, are equally likely, and the other four never occur.
Every single bit is on half the time, and every *pair* of bits is independent:
each of the four values of (x_i, x_j) occurs once. The only structure is of
third order, x_3 = x_1 XOR x_2.

A fully visible Boltzmann machine has only pairwise couplings, and its
maximum-likelihood fit matches the data's means and pairwise statistics, which
are exactly those of the uniform distribution over all eight vectors. So the
best it can do is ln(1/8) per vector. The best possible model puts 1/4 on each
even vector: ln(1/4). A :class:`~skbm.HiddenBoltzmannMachine` with two hidden
units can get close to that, because summing out hidden units creates
higher-order interactions among the visible ones.
"""

# %%
import itertools

import matplotlib.pyplot as plt
import numpy as np

from skbm import BoltzmannMachine, HiddenBoltzmannMachine

parity = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=float)
X = np.tile(parity, (25, 1))

# %%
# Fit both machines
# -----------------
# Both are small enough for exact training, L-BFGS on the exact
# log-likelihood (``solver="auto"`` picks it), and exact scoring.
bm = BoltzmannMachine().fit(X)
hbm = HiddenBoltzmannMachine(n_components=2, random_state=0).fit(X)
print(f"BoltzmannMachine:       {bm.score(X):.4f}  (ln 1/8 = {np.log(1 / 8):.4f})")
print(f"HiddenBoltzmannMachine: {hbm.score(X):.4f}  (ln 1/4 = {np.log(1 / 4):.4f})")
print(
    "largest |coupling| of the fully visible fit:", f"{np.abs(bm.coupling_).max():.4f}"
)

# %%
# The probability of every vector
# -------------------------------
states = np.array(list(itertools.product([0.0, 1.0], repeat=3)))
labels = ["".join(str(int(bit)) for bit in state) for state in states]
even = states.sum(axis=1) % 2 == 0
probabilities = {
    "data": np.where(even, 0.25, 0.0),
    "BoltzmannMachine": np.exp(bm.score_samples(states)),
    "HiddenBoltzmannMachine": np.exp(hbm.score_samples(states)),
}
for name, p in probabilities.items():
    print(f"{name:>22}: P(even vectors) = {p[even].sum():.4f}")

fig, ax = plt.subplots(figsize=(8, 4))
width = 0.27
for k, (name, p) in enumerate(probabilities.items()):
    ax.bar(np.arange(8) + (k - 1) * width, p, width, label=name)
ax.set_xticks(np.arange(8), labels)
ax.set_xlabel("x = (x1, x2, x3)")
ax.set_ylabel("P(x)")
ax.set_title("3-bit parity: pairwise couplings see nothing, hidden units do")
ax.legend()
fig.tight_layout()
plt.show()
