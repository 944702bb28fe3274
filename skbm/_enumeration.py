"""Enumeration of binary states in bounded blocks.

Exact log partition functions and moments sum over all 2**n binary states.
The states are generated block by block, so that memory stays bounded
whatever ``n``; the per-block results are combined in float64. Blocks may
be computed on joblib threads (numpy releases the GIL); they are fixed by the
problem, not by the number of threads, and combined in order, so results do
not depend on ``n_jobs``.
"""

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs

# Bytes one block of float64 work arrays may take. A few such arrays are alive
# at once, so exact enumeration stays far below 256 MiB at every size.
BLOCK_BYTES = 16 * 2**20

# Largest number of states, as a power of two, that the estimators enumerate
# for score_method="auto": at most 2**20 terms (the user guide's scoring
# rules; the contributor page, doc/contributing.rst, for the engines).
MAX_EXACT_BITS = 20


def choose_by_size(choice, bits, *, auto_bits, max_bits, otherwise, refusal):
    """Resolve an "auto" choice between enumeration and another method.

    "auto" takes "exact" while the enumeration has at most 2**auto_bits
    terms and ``otherwise`` beyond; "exact" is refused beyond 2**max_bits.

    Parameters
    ----------
    choice : str
        The user's choice: "auto", "exact" or another method.
    bits : int
        log2 of the number of terms the enumeration would take.
    auto_bits, max_bits : int
        The limits of "auto" and of "exact".
    otherwise : str
        What "auto" takes beyond its limit.
    refusal : str
        The message of the ``ValueError`` that refuses "exact".

    Returns
    -------
    method : str
        The resolved choice.

    Examples
    --------
    >>> from skbm._enumeration import choose_by_size
    >>> choose_by_size("auto", 25, auto_bits=20, max_bits=30, otherwise="ais",
    ...                refusal="too large")
    'ais'
    """
    if choice == "auto":
        choice = "exact" if bits <= auto_bits else otherwise
    if choice == "exact" and bits > max_bits:
        raise ValueError(refusal)
    return choice


def binary_states(start, stop, n_bits, dtype=np.float64):
    """Binary states with integer codes ``start`` to ``stop - 1``.

    Bit ``i`` of the code is unit ``i``.

    Parameters
    ----------
    start, stop : int
        Range of state codes, ``0 <= start <= stop <= 2**n_bits``.
    n_bits : int
        Number of units.
    dtype : dtype, default=np.float64
        Dtype of the returned array.

    Returns
    -------
    states : ndarray of shape (stop - start, n_bits)
        One state per row, entries 0 or 1.

    Examples
    --------
    >>> from skbm._enumeration import binary_states
    >>> binary_states(0, 4, 2)
    array([[0., 0.],
           [1., 0.],
           [0., 1.],
           [1., 1.]])
    """
    return code_bits(np.arange(start, stop, dtype=np.int64), n_bits, dtype)


def code_bits(codes, n_bits, dtype=np.float64):
    """The binary states of integer state codes; bit ``i`` is unit ``i``.

    Parameters
    ----------
    codes : ndarray of int of shape (n_states,)
        State codes, each below ``2**n_bits``.
    n_bits : int
        Number of units.
    dtype : dtype, default=np.float64
        Dtype of the returned array.

    Returns
    -------
    states : ndarray of shape (n_states, n_bits)
        One state per row, entries 0 or 1.
    """
    codes = np.asarray(codes, dtype=np.int64)
    bits = (codes[:, None] >> np.arange(n_bits, dtype=np.int64)) & 1
    return bits.astype(dtype, copy=False)


def state_blocks(n_bits, row_width, block_bytes=BLOCK_BYTES):
    """Split the ``2**n_bits`` state codes into memory-bounded ranges.

    Parameters
    ----------
    n_bits : int
        Number of enumerated units.
    row_width : int
        Number of float64 values computed per state (the widest work array).
    block_bytes : int, default=BLOCK_BYTES
        Memory allowed for one block's widest work array.

    Yields
    ------
    start, stop : int
        Consecutive code ranges covering ``range(2**n_bits)``.
    """
    return state_ranges(1 << n_bits, n_bits, row_width, block_bytes)


