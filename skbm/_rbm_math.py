"""The restricted Boltzmann machine family: pure functions on arrays.

Notation (the theory page of the documentation, doc/theory.rst): visible
units v, hidden units h, weights ``W`` of shape (n_hidden, n_visible),
visible biases ``b`` and hidden biases ``c``; the energy is
Phi(v, h) = -h.W.v - b.v - c.h.

The two layers play symmetric roles. Summing one layer ("y") out in closed
form leaves, for each state of the other ("x"),

    ln sum_y exp(-Phi(x, y)) = a_x . x + sum_j softplus(a_y + x W_xy)_j,

so ln Z needs an enumeration of the smaller layer only.

:class:`RestrictedFamily` is the model-family interface
(:mod:`skbm._family`) of the RBM; :func:`sgd_step` is its fused CD/PCD
training step.
"""

import functools

import numpy as np
import scipy.sparse as sp
from scipy.linalg.blas import get_blas_funcs
from scipy.special import expit, logsumexp
from sklearn.utils.extmath import safe_sparse_dot

from ._ais import AnnealingProblem
from ._bernoulli_units import BERNOULLI, softplus
from ._enumeration import RescaledSums, draw_codes, map_blocks
from ._family import ModelFamily
from ._gibbs import block_gibbs, independent_draws


def sample_bernoulli(p, rng):
    """Draw binary units with probabilities ``p``, in the dtype of ``p``."""
    return (rng.random(p.shape, dtype=p.dtype) < p).astype(p.dtype)


def hidden_probabilities(V, W, c):
    """P(h_j = 1 | v) = sigmoid(c_j + sum_i W_ji v_i), one row per sample."""
    return expit(safe_sparse_dot(V, W.T, dense_output=True) + c)


def visible_probabilities(H, W, b):
    """P(v_i = 1 | h) = sigmoid(b_i + sum_j W_ji h_j), one row per sample."""
    return expit(H @ W + b)


@functools.lru_cache
def _blas(dtype):
    return get_blas_funcs(("gemm", "gemv"), dtype=dtype)


@functools.lru_cache
def _phase_weights(n, m, dtype):
    # 1/n for the n rows of the data phase, -1/m for the m rows of the
    # model phase. Read-only, since it is shared between calls.
    weights = np.empty(n + m, dtype=dtype)
    weights[:n] = 1.0 / n
    weights[n:] = -1.0 / m
    weights.flags.writeable = False
    return weights


def _conditional(gemm, W_blas, transpose, X, bias, out=None):
    """P(unit = 1 | rows of X) of one layer, in place of ``out``.

    sigmoid(x) = 1 / (1 + exp(-x)), with -x = -(X @ op(W_blas)^T + bias) from
    one gemm on the preloaded bias; ``W_blas`` is Fortran-ordered and gemm
    transposes it if ``transpose``. Three in-place passes, measured 20-40%
    faster than (1 + tanh(x / 2)) / 2 and ten times faster than
    ``scipy.special.expit``. Where x < -709 (-88 in float32) exp overflows
    to inf and the result is exactly 0: finite, but numpy warns, so the
    training loop runs under ``np.errstate(over="ignore")`` (set once per
    fit: per call it would cost more than the arithmetic on small layers).

    Positional gemm arguments, since f2py parses keywords measurably slower:
    gemm(alpha, a, b, beta, c, trans_a, trans_b, overwrite_c) returns c itself
    unless it had to copy an operand.
    """
    if out is None:
        out = np.empty((X.shape[0], bias.shape[0]), dtype=W_blas.dtype)
    out[...] = bias
    out_blas = out.T
    result = gemm(-1.0, W_blas, X.T, -1.0, out_blas, transpose, 0, 1)
    if result is not out_blas:
        out_blas[...] = result
    np.exp(out, out=out)
    out += 1.0
    np.divide(1.0, out, out=out)
    return out


