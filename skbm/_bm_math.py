"""Math core of the general (fully visible or hidden-unit) Boltzmann machine.

Pure functions on arrays. Units are binary, x in {0, 1}^n, the energy is

    Phi(x) = -1/2 x^T W x - b . x,

with ``W`` symmetric and zero on the diagonal, and P(x) = exp(-Phi(x)) / Z.
Everything that can overflow is computed in log space (``logsumexp``,
``expit``, ``log_expit``) and in float64 whatever the dtype of the data.

Every exact sum over states has one shape (:class:`SplitSum`). Some units
are *clamped* (given, one configuration per row), the others are *free*. The
free units are split into a set R of units with no couplings among
themselves and the rest K. Given the clamped units and a state of K, the
units of R are conditionally independent, so they are summed in closed
form::

    sum_{x_R} exp(-Phi) = exp(-Phi(x_c, x_K, 0)) prod_{j in R} (1 + exp(f_j)),

with f_j the field on unit j, and only the 2**|K| states of K are
enumerated, block by block so that memory stays bounded. With nothing
clamped this gives ln Z and the exact moments E[x x^T] (a fully connected
machine enumerates 2**(n - 1) states, a bipartite one only its smaller
side); with the visible units clamped it gives the sums over hidden units of
:mod:`skbm._hbm_math`.

The objectives for L-BFGS take a flat parameter vector ``theta``: the
couplings above the diagonal (``np.triu_indices(n, 1)`` order) followed by
the intercepts; :func:`pack_parameters` and :func:`unpack_parameters` convert.
"""

import numpy as np
from scipy.special import expit, logsumexp

from ._enumeration import binary_states, draw_states, map_blocks, state_blocks
from ._rbm_math import softplus


def _as_float64(coupling, intercept):
    return (
        np.asarray(coupling, dtype=np.float64),
        np.asarray(intercept, dtype=np.float64),
    )


def bm_energy(X, coupling, intercept):
    """Energy Phi(x) = -1/2 x^T W x - b . x of each row of ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_units)
        Unit values, dense, float32 or float64.
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings ``W`` with a zero diagonal.
    intercept : ndarray of shape (n_units,)
        Intercepts ``b``.

    Returns
    -------
    energy : ndarray of shape (n_samples,)
        Phi of each row, float64.

    Examples
    --------
    >>> import numpy as np
    >>> from skbm._bm_math import bm_energy
    >>> W = np.array([[0.0, 2.0], [2.0, 0.0]])
    >>> bm_energy(np.array([[1.0, 1.0], [1.0, 0.0]]), W, np.array([0.5, -1.0]))
    array([-1.5, -0.5])
    """
    coupling, intercept = _as_float64(coupling, intercept)
    X = np.asarray(X, dtype=np.float64)
    return -0.5 * np.einsum("ij,ij->i", X @ coupling, X) - X @ intercept


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
    >>> from skbm._bm_math import independent_split
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


def coupling_graph(coupling, adjacency=None):
    """The adjacency of the machine: ``adjacency`` as bool, or ``coupling != 0``."""
    if adjacency is None:
        return np.asarray(coupling) != 0
    return np.asarray(adjacency, dtype=bool)


class SplitSum:
    """Sums over the free units given clamped ones, in memory-bounded blocks.

    The engine of every exact sum over states (see the module docstring).

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


def _free_sum(coupling, intercept, adjacency):
    n_units = np.asarray(intercept).shape[0]
    adjacency = coupling_graph(coupling, adjacency)
    enumerated, summed = independent_split(adjacency, range(n_units))
    empty = np.zeros((1, 0))
    return SplitSum(empty, coupling, intercept, np.arange(0), enumerated, summed)


def bm_log_partition(coupling, intercept, adjacency=None, n_jobs=None):
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
    >>> from skbm._bm_math import bm_log_partition
    >>> round(bm_log_partition(np.zeros((3, 3)), np.zeros(3)), 6)  # ln 8
    2.079442
    """
    return float(_free_sum(coupling, intercept, adjacency).log_sum(n_jobs)[0])


