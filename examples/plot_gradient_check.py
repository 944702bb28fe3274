r"""
===========================================================
Gradient check: the RBM gradient against finite differences
===========================================================

The :doc:`theory page </theory>` derives the gradient of an RBM's
log-likelihood,

.. math::

   \frac{\partial \ln L}{\partial w_{ji}}
   = \sum_n \sigma(\lambda^n_j)\, v^n_i - N\, \mathbb{E}_\theta[v_i h_j],
   \qquad \lambda^n_j = b_j + \sum_i w_{ji} v^n_i,

and for the biases
:math:`\partial \ln L / \partial a_i = \sum_n v^n_i - N\, \mathbb{E}[v_i]` and
:math:`\partial \ln L / \partial b_j = \sum_n \sigma(\lambda^n_j) - N\,
\mathbb{E}[h_j]`.

Here we compute it in a few lines of NumPy, with the model expectations by
brute force over all joint states (v, h), and compare it with central finite
differences of the exact log-likelihood ``N * score(X)`` of
:class:`~skbm.BernoulliRBM2`, which sums h out with the softplus and computes
ln Z by enumeration.
"""

# %%
import itertools

import matplotlib.pyplot as plt
import numpy as np
from scipy.special import expit, logsumexp

from skbm import BernoulliRBM2

rng = np.random.default_rng(0)
n_visible, n_hidden, n_samples = 6, 4, 50
X = (rng.random((n_samples, n_visible)) < 0.4).astype(np.float64)

# A "fitted" RBM with random parameters: fit with n_iter=0 initialises the
# model, then we assign the parameters (assignment invalidates the cached ln Z).
rbm = BernoulliRBM2(n_components=n_hidden, n_iter=0, random_state=0).fit(X)
rbm.components_ = rng.normal(0, 1, (n_hidden, n_visible))  # W, w_ji in row j
rbm.intercept_visible_ = rng.normal(0, 1, n_visible)  # a
rbm.intercept_hidden_ = rng.normal(0, 1, n_hidden)  # b


# %%
# The analytic gradient
# ---------------------
def analytic_gradient(W, a, b, V):
    """Data statistic minus model statistic, the model one by brute force."""
    lam = V @ W.T + b  # lambda_j^n
    data_W = expit(lam).T @ V  # sum_n sigma(lambda_j^n) v_i^n
    data_a = V.sum(axis=0)
    data_b = expit(lam).sum(axis=0)
    # All 2**(n_visible + n_hidden) joint states and their probabilities.
    joint = np.array(list(itertools.product([0.0, 1.0], repeat=len(a) + len(b))))
    v, h = joint[:, : len(a)], joint[:, len(a) :]
    neg_energy = np.einsum("sj,ji,si->s", h, W, v) + v @ a + h @ b
    P = np.exp(neg_energy - logsumexp(neg_energy))
    N = len(V)
    return (
        data_W - N * (h * P[:, None]).T @ v,  # - N E[v_i h_j]
        data_a - N * P @ v,
        data_b - N * P @ h,
    )


names = ("components_", "intercept_visible_", "intercept_hidden_")
analytic = analytic_gradient(*(getattr(rbm, name) for name in names), X)


# %%
# Finite differences of the exact log-likelihood
# ----------------------------------------------
def log_likelihood():
    return n_samples * rbm.score(X)


def finite_differences(eps):
    gradients = []
    for name in names:
        theta = getattr(rbm, name)
        grad = np.zeros_like(theta)
        for index in np.ndindex(theta.shape):
            values = []
            for sign in (+1, -1):
                shifted = theta.copy()
                shifted[index] += sign * eps
                setattr(rbm, name, shifted)
                values.append(log_likelihood())
            grad[index] = (values[0] - values[1]) / (2 * eps)
        setattr(rbm, name, theta)
        gradients.append(grad)
    return gradients


numeric = finite_differences(1e-5)
for name, g_a, g_n in zip(names, analytic, numeric, strict=True):
    print(
        f"{name:>18}: max |analytic - finite difference| = "
        f"{np.abs(g_a - g_n).max():.2e} (largest entry {np.abs(g_a).max():.2f})"
    )

# %%
# How the error depends on the step
# ---------------------------------
# Central differences have a truncation error of order eps**2 and a rounding
# error of order (machine epsilon) / eps; the agreement is best in between.
steps = np.logspace(-7, -1, 7)
errors = [
    max(
        np.abs(g_a - g_n).max()
        for g_a, g_n in zip(analytic, finite_differences(e), strict=True)
    )
    for e in steps
]
for eps, error in zip(steps, errors, strict=True):
    print(f"eps = {eps:.0e}: max error {error:.2e}")

# %%
# Plots
# -----
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
for name, g_a, g_n in zip(names, analytic, numeric, strict=True):
    axes[0].scatter(g_a.ravel(), g_n.ravel(), s=18, label=name)
lim = max(np.abs(g).max() for g in analytic) * 1.1
axes[0].plot([-lim, lim], [-lim, lim], color="gray", lw=1)
axes[0].set_xlabel("analytic gradient")
axes[0].set_ylabel("finite difference (eps = 1e-5)")
axes[0].set_title("every parameter of a 6 x 4 RBM")
axes[0].legend()
axes[1].loglog(steps, errors, marker="o")
axes[1].set_xlabel("finite-difference step eps")
axes[1].set_ylabel("max |analytic - finite difference|")
axes[1].set_title("error against step size")
fig.tight_layout()
plt.show()
