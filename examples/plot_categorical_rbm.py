"""
================================================
A categorical RBM of grey levels, scored exactly
================================================

:class:`~skbm.CategoricalRBM` has one categorical unit per feature (the
softmax units of collaborative filtering and of protein-sequence RBMs) and
{0,1} hidden units. Here each pixel of scikit-learn's 8 x 8 digits is read
as one of four grey levels, so a row is a sequence of 64 categories with 4
states each: 4**64 joint states, too many to list. The hidden layer of 16
units has only 2**16 states, though, and summing each pixel's four states
out given the hidden units is a log-sum-exp, so the held-out log-likelihood
is exact.

We compare it with the model of independent pixels (each pixel at its
training frequencies), which is what the RBM starts from, and look at rows
drawn from the fitted model.
"""

# %%
# Four grey levels per pixel
# --------------------------
# The grey levels 0..16 become 0 (blank), 1-5, 6-11 and 12-16.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skbm import CategoricalRBM

X, _ = load_digits(return_X_y=True)
levels = np.digitize(X, [1, 6, 12])
L_train, L_test = train_test_split(levels, test_size=0.3, random_state=0)

# %%
# Independent pixels, for reference
# ---------------------------------
# The held-out log-likelihood of pixels drawn independently from their
# training frequencies (clipped at 1e-3, as skbm's base model does).
frequencies = np.stack([(L_train == s).mean(axis=0) for s in range(4)])
log_f = np.log(np.clip(frequencies, 1e-3, 1) / np.clip(frequencies, 1e-3, 1).sum(0))
independent = log_f[L_test, np.arange(64)].sum(axis=1).mean()
print(f"independent pixels: {independent:.2f} nats per digit")

# %%
# The categorical RBM
# -------------------
# ``solver="cd"`` with 20 epochs; ``log_partition`` reports how ln Z was
# obtained: here by enumerating the 2**16 hidden states.
model = CategoricalRBM(n_components=16, solver="cd", n_iter=20, random_state=0)
model.fit(L_train)
print(f"CategoricalRBM(16): {model.score(L_test):.2f} nats per digit")
print(model.log_partition())

# %%
# Draws from the model
# --------------------
# ``sample`` returns rows of category codes; exact draws here, since the
# hidden layer can be enumerated.
draws = model.sample(24, random_state=0)
fig, axes = plt.subplots(3, 8, figsize=(8, 3.2))
for axis, row in zip(axes.ravel(), draws, strict=True):
    axis.imshow(row.reshape(8, 8), cmap="gray_r", vmin=0, vmax=3)
    axis.set_axis_off()
fig.suptitle("Digits drawn from the CategoricalRBM (4 grey levels)")
plt.show()
