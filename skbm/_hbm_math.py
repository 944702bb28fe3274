"""The family of Boltzmann machines with hidden units: summing units out.

Pure functions on arrays. Units are binary and ordered visible first, hidden
after; the energy is Phi(x) = -1/2 x^T W x - b . x with ``W`` symmetric and
zero on the diagonal (see :mod:`skbm._bm_math`).

What is specific to hidden units is that they are summed out: the model of
the data is P(v) = sum_h exp(-Phi(v, h)) / Z. The sums over h given each row
v, and the clamped statistics sum_n E[x x^T | v_n] of the positive phase,
are :class:`skbm._exact.SplitSum` with the visible units clamped: closed
form when the hidden units have no hidden-hidden couplings, an enumeration
of the hidden units outside an independent set otherwise. ln Z and the
moments of the negative phase are those of any Boltzmann machine
(:func:`skbm._bm_math.bm_log_partition`, :func:`skbm._bm_math.bm_moments`).

When hidden units are coupled among themselves and too many to enumerate,
:func:`mean_field_posterior` gives the naive mean-field approximation of
E[h | v], and :func:`clamped_log_sums` estimates the sums over h by AIS.

:class:`HiddenFamily` is the model-family interface (:mod:`skbm._family`)
of such a machine.
"""

import numpy as np
from scipy.special import expit

from ._ais import AnnealingProblem, per_row_log_partitions
from ._bernoulli_units import BERNOULLI
from ._bm_math import (
    MachineFamily,
    bm_moments,
    dense,
    pack_gradient,
    unpack_parameters,
)
from ._enumeration import MAX_EXACT_BITS
from ._exact import SplitSum
from ._gibbs import independent_draws
from ._graph import (
    cached_coloring,
    coupling_graph,
    greedy_coloring,
    independent_split,
)

# Mean-field sweeps for the AIS base model of the clamped hidden units.
MEAN_FIELD_SWEEPS = 30


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
    return SplitSum(V, coupling, intercept, clamped, enumerated, summed, BERNOULLI)


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
        :func:`skbm._graph.greedy_coloring`); ``None`` updates one unit at
        a time.
    max_iter : int, default=100
        Maximum number of sweeps.
    tol : float, default=1e-6
        A row stops when none of its means changes by more than ``tol`` in a
        sweep.

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
    # Each row stops on its own change, so that its result does not depend
    # on the other rows passed with it.
    active = np.arange(mu.shape[0])
    for _ in range(max_iter):
        if not active.size:
            break
        rows, row_field = mu[active], field[active]
        change = np.zeros(active.shape[0])
        for block in blocks:
            new = expit(row_field[:, block] + rows @ W_hh[:, block])
            if new.size:
                np.maximum(change, np.abs(new - rows[:, block]).max(axis=1), out=change)
            rows[:, block] = new
        mu[active] = rows
        active = active[change > tol]
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


