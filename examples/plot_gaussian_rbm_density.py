"""
=======================================================================
Held-out log-density of real-valued data: Gaussian RBM and scikit-learn
=======================================================================

:class:`~skbm.GaussianBernoulliRBM` models real-valued data with Gaussian
visible units and {0,1} hidden units: given the hidden units, each feature
is Gaussian around a mean that the active hidden units shift. Its
:meth:`~skbm.GaussianBernoulliRBM.score` is the mean log-density ln p(v) in
nats, the same quantity as the ``score`` of scikit-learn's density
estimators, so they can be compared on held-out data.

The data are scikit-learn's digits, dequantized: each grey level 0..16 gets
uniform noise and is divided by 17, which gives the discrete data a density.
The settings of the scikit-learn estimators are those that 3-fold
cross-validation on the training part chose in ``benchmarks/density_digits.py``
(which also chooses the RBM's by cross-validation); this example only refits
them, to run in about a minute.
"""

# %%
# Dequantized digits
# ------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KernelDensity

from skbm import GaussianBernoulliRBM

X, _ = load_digits(return_X_y=True)
X = (X + np.random.default_rng(0).random(X.shape)) / 17
X_train, X_test = train_test_split(X, test_size=0.3, random_state=0)

# %%
# The density estimators
# ----------------------
# ``KernelDensity.score`` is a total over rows; the others are means.
estimators = {
    "GaussianMixture, diag (40)": GaussianMixture(
        40, covariance_type="diag", random_state=0
    ),
    "GaussianMixture, full (5)": GaussianMixture(
        5, covariance_type="full", reg_covar=1e-4, random_state=0
    ),
    "FactorAnalysis (40)": FactorAnalysis(40, random_state=0),
    "PCA (63)": PCA(63),
    "KernelDensity (0.1)": KernelDensity(bandwidth=0.1),
    "GaussianBernoulliRBM (64 h)": GaussianBernoulliRBM(
        n_components=64, random_state=0
    ),
}
scores = {}
for name, estimator in estimators.items():
    estimator.fit(X_train)
    score = estimator.score(X_test)
    if isinstance(estimator, KernelDensity):
        score /= X_test.shape[0]
    scores[name] = score
    print(f"{name:<30} {score:8.2f}")

# %%
# With 64 hidden units the RBM's ln Z is estimated by annealed importance
# sampling; its interval (3 standard errors of the mean weight) and the
# reverse estimate say how far to trust it.
print(estimators["GaussianBernoulliRBM (64 h)"].log_partition())

# %%
# Held-out log-density
# --------------------
fig, axis = plt.subplots(figsize=(7, 3.5))
names = list(scores)
axis.barh(names, [scores[name] for name in names], color="tab:blue")
axis.set_xlabel("held-out mean log-density (nats per digit)")
axis.invert_yaxis()
fig.tight_layout()

# %%
# Draws from the RBM
# ------------------
# Exact draws need the hidden layer enumerated (at most 20 units); with 64,
# ``sample`` runs long Gibbs chains.
rbm = estimators["GaussianBernoulliRBM (64 h)"]
draws = rbm.sample(16, random_state=0)
fig, axes = plt.subplots(2, 8, figsize=(8, 2.3))
for axis, row in zip(axes.ravel(), draws, strict=True):
    axis.imshow(row.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    axis.set_axis_off()
fig.suptitle("Digits drawn from the GaussianBernoulliRBM")
plt.show()