def bm_moments(coupling, intercept, adjacency=None):
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


def bm_exact_sample(
    coupling, intercept, n_samples, rng, adjacency=None, dtype=np.float64
):
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
    dtype : dtype, default=np.float64
        Dtype of the returned draws.

    Returns
    -------
    X : ndarray of shape (n_samples, n_units)
        Binary draws.
    """
    sums = _free_sum(coupling, intercept, adjacency)
    log_weights = np.concatenate([sums.block(*b)[0][0] for b in sums.bounds])
    states = draw_states(log_weights, n_samples, rng)
    field = sums.field_r + states @ sums.W_kr
    X = np.empty((n_samples, sums.n_units), dtype=dtype)
    X[:, sums.enumerated] = states
    X[:, sums.summed] = rng.random(field.shape) < expit(field)
    return X


def bm_conditionals(X, coupling, intercept):
    """P(x_i = 1 | all other units) for each row and unit.

    With a zero diagonal the field on unit i does not involve x_i, so the
    conditional is ``expit(X @ W + b)``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_units)
        Unit values, dense.
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal.
    intercept : ndarray of shape (n_units,)
        Intercepts.

    Returns
    -------
    proba : ndarray of shape (n_samples, n_units)
        Conditional probabilities, in the dtype of ``X`` when it is floating,
        float64 otherwise.
    """
    X = np.asarray(X)
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    field = X.astype(np.float64, copy=False) @ np.asarray(coupling, np.float64)
    field += np.asarray(intercept, np.float64)
    return expit(field).astype(dtype, copy=False)


def greedy_coloring(adjacency):
    """Partition units into independent sets of a graph (greedy colouring).

    Units are coloured in order of decreasing degree, each with the smallest
    colour none of its neighbours has. Units of one colour are conditionally
    independent given the rest, so they can be resampled in one block.

    Parameters
    ----------
    adjacency : array-like of shape (n_units, n_units)
        Symmetric boolean adjacency; the diagonal is ignored.

    Returns
    -------
    blocks : list of ndarray of int
        Disjoint, sorted index arrays covering all units.

    Examples
    --------
    >>> import numpy as np
    >>> from skbm._bm_math import greedy_coloring
    >>> chain = np.eye(4, k=1, dtype=bool) | np.eye(4, k=-1, dtype=bool)
    >>> [block.tolist() for block in greedy_coloring(chain)]
    [[1, 3], [0, 2]]
    """
    adjacency = np.asarray(adjacency, dtype=bool)
    n_units = adjacency.shape[0]
    adjacency = adjacency & ~np.eye(n_units, dtype=bool)
    neighbours = [np.flatnonzero(row) for row in adjacency]
    order = np.argsort(-adjacency.sum(axis=1), kind="stable")
    colors = np.full(n_units, -1)
    for unit in order:
        taken = set(colors[neighbours[unit]].tolist())
        color = 0
        while color in taken:
            color += 1
        colors[unit] = color
    return [np.flatnonzero(colors == color) for color in range(colors.max() + 1)]


def gibbs_sweeps(
    states, coupling, intercept, n_sweeps, rng, blocks, free=None, beta=1.0
):
    """Block Gibbs sampling, vectorised over chains.

    One sweep resamples each block in turn from its exact conditional,
    x_B ~ Bernoulli(expit(beta * (x @ W[:, B] + b_B))).

    Parameters
    ----------
    states : ndarray of shape (n_chains, n_units)
        Current states, float32 or float64. Not modified.
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal.
    intercept : ndarray of shape (n_units,)
        Intercepts.
    n_sweeps : int
        Number of sweeps.
    rng : numpy.random.Generator
        Source of randomness; uniforms are drawn in the dtype of ``states``.
    blocks : list of ndarray of int
        Independent sets covering the units to update, for example from
        :func:`greedy_coloring`.
    free : ndarray of bool of shape (n_units,), default=None
        Units allowed to change; the others stay clamped. ``None`` means all.
    beta : float, default=1.0
        Inverse temperature multiplying ``W`` and ``b``.

    Returns
    -------
    states : ndarray of shape (n_chains, n_units)
        New states, in the dtype of the input.
    """
    dtype = states.dtype if states.dtype in (np.float32, np.float64) else np.float64
    states = np.array(states, dtype=dtype)
    coupling = np.asarray(coupling, dtype=dtype) * dtype.type(beta)
    intercept = np.asarray(intercept, dtype=dtype) * dtype.type(beta)
    if free is not None:
        free = np.asarray(free, dtype=bool)
        blocks = [block[free[block]] for block in blocks]
    blocks = [np.asarray(block) for block in blocks if len(block)]
    columns = [np.ascontiguousarray(coupling[:, block]) for block in blocks]
    n_chains = states.shape[0]
    for _ in range(n_sweeps):
        for block, weights in zip(blocks, columns, strict=True):
            proba = expit(states @ weights + intercept[block])
            draws = rng.random((n_chains, block.shape[0]), dtype=dtype) < proba
            states[:, block] = draws
    return states


# ----------------------------------------------------------------------
# Objectives for L-BFGS
# ----------------------------------------------------------------------
def pack_parameters(coupling, intercept):
    """Flatten ``(W, b)`` into ``theta``: upper-triangle couplings, then b.

    Parameters
    ----------
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings.
    intercept : ndarray of shape (n_units,)
        Intercepts.

    Returns
    -------
    theta : ndarray of shape (n_units * (n_units - 1) // 2 + n_units,)
        Flat float64 parameter vector.
    """
    coupling, intercept = _as_float64(coupling, intercept)
    upper = np.triu_indices(intercept.shape[0], 1)
    return np.concatenate([coupling[upper], intercept])


def unpack_parameters(theta, n_units):
    """Inverse of :func:`pack_parameters`.

    Parameters
    ----------
    theta : ndarray
        Flat parameter vector.
    n_units : int
        Number of units.

    Returns
    -------
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal, float64.
    intercept : ndarray of shape (n_units,)
        Intercepts, float64.
    """
    n_pairs = n_units * (n_units - 1) // 2
    coupling = np.zeros((n_units, n_units))
    upper = np.triu_indices(n_units, 1)
    coupling[upper] = theta[:n_pairs]
    coupling += coupling.T
    return coupling, np.array(theta[n_pairs:], dtype=np.float64)


def _pack_gradient(grad_coupling, grad_intercept):
    upper = np.triu_indices(grad_intercept.shape[0], 1)
    return np.concatenate([grad_coupling[upper], grad_intercept])


def data_statistics(X):
    """Sufficient statistics of the data: mean of x and of x x^T.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_units)
        Unit values.

    Returns
    -------
    mean : ndarray of shape (n_units,)
        Column means, float64.
    second_moment : ndarray of shape (n_units, n_units)
        ``X^T X / n_samples``, float64.
    """
    n_samples = X.shape[0]
    X = X.astype(np.float64)
    mean = np.asarray(X.sum(axis=0)).ravel() / n_samples
    second = X.T @ X
    second = second.toarray() if hasattr(second, "toarray") else np.asarray(second)
    return mean, second / n_samples


def exact_objective(theta, data_mean, data_second, alpha):
    """Mean negative log-likelihood and its gradient, exact by enumeration.

    The objective is

        -1/N sum_n ln P(x_n) + alpha / 2 sum_{i<j} w_ij^2
        = ln Z - sum_{i<j} w_ij <x_i x_j>_data - b . <x>_data + penalty,

    and its gradient is the model statistic minus the data statistic (plus
    ``alpha * w`` for the couplings). It depends on the data only through
    their sufficient statistics.

    Parameters
    ----------
    theta : ndarray
        Flat parameters, see :func:`pack_parameters`.
    data_mean : ndarray of shape (n_units,)
        Mean of the data.
    data_second : ndarray of shape (n_units, n_units)
        Mean of x x^T over the data.
    alpha : float
        L2 penalty on the couplings.

    Returns
    -------
    loss : float
        The penalised mean negative log-likelihood.
    grad : ndarray
        Its gradient with respect to ``theta``.
    """
    n_units = data_mean.shape[0]
    coupling, intercept = unpack_parameters(theta, n_units)
    log_z, model_mean, model_second = bm_moments(coupling, intercept)
    n_pairs = n_units * (n_units - 1) // 2
    weights = theta[:n_pairs]
    loss = (
        log_z
        - 0.5 * np.sum(coupling * data_second)
        - intercept @ data_mean
        + 0.5 * alpha * weights @ weights
    )
    grad = _pack_gradient(model_second - data_second, model_mean - data_mean)
    grad[:n_pairs] += alpha * weights
    return float(loss), grad


def pseudolikelihood_gradients(X, coupling, intercept, sample_weight=None):
    """Mean log pseudo-likelihood of the rows and its gradient.

    ln PL(x) = sum_i ln P(x_i | x_rest) = sum_i x_i a_i - softplus(a_i),
    with the field a = x W + b. For values in [0, 1] this is the expected
    log conditional likelihood of a unit that is 1 with that probability.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_units)
        Dense unit values.
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal.
    intercept : ndarray of shape (n_units,)
        Intercepts.
    sample_weight : ndarray of shape (n_samples,), default=None
        Non-negative row weights summing to 1 (for example the frequencies
        of distinct rows); ``None`` weighs the rows equally.

    Returns
    -------
    log_pl : float
        Weighted mean over rows of ln PL(x), float64.
    grad_coupling : ndarray of shape (n_units, n_units)
        Its gradient with respect to the symmetric couplings (zero diagonal).
    grad_intercept : ndarray of shape (n_units,)
        Its gradient with respect to the intercepts.
    """
    coupling, intercept = _as_float64(coupling, intercept)
    X = np.asarray(X, dtype=np.float64)
    if sample_weight is None:
        sample_weight = np.full(X.shape[0], 1.0 / X.shape[0])
    field = X @ coupling + intercept
    log_pl = sample_weight @ np.sum(X * field - softplus(field), axis=1)
    residual = (X - expit(field)) * sample_weight[:, None]
    # w_ij enters the fields of both i (times x_j) and j (times x_i).
    cross = X.T @ residual
    grad_coupling = cross + cross.T
    np.fill_diagonal(grad_coupling, 0.0)
    return float(log_pl), grad_coupling, residual.sum(axis=0)


def pseudolikelihood_objective(theta, X, alpha, sample_weight=None):
    """Mean negative log pseudo-likelihood and its gradient, for L-BFGS.

    The objective is -1/N sum_n sum_i ln P(x_i^n | x_rest^n) +
    alpha / 2 sum_{i<j} w_ij^2, concave in the parameters when negated.

    Parameters
    ----------
    theta : ndarray
        Flat parameters, see :func:`pack_parameters`.
    X : ndarray of shape (n_samples, n_units)
        Dense unit values.
    alpha : float
        L2 penalty on the couplings.
    sample_weight : ndarray of shape (n_samples,), default=None
        Row weights summing to 1; ``None`` weighs the rows equally.

    Returns
    -------
    loss : float
        The penalised mean negative log pseudo-likelihood.
    grad : ndarray
        Its gradient with respect to ``theta``.
    """
    n_units = X.shape[1]
    coupling, intercept = unpack_parameters(theta, n_units)
    log_pl, grad_coupling, grad_intercept = pseudolikelihood_gradients(
        X, coupling, intercept, sample_weight
    )
    n_pairs = n_units * (n_units - 1) // 2
    weights = theta[:n_pairs]
    loss = -log_pl + 0.5 * alpha * weights @ weights
    grad = -_pack_gradient(grad_coupling, grad_intercept)
    grad[:n_pairs] += alpha * weights
    return float(loss), grad