def sgd_step(
    W,
    b,
    c,
    V,
    rng,
    *,
    chains,
    n_gibbs_steps,
    rate,
    momentum=0.0,
    velocity=None,
    alpha=0.0,
    visible_offset=None,
    hidden_offset=None,
):
    """One CD-k or PCD-k stochastic gradient step on a dense batch, in place.

    The same update as the gradient of ``BernoulliRBM2._gradient`` followed by
    a heavy-ball step, with fewer passes over memory: the two outer products
    of the weight gradient are accumulated by BLAS ``gemm`` straight into
    ``W`` (or its velocity), the conditionals are computed in place, and
    uniforms are drawn in the working dtype. Under extreme weights exp may
    overflow in the conditionals (harmlessly, see ``_conditional``): call it
    under ``np.errstate(over="ignore")`` to silence numpy's warning.

    Parameters
    ----------
    W : ndarray of shape (n_hidden, n_visible), C- or Fortran-contiguous
        Weights, updated in place. On small layers the products run faster
        with a Fortran-ordered ``W`` (BLAS then never multiplies by a
        transposed first operand).
    b : ndarray of shape (n_visible,)
        Visible biases, updated in place.
    c : ndarray of shape (n_hidden,)
        Hidden biases, updated in place.
    V : ndarray of shape (n_samples, n_visible)
        The mini-batch (never modified).
    rng : numpy.random.Generator
        Source of the Gibbs sampling.
    chains : ndarray of shape (n_chains, n_hidden) or None
        Hidden states of the persistent chains (PCD), or None to start the
        chains at the data (CD). Not modified.
    n_gibbs_steps : int
        Gibbs steps of the negative phase.
    rate : float
        Learning rate.
    momentum : float, default=0.0
        Heavy-ball momentum; ``velocity`` is then updated in place.
    velocity : tuple of ndarray (W, b, c) or None, default=None
        Velocities of the parameters, needed when ``momentum > 0``; the
        weights' velocity has the memory order of ``W``.
    alpha : float, default=0.0
        L2 penalty on ``W``.
    visible_offset, hidden_offset : ndarray or None, default=None
        Offsets of the centered gradient (Melchior et al., 2016); None for the
        plain gradient.

    Returns
    -------
    chains : ndarray of shape (n_chains, n_hidden)
        New hidden states of the chains (a new array).
    pos_h : ndarray of shape (n_hidden,) or None
        Mean P(h | v) over the batch, for the hidden offsets; None without
        centering.

    Examples
    --------
    >>> import numpy as np
    >>> from skbm._rbm_math import sgd_step
    >>> rng = np.random.default_rng(0)
    >>> W, b, c = np.zeros((3, 4)), np.zeros(4), np.zeros(3)
    >>> V = np.ones((2, 4))
    >>> chains, _ = sgd_step(W, b, c, V, rng, chains=np.zeros((5, 3)),
    ...                      n_gibbs_steps=1, rate=0.1)
    >>> chains.shape, bool(b.min() > 0)
    ((5, 3), True)
    """
    dtype = W.dtype
    V = np.asarray(V, dtype=dtype)
    gemm, gemv = _blas(dtype)
    n_hidden, n_visible = W.shape
    # BLAS reads W through a Fortran-ordered view: W itself, or W.T if W is
    # C-ordered. to_W is the transpose flag that turns that view into W.
    if W.flags.f_contiguous:
        W_blas, to_W = W, 0
    else:
        W_blas, to_W = W.T, 1
    to_WT = 1 - to_W
    n = V.shape[0]
    h = chains
    if h is None:
        # CD: the chains start from a sample of P(h | data).
        h_pos = _conditional(gemm, W_blas, to_W, V, c)
        h = rng.random(h_pos.shape, dtype=dtype)
        np.less(h, h_pos, out=h)
    m = h.shape[0]
    # The batch and the chains' last visible states are stacked, so that one
    # product gives P(h | .) of both phases; the positive phase draws nothing.
    rows = np.empty((n + m, n_visible), dtype=dtype)
    rows[:n] = V
    v = rows[n:]
    for step in range(n_gibbs_steps):
        # One draw for the step, in the order of two (the same stream).
        uniforms = rng.random(m * (n_visible + n_hidden), dtype=dtype)
        _conditional(gemm, W_blas, to_WT, h, b, out=v)
        np.less(uniforms[: m * n_visible].reshape(m, n_visible), v, out=v)
        if step == n_gibbs_steps - 1 and chains is not None:
            both = _conditional(gemm, W_blas, to_W, rows, c)
            h_neg = both[n:]
        else:
            h_neg = _conditional(gemm, W_blas, to_W, v, c)
        h = uniforms[m * n_visible :].reshape(m, n_hidden)
        np.less(h, h_neg, out=h)
    if chains is None:
        both = np.concatenate((h_pos, h_neg))

    # With the phases stacked, rows = [V; v] and both = [P(h|V); P(h|v)], the
    # gradient is grad_W = both^T diag(s) rows, grad_b = rows^T w_b and
    # grad_c = both^T w_c, where s = [1/n, ..., -1/m, ...] weighs the phases.
    signs = _phase_weights(n, m, dtype)
    pos_h = None
    if visible_offset is None:
        weights_b = weights_c = signs
    else:
        # Centered gradient, written with centered rows: the weight part is
        # (h - lam)^T (v - mu) and, with it, the bias parts translated to
        # the standard parameters keep the form above with other weights.
        mu, lam = visible_offset, hidden_offset
        pos_h = both[:n].mean(axis=0)
        rows -= mu
        both -= lam
        weights_b = 1 - both @ lam
        weights_b *= signs
        weights_c = 1 - rows @ mu
        weights_c *= signs

    # BLAS accumulates into the targets in place; W^T += a rows^T both and
    # b += a rows^T w, on Fortran-ordered views, so that no operand is copied.
    if momentum:
        target_W, target_b, target_c = velocity
        beta = momentum
    else:
        target_W, target_b, target_c = W, b, c
        beta = 1.0
        if alpha:
            W *= 1 - rate * alpha
    # gemv(alpha, a, x, beta, y, offx, incx, offy, incy, trans, overwrite_y)
    # and gemm return their output argument itself unless they had to convert
    # it (another dtype, assigned by a user): then it is copied back.
    result = gemv(rate, rows.T, weights_b, beta, target_b, 0, 1, 0, 1, 0, 1)
    if result is not target_b:
        target_b[...] = result
    result = gemv(rate, both.T, weights_c, beta, target_c, 0, 1, 0, 1, 0, 1)
    if result is not target_c:
        target_c[...] = result
    # diag(s) folded into gemm's scalar: the model rows are scaled by -n/m,
    # one pass over half the rows instead of a broadcast over all of them.
    both[n:] *= -n / m
    if to_W:  # the Fortran view of target_W is its transpose
        target_blas = target_W.T
        result = gemm(rate / n, rows.T, both.T, beta, target_blas, 0, 1, 1)
    else:
        target_blas = target_W
        result = gemm(rate / n, both.T, rows.T, beta, target_blas, 0, 1, 1)
    if result is not target_blas:
        target_blas[...] = result
    if momentum:
        if alpha:
            target_W -= (rate * alpha) * W
        W += target_W
        b += target_b
        c += target_c
    return h, pos_h


