"""
=====================================
Samples from an RBM trained on digits
=====================================

A density model can be asked to *generate*. We train
:class:`~skbm.BernoulliRBM2` on binarized digits and draw images from it with
``sample``, next to training images and to samples from the best model with
independent pixels, which gets every pixel's frequency right and nothing else.

``sample`` draws exactly (by enumerating the smaller layer) when that layer
has at most 20 units, and otherwise from Gibbs chains after a long burn-in.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from skbm import BernoulliRBM2

X, _ = load_digits(return_X_y=True)
X = (X > 7).astype(np.float64)

# %%
# Two RBMs
# --------
# With 16 hidden units the RBM is scored and sampled exactly; with 100 hidden
# units sampling uses Gibbs chains (and exact scoring would need 2**64 terms).
small = BernoulliRBM2(n_components=16, n_iter=30, random_state=0).fit(X)
large = BernoulliRBM2(n_components=100, n_iter=30, random_state=0).fit(X)
print(f"16 hidden units: train log-likelihood {small.score(X):.3f} nats per image")

n_show = 48
rng = np.random.default_rng(0)
p = X.mean(axis=0)
panels = {
    "training images": X[rng.choice(len(X), n_show, replace=False)],
    "independent pixels": (rng.random((n_show, 64)) < p).astype(float),
    "RBM, 16 hidden units (exact)": small.sample(n_show, random_state=0),
    "RBM, 100 hidden units (Gibbs)": large.sample(n_show, random_state=0),
}


def grid(images, n_cols=8):
    """Tile 8x8 images into one array, with a one-pixel gap."""
    tiles = [np.pad(image.reshape(8, 8), 1, constant_values=0.5) for image in images]
    rows = [np.hstack(tiles[k : k + n_cols]) for k in range(0, len(tiles), n_cols)]
    return np.vstack(rows)


# %%
# The image grids
# ---------------
fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
for ax, (title, images) in zip(axes, panels.items(), strict=True):
    ax.imshow(grid(images), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title)
    ax.axis("off")
fig.tight_layout()
plt.show()
