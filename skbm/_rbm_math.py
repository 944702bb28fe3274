"""Math core of the restricted Boltzmann machine: pure functions on arrays.

Notation (DESIGN.md section 1): visible units v, hidden units h, weights
``W`` of shape (n_hidden, n_visible), visible biases ``b`` and hidden biases
``c``; the energy is Phi(v, h) = -h.W.v - b.v - c.h.

The two layers play symmetric roles. Summing one layer ("y") out in closed
form leaves, for each state of the other ("x"),

    ln sum_y exp(-Phi(x, y)) = a_x . x + sum_j softplus(a_y + x W_xy)_j,

so ln Z needs an enumeration of the smaller layer only.
"""

import numpy as np
from scipy.special import expit, logsumexp
from sklearn.utils.extmath import safe_sparse_dot

from ._enumeration import binary_states, state_blocks


def softplus(x, out=None):
    """ln(1 + exp(x)), finite for any finite ``x``.

    Computed as ``max(x, 0) + log1p(exp(-|x|))``, which never overflows and
    is about three times faster than ``np.logaddexp(0, x)``.

    Parameters
    ----------
    x : ndarray
        Input.
    out : ndarray, default=None
        Where to write the result; may be ``x`` itself.

    Returns
    -------
    y : ndarray
        softplus of ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbm._rbm_math import softplus
    >>> softplus(np.array([-1000.0, 0.0, 1000.0])).round(6).tolist()
    [0.0, 0.693147, 1000.0]
    """
    positive = np.maximum(x, 0)
    out = np.abs(x, out=out)
    np.negative(out, out=out)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    out += positive
    return out


def sample_bernoulli(p, rng):
    """Draw binary units with probabilities ``p``, in the dtype of ``p``."""
    return (rng.random(p.shape, dtype=p.dtype) < p).astype(p.dtype)


def hidden_probabilities(V, W, c):
    """P(h_j = 1 | v) = sigmoid(c_j + sum_i W_ji v_i), one row per sample."""
    return expit(safe_sparse_dot(V, W.T, dense_output=True) + c)


def visible_probabilities(H, W, b):
    """P(v_i = 1 | h) = sigmoid(b_i + sum_j W_ji h_j), one row per sample."""
    return expit(H @ W + b)


def free_energy(V, W, b, c):
    """Free energy F(v) = -ln sum_h exp(-Phi(v, h)) of each row, in float64.

    F(v) = -b.v - sum_j softplus(c_j + sum_i W_ji v_i).

    Parameters
    ----------
    V : {ndarray, sparse matrix} of shape (n_samples, n_visible)
        Visible states (or probabilities).
    W : ndarray of shape (n_hidden, n_visible)
        Weights.
    b : ndarray of shape (n_visible,)
        Visible biases.
    c : ndarray of shape (n_hidden,)
        Hidden biases.

    Returns
    -------
    F : ndarray of shape (n_samples,)
        Free energies.
    """
    W = W.astype(np.float64, copy=False)
    lam = safe_sparse_dot(V, W.T, dense_output=True).astype(np.float64, copy=False)
    lam += c
    visible_term = safe_sparse_dot(V, b.astype(np.float64, copy=False))
    return -np.asarray(visible_term).ravel() - softplus(lam, out=lam).sum(axis=1)


def _smaller_layer_first(W, b, c):
    """Orient the RBM so that the enumerated layer ``x`` is the smaller one.

    Returns ``(W_xy, a_x, a_y, x_is_hidden)`` in float64, where ``W_xy`` has
    shape (n_x, n_y).
    """
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    if W.shape[0] <= W.shape[1]:
        return W, c, b, True
    return W.T, b, c, False


def _enumerated_log_weights(x, W_xy, a_x, a_y):
    """ln sum_y exp(-Phi(x, y)) for a block of states ``x`` of the x layer."""
    lam = x @ W_xy
    lam += a_y
    return x @ a_x + softplus(lam, out=lam).sum(axis=1)


