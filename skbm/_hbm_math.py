"""Math core of Boltzmann machines with hidden units: summing units out.

Pure functions on arrays. Units are binary and ordered visible first, hidden
after; the energy is Phi(x) = -1/2 x^T W x - b . x with ``W`` symmetric and
zero on the diagonal (see :mod:`skbm._bm_math`).

What is specific to hidden units is that they are summed out: the model of
the data is P(v) = sum_h exp(-Phi(v, h)) / Z. Every exact sum here has the
same shape. Some units are *clamped* (given, one configuration per row), the
others are *free*. The free units are split into a set R of units with no
couplings among themselves and the rest K. Given the clamped units and a
state of K, the units of R are conditionally independent, so they are summed
in closed form::

    sum_{x_R} exp(-Phi) = exp(-Phi(x_c, x_K, 0)) prod_{j in R} (1 + exp(f_j)),

with f_j the field on unit j, and only the 2**|K| states of K are enumerated,
block by block so that memory stays bounded. With the visible units clamped
this gives ln sum_h exp(-Phi(v, h)) (closed form when the hidden units have
no hidden-hidden couplings: K is empty); with nothing clamped it gives ln Z
(an RBM enumerates only one layer). The same pass yields the clamped
statistics sum_n E[x x^T | v_n] of the positive phase and, with nothing
clamped, the exact moments E[x x^T] of the negative phase.

When hidden units are coupled among themselves and too many to enumerate,
:func:`mean_field_posterior` gives the naive mean-field approximation of
E[h | v].
"""

import numpy as np
from scipy.special import expit, logsumexp

from ._enumeration import binary_states, map_blocks, state_blocks
from ._rbm_math import softplus


def independent_split(adjacency, free):
    """Split free units into enumerated ones and mutually uncoupled ones.

    A maximal independent set R of the graph restricted to ``free`` is grown
    greedily, units of smallest degree first (ties by index); the other free
    units form K. Summing over R is then in closed form and only the
    2**|K| states of K are enumerated.

    Parameters
    ----------
    adjacency : array-like of shape (n_units, n_units)
        Symmetric boolean adjacency (for example ``coupling != 0``); the
        diagonal is ignored.
    free : array-like of int
        Indices of the free units.

    Returns
    -------
    enumerated : ndarray of int
        The units K, sorted.
    summed : ndarray of int
        The units R, sorted, with no edges among them.

    Examples
    --------
    >>> import numpy as np
    >>> from skbm._hbm_math import independent_split
    >>> bipartite = np.zeros((5, 5), dtype=bool)
    >>> bipartite[:2, 2:] = bipartite[2:, :2] = True
    >>> [part.tolist() for part in independent_split(bipartite, range(5))]
    [[0, 1], [2, 3, 4]]
    """
    free = np.asarray(list(free), dtype=np.intp)
    adjacency = np.asarray(adjacency, dtype=bool)[np.ix_(free, free)]
    adjacency = adjacency & ~np.eye(free.shape[0], dtype=bool)
    order = np.argsort(adjacency.sum(axis=1), kind="stable")
    chosen = np.zeros(free.shape[0], dtype=bool)
    blocked = np.zeros(free.shape[0], dtype=bool)
    for unit in order:
        if not blocked[unit]:
            chosen[unit] = True
            blocked |= adjacency[unit]
    return free[~chosen], free[chosen]


def _adjacency(coupling, adjacency):
    if adjacency is None:
        return np.asarray(coupling) != 0
    return np.asarray(adjacency, dtype=bool)


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


class _SumOut:
    """Sums over the free units given clamped ones, in memory-bounded blocks.

    The clamped units take the values of a row of ``V``; the units of
    ``summed`` (no couplings among them) are summed in closed form and the
    states of ``enumerated`` are enumerated block by block.
    """

    def __init__(self, V, coupling, intercept, clamped, enumerated, summed):
        W = np.asarray(coupling, dtype=np.float64)
        b = np.asarray(intercept, dtype=np.float64)
        V = np.asarray(V, dtype=np.float64)
        c, k, r = clamped, enumerated, summed
        self.V, self.n_units = V, b.shape[0]
        self.clamped, self.enumerated, self.summed = c, k, r
        self.base = 0.5 * np.einsum("ij,ij->i", V @ W[np.ix_(c, c)], V) + V @ b[c]
        self.field_k = V @ W[np.ix_(c, k)] + b[k]
        self.field_r = V @ W[np.ix_(c, r)] + b[r]
        self.W_kk = W[np.ix_(k, k)]
        self.W_kr = W[np.ix_(k, r)]
        # Widest per-state array: the (rows, states, units) expectations.
        width = V.shape[0] * max(self.n_units, 1)
        self.bounds = list(state_blocks(k.shape[0], width))

    def block(self, start, stop):
        """Log weights (n_rows, n_states), the states of K, fields on R."""
        states = binary_states(start, stop, self.enumerated.shape[0])
        logits = self.base[:, None] + self.field_k @ states.T
        logits += 0.5 * np.einsum("ij,ij->i", states @ self.W_kk, states)
        field = self.field_r[:, None, :] + (states @ self.W_kr)[None, :, :]
        logits += softplus(field).sum(axis=2)
        return logits, states, field

    def log_sum(self, n_jobs=None):
        """ln of the sum over the free units, for each row, float64.

        The blocks run on ``n_jobs`` joblib threads; the result is the same
        for any value.
        """
        sums = map_blocks(
            lambda start, stop: logsumexp(self.block(start, stop)[0], axis=1),
            self.bounds,
            n_jobs,
        )
        return logsumexp(np.stack(sums, axis=1), axis=1)

    def statistics(self, weights=None):
        """Exact conditional expectations given each row.

        Returns ``(log_sum, expectation, mean, second)``: ln of the sum per
        row; E[x | row] (n_rows, n_units); and, when ``weights`` is given,
        sum_n w_n E[x | row n] and sum_n w_n E[x x^T | row n].
        """
        n_rows, n_units = self.V.shape[0], self.n_units
        single = len(self.bounds) == 1
        first = self.block(*self.bounds[0]) if single else None
        log_sum = logsumexp(first[0], axis=1) if single else self.log_sum()
        expectation = np.zeros((n_rows, n_units))
        mean = np.zeros(n_units)
        second = np.zeros((n_units, n_units))
        for bounds in self.bounds:
            logits, states, field = first if single else self.block(*bounds)
            proba = np.exp(logits - log_sum[:, None])
            # E[x | row, state of K]: clamped values, the state, expit(field).
            units = np.empty((n_rows, states.shape[0], n_units))
            units[:, :, self.clamped] = self.V[:, None, :]
            units[:, :, self.enumerated] = states[None, :, :]
            units[:, :, self.summed] = expit(field)
            expectation += np.einsum("ms,msu->mu", proba, units)
            if weights is not None:
                flat = units.reshape(-1, n_units)
                weighted = (proba * weights[:, None]).reshape(-1, 1)
                mean += (flat * weighted).sum(axis=0)
                second += (flat * weighted).T @ flat
        if weights is not None:
            # E[x_i^2] = E[x_i] for binary units (the coupling diagonal is
            # zero, so the diagonal never enters a gradient).
            second[np.diag_indices(n_units)] = mean
        return log_sum, expectation, mean, second


