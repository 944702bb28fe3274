"""
==========================================================
RBM features for digit classification, and learning curves
==========================================================

A restricted Boltzmann machine learns features without labels. Here
:class:`~skbm.BernoulliRBM2` is trained on binarized 8x8 digits and its hidden
activations P(h = 1 | v) feed a logistic regression, which is compared with a
logistic regression on the raw pixels, as in scikit-learn's classic
``BernoulliRBM`` example.

Unlike scikit-learn's RBM, ``BernoulliRBM2.score`` is the **exact held-out
log-likelihood** (ln Z by enumerating the smaller layer), so we can also watch
the density model learn, epoch by epoch, with ``partial_fit``.
"""

# %%
# Data: binarized digits
# ----------------------
# Pixels are 0-16; we keep the ones above 7, so every image is a binary vector
# of 64 units, and hold out 30% of the images.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from skbm import BernoulliRBM2

X, y = load_digits(return_X_y=True)
X = (X > 7).astype(np.float64)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, random_state=0, stratify=y
)

# %%
# Held-out log-likelihood per epoch
# ---------------------------------
# Each ``partial_fit`` call is one pass over the training data with a constant
# learning rate. With 16 hidden units, ln Z is a sum of 2**16 terms, computed
# exactly after every epoch; it is cached, so scoring the training and the
# test set costs one ln Z.
rbm = BernoulliRBM2(n_components=16, learning_rate=0.01, random_state=0)
n_epochs = 30
train_curve, test_curve = [], []
for _epoch in range(n_epochs):
    rbm.partial_fit(X_train)
    train_curve.append(rbm.score(X_train))
    test_curve.append(rbm.score(X_test))
print(
    f"after {n_epochs} epochs: train {train_curve[-1]:.3f}, "
    f"test {test_curve[-1]:.3f} nats per image"
)
print(rbm.log_partition())

# %%
# ``fit`` decays the learning rate over ``n_iter`` epochs (a cosine schedule by
# default); the same model fitted in one call gives a reference line.
reference = BernoulliRBM2(n_components=16, n_iter=n_epochs, random_state=0)
reference.fit(X_train)
reference_score = reference.score(X_test)
print(f"fit() with the default schedule: test {reference_score:.3f}")

# The independent-pixel model is the baseline every density model must beat.
p = X_train.mean(axis=0).clip(1e-3, 1 - 1e-3)
independent = np.mean(X_test @ np.log(p) + (1 - X_test) @ np.log(1 - p))
print(f"independent pixels: test {independent:.3f}")

# %%
# RBM features against raw pixels
# -------------------------------
# A larger RBM gives the classifier more features; its fit does not need ln Z.
rbm_classifier = Pipeline(
    [
        ("rbm", BernoulliRBM2(n_components=64, n_iter=20, random_state=0)),
        ("logistic", LogisticRegression(max_iter=3000)),
    ]
).fit(X_train, y_train)
raw_classifier = LogisticRegression(max_iter=3000).fit(X_train, y_train)
accuracy = {
    "raw pixels": raw_classifier.score(X_test, y_test),
    "RBM features": rbm_classifier.score(X_test, y_test),
}
for name, value in accuracy.items():
    print(f"logistic regression on {name}: test accuracy {value:.3f}")

# %%
# Plots
# -----
fig, axes = plt.subplots(1, 3, figsize=(13, 4), width_ratios=[2, 1, 1.4])
epochs = np.arange(1, n_epochs + 1)
axes[0].plot(epochs, train_curve, label="train (partial_fit)")
axes[0].plot(epochs, test_curve, label="held out (partial_fit)")
axes[0].axhline(reference_score, color="k", ls="--", label="held out, fit()")
axes[0].axhline(independent, color="gray", ls=":", label="independent pixels")
axes[0].set_xlabel("epoch")
axes[0].set_ylabel("mean log-likelihood (nats)")
axes[0].set_title("BernoulliRBM2, 16 hidden units, exact scores")
axes[0].legend()

axes[1].bar(list(accuracy), list(accuracy.values()), color=["gray", "C0"])
axes[1].set_ylim(0.8, 1.0)
axes[1].set_ylabel("test accuracy")
axes[1].set_title("logistic regression")

filters = rbm_classifier["rbm"].components_[:16].reshape(4, 4, 8, 8)
limit = np.abs(filters).max()
axes[2].imshow(
    np.block([[np.pad(f, 1, constant_values=np.nan) for f in row] for row in filters]),
    cmap="RdBu_r",
    vmin=-limit,
    vmax=limit,
)
axes[2].set_title("16 of the 64 filters")
axes[2].axis("off")
fig.tight_layout()
plt.show()
