"""
========================================================
A fully visible Boltzmann machine recovers its couplings
========================================================

We choose a coupling matrix W and biases b for 12 binary units, draw samples
from P(x) = exp(-Phi(x)) / Z with Phi(x) = -1/2 x^T W x - b^T x, and fit
:class:`~skbm.BoltzmannMachine` to the samples. Its log-likelihood is concave,
so the fit is the unique maximum-likelihood estimate, and with enough samples
it should land close to the true couplings.

Two solvers are compared: ``"exact"`` (maximum likelihood, with Z by
enumerating all 2**12 states at every L-BFGS step) and ``"pseudolikelihood"``
(no Z at all, what ``solver="auto"`` uses beyond 14 units).
"""

# %%
# The true model: a ring with a few long-range couplings
# ------------------------------------------------------
import itertools

import matplotlib.pyplot as plt
import numpy as np
from scipy.special import logsumexp

from skbm import BoltzmannMachine

rng = np.random.default_rng(0)
n = 12
W = np.zeros((n, n))
for i in range(n):  # neighbours on a ring attract
    W[i, (i + 1) % n] = W[(i + 1) % n, i] = 1.0
for i, j in [(0, 6), (3, 9), (2, 7)]:  # a few long-range repulsions
    W[i, j] = W[j, i] = -1.5
b = rng.normal(-0.5, 0.3, n)

# %%
# Exact samples, by enumeration
# -----------------------------
# With 12 units there are 4,096 states: we compute every P(x) and draw from it
# directly, with no Markov chain.
states = np.array(list(itertools.product([0.0, 1.0], repeat=n)))
log_weights = 0.5 * np.einsum("si,ij,sj->s", states, W, states) + states @ b
P = np.exp(log_weights - logsumexp(log_weights))
codes = rng.choice(len(states), size=20000, p=P)
X = states[codes]
true_log_likelihood = np.mean(np.log(P[codes]))  # the true model, on X

# %%
# Fit both solvers
# ----------------
# ``alpha=0`` turns off the small L2 penalty, so that the exact fit is the
# plain maximum-likelihood estimate. Being the maximum, its training
# log-likelihood is at least that of the true parameters.
fits = {
    solver: BoltzmannMachine(solver=solver, alpha=0.0).fit(X)
    for solver in ("exact", "pseudolikelihood")
}
upper = np.triu_indices(n, 1)
for solver, model in fits.items():
    error = np.abs(model.coupling_ - W)[upper]
    print(
        f"{solver:>16}: max |w_fit - w_true| = {error.max():.3f}, "
        f"mean = {error.mean():.3f}, train log-likelihood = {model.score(X):.4f}"
    )
print(f"{'true W and b':>16}: train log-likelihood = {true_log_likelihood:.4f}")

# %%
# Moment matching: the exact fit reproduces the data's pairwise statistics.
model = fits["exact"]
model_states_p = np.exp(model.score_samples(states))
data_second = X.T @ X / len(X)
model_second = states.T @ (states * model_states_p[:, None])
print(
    f"max |E_data[x_i x_j] - E_model[x_i x_j]| = "
    f"{np.abs(data_second - model_second).max():.2e}"
)

# %%
# Heat maps
# ---------
limit = np.abs(W).max()
fig, axes = plt.subplots(1, 4, figsize=(15, 3.8), width_ratios=[1, 1, 1, 1.1])
panels = [("true W", W)] + [
    (f"fitted, {solver}", model.coupling_) for solver, model in fits.items()
]
for ax, (title, matrix) in zip(axes[:3], panels, strict=True):
    image = ax.imshow(matrix, cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
fig.colorbar(image, ax=axes[:3], shrink=0.8)
for solver, model in fits.items():
    axes[3].scatter(W[upper], model.coupling_[upper], s=12, label=solver, alpha=0.7)
axes[3].plot([-limit, limit], [-limit, limit], color="gray", lw=1)
axes[3].set_xlabel("true $w_{ij}$")
axes[3].set_ylabel("fitted $w_{ij}$")
axes[3].legend()
plt.show()