def clamped_log_sums(V, coupling, intercept, n_runs, betas, seed, n_jobs=None):
    """AIS estimates of ln sum_h exp(-Phi(v, h)) for each row v.

    With v clamped, the hidden units form a Boltzmann machine with couplings
    W_hh and intercepts b_h + v W_vh; its log partition function is
    estimated by forward AIS (:func:`skbm._ais.per_row_log_partitions`) from
    a base of independent hidden units at the row's naive mean-field
    posterior, vectorised over rows. Each row draws from its own stream,
    seeded by its content, so a row's estimate does not depend on the other
    rows passed or on their order, and equal rows get equal estimates (the
    estimator passes each distinct row once).

    The cost is that of ``n_runs`` AIS runs of ``len(betas)`` steps per
    row: O(n_rows * n_runs * n_betas * n_hidden * n_units)
    operations. The estimate of ln sum_h is a stochastic lower bound, like
    forward AIS of ln Z.

    Parameters
    ----------
    V : ndarray of shape (n_samples, n_visible)
        Dense visible values; the visible units are the first ``n_visible``.
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal.
    intercept : ndarray of shape (n_units,)
        Intercepts.
    n_runs : int
        AIS runs per row.
    betas : ndarray of shape (n_betas,)
        Increasing inverse temperatures from 0 to 1.
    seed : int
        Seed combined with each row's content.
    n_jobs : int, default=None
        joblib workers over batches of rows.

    Returns
    -------
    log_sum : ndarray of shape (n_samples,)
        Estimates of the unnormalised log-probability of each row, float64.
    """
    W = np.asarray(coupling, dtype=np.float64)
    b = np.asarray(intercept, dtype=np.float64)
    # + 0.0 turns -0.0 into 0.0, so equal values hash equally.
    rows = np.asarray(V, dtype=np.float64) + 0.0
    n_visible = rows.shape[1]
    W_vv, W_vh = W[:n_visible, :n_visible], W[:n_visible, n_visible:]
    W_hh, b_h = W[n_visible:, n_visible:], b[n_visible:]
    # Row by row (einsum): a matrix-vector product rows @ b can round the
    # same row differently with the number of rows.
    visible_part = np.einsum("ij,ij->i", rows, 0.5 * (rows @ W_vv) + b[:n_visible])
    adjacency = W_hh != 0
    K, R = independent_split(adjacency, range(b_h.shape[0]))
    field = rows @ W_vh + b_h
    # A fixed number of sweeps (tol=0): a shared stopping rule would make a
    # row's base depend on the other rows.
    posterior = mean_field_posterior(
        rows,
        W,
        b,
        blocks=greedy_coloring(adjacency),
        max_iter=MEAN_FIELD_SWEEPS,
        tol=0.0,
    )
    base = BERNOULLI.base_field(posterior)
    problem = AnnealingProblem(
        W_KK=W_hh[np.ix_(K, K)],
        W_KR=W_hh[np.ix_(K, R)],
        b_K=field[:, K],
        b_R=field[:, R],
        a_K=base[:, K],
        a_R=base[:, R],
        blocks=tuple(greedy_coloring(adjacency[np.ix_(K, K)])),
        units_K=BERNOULLI,
        units_R=BERNOULLI,
    )
    log_z = per_row_log_partitions(problem, rows, n_runs, betas, seed, n_jobs)
    return log_z + visible_part


def exact_objective(theta, V, row_weights, adjacency, alpha):
    """Mean negative log-likelihood of visible rows and its gradient, exact.

    The objective of the machine's L-BFGS solver,

        -sum_n w_n ln P(v_n) + alpha / 2 sum_{i<j} w_ij^2
        = ln Z - sum_n w_n ln sum_h exp(-Phi(v_n, h)) + penalty,

    with ``row_weights`` w_n summing to 1. Its gradient is the model
    statistic minus the clamped data statistic, E[x x^T] -
    sum_n w_n E[x x^T | v_n] for the couplings (plus ``alpha * w``) and the
    same with E[x] for the intercepts; both by enumeration
    (:class:`skbm._exact.SplitSum`).

    Parameters
    ----------
    theta : ndarray
        Flat parameters: the couplings of the pairs of ``adjacency`` above
        the diagonal, then the intercepts (see
        :func:`skbm._bm_math.pack_parameters`).
    V : ndarray of shape (n_rows, n_visible)
        Visible rows, float64; the visible units are the first ``n_visible``.
    row_weights : ndarray of shape (n_rows,)
        Weight of each row, summing to 1 (for example the frequencies of
        distinct rows).
    adjacency : ndarray of bool of shape (n_units, n_units)
        Which pairs are coupled (symmetric, zero diagonal).
    alpha : float
        L2 penalty on the couplings.

    Returns
    -------
    loss : float
        The penalised mean negative log-likelihood.
    grad : ndarray
        Its gradient with respect to ``theta``.
    """
    n_units = adjacency.shape[0]
    pairs = np.nonzero(np.triu(adjacency, 1))
    coupling, intercept = unpack_parameters(theta, n_units, pairs)
    sums = _hidden_sum(V, coupling, intercept, adjacency)
    log_sums, _, data_mean, data_second = sums.statistics(row_weights)
    log_z, model_mean, model_second = bm_moments(coupling, intercept, adjacency)
    weights = theta[: pairs[0].shape[0]]
    loss = log_z - row_weights @ log_sums + 0.5 * alpha * weights @ weights
    grad = pack_gradient(model_second - data_second, model_mean - data_mean, pairs)
    grad[: weights.shape[0]] += alpha * weights
    return float(loss), grad


