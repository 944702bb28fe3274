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