def state_ranges(n_states, n_units, row_width, block_bytes=BLOCK_BYTES):
    """Split ``n_states`` state codes into memory-bounded ranges.

    Parameters
    ----------
    n_states : int
        Number of joint states of the enumerated units.
    n_units : int
        Number of enumerated units (the width of one state).
    row_width : int
        Number of float64 values computed per state (the widest work array).
    block_bytes : int, default=BLOCK_BYTES
        Memory allowed for one block's widest work array.

    Yields
    ------
    start, stop : int
        Consecutive code ranges covering ``range(n_states)``.
    """
    block = max(1, block_bytes // (8 * max(row_width, n_units, 1)))
    for start in range(0, n_states, block):
        yield start, min(start + block, n_states)


def map_blocks(function, bounds, n_jobs=None):
    """``[function(start, stop) for start, stop in bounds]``, on joblib threads.

    The blocks are shared-memory work on numpy arrays, so they always run on
    threads (``require="sharedmem"``), also inside a process-based joblib
    context such as a dask or loky backend.

    Parameters
    ----------
    function : callable
        ``function(start, stop)``, the result of one block.
    bounds : iterable of (int, int)
        The blocks, for example from :func:`state_blocks`.
    n_jobs : int, default=None
        Threads, as in joblib; ``None`` means 1 unless in a joblib context.
        Never more threads than blocks.

    Returns
    -------
    results : list
        The results in the order of ``bounds``, whatever ``n_jobs``.

    Examples
    --------
    >>> from skbm._enumeration import map_blocks
    >>> map_blocks(lambda start, stop: stop - start, [(0, 3), (3, 4)], n_jobs=2)
    [3, 1]
    """
    bounds = list(bounds)
    n_jobs = min(effective_n_jobs(n_jobs), len(bounds))
    if n_jobs <= 1:
        return [function(start, stop) for start, stop in bounds]
    return Parallel(n_jobs=n_jobs, require="sharedmem")(
        delayed(function)(start, stop) for start, stop in bounds
    )


class RescaledSums:
    """Sums over blocks of exp(log weight) and of weighted statistics.

    The sums are kept relative to the running maximum of the log weights
    seen so far; when a block raises that maximum, what was accumulated is
    rescaled. Nothing overflows, whatever the size of the weights.

    Parameters
    ----------
    *shapes : tuple of int
        Shapes of the weighted statistics to accumulate, in ``sums``.

    Attributes
    ----------
    shift : float
        The running maximum of the log weights.
    total : float
        Sum of exp(log weight - shift).
    sums : list of ndarray
        The statistics' sums, relative to ``shift`` like ``total``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbm._enumeration import RescaledSums
    >>> sums = RescaledSums()
    >>> for block in (np.array([1000.0, 1000.0]), np.array([1001.0])):
    ...     _ = sums.add(block.copy())
    >>> round(sums.log_total() - 1000, 6)  # ln(2 + e)
    1.551445
    """

    def __init__(self, *shapes):
        self.shift = -np.inf
        self.total = 0.0
        self.sums = [np.zeros(shape) for shape in shapes]

    def add(self, log_weights):
        """Add a block; return its weights exp(log_weights - shift).

        ``log_weights`` is overwritten with the weights. The caller adds the
        block's weighted statistics to ``sums``.
        """
        block_max = log_weights.max()
        if block_max > self.shift:
            scale = np.exp(self.shift - block_max)
            self.total *= scale
            for values in self.sums:
                values *= scale
            self.shift = block_max
        log_weights -= self.shift
        weights = np.exp(log_weights, out=log_weights)
        self.total += weights.sum()
        return weights

    def log_total(self):
        """ln of the sum of exp(log weight) over all blocks."""
        return float(self.shift + np.log(self.total))

    def means(self):
        """The statistics' weighted means."""
        return [values / self.total for values in self.sums]


def draw_states(log_weights, n_samples, rng):
    """Draw enumerated states with probabilities proportional to exp(log weight).

    Parameters
    ----------
    log_weights : ndarray of shape (2**n_bits,)
        Unnormalised log-probabilities of all states, in code order (bit
        ``i`` of the code is unit ``i``).
    n_samples : int
        Number of independent draws.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    states : ndarray of shape (n_samples, n_bits)
        The drawn states, entries 0 or 1, float64.

    Examples
    --------
    >>> import numpy as np
    >>> from skbm._enumeration import draw_states
    >>> only_state_3 = np.array([-np.inf, -np.inf, -np.inf, 0.0])
    >>> draw_states(only_state_3, 2, np.random.default_rng(0)).tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    n_bits = log_weights.shape[0].bit_length() - 1
    return code_bits(draw_codes(log_weights, n_samples, rng), n_bits)


def draw_codes(log_weights, n_samples, rng):
    """Draw state codes with probabilities proportional to exp(log weight).

    Parameters
    ----------
    log_weights : ndarray of shape (n_states,)
        Unnormalised log-probabilities of all states, in code order.
    n_samples : int
        Number of independent draws.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    codes : ndarray of int of shape (n_samples,)
        The drawn codes.
    """
    cumulative = np.cumsum(np.exp(log_weights - log_weights.max()))
    codes = np.searchsorted(cumulative, rng.random(n_samples) * cumulative[-1], "right")
    # Guard against u * total rounding up to the last cumulative value.
    return np.minimum(codes, log_weights.shape[0] - 1)
