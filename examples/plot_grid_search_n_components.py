"""
==============================================================
Choosing the number of hidden units by held-out log-likelihood
==============================================================

``GridSearchCV`` scores an estimator with its own ``score`` method when no
``scoring`` is given. For :class:`~skbm.BernoulliRBM2` that is the mean
log-likelihood ln P(v) in nats, with ln Z exact, so a grid search over
``n_components`` selects the RBM that best predicts images it has not seen.
(scikit-learn's ``BernoulliRBM.score_samples`` returns a pseudo-likelihood of
one randomly flipped pixel, which cannot rank models reliably.)

The best size depends on how much data there is, so we run the same search
on all 1,797 digits and on a random subset of 150.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, KFold

from skbm import BernoulliRBM2

X, _ = load_digits(return_X_y=True)
X = (X > 7).astype(np.float64)
subset = X[np.random.default_rng(0).permutation(len(X))[:150]]

# %%
# The searches
# ------------
# Every candidate is fitted on two thirds of the images and scored on the
# rest, three times. The enumerated layer is the hidden one here
# (n_components < 64 pixels), so the largest grid point costs 2**16 terms
# per ln Z. The small data set gets more epochs, so that both see a similar
# number of updates.
param_grid = {"n_components": [1, 2, 4, 8, 12, 16]}
searches = {}
for name, data, n_iter in [("all 1,797 images", X, 10), ("150 images", subset, 50)]:
    search = GridSearchCV(
        BernoulliRBM2(n_iter=n_iter, random_state=0),
        param_grid,
        cv=KFold(n_splits=3, shuffle=True, random_state=0),
        return_train_score=True,
    )
    searches[name] = search.fit(data)
    print(name)
    results = search.cv_results_
    for n, train, test in zip(
        param_grid["n_components"],
        results["mean_train_score"],
        results["mean_test_score"],
        strict=True,
    ):
        print(f"  n_components={n:2d}: train {train:8.3f}, held out {test:8.3f}")
    print("  selected:", search.best_params_)

# %%
# The refitted best model reports how its ln Z was obtained.
print(searches["all 1,797 images"].best_estimator_.log_partition())

# %%
# Plot
# ----
# The gap between the training and the held-out curves is overfitting. It is
# much wider on the small data set, where the held-out curve flattens out and
# extra hidden units stop paying for themselves.
n = np.array(param_grid["n_components"])
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
for ax, (name, search) in zip(axes, searches.items(), strict=True):
    results = search.cv_results_
    ax.errorbar(
        n,
        results["mean_train_score"],
        results["std_train_score"],
        marker="o",
        capsize=3,
        label="training folds",
    )
    ax.errorbar(
        n,
        results["mean_test_score"],
        results["std_test_score"],
        marker="o",
        capsize=3,
        label="held-out folds",
    )
    ax.axvline(
        search.best_params_["n_components"], color="gray", ls=":", label="selected"
    )
    ax.set_xlabel("n_components (hidden units)")
    ax.set_title(name)
    ax.legend()
axes[0].set_ylabel("mean log-likelihood (nats per image)")
fig.suptitle("GridSearchCV with BernoulliRBM2.score")
fig.tight_layout()
plt.show()