def log_partition(W, b, c):
    """Exact ln Z of an RBM by enumerating its smaller layer in blocks.

    Parameters
    ----------
    W : ndarray of shape (n_hidden, n_visible)
        Weights.
    b : ndarray of shape (n_visible,)
        Visible biases.
    c : ndarray of shape (n_hidden,)
        Hidden biases.

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
    W_xy, a_x, a_y, _ = _smaller_layer_first(W, b, c)
    n_x, n_y = W_xy.shape
    block_sums = [
        logsumexp(
            _enumerated_log_weights(binary_states(start, stop, n_x), W_xy, a_x, a_y)
        )
        for start, stop in state_blocks(n_x, n_y)
    ]
    return float(logsumexp(block_sums))


def model_statistics(W, b, c):
    """Exact model expectations E[h v^T], E[v], E[h] and ln Z by enumeration.

    One pass over the smaller layer's states; block sums are rescaled to a
    running maximum of the log weights, so nothing overflows.

    Parameters
    ----------
    W : ndarray of shape (n_hidden, n_visible)
        Weights.
    b : ndarray of shape (n_visible,)
        Visible biases.
    c : ndarray of shape (n_hidden,)
        Hidden biases.

    Returns
    -------
    hv : ndarray of shape (n_hidden, n_visible)
        E[h_j v_i].
    v : ndarray of shape (n_visible,)
        E[v_i].
    h : ndarray of shape (n_hidden,)
        E[h_j].
    log_z : float
        ln Z.
    """
    W_xy, a_x, a_y, x_is_hidden = _smaller_layer_first(W, b, c)
    n_x, n_y = W_xy.shape
    shift = -np.inf
    total = 0.0
    xy = np.zeros((n_x, n_y))
    ex = np.zeros(n_x)
    ey = np.zeros(n_y)
    for start, stop in state_blocks(n_x, n_y):
        x = binary_states(start, stop, n_x)
        lam = x @ W_xy
        lam += a_y
        log_w = x @ a_x + softplus(lam).sum(axis=1)
        block_max = log_w.max()
        if block_max > shift:
            # Rescale what was accumulated so far to the new maximum.
            scale = np.exp(shift - block_max)
            total *= scale
            xy *= scale
            ex *= scale
            ey *= scale
            shift = block_max
        weights = np.exp(log_w - shift)
        y_mean = expit(lam, out=lam)
        total += weights.sum()
        weighted_x = x * weights[:, None]
        xy += weighted_x.T @ y_mean
        ex += weighted_x.sum(axis=0)
        ey += weights @ y_mean
    xy /= total
    ex /= total
    ey /= total
    log_z = float(shift + np.log(total))
    if x_is_hidden:
        return xy, ey, ex, log_z
    return xy.T, ex, ey, log_z


def sample_exact(W, b, c, n_samples, rng):
    """Exact samples of the visible layer, by enumerating the smaller layer.

    The smaller layer ``x`` is drawn from its marginal (all its states'
    probabilities are computed), then the other layer from P(y | x); the
    visible part of each joint draw is returned.

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

    Returns
    -------
    V : ndarray of shape (n_samples, n_visible)
        Visible samples, float64.
    """
    W_xy, a_x, a_y, x_is_hidden = _smaller_layer_first(W, b, c)
    n_x, n_y = W_xy.shape
    log_w = np.concatenate(
        [
            _enumerated_log_weights(binary_states(start, stop, n_x), W_xy, a_x, a_y)
            for start, stop in state_blocks(n_x, n_y)
        ]
    )
    probabilities = np.exp(log_w - logsumexp(log_w))
    codes = rng.choice(probabilities.size, size=n_samples, p=probabilities)
    x = (codes[:, None] >> np.arange(n_x)) & 1
    x = x.astype(np.float64)
    if not x_is_hidden:
        return x
    return sample_bernoulli(expit(x @ W_xy + a_y), rng)


def sample_gibbs(W, b, c, n_samples, rng, n_steps):
    """Approximate samples of the visible layer by block Gibbs sampling.

    ``n_samples`` independent chains start from uniformly random hidden
    states and alternate v ~ P(v | h), h ~ P(h | v) for ``n_steps`` steps; the
    last visible states are returned.

    Parameters
    ----------
    W : ndarray of shape (n_hidden, n_visible)
        Weights.
    b : ndarray of shape (n_visible,)
        Visible biases.
    c : ndarray of shape (n_hidden,)
        Hidden biases.
    n_samples : int
        Number of chains, one sample each.
    rng : numpy.random.Generator
        Source of randomness.
    n_steps : int
        Gibbs steps per chain (burn-in).

    Returns
    -------
    V : ndarray of shape (n_samples, n_visible)
        Visible samples, in the dtype of ``W``.
    """
    h = sample_bernoulli(np.full((n_samples, W.shape[0]), 0.5, dtype=W.dtype), rng)
    for _ in range(n_steps):
        v = sample_bernoulli(visible_probabilities(h, W, b), rng)
        h = sample_bernoulli(hidden_probabilities(v, W, c), rng)
    return v
