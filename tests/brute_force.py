"""Brute-force references shared by the tests: direct sums over every state.

Written independently of skbm: energies pair by pair, every state listed by
``itertools.product`` (an order unlike the package's state codes).
"""

import itertools

import numpy as np
from scipy.special import logsumexp


def all_states(n_units):
    """All 2**n binary states, one per row, float64."""
    return np.array(list(itertools.product((0.0, 1.0), repeat=n_units)))


def brute_neg_energy(X, W, b):
    """-Phi(x) = sum_{i<j} w_ij x_i x_j + sum_i b_i x_i, pair by pair."""
    X = np.asarray(X, dtype=np.float64)
    total = X @ np.asarray(b, dtype=np.float64)
    for i, j in itertools.combinations(range(X.shape[1]), 2):
        total = total + float(W[i, j]) * X[:, i] * X[:, j]
    return total


def brute_distribution(W, b):
    """Every state, its probability and ln Z."""
    states = all_states(len(b))
    logits = brute_neg_energy(states, W, b)
    log_z = logsumexp(logits)
    return states, np.exp(logits - log_z), log_z


def brute_moments(W, b):
    """ln Z, E[x] and E[x x^T]."""
    states, proba, log_z = brute_distribution(W, b)
    return log_z, proba @ states, (states * proba[:, None]).T @ states


# ----------------------------------------------------------------------
# Categorical (Potts) units, one-hot layout
# ----------------------------------------------------------------------
def potts_states(n_categories):
    """Every joint state of categorical units with ``n_categories`` states:
    the code rows (``itertools.product`` order) and their one-hot rows."""
    codes = np.array(list(itertools.product(*[range(q) for q in n_categories])))
    offsets = np.concatenate([[0], np.cumsum(n_categories)[:-1]]).astype(int)
    one_hot = np.zeros((codes.shape[0], int(np.sum(n_categories))))
    one_hot[np.arange(codes.shape[0])[:, None], offsets + codes] = 1.0
    return codes, one_hot


def brute_potts(n_categories, W, b):
    """Every state's codes and one-hot row, its probability and ln Z."""
    codes, X = potts_states(n_categories)
    logits = 0.5 * np.einsum("ij,jk,ik->i", X, W, X) + X @ b
    log_z = logsumexp(logits)
    return codes, X, np.exp(logits - log_z), log_z


def random_potts(n_categories, seed, scale=1.0):
    """Random symmetric couplings with zero blocks on the diagonal, and
    fields, in the one-hot layout; both normal with standard deviation
    ``scale``."""
    rng = np.random.default_rng(seed)
    offsets = np.concatenate([[0], np.cumsum(n_categories)]).astype(int)
    n_columns = offsets[-1]
    W = np.triu(rng.normal(0.0, scale, (n_columns, n_columns)), 1)
    W = W + W.T
    for start, stop in zip(offsets[:-1], offsets[1:], strict=True):
        W[start:stop, start:stop] = 0.0
    return W, rng.normal(0.0, scale, n_columns)


def central_differences(function, params, step=1e-6):
    """Central finite differences of ``function(params)`` for every entry.

    ``params`` is a dict of arrays; returns a dict of arrays of the same
    shapes holding d function / d entry.
    """
    numeric = {}
    for name, value in params.items():
        numeric[name] = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            values = []
            for sign in (1, -1):
                moved = {key: array.copy() for key, array in params.items()}
                moved[name][index] += sign * step
                values.append(function(moved))
            numeric[name][index] = (values[0] - values[1]) / (2 * step)
    return numeric
