"""The general Boltzmann machine family: fully visible, pairwise couplings.

Units are ordered visible first (all of them, for a fully visible machine);
the energy is

    Phi(x) = -1/2 x^T W x - b . x,

with ``W`` symmetric and zero on the diagonal, and P(x) = exp(-Phi(x)) / Z.
Everything that can overflow is computed in log space and in float64
whatever the dtype of the data.

:class:`MachineFamily` is the model-family interface (:mod:`skbm._family`)
of such a machine, on the exact-sum engine (:mod:`skbm._exact`), the Gibbs
engine (:mod:`skbm._gibbs`) and the AIS engine (:mod:`skbm._ais`);
:mod:`skbm._hbm_math` extends it with hidden units that are summed out.
The functions below are its pure-array building blocks, and the
pseudo-likelihood and exact objectives of the fully visible machine's
L-BFGS solvers.

The objectives for L-BFGS take a flat parameter vector ``theta``: the
couplings above the diagonal (``np.triu_indices(n, 1)`` order) followed by
the intercepts; :func:`pack_parameters` and :func:`unpack_parameters` convert.
"""

from contextlib import nullcontext

import numpy as np
import scipy.sparse as sp
from joblib import effective_n_jobs
from scipy.linalg import LinAlgError, cho_factor, cho_solve
from scipy.special import expit
from sklearn.utils import gen_batches
from sklearn.utils.extmath import safe_sparse_dot

from . import _enumeration
from ._ais import machine_problem
from ._bernoulli_units import BERNOULLI
from ._enumeration import draw_codes, map_blocks
from ._exact import SplitSum
from ._family import ModelFamily
from ._gibbs import gibbs_sweeps, independent_draws
from ._graph import cached_coloring, coupling_graph, independent_split
from ._threads import one_blas_thread
from ._validation import dense


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
    # Row by row (einsum): a matrix-vector product X @ b can round a row
    # differently with the number of rows.
    linear = np.einsum("ij,j->i", X, intercept)
    return -0.5 * np.einsum("ij,ij->i", X @ coupling, X) - linear


def _free_sum(coupling, intercept, adjacency, units=BERNOULLI):
    graph = units.unit_graph(coupling_graph(coupling, adjacency))
    enumerated, summed = independent_split(graph, range(graph.shape[0]))
    empty = np.zeros((1, 0))
    return SplitSum(empty, coupling, intercept, np.arange(0), enumerated, summed, units)


def bm_log_partition(coupling, intercept, adjacency=None, n_jobs=None, units=BERNOULLI):
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
    units : UnitType, default=BERNOULLI
        The unit type of the layer of all units (see :mod:`skbm._units`).

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
    sums = _free_sum(coupling, intercept, adjacency, units)
    return float(sums.log_sum(n_jobs)[0])


def bm_moments(coupling, intercept, adjacency=None, units=BERNOULLI):
    """Exact ln Z, E[x] and E[x x^T] (the negative phase), by enumeration.

    Parameters
    ----------
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal.
    intercept : ndarray of shape (n_units,)
        Intercepts.
    adjacency : ndarray of bool of shape (n_units, n_units), default=None
        Which couplings may be nonzero; ``None`` means ``coupling != 0``.
    units : UnitType, default=BERNOULLI
        The unit type of the layer of all units.

    Returns
    -------
    log_z : float
        ln Z.
    mean : ndarray of shape (n_units,)
        E[x], float64.
    second_moment : ndarray of shape (n_units, n_units)
        E[x x^T], float64; its diagonal equals ``mean``.
    """
    sums = _free_sum(coupling, intercept, adjacency, units)
    log_sum, _, mean, second = sums.statistics(np.ones(1))
    return float(log_sum[0]), mean, second


