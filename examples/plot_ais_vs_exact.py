"""
=====================================================
Annealed importance sampling against the exact ln Z
=====================================================

When a model is too large to enumerate, skbm estimates ln Z by annealed
importance sampling (AIS): ``ais_runs`` independent runs, each moving from a
base model with independent visible units to the model through ``ais_betas``
intermediate distributions (see :ref:`theory_ais`). Forward runs give a
stochastic *lower* bound on ln Z; reverse runs, started from exact draws of the
model, give a stochastic *upper* bound.

Here the model is small enough to check: an RBM with 16 hidden units on
binarized digits, whose ln Z is a sum of 2**16 terms. We force
``score_method="ais"`` and watch the estimate, its interval and the reverse
estimate as ``ais_betas`` grows.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from skbm import BernoulliRBM2

X, _ = load_digits(return_X_y=True)
X = (X > 7).astype(np.float64)
rbm = BernoulliRBM2(n_components=16, n_iter=20, random_state=0).fit(X)
exact = rbm.log_partition()
print(exact)

# %%
# The estimate as the annealing gets longer
# -----------------------------------------
# Changing ``score_method`` or ``ais_betas`` changes the cache key, so each
# call to ``log_partition`` runs AIS afresh (100 runs by default);
# ``reverse=True`` adds the reverse runs, which ``score`` leaves out. Short
# schedules, whose effective sample size falls below a tenth of the runs,
# warn (an ``AISWarning``).
betas = [10, 30, 100, 300, 1000, 3000, 10000]
estimates = []
for n_betas in betas:
    rbm.set_params(score_method="ais", ais_betas=n_betas)
    estimate = rbm.log_partition(reverse=True)
    estimates.append(estimate)
    print(f"ais_betas={n_betas:>5}: {estimate}")

# %%
# The error of a score is the error of ln Z with the sign reversed, because
# ln P(v) = -F(v) - ln Z. At the default ``ais_betas=10000``:
rbm.set_params(ais_betas=10000)
ais_score = rbm.score(X)
rbm.set_params(score_method="exact")
exact_score = rbm.score(X)
print(
    f"mean log-likelihood: AIS {ais_score:.4f}, exact {exact_score:.4f}, "
    f"difference {ais_score - exact_score:+.4f} nats"
)

# %%
# Both sides of the log-likelihood
# --------------------------------
# ``score`` is the forward side, optimistic in expectation.
# ``score_bracket`` adds reverse annealing started from the rows themselves
# (RAISE), conservative in expectation; the gap between the two closes as
# the annealing gets longer (see :ref:`RAISE <theory_raise>`).
held_out = X[:200]
rbm.set_params(score_method="exact")
exact_held_out = rbm.score(held_out)
rbm.set_params(score_method="ais")
for n_betas in (30, 300, 3000):
    rbm.set_params(ais_betas=n_betas)
    bracket = rbm.score_bracket(held_out)
    print(
        f"ais_betas={n_betas:>5}: RAISE {bracket.lower:.3f}, forward "
        f"{bracket.upper:.3f}, exact {exact_held_out:.3f}"
    )

# %%
# The spread over seeds, and the bias of ln of a mean
# ---------------------------------------------------
# Each forward run's weight has expectation Z / Z_0, but the logarithm of
# their mean is biased low (Jensen's inequality), and an estimate above ln Z
# by t nats has probability at most exp(-t) (Markov's inequality). With a
# short annealing both show: over 20 seeds the estimates scatter widely,
# mostly below the exact value, with rare ones above it.
n_short = 30
rbm.set_params(score_method="ais", ais_betas=n_short)
short = []
for seed in range(20):
    rbm.set_params(random_state=seed)
    short.append(rbm.log_partition().log_z)
short = np.array(short)
errors = short - exact.log_z
print(
    f"ais_betas={n_short}, 20 seeds: median error {np.median(errors):+.4f}, "
    f"mean error {errors.mean():+.4f}, {np.mean(errors < 0):.0%} below the exact "
    f"value, largest error {errors.max():+.4f}"
)

# %%
# Plots
# -----
# Where the mean weight minus three standard errors is not positive, the
# lower end of the forward interval is 3 nats below the estimate (Markov's
# inequality: ln Z lies above it with probability at least 95%); ends beyond
# the axes are drawn at their edge.
forward = np.array([e.log_z for e in estimates])
reverse = np.array([e.reverse_log_z for e in estimates])
f_low, f_high = np.array([e.interval for e in estimates]).T
r_low, r_high = np.array([e.reverse_interval for e in estimates]).T
bottom = exact.log_z - 4
fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), width_ratios=[2, 1, 1])
ax = axes[0]
ax.axhline(exact.log_z, color="k", lw=1, label="exact (enumeration)")
ax.errorbar(
    betas,
    forward,
    [forward - np.maximum(f_low, bottom), f_high - forward],
    marker="o",
    capsize=3,
    label="forward AIS, interval",
)
ax.errorbar(
    np.array(betas) * 1.1,
    reverse,
    [reverse - r_low, np.minimum(r_high, exact.log_z + 4) - reverse],
    marker="s",
    capsize=3,
    label="reverse AIS, interval",
)
ax.set_xscale("log")
ax.set_ylim(bottom, exact.log_z + 4)
ax.set_xlabel("ais_betas")
ax.set_ylabel("ln Z")
ax.set_title("RBM, 64 visible x 16 hidden units")
ax.legend()

axes[1].plot(betas, [e.ess for e in estimates], marker="o")
axes[1].set_xscale("log")
axes[1].set_xlabel("ais_betas")
axes[1].set_ylabel("effective sample size of 100 runs")
axes[1].set_title("how many runs count")

axes[2].hist(errors, bins=10)
axes[2].axvline(0, color="k", lw=1)
axes[2].set_xlabel("forward estimate - exact ln Z")
axes[2].set_title(f"ais_betas={n_short}, 20 seeds")
fig.tight_layout()
plt.show()