def free_energy(V, W, b, c, visible_units=BERNOULLI):
    """Free energy F(v) = -ln sum_h exp(-Phi(v, h)) of each row, in float64.

    F(v) = self_energy(v) - b.v - sum_j softplus(c_j + sum_i W_ji v_i), where
    the self-energy is the visible unit type's (zero for discrete units).

    Parameters
    ----------
    V : {ndarray, sparse matrix} of shape (n_samples, n_visible)
        Visible states (or probabilities), in the unit type's internal
        representation.
    W : ndarray of shape (n_hidden, n_visible)
        Weights.
    b : ndarray of shape (n_visible,)
        Visible biases.
    c : ndarray of shape (n_hidden,)
        Hidden biases.
    visible_units : UnitType, default=BERNOULLI
        The unit type of the visible layer.

    Returns
    -------
    F : ndarray of shape (n_samples,)
        Free energies.
    """
    W = W.astype(np.float64, copy=False)
    lam = safe_sparse_dot(V, W.T, dense_output=True).astype(np.float64, copy=False)
    lam += c
    b = b.astype(np.float64, copy=False)
    # Row by row: a dense matrix-vector product V @ b can round a row
    # differently with the number of rows (a sparse one sums each row alone).
    visible_term = V @ b if sp.issparse(V) else np.einsum("ij,j->i", V, b)
    hidden_term = softplus(lam, out=lam).sum(axis=1)
    visible_term = np.asarray(visible_term).ravel()
    return visible_units.self_energy(V) - visible_term - hidden_term