def bm_exact_sample(
    coupling,
    intercept,
    n_samples,
    rng,
    adjacency=None,
    dtype=np.float64,
    units=BERNOULLI,
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
    units : UnitType, default=BERNOULLI
        The unit type of the layer of all units.

    Returns
    -------
    X : ndarray of shape (n_samples, n_units)
        Binary draws.
    """
    sums = _free_sum(coupling, intercept, adjacency, units)
    log_weights = sums.log_weights()
    codes = draw_codes(log_weights, n_samples, rng)
    units_k = sums.units_k
    states = units_k.states(codes, units_k.n_units(sums.enumerated.shape[0]))
    field = sums.field_r + states @ sums.W_kr
    X = np.empty((n_samples, sums.n_units), dtype=dtype)
    X[:, sums.enumerated] = states
    X[:, sums.summed] = sums.units_r.sample(field, rng)
    return X


def bm_conditionals(X, coupling, intercept, units=BERNOULLI):
    """P(x_i = 1 | all other units) for each row and unit.

    With a zero diagonal the field on unit i does not involve x_i, so the
    conditional mean is that of the unit type at ``X @ W + b``: its expit for
    {0,1} units, a softmax over each one-hot block for categorical units
    (whose blocks on the diagonal are zero).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_units)
        Unit values, dense.
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal.
    intercept : ndarray of shape (n_units,)
        Intercepts.
    units : UnitType, default=BERNOULLI
        The unit type of the layer of all units.

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
    return units.mean(field).astype(dtype, copy=False)


def check_couplings(coupling, whom):
    """Raise ValueError unless ``coupling`` is symmetric with a zero diagonal.

    The energy -1/2 x^T W x - b . x and the conditionals expit(x W + b) are
    one model only for such a W; assigned couplings are checked before use.

    Examples
    --------
    >>> import numpy as np
    >>> from skbm._bm_math import check_couplings
    >>> check_couplings(np.array([[0.0, 1.0], [2.0, 0.0]]), "model")
    Traceback (most recent call last):
    ...
    ValueError: model.coupling_ must be symmetric, ...
    """
    # Rounding-level asymmetry (sums of products) is not a defect.
    scale = float(np.max(np.abs(coupling), initial=0.0))
    if not np.allclose(coupling, coupling.T, rtol=1e-12, atol=1e-12 * scale):
        raise ValueError(
            f"{whom}.coupling_ must be symmetric, coupling_[i, j] == "
            "coupling_[j, i]: couplings are undirected. Assign (W + W.T) / 2."
        )
    if np.any(np.diagonal(coupling) != 0):
        raise ValueError(
            f"{whom}.coupling_ must have a zero diagonal: a unit is not coupled "
            "to itself (fold a diagonal into intercept_, as x_i**2 = x_i for "
            "{0,1} units)."
        )


class MachineFamily(ModelFamily):
    """The fully visible Boltzmann machine, as a model family.

    Also the base of the machine with hidden units
    (:class:`skbm._hbm_math.HiddenFamily`): all units of one unit type, any
    symmetric coupling graph.

    Parameters
    ----------
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal.
    intercept : ndarray of shape (n_units,)
        Intercepts.
    base_field : ndarray of shape (n_units,)
        Fields of the independent base model: the start of Gibbs chains and
        of AIS.
    adjacency : ndarray of bool of shape (n_units, n_units), default=None
        Which couplings may be nonzero (training, where couplings move);
        ``None`` means ``coupling != 0``.
    units : UnitType, default=BERNOULLI
        The unit type of every unit.
    """

    def __init__(
        self, coupling, intercept, base_field, adjacency=None, units=BERNOULLI
    ):
        self.coupling, self.intercept = coupling, intercept
        self.base_field = np.asarray(base_field, dtype=np.float64)
        self.adjacency = adjacency
        self.units = units
        self.dtype = np.asarray(coupling).dtype
        self.n_visible = np.asarray(intercept).shape[0]

    def unnormalized_log_proba(self, X):
        return -bm_energy(dense(X), self.coupling, self.intercept)

    def enumeration_bits(self):
        return self.units.state_bits(self.units.n_units(self.coupling.shape[0]))

    def exact_log_partition(self, n_jobs=None):
        return bm_log_partition(
            self.coupling, self.intercept, self.adjacency, n_jobs, self.units
        )

    def exact_sample(self, n_samples, rng):
        return bm_exact_sample(
            self.coupling,
            self.intercept,
            n_samples,
            rng,
            self.adjacency,
            units=self.units,
        )

    def start_chains(self, n_chains, rng):
        return independent_draws(
            [(self.units, self.base_field)], n_chains, rng, self.dtype
        )

    def gibbs_blocks(self):
        """Colour classes of the units' graph, resampled in turn.

        Returns the columns of each class and the unit type of each class.
        """
        graph = self.units.unit_graph(coupling_graph(self.coupling, self.adjacency))
        classes = cached_coloring(graph)
        columns = [self.units.columns(units) for units in classes]
        return columns, [self.units.restrict(units) for units in classes]

    def sweep(self, states, n_sweeps, rng):
        blocks, units = self.gibbs_blocks()
        return gibbs_sweeps(
            states, self.coupling, self.intercept, n_sweeps, rng, blocks, units
        )

    def annealing_problem(self):
        return machine_problem(
            self.coupling, self.intercept, self.base_field, self.units
        )

    def data_statistics(self, X):
        mean, second = data_statistics(X)
        return {"coupling_": second, "intercept_": mean}

    def model_statistics(self):
        _, mean, second = bm_moments(
            self.coupling, self.intercept, self.adjacency, self.units
        )
        return {"coupling_": second, "intercept_": mean}

    def chain_statistics(self, chains):
        return self.data_statistics(chains)