class HiddenFamily(MachineFamily):
    """The Boltzmann machine with hidden units, as a model family.

    The visible units are the first ``n_visible``; the hidden units are
    summed out of every probability of the data.

    Parameters
    ----------
    coupling, intercept, base_field, adjacency, units
        As for :class:`skbm._bm_math.MachineFamily`.
    n_visible : int
        Number of visible units.
    exact_posterior : bool, default=True
        Whether the data statistics use the exact E[x x^T | v] (enumerating
        the hidden units) or the mean-field approximation.
    clamped_ais : tuple or None, default=None
        ``(n_runs, betas, seed, n_jobs)`` to estimate the sums over h of
        :meth:`unnormalized_log_proba` by AIS (:func:`clamped_log_sums`);
        ``None`` sums exactly.
    """

    def __init__(
        self,
        coupling,
        intercept,
        base_field,
        n_visible,
        adjacency=None,
        exact_posterior=True,
        clamped_ais=None,
        units=BERNOULLI,
    ):
        super().__init__(coupling, intercept, base_field, adjacency, units)
        self.n_visible = n_visible
        self.exact_posterior = exact_posterior
        self.clamped_ais = clamped_ais

    def split_sizes(self):
        """See :func:`split_sizes`, for this machine's coupling graph."""
        graph = coupling_graph(self.coupling, self.adjacency)
        return split_sizes(graph, self.n_visible)

    def unnormalized_log_proba(self, X):
        # Each distinct row once: summing the hidden units out (by
        # enumeration or by AIS) costs far more per row than finding the
        # repeats, which binary data have many of. + 0.0 turns -0.0 into 0.0.
        rows, inverse = np.unique(dense(X) + 0.0, axis=0, return_inverse=True)
        if self.clamped_ais is not None:
            log_sum = clamped_log_sums(
                rows, self.coupling, self.intercept, *self.clamped_ais
            )
        else:
            log_sum = hidden_log_sum(rows, self.coupling, self.intercept)
        return log_sum[np.ravel(inverse)]

    def enumeration_bits(self):
        return self.split_sizes()[1]

    def row_width(self):
        n_units = self.coupling.shape[0]
        if self.clamped_ais is not None:
            return n_units * self.clamped_ais[0]
        return n_units << min(self.split_sizes()[0], MAX_EXACT_BITS)

    def start_chains(self, n_chains, rng):
        # Visible units first, then hidden units: one group each.
        groups = [
            (self.units, self.base_field[: self.n_visible]),
            (self.units, self.base_field[self.n_visible :]),
        ]
        return independent_draws(groups, n_chains, rng, self.dtype)

    def hidden_blocks(self):
        """Colour classes of the hidden-hidden graph (mean field)."""
        n_visible = self.n_visible
        if self.coupling.shape[0] == n_visible:
            return []
        graph = coupling_graph(self.coupling, self.adjacency)
        return cached_coloring(graph[n_visible:, n_visible:])

    def posterior(self, V):
        """E[h | v] of each row: exact or mean field, as ``exact_posterior``."""
        V = dense(V)
        if self.exact_posterior:
            return hidden_posterior(V, self.coupling, self.intercept)
        return mean_field_posterior(
            V, self.coupling, self.intercept, blocks=self.hidden_blocks()
        )

    def data_statistics(self, X):
        V = dense(X).astype(np.float64, copy=False)
        if self.exact_posterior:
            mean, second = clamped_statistics(
                V, self.coupling, self.intercept, self.adjacency
            )
        else:
            mu = mean_field_posterior(
                V, self.coupling, self.intercept, blocks=self.hidden_blocks()
            )
            mean, second = expectation_statistics(np.hstack([V, mu]))
        return {"coupling_": second, "intercept_": mean}

    def chain_statistics(self, chains):
        mean, second = expectation_statistics(chains)
        return {"coupling_": second, "intercept_": mean}