def layer_bits(n_hidden, n_columns, visible_units):
    """log2 of the joint states of the hidden and of the visible layer.

    The visible layer has ``n_columns`` columns of ``visible_units``; inf
    when its states cannot be listed (Gaussian units).
    """
    if not visible_units.enumerable:
        return n_hidden, np.inf
    return n_hidden, visible_units.state_bits(visible_units.n_units(n_columns))


def _smaller_layer_first(W, b, c, visible_units=BERNOULLI):
    """Orient the RBM so that the enumerated layer ``x`` has the fewer states.

    The visible layer is enumerated only when its unit type can be (never
    for Gaussian units). Returns ``(W_xy, a_x, a_y, units_x, units_y,
    x_is_hidden)`` with the arrays in float64 and ``W_xy`` of shape
    (n_x, n_y).
    """
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    hidden_bits, visible_bits = layer_bits(*W.shape, visible_units)
    if hidden_bits <= visible_bits:
        return W, c, b, BERNOULLI, visible_units, True
    return W.T, b, c, visible_units, BERNOULLI, False


# Enumeration blocks are sized so that their work array stays in the L2
# cache, where the elementwise passes over it run several times faster than
# from memory.
CACHE_BLOCK_BYTES = 2**18

# Pre-activations below this cannot overflow exp in float64 (its largest
# finite value is exp(709.78)), so softplus may be log(1 + exp(x)): three
# vectorised passes instead of six, with an absolute error of about one unit
# in the last place of 1.
_EXP_SAFE = 700.0


