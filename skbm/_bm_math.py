"""Math core of the general (fully visible or hidden-unit) Boltzmann machine.

Pure functions on arrays. Units are binary, x in {0, 1}^n, the energy is

    Phi(x) = -1/2 x^T W x - b . x,

with ``W`` symmetric and zero on the diagonal, and P(x) = exp(-Phi(x)) / Z.
Everything that can overflow is computed in log space (``logsumexp``,
``expit``, ``log_expit``) and in float64 whatever the dtype of the data.

The objectives for L-BFGS take a flat parameter vector ``theta``: the
couplings above the diagonal (``np.triu_indices(n, 1)`` order) followed by
the intercepts; :func:`pack_parameters` and :func:`unpack_parameters` convert.
"""

import numpy as np
from scipy.special import expit, logsumexp

from ._enumeration import RescaledSums, binary_states, map_blocks, state_blocks
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


def _block_logits(start, stop, coupling, intercept):
    """States with codes in [start, stop) and their -Phi, float64."""
    states = binary_states(start, stop, intercept.shape[0])
    return states, -bm_energy(states, coupling, intercept)


def bm_log_partition(coupling, intercept, n_jobs=None):
    """Exact ln Z by enumerating all 2^n states in memory-bounded blocks.

    Parameters
    ----------
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal.
    intercept : ndarray of shape (n_units,)
        Intercepts.
    n_jobs : int, default=None
        joblib threads over the blocks; the result is the same for any value.

    Returns
    -------
    log_z : float
        ln sum_x exp(-Phi(x)), in float64.

    Examples
    --------
    >>> import numpy as np
    >>> from skbm._bm_math import bm_log_partition
    >>> round(bm_log_partition(np.zeros((3, 3)), np.zeros(3)), 6)  # ln 8
    2.079442
    """
    coupling, intercept = _as_float64(coupling, intercept)
    n_units = intercept.shape[0]
    block_sums = map_blocks(
        lambda start, stop: logsumexp(
            _block_logits(start, stop, coupling, intercept)[1]
        ),
        state_blocks(n_units, n_units),
        n_jobs,
    )
    return float(logsumexp(block_sums))


def bm_moments(coupling, intercept):
    """Exact ln Z, E[x] and E[x x^T] by blocked enumeration.

    Each block's states are weighted by exp(logits - running max); when a
    block raises the maximum, the accumulated sums are rescaled, so nothing
    overflows whatever the size of the weights.

    Parameters
    ----------
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal.
    intercept : ndarray of shape (n_units,)
        Intercepts.

    Returns
    -------
    log_z : float
        ln Z.
    mean : ndarray of shape (n_units,)
        E[x], float64.
    second_moment : ndarray of shape (n_units, n_units)
        E[x x^T], float64 (its diagonal equals ``mean``).
    """
    coupling, intercept = _as_float64(coupling, intercept)
    n_units = intercept.shape[0]
    sums = RescaledSums(n_units, (n_units, n_units))
    first, second = sums.sums
    for start, stop in state_blocks(n_units, n_units):
        states, logits = _block_logits(start, stop, coupling, intercept)
        weighted = states * sums.add(logits)[:, None]
        first += weighted.sum(axis=0)
        second += states.T @ weighted
    return (sums.log_total(), *sums.means())


def bm_state_log_weights(coupling, intercept):
    """-Phi(x) of all 2^n states, in code order (bit i of the code is unit i).

    Parameters
    ----------
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal.
    intercept : ndarray of shape (n_units,)
        Intercepts.

    Returns
    -------
    logits : ndarray of shape (2**n_units,)
        Unnormalised log-probabilities, float64.
    """
    coupling, intercept = _as_float64(coupling, intercept)
    n_units = intercept.shape[0]
    return np.concatenate(
        [
            _block_logits(start, stop, coupling, intercept)[1]
            for start, stop in state_blocks(n_units, n_units)
        ]
    )


def bm_exact_sample(coupling, intercept, n_samples, rng, dtype=np.float64):
    """Independent exact draws from P(x) by enumerating all states.

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
    dtype : dtype, default=np.float64
        Dtype of the returned states.

    Returns
    -------
    X : ndarray of shape (n_samples, n_units)
        Binary draws.
    """
    logits = bm_state_log_weights(coupling, intercept)
    cumulative = np.cumsum(np.exp(logits - logits.max()))
    codes = np.searchsorted(cumulative, rng.random(n_samples) * cumulative[-1], "right")
    # Guard against u * total rounding up to the last cumulative value.
    codes = np.minimum(codes, logits.shape[0] - 1)
    bits = (codes[:, None] >> np.arange(len(intercept), dtype=np.int64)) & 1
    return bits.astype(dtype)


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