def _hidden_sum(V, coupling, intercept, adjacency):
    n_visible = V.shape[1]
    n_units = np.asarray(intercept).shape[0]
    adjacency = _adjacency(coupling, adjacency)
    enumerated, summed = independent_split(adjacency, range(n_visible, n_units))
    clamped = np.arange(n_visible)
    return _SumOut(V, coupling, intercept, clamped, enumerated, summed)


def _free_sum(coupling, intercept, adjacency):
    n_units = np.asarray(intercept).shape[0]
    adjacency = _adjacency(coupling, adjacency)
    enumerated, summed = independent_split(adjacency, range(n_units))
    empty = np.zeros((1, 0))
    return _SumOut(empty, coupling, intercept, np.arange(0), enumerated, summed)


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


def hbm_log_partition(coupling, intercept, adjacency=None, n_jobs=None):
    """Exact ln Z, enumerating all units but a greedy independent set.

    The units of the independent set are summed in closed form, so a
    restricted machine enumerates only its smaller layer; a fully connected
    one enumerates 2**(n_units - 1) states.

    Parameters
    ----------
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal.
    intercept : ndarray of shape (n_units,)
        Intercepts.
    adjacency : ndarray of bool of shape (n_units, n_units), default=None
        Which couplings may be nonzero; ``None`` means ``coupling != 0``.
    n_jobs : int, default=None
        joblib threads over the enumeration blocks; the result is the same
        for any value.

    Returns
    -------
    log_z : float
        ln sum_x exp(-Phi(x)).

    Examples
    --------
    >>> import numpy as np
    >>> from skbm._hbm_math import hbm_log_partition
    >>> round(hbm_log_partition(np.zeros((3, 3)), np.zeros(3)), 6)  # ln 8
    2.079442
    """
    return float(_free_sum(coupling, intercept, adjacency).log_sum(n_jobs)[0])


def hbm_moments(coupling, intercept, adjacency=None):
    """Exact ln Z, E[x] and E[x x^T] (the negative phase), by enumeration.

    Parameters
    ----------
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal.
    intercept : ndarray of shape (n_units,)
        Intercepts.
    adjacency : ndarray of bool of shape (n_units, n_units), default=None
        Which couplings may be nonzero; ``None`` means ``coupling != 0``.

    Returns
    -------
    log_z : float
        ln Z.
    mean : ndarray of shape (n_units,)
        E[x], float64.
    second_moment : ndarray of shape (n_units, n_units)
        E[x x^T], float64; its diagonal equals ``mean``.
    """
    sums = _free_sum(coupling, intercept, adjacency)
    log_sum, _, mean, second = sums.statistics(np.ones(1))
    return float(log_sum[0]), mean, second


def hbm_exact_sample(coupling, intercept, n_samples, rng, adjacency=None):
    """Independent exact draws of all units from P(x).

    The enumerated units are drawn from their exact marginal, then the
    units of the independent set from their conditionals given them.

    Parameters
    ----------
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal.
    intercept : ndarray of shape (n_units,)
        Intercepts.
    n_samples : int
        Number of draws.
    rng : numpy.random.Generator
        Source of randomness.
    adjacency : ndarray of bool of shape (n_units, n_units), default=None
        Which couplings may be nonzero; ``None`` means ``coupling != 0``.

    Returns
    -------
    X : ndarray of shape (n_samples, n_units)
        Binary draws, float64.
    """
    sums = _free_sum(coupling, intercept, adjacency)
    logits = np.concatenate([sums.block(*b)[0][0] for b in sums.bounds])
    cumulative = np.cumsum(np.exp(logits - logits.max()))
    codes = np.searchsorted(cumulative, rng.random(n_samples) * cumulative[-1], "right")
    codes = np.minimum(codes, logits.shape[0] - 1)
    n_enumerated = sums.enumerated.shape[0]
    states = ((codes[:, None] >> np.arange(n_enumerated, dtype=np.int64)) & 1).astype(
        np.float64
    )
    field = sums.field_r + states @ sums.W_kr
    X = np.empty((n_samples, sums.n_units))
    X[:, sums.enumerated] = states
    X[:, sums.summed] = rng.random(field.shape) < expit(field)
    return X


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