class _LogWeightTable:
    """ln sum_y exp(-Phi(x, y)) for the states x of the enumerated layer.

    The enumerated layer ``x`` is {0,1} or categorical; the other layer ``y``
    is summed out by its unit type's cumulant (softplus, logsumexp or the
    Gaussian integral). A block holds the states that share their high
    units (the last ones), in code order. Their pre-activations are a table
    for the low units, computed once, plus one row for the high units, so a
    block needs neither its states nor a matrix product: one addition, the
    cumulant and a row sum.
    """

    def __init__(
        self,
        W_xy,
        a_x,
        a_y,
        units_x=BERNOULLI,
        units_y=BERNOULLI,
        block_bytes=CACHE_BLOCK_BYTES,
    ):
        n_y = W_xy.shape[1]
        n_units = units_x.n_units(W_xy.shape[0])
        largest = max(1, block_bytes // (8 * max(n_y, 1)))
        n_low = 0
        while n_low < n_units and units_x.n_joint_states(n_low + 1) <= largest:
            n_low += 1
        self.units_high = units_x.restrict(np.arange(n_low, n_units))
        self.n_high = n_units - n_low
        self.n_blocks = self.units_high.n_joint_states(self.n_high)
        k = units_x.columns(np.arange(n_low)).shape[0]
        self.n_low_columns = k
        low = units_x.states(np.arange(units_x.n_joint_states(n_low)), n_low)
        self.low_states = low
        self.lam_low = low @ W_xy[:k] + a_y
        self.x_low = low @ a_x[:k]
        self.W_high = W_xy[k:]
        self.a_high = a_x[k:]
        self.units_y = units_y
        # The largest pre-activation any state can reach.
        bound = np.max(a_y + np.maximum(W_xy, 0).sum(axis=0), initial=-np.inf)
        self.exp_is_safe = units_y.logistic and bound < _EXP_SAFE
        self.ones = np.ones(units_y.n_units(n_y))

    def high_state(self, index):
        """The high units' state shared by the states of block ``index``."""
        return self.units_high.states(np.array([index]), self.n_high)[0]

    def block(self, index, buffer=None, activations=None):
        """Log weights of block ``index``: a new array, one per low state.

        ``buffer`` is a work array like ``lam_low``; ``activations``, if
        given, receives the block's pre-activations of the other layer.
        """
        high = self.high_state(index)
        lam = np.add(self.lam_low, high @ self.W_high, out=buffer)
        if activations is not None:
            np.copyto(activations, lam)
        if self.exp_is_safe:
            np.exp(lam, out=lam)
            lam += 1
            np.log(lam, out=lam)
        else:
            # In place where the cumulant has one value per column.
            lam = self.units_y.cumulant(lam, out=lam)
        log_w = lam @ self.ones
        log_w += self.x_low
        log_w += high @ self.a_high
        return log_w

    def log_sum_exp(self, start, stop):
        """ln of the sum of exp(log weights) over blocks ``start`` to ``stop``.

        Returns ``(shift, total)`` with the sum equal to total * exp(shift).
        """
        buffer = np.empty_like(self.lam_low)
        sums = RescaledSums()
        for index in range(start, stop):
            sums.add(self.block(index, buffer))
        shift, total = sums.shift, sums.total
        return shift, total


# Groups of enumeration blocks of exact ln Z: the unit of work of its
# threads, enough for a few threads while each group stays long.
LOG_PARTITION_GROUPS = 16


def log_partition(W, b, c, n_jobs=None, visible_units=BERNOULLI):
    """Exact ln Z of an RBM by enumerating its layer with the fewer states.

    The other layer is summed out in closed form by its unit type's
    cumulant, so a Gaussian visible layer is integrated exactly while the
    hidden layer is enumerated.

    Parameters
    ----------
    W : ndarray of shape (n_hidden, n_visible)
        Weights.
    b : ndarray of shape (n_visible,)
        Visible biases.
    c : ndarray of shape (n_hidden,)
        Hidden biases.
    n_jobs : int, default=None
        joblib threads over groups of blocks (numpy releases the GIL);
        ``None`` means 1 unless in a joblib context. The result is the same
        for any value.
    visible_units : UnitType, default=BERNOULLI
        The unit type of the visible layer (the hidden units are {0,1}).

    Returns
    -------
    log_z : float
        ln Z, computed in float64 with log-sum-exp.

    Examples
    --------
    >>> import numpy as np
    >>> from skbm._rbm_math import log_partition
    >>> float(log_partition(np.zeros((2, 3)), np.zeros(3), np.zeros(2)))  # 2**5 states
    3.4657...
    """
    table = _LogWeightTable(*_smaller_layer_first(W, b, c, visible_units)[:5])
    # Fixed groups of blocks, whatever n_jobs, combined in order: the result
    # is the same for any number of threads.
    groups = min(table.n_blocks, LOG_PARTITION_GROUPS)
    bounds = np.linspace(0, table.n_blocks, groups + 1).astype(int)
    parts = map_blocks(
        table.log_sum_exp, zip(bounds[:-1], bounds[1:], strict=True), n_jobs
    )
    shifts, totals = np.array(parts).T
    return float(logsumexp(shifts, b=totals))


def model_statistics(W, b, c, visible_units=BERNOULLI):
    """Exact model expectations E[h v^T], E[v], E[h], E[v**2] and ln Z.

    One pass over the states of the layer with the fewer states; block sums
    are rescaled to a running maximum of the log weights, so nothing
    overflows.

    Parameters
    ----------
    W : ndarray of shape (n_hidden, n_visible)
        Weights.
    b : ndarray of shape (n_visible,)
        Visible biases.
    c : ndarray of shape (n_hidden,)
        Hidden biases.
    visible_units : UnitType, default=BERNOULLI
        The unit type of the visible layer.

    Returns
    -------
    statistics : dict
        ``"hv"`` (n_hidden, n_visible) E[h_j v_i]; ``"v"`` E[v_i];
        ``"h"`` E[h_j]; ``"v_square"`` E[v_i**2] (equal to E[v_i] for
        discrete units); ``"log_z"`` ln Z.
    """
    W_xy, a_x, a_y, units_x, units_y, x_is_hidden = _smaller_layer_first(
        W, b, c, visible_units
    )
    table = _LogWeightTable(W_xy, a_x, a_y, units_x, units_y)
    n_x, n_y = W_xy.shape
    k = table.n_low_columns
    low = table.low_states
    # x is always discrete (x**2 = x); y may be Gaussian.
    squares = not units_y.enumerable
    sums = RescaledSums((n_x, n_y), n_x, n_y, n_y if squares else 0)
    xy, ex, ey, eyy = sums.sums
    buffer = np.empty_like(table.lam_low)
    field = np.empty_like(table.lam_low)
    for index in range(table.n_blocks):
        log_w = table.block(index, buffer, activations=field)
        weights = sums.add(log_w)
        y_mean = units_y.mean(field)
        # The block's states are (low, high) with high fixed: sums over
        # them split into the low table's and the high row's parts.
        high = table.high_state(index)
        weighted_y = weights @ y_mean
        xy[:k] += (low * weights[:, None]).T @ y_mean
        xy[k:] += np.outer(high, weighted_y)
        ex[:k] += weights @ low
        ex[k:] += weights.sum() * high
        ey += weighted_y
        if squares:
            eyy += weights @ units_y.square_mean(field)
    xy, ex, ey, eyy = sums.means()
    result = {"log_z": sums.log_total()}
    if x_is_hidden:
        result.update(hv=xy, v=ey, h=ex, v_square=eyy if squares else ey)
    else:
        result.update(hv=xy.T, v=ex, h=ey, v_square=ex)
    return result


def sample_exact(W, b, c, n_samples, rng, visible_units=BERNOULLI):
    """Exact samples of the visible layer, by enumerating one layer.

    The layer with the fewer states ``x`` is drawn from its marginal (all
    its states' probabilities are computed), then the other layer from
    P(y | x); the visible part of each joint draw is returned.

    Parameters
    ----------
    W : ndarray of shape (n_hidden, n_visible)
        Weights.
    b : ndarray of shape (n_visible,)
        Visible biases.
    c : ndarray of shape (n_hidden,)
        Hidden biases.
    n_samples : int
        Number of draws.
    rng : numpy.random.Generator
        Source of randomness.
    visible_units : UnitType, default=BERNOULLI
        The unit type of the visible layer.

    Returns
    -------
    V : ndarray of shape (n_samples, n_visible)
        Visible samples, float64.
    """
    W_xy, a_x, a_y, units_x, units_y, x_is_hidden = _smaller_layer_first(
        W, b, c, visible_units
    )
    table = _LogWeightTable(W_xy, a_x, a_y, units_x, units_y)
    log_w = np.concatenate([table.block(index) for index in range(table.n_blocks)])
    codes = draw_codes(log_w, n_samples, rng)
    x = units_x.states(codes, units_x.n_units(W_xy.shape[0]))
    if not x_is_hidden:
        return x
    return units_y.sample(x @ W_xy + a_y, rng)


class RestrictedFamily(ModelFamily):
    """The restricted Boltzmann machine, as a model family.

    Hidden units are {0,1}; the visible layer has any unit type. The energy
    is Phi(v, h) = self_energy(v) - h.W.v - b.v - c.h - offset, in the
    visible unit type's internal representation (one-hot columns for
    categorical units).

    Parameters
    ----------
    W : ndarray of shape (n_hidden, n_visible)
        Weights.
    b : ndarray of shape (n_visible,)
        Visible biases.
    c : ndarray of shape (n_hidden,)
        Hidden biases.
    base_field : ndarray of shape (n_visible,)
        Fields of the independent visible units of the base model (the
        hidden units of the base model are uniform).
    visible_units : UnitType, default=BERNOULLI
        The unit type of the visible layer.
    offset : float, default=0.0
        A constant term of -Phi: it cancels from every probability but is
        part of ln Z (a Gaussian RBM's -sum b**2 / (2 sigma**2)).
    """

    def __init__(self, W, b, c, base_field, visible_units=BERNOULLI, offset=0.0):
        self.W, self.b, self.c = W, b, c
        self.base_field = np.asarray(base_field, dtype=np.float64)
        self.visible_units = visible_units
        self.hidden_units = BERNOULLI
        self.offset = float(offset)
        self.dtype = np.asarray(W).dtype
        self.n_visible = W.shape[1]

    def unnormalized_log_proba(self, X):
        return self.offset - free_energy(X, self.W, self.b, self.c, self.visible_units)

    def enumeration_bits(self):
        return min(layer_bits(*self.W.shape, self.visible_units))

    def row_width(self):
        return max(self.W.shape)

    def exact_log_partition(self, n_jobs=None):
        log_z = log_partition(self.W, self.b, self.c, n_jobs, self.visible_units)
        return log_z + self.offset

    def exact_sample(self, n_samples, rng):
        # Visible units only: the sampled units of the annealing problem.
        return sample_exact(self.W, self.b, self.c, n_samples, rng, self.visible_units)

    def start_chains(self, n_chains, rng):
        groups = [
            (self.visible_units, self.base_field),
            (self.hidden_units, np.zeros(self.W.shape[0])),
        ]
        return independent_draws(groups, n_chains, rng, self.dtype)

    def hidden_probabilities(self, V):
        """P(h_j = 1 | v) of each row."""
        return hidden_probabilities(V, self.W, self.c)

    def visible_field(self, H):
        """The field on the visible units given hidden states ``H``."""
        return H @ self.W + self.b

    def sweep(self, states, n_sweeps, rng):
        """Alternate v ~ P(v | h) and h ~ P(h | v) on states [v, h]."""
        states = np.array(states)
        n_visible = self.n_visible
        W, c = self.W, self.c
        blocks = [slice(0, n_visible), slice(n_visible, None)]

        def field(states, index):
            if index == 0:
                return self.visible_field(states[:, n_visible:])
            return states[:, :n_visible] @ W.T + c

        units = [self.visible_units, self.hidden_units]
        return block_gibbs(states, n_sweeps, rng, blocks, field, units)

    def annealing_problem(self):
        # Visible units sampled, hidden units summed out (Salakhutdinov and
        # Murray, 2008); the base has uniform hidden units.
        W = self.W.astype(np.float64)
        return AnnealingProblem(
            W_KK=None,
            W_KR=W.T,
            b_K=self.b.astype(np.float64),
            b_R=self.c.astype(np.float64),
            a_K=self.base_field,
            a_R=np.zeros(W.shape[0]),
            blocks=(np.arange(W.shape[1]),),
            units_K=self.visible_units,
            units_R=self.hidden_units,
            offset=self.offset,
        )

    def data_statistics(self, X):
        h = hidden_probabilities(X, self.W, self.c)
        statistics = {
            "components_": safe_sparse_dot(h.T, X, dense_output=True) / X.shape[0],
            "intercept_visible_": np.asarray(X.mean(axis=0), dtype=self.dtype).ravel(),
            "intercept_hidden_": h.mean(axis=0),
        }
        if not self.visible_units.enumerable:
            # The statistic of the visible scale (dense: Gaussian data are).
            statistics["visible_square"] = np.mean(X * X, axis=0)
        return statistics

    def model_statistics(self):
        moments = model_statistics(self.W, self.b, self.c, self.visible_units)
        statistics = {
            "components_": moments["hv"].astype(self.dtype),
            "intercept_visible_": moments["v"].astype(self.dtype),
            "intercept_hidden_": moments["h"].astype(self.dtype),
        }
        if not self.visible_units.enumerable:
            statistics["visible_square"] = moments["v_square"].astype(self.dtype)
        return statistics

    def chain_statistics(self, chains):
        # Rao-Blackwellised: E[h | v] of the chains' visible states.
        return self.data_statistics(chains[:, : self.n_visible])