# ----------------------------------------------------------------------
# Objectives for L-BFGS
# ----------------------------------------------------------------------
def pack_parameters(coupling, intercept, pairs=None):
    """Flatten ``(W, b)`` into ``theta``: upper-triangle couplings, then b.

    Parameters
    ----------
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings.
    intercept : ndarray of shape (n_units,)
        Intercepts.
    pairs : tuple of two ndarray of int, default=None
        The coupled pairs (i, j) with i < j, in order; ``None`` means all,
        ``np.triu_indices(n_units, 1)``.

    Returns
    -------
    theta : ndarray of shape (n_pairs + n_units,)
        Flat float64 parameter vector.
    """
    coupling, intercept = _as_float64(coupling, intercept)
    pairs = np.triu_indices(intercept.shape[0], 1) if pairs is None else pairs
    return np.concatenate([coupling[pairs], intercept])


def unpack_parameters(theta, n_units, pairs=None):
    """Inverse of :func:`pack_parameters`.

    Parameters
    ----------
    theta : ndarray
        Flat parameter vector.
    n_units : int
        Number of units.
    pairs : tuple of two ndarray of int, default=None
        As for :func:`pack_parameters`.

    Returns
    -------
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal, zero outside ``pairs``,
        float64.
    intercept : ndarray of shape (n_units,)
        Intercepts, float64.
    """
    pairs = np.triu_indices(n_units, 1) if pairs is None else pairs
    n_pairs = pairs[0].shape[0]
    coupling = np.zeros((n_units, n_units))
    coupling[pairs] = theta[:n_pairs]
    coupling += coupling.T
    return coupling, np.array(theta[n_pairs:], dtype=np.float64)


def pack_gradient(grad_coupling, grad_intercept, pairs=None):
    """The gradient with respect to ``theta`` from those of ``W`` and ``b``.

    ``grad_coupling`` is the derivative with respect to w_ij = w_ji taken
    as one parameter (symmetric); see :func:`pack_parameters`.
    """
    pairs = np.triu_indices(grad_intercept.shape[0], 1) if pairs is None else pairs
    return np.concatenate([grad_coupling[pairs], grad_intercept])


# CSR data with at most this fraction of nonzeros stay sparse, block by block:
# their products cost n_nonzero * n_units instead of n_rows * n_units**2. The
# products of a 4,194 x 500 block took as long sparse as dense at 20% density
# (2 shared cores); denser data are densified one block at a time.
_SPARSE_DENSITY = 0.1


