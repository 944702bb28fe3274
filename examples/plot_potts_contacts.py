"""
=================================================
Predicting contacts with a Potts model (plmDCA)
=================================================

Direct coupling analysis (DCA) finds the pairs of positions of a protein
family that are in contact in the folded structure from the aligned
sequences alone: it fits a Potts model, one categorical unit per position
with q states (21 for proteins: 20 amino acids and the gap; 5 for RNA), and
ranks the pairs of positions by the strength of their fitted coupling blocks
J_ij. Direct couplings, unlike correlations, are not fooled by chains of
contacts.

Here the answer is known: we choose a Potts model whose couplings sit on a
random sparse contact graph, draw sequences from it with
:meth:`~skbm.CategoricalBoltzmannMachine.sample`, fit
:class:`~skbm.CategoricalBoltzmannMachine` by pseudo-likelihood with the
sequence weights of :func:`~skbm.sequence_weights`, and compare
:meth:`~skbm.CategoricalBoltzmannMachine.coupling_norms` with the true
contact map. To run in seconds the example uses 4 states per position, like
the nucleotides of a gap-free RNA alignment; ``benchmarks/potts_contacts.py``
runs the same experiment with q = 21 at 50 positions and 10,000 sequences.
"""

# %%
# A known Potts model
# -------------------
# 20 positions with 4 states. 20 pairs, drawn at random, are in contact:
# each has a 4 x 4 coupling block of normal entries, put in the zero-sum
# gauge (every row and column sums to zero, the gauge in which
# :class:`~skbm.CategoricalBoltzmannMachine` reports its couplings). The
# fields make some states more common than others, as at alignment columns.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skbm import CategoricalBoltzmannMachine, sequence_weights

n_sites, q, n_contacts = 20, 4, 20
rng = np.random.default_rng(0)
first, second = np.triu_indices(n_sites, 1)
chosen = rng.choice(first.size, n_contacts, replace=False)
contacts = np.zeros((n_sites, n_sites), dtype=bool)
contacts[first[chosen], second[chosen]] = True
contacts |= contacts.T


def zero_sum(block):
    """The block with every row and column summing to zero."""
    return block - block.mean(axis=0) - block.mean(axis=1, keepdims=True) + block.mean()


# The parameters in the estimator's one-hot layout: position i owns the
# columns i*q .. (i+1)*q - 1 of the symmetric coupling matrix.
W = np.zeros((n_sites * q, n_sites * q))
for i, j in zip(first[chosen], second[chosen], strict=True):
    block = zero_sum(rng.normal(0.0, 0.5, (q, q)))
    W[i * q : (i + 1) * q, j * q : (j + 1) * q] = block
    W[j * q : (j + 1) * q, i * q : (i + 1) * q] = block.T
fields = rng.normal(0.0, 1.0, (n_sites, q))
b = (fields - fields.mean(axis=1, keepdims=True)).ravel()

# %%
# Sequences from the model
# ------------------------
# An estimator takes assigned parameters once it knows the layout: a one-step
# fit on two rows that use every state sets ``n_categories_`` (4 per
# column), then ``coupling_`` and ``intercept_`` are replaced. With 4**20
# joint states (too many to enumerate), ``sample`` runs 1,000 Gibbs chains
# for 1,000 sweeps and then reads them every 10 sweeps.
true_model = CategoricalBoltzmannMachine(n_categories=q, max_iter=1)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    true_model.fit([[q - 1] * n_sites, [0] * n_sites])
true_model.coupling_, true_model.intercept_ = W, b
X = true_model.sample(2000, random_state=0)
print(f"{X.shape[0]} sequences of {X.shape[1]} positions, states 0 .. {X.max()}")

# %%
# Sequence weights and the fit
# ----------------------------
# Real alignments over-represent some sub-families, so DCA weighs each
# sequence by one over the number of sequences at least 80 % identical to it
# (itself included); the weights sum to the effective number of sequences,
# M_eff. Our sequences are independent draws, but with 4 states and 20
# positions some pairs of them still agree at 16 positions or more.
#
# Pseudo-likelihood (the symmetric plmDCA) needs no partition function. The
# coupling penalty ``alpha`` keeps the blocks of pairs that are not in
# contact small; for contact prediction a value well above the default
# 1e-3 (chosen for held-out likelihood) is needed. The benchmark, with
# q = 21, found alpha = 0.1 with unpenalised fields (``alpha_fields=0``,
# as scikit-learn leaves intercepts) and ``tol=1e-3`` the fastest fit at
# the best precision, and these serve here too.
weights = sequence_weights(X, identity=0.8)
print(f"M_eff = {weights.sum():.1f}")
model = CategoricalBoltzmannMachine(
    solver="pseudolikelihood", alpha=0.1, alpha_fields=0.0, tol=1e-3
)
model.fit(X, sample_weight=weights)

# %%
# Top-ranked pairs against the true contacts
# ------------------------------------------
# ``coupling_norms`` gives the Frobenius norm of every block J_ij with the
# average-product correction (APC), which removes the part of the scores that
# comes from each position's overall variability. We count how many of the
# 20 best-scored pairs are true contacts.
scores = model.coupling_norms(apc=True)
order = np.argsort(-scores[first, second])
for k in (10, n_contacts):
    top = order[:k]
    precision = contacts[first[top], second[top]].mean()
    print(f"top-{k} precision: {precision:.2f}")

# %%
# Contact maps
# ------------
fig, axes = plt.subplots(1, 2, figsize=(9, 4.2))
axes[0].imshow(contacts, cmap="Greys")
axes[0].set_title(f"true contacts ({n_contacts} pairs)", fontsize=10)
image = axes[1].imshow(np.maximum(scores, 0), cmap="Greys")
top = order[:n_contacts]
axes[1].scatter(
    second[top],
    first[top],
    marker="o",
    facecolors="none",
    edgecolors=np.where(contacts[first[top], second[top]], "tab:blue", "tab:red"),
)
axes[1].set_title(
    f"coupling_norms(apc=True)\ncircled: top {n_contacts} (blue true, red false)",
    fontsize=10,
)
fig.colorbar(image, ax=axes[1], shrink=0.8)
for ax in axes:
    ax.set_xlabel("position")
    ax.set_ylabel("position")
fig.tight_layout()
plt.show()
