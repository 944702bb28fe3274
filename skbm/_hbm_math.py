"""Math core of Boltzmann machines with hidden units: summing units out.

Pure functions on arrays. Units are binary and ordered visible first, hidden
after; the energy is Phi(x) = -1/2 x^T W x - b . x with ``W`` symmetric and
zero on the diagonal (see :mod:`skbm._bm_math`).

What is specific to hidden units is that they are summed out: the model of
the data is P(v) = sum_h exp(-Phi(v, h)) / Z. The sums over h given each row
v, and the clamped statistics sum_n E[x x^T | v_n] of the positive phase,
are :class:`skbm._bm_math.SplitSum` with the visible units clamped: closed
form when the hidden units have no hidden-hidden couplings, an enumeration
of the hidden units outside an independent set otherwise. ln Z and the
moments of the negative phase are those of any Boltzmann machine
(:func:`skbm._bm_math.bm_log_partition`, :func:`skbm._bm_math.bm_moments`).

When hidden units are coupled among themselves and too many to enumerate,
:func:`mean_field_posterior` gives the naive mean-field approximation of
E[h | v].
"""

import numpy as np
from scipy.special import expit

from ._bm_math import SplitSum, coupling_graph, independent_split


def split_sizes(adjacency, n_visible):
    """Numbers of enumerated units for the hidden sum and for ln Z.

    Parameters
    ----------
    adjacency : array-like of shape (n_units, n_units)
        Symmetric boolean adjacency of the machine.
    n_visible : int
        Number of visible units (the first ones).

    Returns
    -------
    hidden_bits : int
        log2 of the terms of ln sum_h exp(-Phi(v, h)) for one row.
    total_bits : int
        log2 of the terms of ln Z.
    """
    adjacency = np.asarray(adjacency, dtype=bool)
    n_units = adjacency.shape[0]
    hidden = independent_split(adjacency, range(n_visible, n_units))[0]
    total = independent_split(adjacency, range(n_units))[0]
    return hidden.shape[0], total.shape[0]


def _hidden_sum(V, coupling, intercept, adjacency):
    n_visible = V.shape[1]
    n_units = np.asarray(intercept).shape[0]
    adjacency = coupling_graph(coupling, adjacency)
    enumerated, summed = independent_split(adjacency, range(n_visible, n_units))
    clamped = np.arange(n_visible)
    return SplitSum(V, coupling, intercept, clamped, enumerated, summed)


def hidden_log_sum(V, coupling, intercept, adjacency=None):
    """ln sum_h exp(-Phi(v, h)) for each row v, exactly.

    In closed form (softplus) when the hidden units have no hidden-hidden
    couplings; otherwise the hidden units outside a greedy independent set
    are enumerated, vectorised over rows.

    Parameters
    ----------
    V : ndarray of shape (n_samples, n_visible)
        Dense visible values; the visible units are the first ``n_visible``.
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal.
    intercept : ndarray of shape (n_units,)
        Intercepts.
    adjacency : ndarray of bool of shape (n_units, n_units), default=None
        Which couplings may be nonzero; ``None`` means ``coupling != 0``.

    Returns
    -------
    log_sum : ndarray of shape (n_samples,)
        The unnormalised log-probability of each row, float64.

    Examples
    --------
    >>> import numpy as np
    >>> from skbm._hbm_math import hidden_log_sum
    >>> W = np.zeros((3, 3))
    >>> hidden_log_sum(np.array([[1.0]]), W, np.array([1.0, 0.0, 0.0]))  # 1 + ln 4
    array([2.38629436])
    """
    return _hidden_sum(V, coupling, intercept, adjacency).log_sum()