def _block_rows(n_units):
    """Rows per block: ``BLOCK_BYTES`` of float64 work of n_units columns.

    ``BLOCK_BYTES`` is read at every call, so that tests can shrink it.
    """
    return max(1, _enumeration.BLOCK_BYTES // (8 * max(1, n_units)))


def _float64_blocks(X, rows=None):
    """Consecutive row blocks of ``X``, or of ``X[rows]``, in float64.

    One block at a time is converted: the data are never copied whole
    (blocks of consecutive rows of dense float64 data are views). Sparse data
    with at most ``_SPARSE_DENSITY`` nonzeros yield canonical CSR blocks,
    denser ones dense blocks.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_units)
        Unit values.
    rows : ndarray of int, default=None
        Indices of the rows to visit, in this order; ``None`` means all rows.

    Yields
    ------
    batch : slice
        The positions of the block's rows in ``range(n_samples)``, or in
        ``rows``.
    block : {ndarray, CSR matrix} of shape (batch size, n_units)
        The rows, float64.
    """
    X, keep_sparse = _blockable(X)
    n_rows = X.shape[0] if rows is None else len(rows)
    for batch in gen_batches(n_rows, _block_rows(X.shape[1])):
        yield batch, _float64_block(X, keep_sparse, batch, rows)


def _sparse_enough(n_nonzero, shape):
    """Whether data with ``n_nonzero`` of ``shape`` are worth keeping sparse."""
    return n_nonzero <= _SPARSE_DENSITY * shape[0] * shape[1]


def compact(X):
    """Dense ``X`` as CSR when it is sparse enough (see ``_SPARSE_DENSITY``).

    For data converted once and visited many times, such as the one-hot
    codes of a categorical fit: with q >= 10 states at most 10% of the
    entries are ones, and as CSR a product with the couplings costs
    n_rows * n_features * sum(q) instead of n_rows * sum(q)**2 (0.33 s
    against 0.66 s per product at 10,000 rows x 50 sites of q = 21, one
    thread).
    """
    if sp.issparse(X) or not _sparse_enough(np.count_nonzero(X), X.shape):
        return X
    return sp.csr_matrix(X)


def _blockable(X):
    """``X`` as CSR or an array, and whether its blocks stay sparse."""
    if sp.issparse(X):
        X = X.tocsr()
        return X, _sparse_enough(X.nnz, X.shape)
    return np.asarray(X), False


def _float64_block(X, keep_sparse, batch, rows=None):
    """One block of :func:`_float64_blocks`: rows ``batch`` of X (or of
    ``X[rows]``) in float64, canonical CSR or dense."""
    block = X[batch] if rows is None else X[rows[batch]]
    if not sp.issparse(block):
        return np.asarray(block, dtype=np.float64)
    if keep_sparse:
        block = block.astype(np.float64)  # a copy: summed in place
        block.sum_duplicates()
        return block
    return block.toarray().astype(np.float64, copy=False)


def data_statistics(X, sample_weight=None):
    """Sufficient statistics of the data: mean of x and of x x^T.

    Computed block by block (see :func:`_float64_blocks`): sparse data stay
    sparse and float32 data are converted one block at a time.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_units)
        Unit values.
    sample_weight : ndarray of shape (n_samples,), default=None
        Non-negative row weights; ``None`` weighs the rows equally. The
        statistics are weighted means.

    Returns
    -------
    mean : ndarray of shape (n_units,)
        Column means, float64.
    second_moment : ndarray of shape (n_units, n_units)
        ``X^T X / n_samples`` (weighted: ``X^T diag(w) X / sum(w)``), float64.
    """
    n_samples, n_units = X.shape
    total = np.zeros(n_units)
    cross = np.zeros((n_units, n_units))
    for batch, block in _float64_blocks(X):
        if sample_weight is None:
            total += np.asarray(block.sum(axis=0)).ravel()
            cross += dense(safe_sparse_dot(block.T, block))
        else:
            weight = np.asarray(sample_weight, dtype=np.float64)[batch]
            weighted = (
                sp.diags(weight) @ block
                if sp.issparse(block)
                else (block * weight[:, None])
            )
            total += np.asarray(weighted.sum(axis=0)).ravel()
            cross += dense(safe_sparse_dot(block.T, weighted))
    norm = n_samples if sample_weight is None else float(np.sum(sample_weight))
    return total / norm, cross / norm


def exact_objective(
    theta,
    data_mean,
    data_second,
    alpha,
    *,
    units=BERNOULLI,
    pairs=None,
    alpha_fields=0.0,
):
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
    units : UnitType, default=BERNOULLI
        The unit type of the layer of all units.
    pairs : tuple of two ndarray of int, default=None
        The coupled pairs of columns, see :func:`pack_parameters`.
    alpha_fields : float, default=0.0
        L2 penalty on the intercepts.

    Returns
    -------
    loss : float
        The penalised mean negative log-likelihood.
    grad : ndarray
        Its gradient with respect to ``theta``.
    """
    n_units = data_mean.shape[0]
    coupling, intercept = unpack_parameters(theta, n_units, pairs)
    log_z, model_mean, model_second = bm_moments(coupling, intercept, units=units)
    loss = log_z - 0.5 * np.sum(coupling * data_second) - intercept @ data_mean
    grad = pack_gradient(model_second - data_second, model_mean - data_mean, pairs)
    return _penalised(loss, grad, theta, alpha, alpha_fields, n_units)


def _penalised(loss, grad, theta, alpha, alpha_fields, n_units):
    """Add L2 penalties on the couplings and on the intercepts (the last
    ``n_units`` entries of ``theta``) to a loss and its gradient."""
    weights, fields = theta[:-n_units] if n_units else theta, theta[-n_units:]
    loss += 0.5 * alpha * weights @ weights
    grad[: weights.shape[0]] += alpha * weights
    if alpha_fields:
        loss += 0.5 * alpha_fields * fields @ fields
        grad[weights.shape[0] :] += alpha_fields * fields
    return float(loss), grad


def _log_normaliser_and_mean(field, own, weight, units):
    """Weighted sum of ln PL (``own`` minus the cumulants) and E[x | field].

    The mean may overwrite ``field``.
    """
    if units.logistic:
        log_pl = weight @ (own - units.cumulant(field).sum(axis=1))
        return log_pl, expit(field, out=field)
    cumulant, mean = units.cumulant_and_mean(field)
    return weight @ (own - cumulant.sum(axis=1)), mean


def _pseudolikelihood_block(block, coupling, intercept, weight, units=BERNOULLI):
    """Weighted ln PL of one float64 block of rows, and its gradient terms.

    Returns the weighted sum of ln PL over the rows, ``block^T residual`` and
    the column sums of the weighted residuals ``(x - E[x | a]) * weight``
    (E[x | a] = expit(a) for {0,1} units, the unit type's mean in general).
    """
    field = safe_sparse_dot(block, coupling)
    field += intercept
    if sp.issparse(block):
        row = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
        own = np.bincount(
            row,
            weights=block.data * field[row, block.indices],
            minlength=block.shape[0],
        )
        log_pl, residual = _log_normaliser_and_mean(field, own, weight, units)
        np.negative(residual, out=residual)
        residual[row, block.indices] += block.data  # canonical: no repeats
    else:
        own = np.einsum("ij,ij->i", block, field)
        log_pl, residual = _log_normaliser_and_mean(field, own, weight, units)
        np.subtract(block, residual, out=residual)
    residual *= weight[:, None]
    return log_pl, safe_sparse_dot(block.T, residual), residual.sum(axis=0)


def _block_weight(sample_weight, batch, n_rows):
    """The weights of the rows ``batch`` (a slice): their ``sample_weight``,
    or 1 / n_rows each when there is none."""
    if sample_weight is None:
        return np.full(batch.stop - batch.start, 1.0 / n_rows)
    return sample_weight[batch]


def pseudolikelihood_gradients(
    X, coupling, intercept, sample_weight=None, rows=None, units=BERNOULLI, n_jobs=None
):
    """Mean log pseudo-likelihood of the rows and its gradient.

    ln PL(x) = sum_i ln P(x_i | x_rest) = sum_i x_i . a_i - cumulant(a_i),
    with the field a = x W + b: softplus(a_i) for {0,1} units, the logsumexp
    over a unit's block of one-hot columns for categorical units. For values
    in [0, 1] of {0,1} units this is the expected log conditional likelihood
    of a unit that is 1 with that probability.

    The rows are visited in blocks of bounded size (see
    :func:`_float64_blocks`), whose fields and residuals are computed in
    float64: the data are never copied whole, sparse data stay sparse and
    float32 data are converted one block at a time.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_units)
        Unit values.
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal.
    intercept : ndarray of shape (n_units,)
        Intercepts.
    sample_weight : ndarray of shape (n_samples,) or (len(rows),), \
            default=None
        Non-negative row weights summing to 1 (for example the frequencies
        of distinct rows); ``None`` weighs the rows equally.
    rows : ndarray of int, default=None
        Indices of the rows of ``X`` to use, each weighed by the matching
        entry of ``sample_weight`` (for example one row of each distinct
        value); ``None`` means all rows.
    units : UnitType, default=BERNOULLI
        The unit type of the layer of all units.
    n_jobs : int, default=None
        Threads over the blocks of rows (joblib, shared memory), each with
        one BLAS thread; ``None`` means 1 unless in a joblib context. The
        result is the same for any value up to the order of a sum.

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
    n_rows = np.shape(X)[0] if rows is None else len(rows)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
    X, keep_sparse = _blockable(X)
    bounds = [
        (batch.start, batch.stop)
        for batch in gen_batches(n_rows, _block_rows(X.shape[1]))
    ]

    def block_terms(start, stop):
        batch = slice(start, stop)
        block = _float64_block(X, keep_sparse, batch, rows)
        weight = _block_weight(sample_weight, batch, n_rows)
        return _pseudolikelihood_block(block, coupling, intercept, weight, units)

    threads = max(1, min(effective_n_jobs(n_jobs), len(bounds)))
    log_pl = 0.0
    cross = np.zeros(coupling.shape)
    grad_intercept = np.zeros(intercept.shape)
    # One block per thread at a time, summed as they come: the memory is that
    # of ``threads`` blocks, whatever the number of rows.
    with one_blas_thread() if threads > 1 else nullcontext():
        for first in range(0, len(bounds), threads):
            group = bounds[first : first + threads]
            for terms in map_blocks(block_terms, group, threads):
                log_pl += terms[0]
                # w_ij enters the fields of both i (times x_j) and j (times x_i).
                cross += terms[1]
                grad_intercept += terms[2]
    grad_coupling = cross + cross.T
    np.fill_diagonal(grad_coupling, 0.0)
    return float(log_pl), grad_coupling, grad_intercept


def pseudolikelihood_scale(mean, mean_square, alpha, alpha_fields=0.0, pairs=None):
    """A diagonal preconditioner for the pseudo-likelihood fit (L-BFGS).

    The inverse square root of the Hessian's diagonal at the start of the
    fit, the independent-units model at the data means m: a unit's field has
    curvature v_i = m_i (1 - m_i) there (the variance of a {0,1} unit or of
    a one-hot column), and w_ij enters the fields of i (times x_j) and of j
    (times x_i), so its curvature is v_i <x_j^2> + v_j <x_i^2>. Rare states
    have curvatures hundreds of times smaller than common ones; evening them
    out is what the scale is for.

    Parameters
    ----------
    mean : ndarray of shape (n_units,)
        Weighted mean of the data.
    mean_square : ndarray of shape (n_units,)
        Weighted mean of x**2 (the mean itself for {0,1} and one-hot data).
    alpha, alpha_fields : float
        The L2 penalties on couplings and fields, which add to the curvature.
    pairs : tuple of two ndarray of int, default=None
        The coupled pairs, see :func:`pack_parameters`.

    Returns
    -------
    scale : ndarray of the shape of ``theta``
        Positive, at most 1000.
    """
    n_units = mean.shape[0]
    pairs = np.triu_indices(n_units, 1) if pairs is None else pairs
    variance = np.clip(mean * (1 - mean), 0.0, None)
    power = np.asarray(mean_square)
    first, other = pairs
    curvature = np.concatenate(
        [
            variance[first] * power[other] + variance[other] * power[first] + alpha,
            variance + alpha_fields,
        ]
    )
    return 1.0 / np.sqrt(np.maximum(curvature, 1e-6))


def pseudolikelihood_objective(
    theta,
    X,
    alpha,
    sample_weight=None,
    rows=None,
    *,
    units=BERNOULLI,
    pairs=None,
    alpha_fields=0.0,
    n_jobs=None,
):
    """Mean negative log pseudo-likelihood and its gradient, for L-BFGS.

    The objective is -1/N sum_n sum_i ln P(x_i^n | x_rest^n) +
    alpha / 2 sum_{i<j} w_ij^2, concave in the parameters when negated.

    Parameters
    ----------
    theta : ndarray
        Flat parameters, see :func:`pack_parameters`.
    X : {ndarray, sparse matrix} of shape (n_samples, n_units)
        Unit values, visited in blocks (see
        :func:`pseudolikelihood_gradients`).
    alpha : float
        L2 penalty on the couplings.
    sample_weight : ndarray of shape (n_samples,) or (len(rows),), \
            default=None
        Row weights summing to 1; ``None`` weighs the rows equally.
    rows : ndarray of int, default=None
        Indices of the rows of ``X`` to use; ``None`` means all rows.
    units : UnitType, default=BERNOULLI
        The unit type of the layer of all units.
    pairs : tuple of two ndarray of int, default=None
        The coupled pairs of columns, see :func:`pack_parameters`.
    alpha_fields : float, default=0.0
        L2 penalty on the intercepts.
    n_jobs : int, default=None
        Threads over the blocks of rows, see
        :func:`pseudolikelihood_gradients`.

    Returns
    -------
    loss : float
        The penalised mean negative log pseudo-likelihood.
    grad : ndarray
        Its gradient with respect to ``theta``.
    """
    n_units = X.shape[1]
    coupling, intercept = unpack_parameters(theta, n_units, pairs)
    log_pl, grad_coupling, grad_intercept = pseudolikelihood_gradients(
        X, coupling, intercept, sample_weight, rows, units, n_jobs
    )
    grad = -pack_gradient(grad_coupling, grad_intercept, pairs)
    return _penalised(-log_pl, grad, theta, alpha, alpha_fields, n_units)


def pseudolikelihood_hessian(theta, X, alpha, sample_weight=None, rows=None):
    """Hessian of :func:`pseudolikelihood_objective` for {0,1} units.

    With a_i = b_i + sum_k w_ik x_k and v_i = s_i (1 - s_i), s_i = expit(a_i),
    the data term is sum_n weight_n sum_i v_i (da_i/dtheta)(da_i/dtheta)^T.
    Unit i's field depends on the couplings w_ik (through x_k) and on b_i
    (through 1), so its part is the matrix [x, 1]^T diag(weight v_i) [x, 1]
    placed at the rows and columns of those parameters. Only for all pairs
    coupled; the cost is n_rows * n_units**3.

    Parameters
    ----------
    theta, X, alpha, sample_weight, rows
        As for :func:`pseudolikelihood_objective`.

    Returns
    -------
    hessian : ndarray of shape (n_params, n_params)
        The Hessian, penalty included, float64.
    """
    n_units = X.shape[1]
    coupling, intercept = unpack_parameters(theta, n_units)
    n_pairs = n_units * (n_units - 1) // 2
    pair_index = np.zeros((n_units, n_units), dtype=np.intp)
    pair_index[np.triu_indices(n_units, 1)] = np.arange(n_pairs)
    pair_index += pair_index.T
    n_rows = np.shape(X)[0] if rows is None else len(rows)
    hessian = np.zeros((theta.shape[0], theta.shape[0]))
    others = [np.delete(np.arange(n_units), unit) for unit in range(n_units)]
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
    for batch, block in _float64_blocks(X, rows):
        block = dense(block)
        weight = _block_weight(sample_weight, batch, n_rows)
        slope = expit(block @ coupling + intercept)
        slope *= 1 - slope
        slope *= weight[:, None]
        extended = np.hstack([block, np.ones((block.shape[0], 1))])
        for unit in range(n_units):
            local = np.append(others[unit], n_units)
            index = np.append(pair_index[unit, others[unit]], n_pairs + unit)
            columns = extended[:, local]
            part = columns.T @ (columns * slope[:, unit : unit + 1])
            hessian[np.ix_(index, index)] += part
    hessian[np.arange(n_pairs), np.arange(n_pairs)] += alpha
    return hessian


def newton_polish(objective, hessian, theta, args, max_steps=8):
    """Newton steps from a near-optimum of a strictly convex objective.

    L-BFGS stops where the decrease of the objective drowns in rounding,
    which on an ill-conditioned problem (few rows, a small penalty) can be
    1e-3 away in the parameters; two fits of the same objective written
    differently (weights against repeated rows) then disagree there. A few
    Newton steps reach the optimum to rounding. A step is kept only while it
    shrinks the largest gradient component; a Hessian that is not positive
    definite ends the polish.

    Parameters
    ----------
    objective : callable
        ``objective(theta, *args)`` returns the loss and its gradient.
    hessian : callable
        ``hessian(theta, *args)`` returns the Hessian.
    theta : ndarray
        The starting point.
    args : tuple
        Further arguments of both.
    max_steps : int, default=8
        The most Newton steps taken.

    Returns
    -------
    theta : ndarray
        The polished parameters.
    n_steps : int
        Newton steps kept.
    loss : float
        The objective at ``theta``.
    grad : ndarray
        Its gradient there.
    """
    loss, grad = objective(theta, *args)
    size = np.max(np.abs(grad), initial=0.0)
    for step in range(max_steps):
        try:
            factor = cho_factor(hessian(theta, *args))
        except LinAlgError:
            return theta, step, loss, grad
        candidate = theta - cho_solve(factor, grad)
        candidate_loss, candidate_grad = objective(candidate, *args)
        candidate_size = np.max(np.abs(candidate_grad), initial=0.0)
        if not candidate_size < size:
            return theta, step, loss, grad
        theta, loss, grad, size = (
            candidate,
            candidate_loss,
            candidate_grad,
            candidate_size,
        )
    return theta, max_steps, loss, grad