def hidden_posterior(V, coupling, intercept, adjacency=None):
    """E[h | v] for each row v, exactly.

    Parameters
    ----------
    V : ndarray of shape (n_samples, n_visible)
        Dense visible values.
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal.
    intercept : ndarray of shape (n_units,)
        Intercepts.
    adjacency : ndarray of bool of shape (n_units, n_units), default=None
        Which couplings may be nonzero; ``None`` means ``coupling != 0``.

    Returns
    -------
    posterior : ndarray of shape (n_samples, n_hidden)
        P(h_j = 1 | v), float64.
    """
    sums = _hidden_sum(V, coupling, intercept, adjacency)
    return sums.statistics()[1][:, V.shape[1] :]


def clamped_statistics(V, coupling, intercept, adjacency=None):
    """Positive-phase statistics with the visible units clamped, exactly.

    Parameters
    ----------
    V : ndarray of shape (n_samples, n_visible)
        Dense visible values.
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal.
    intercept : ndarray of shape (n_units,)
        Intercepts.
    adjacency : ndarray of bool of shape (n_units, n_units), default=None
        Which couplings may be nonzero; ``None`` means ``coupling != 0``.

    Returns
    -------
    mean : ndarray of shape (n_units,)
        1/N sum_n E[x | v_n] with x = (v, h), float64.
    second_moment : ndarray of shape (n_units, n_units)
        1/N sum_n E[x x^T | v_n], float64; its diagonal equals ``mean``.
    """
    weights = np.full(V.shape[0], 1.0 / V.shape[0])
    _, _, mean, second = _hidden_sum(V, coupling, intercept, adjacency).statistics(
        weights
    )
    return mean, second


def mean_field_posterior(V, coupling, intercept, blocks=None, max_iter=100, tol=1e-6):
    """Naive mean-field approximation of E[h | v] (an approximation).

    Iterates mu_B = expit(b_B + v W_vB + mu W_hB) over blocks B of mutually
    uncoupled hidden units in turn (coordinate ascent on the mean-field
    free energy, so it converges to a fixed point, though not necessarily
    the global one), vectorised over rows. Exact when the hidden units have
    no hidden-hidden couplings.

    Parameters
    ----------
    V : ndarray of shape (n_samples, n_visible)
        Dense visible values.
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal.
    intercept : ndarray of shape (n_units,)
        Intercepts.
    blocks : list of ndarray of int, default=None
        Independent sets covering the hidden units, indexed from 0 among the
        hidden units (for example from
        :func:`skbm._bm_math.greedy_coloring`); ``None`` updates one unit at
        a time.
    max_iter : int, default=100
        Maximum number of sweeps.
    tol : float, default=1e-6
        Stop when no mean changes by more than ``tol`` in a sweep.

    Returns
    -------
    posterior : ndarray of shape (n_samples, n_hidden)
        The mean-field means, float64.
    """
    W = np.asarray(coupling, dtype=np.float64)
    b = np.asarray(intercept, dtype=np.float64)
    V = np.asarray(V, dtype=np.float64)
    n_visible = V.shape[1]
    W_hh = W[n_visible:, n_visible:]
    field = V @ W[:n_visible, n_visible:] + b[n_visible:]
    if blocks is None:
        blocks = [np.array([j]) for j in range(W_hh.shape[0])]
    mu = expit(field)
    for _ in range(max_iter):
        change = 0.0
        for block in blocks:
            new = expit(field[:, block] + mu @ W_hh[:, block])
            if new.size:
                change = max(change, float(np.max(np.abs(new - mu[:, block]))))
            mu[:, block] = new
        if change <= tol:
            break
    return mu


def expectation_statistics(X):
    """Mean and second moment of rows of expectations E[x | v_n].

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_units)
        Per-row expectations treated as factorised (mean-field or samples).

    Returns
    -------
    mean : ndarray of shape (n_units,)
        Mean over rows, float64.
    second_moment : ndarray of shape (n_units, n_units)
        X^T X / n_samples with the diagonal set to ``mean``, float64.
    """
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    # A transposed copy: numpy sends X.T @ X to syrk, measured 50 times
    # slower here for (100, 80) chains than a plain product.
    second = np.ascontiguousarray(X.T) @ X / X.shape[0]
    second[np.diag_indices(X.shape[1])] = mean
    return mean, second
