"""Sequence weights of direct coupling analysis (DCA).

Protein families are sampled unevenly: close homologues crowd some regions of
sequence space. DCA therefore weights each aligned sequence by the inverse
number of sequences at least ``identity`` identical to it. This module
computes those weights from integer category codes, comparing every pair of
rows in tiles of bounded size.
"""

import math
from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array, gen_batches

from . import _enumeration

# Bytes of one tile's work array. Tiles this small stay in the L2 cache, where
# the bitwise passes ran 2.5 to 3 times faster than over 16 MiB tiles
# (measured on 3,000 x 500 codes); BLOCK_BYTES still caps them when smaller.
TILE_BYTES = 2**19

# identity * n_features may exceed an integer by a rounding error (0.55 * 100
# is 55.00000000000001); such a product counts as that integer.
ROUNDING = 1e-9

_FIX = (
    "Encode categories as integers 0 .. q - 1, for example with "
    "sklearn.preprocessing.OrdinalEncoder."
)

# Number of set bits of every byte, for numpy < 2.0 (no np.bitwise_count).
_BYTE_POPCOUNT = np.array([bin(byte).count("1") for byte in range(256)], np.uint8)


def _popcount_table(words, out):
    """Set bits of each uint64 in ``words``, into the uint8 array ``out``."""
    table = _BYTE_POPCOUNT[words.view(np.uint8)]
    return np.sum(table.reshape(*words.shape, 8), axis=-1, dtype=np.uint8, out=out)


def _popcount_numpy(words, out):
    return np.bitwise_count(words, out=out)


_popcount = _popcount_numpy if hasattr(np, "bitwise_count") else _popcount_table


def _check_identity(identity):
    # bool is an int, but identity=True is a mistake, not 100 %.
    is_real = isinstance(identity, Real) and not isinstance(identity, (bool, np.bool_))
    if not (is_real and 0 < identity <= 1):
        raise ValueError(
            f"identity must be a float in (0, 1], the fraction of equal columns "
            f"from which two rows are neighbours; got {identity!r}."
        )
    return float(identity)


def _check_codes(X):
    """Validated codes: a 2-D numeric array of integers >= 0 (maybe floats)."""
    if sp.issparse(X):
        raise ValueError(
            "sequence_weights expects a dense array of integer category codes, "
            "got a sparse matrix. Pass a dense array of codes instead (for "
            "example X.toarray(), or the output of "
            "sklearn.preprocessing.OrdinalEncoder)."
        )
    X = check_array(X, dtype="numeric", ensure_all_finite=False, input_name="X")
    if X.dtype.kind not in "fi":
        return X  # bool and unsigned codes are valid as they are
    # In row blocks, so that the masks stay within about BLOCK_BYTES.
    rows = max(1, _enumeration.BLOCK_BYTES // (8 * X.shape[1]))
    for batch in gen_batches(X.shape[0], rows):
        block = X[batch]
        if X.dtype.kind == "f":
            # NaN fails the integer test: nan != nan.
            bad = ~np.isfinite(block) | (block < 0) | (block != np.floor(block))
        else:
            bad = block < 0
        if bad.any():
            row, column = np.argwhere(bad)[0]
            value = block[row, column]
            if not np.isfinite(value):
                problem = "is not finite"
            elif value != np.floor(value):
                problem = "is not an integer"
            else:
                problem = "is negative"
            raise ValueError(
                f"sequence_weights expects integer category codes >= 0; column "
                f"{column} holds {value:g} (row {batch.start + row}), which "
                f"{problem}. {_FIX}"
            )
    return X


def _bit_planes(X):
    """Codes as bit planes: ``planes[p, w, i]`` holds bit p of row i's codes.

    Bit c of word w is column 64 w + c; the padding columns are 0 in every
    row, so they never differ.
    """
    dtype = np.uint8
    if X.max() > 255:
        # Only equality matters: rank the values, so that the number of
        # planes is that of the distinct codes, not of the largest one.
        X = np.unique(X.ravel(), return_inverse=True)[1].reshape(X.shape)
        dtype = np.int64
    n_samples, n_features = X.shape
    n_bits = max(1, int(X.max()).bit_length())
    n_words = -(-n_features // 64)
    # Rows contiguous within a word, so that a tile reads a slice of each.
    planes = np.empty((n_bits, n_words, n_samples), np.uint64)
    rows = max(1, _enumeration.BLOCK_BYTES // (8 * n_features))
    for batch in gen_batches(n_samples, rows):
        codes = X[batch].astype(dtype)
        padded = np.zeros((codes.shape[0], 8 * n_words), np.uint8)
        for bit in range(n_bits):
            padded[:, : -(-n_features // 8)] = np.packbits(
                (codes >> bit) & 1, axis=1, bitorder="little"
            )
            planes[bit, :, batch] = padded.view(np.uint64).T
    return planes


def _neighbour_counts(planes, max_mismatches, n_features):
    """Rows differing from each row in at most ``max_mismatches`` columns.

    Each unordered pair of rows is compared once, in tiles of rows [s, e)
    against rows [t, u) with t >= s, and counted for both of its rows.
    """
    n_bits, n_words, n_samples = planes.shape
    tile = max(1, min(_enumeration.BLOCK_BYTES, TILE_BYTES) // 8)
    rows = max(1, math.isqrt(tile))
    cols = max(1, tile // rows)
    count_dtype = np.uint16 if n_features < 2**16 else np.uint32
    counts = np.zeros(n_samples, np.int64)
    diff = np.empty(tile, np.uint64)
    plane_diff = np.empty(tile, np.uint64)
    ones = np.empty(tile, np.uint8)
    mismatches = np.empty(tile, count_dtype)
    for block in gen_batches(n_samples, rows):
        s, e = block.start, block.stop
        for part in gen_batches(n_samples - s, cols):
            t, u = s + part.start, s + part.stop
            shape, size = (e - s, u - t), (e - s) * (u - t)
            d, pd, o, m = (
                a[:size].reshape(shape) for a in (diff, plane_diff, ones, mismatches)
            )
            m[...] = 0
            for w in range(n_words):
                # A column differs when any bit of its codes differs.
                np.bitwise_xor(planes[0, w, s:e, None], planes[0, w, None, t:u], out=d)
                for p in range(1, n_bits):
                    np.bitwise_xor(
                        planes[p, w, s:e, None], planes[p, w, None, t:u], out=pd
                    )
                    np.bitwise_or(d, pd, out=d)
                np.add(m, _popcount(d, o), out=m)
            near = m <= max_mismatches
            counts[s:e] += near.sum(axis=1)
            # Pairs within the block are already counted, both ways, above.
            first = max(t, e)
            if first < u:
                counts[first:u] += near[:, first - t :].sum(axis=0)
    return counts


def sequence_weights(X, identity=0.8):
    """Weight aligned sequences by the inverse number of close sequences.

    The standard reweighting of direct coupling analysis (DCA): each row is
    weighted by one over the number of rows at least ``identity`` identical
    to it, itself included, so that a cluster of close homologues counts
    about as much as one sequence. The weights sum to the effective number
    of sequences, M_eff.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Integer category codes, one row per aligned sequence and one column
        per position; for example amino acids and the gap encoded 0 .. 20,
        as :class:`sklearn.preprocessing.OrdinalEncoder` outputs them. Floats
        holding integers are accepted. The gap is a code like any other.
    identity : float, default=0.8
        Threshold in (0, 1] on the fraction of equal columns: rows at least
        this identical are neighbours. ``identity=1.0`` makes only identical
        rows neighbours.

    Returns
    -------
    weights : ndarray of shape (n_samples,)
        The weights, float64 in (0, 1]: ``1 / (number of neighbours)``.

    Raises
    ------
    ValueError
        If ``X`` is sparse, or holds a negative, non-integer or non-finite
        value (the message names its column), or if ``identity`` is not a
        number in (0, 1].

    Notes
    -----
    Rows i and j are neighbours when their codes are equal in at least
    ``m = max(1, ceil(identity * n_features - 1e-9))`` columns, that is
    when their fraction of equal columns reaches ``identity``. The test is
    on integers; the 1e-9 only absorbs floating-point rounding, so that
    ``identity=0.55`` asks 100 columns for 55 equal ones, not 56
    (``0.55 * 100 == 55.00000000000001``). ``identity=1.0`` gives
    ``m = n_features``: identical rows only. The weight of row i is one
    over the number of its neighbours, row i included. Some reference codes
    (mfDCA, plmDCA, adabmDCA) count a pair only when its identity is
    strictly above the threshold; they differ from this function only for
    pairs exactly at it.

    Every pair of rows is compared, once: the cost is
    O(n_samples**2 * n_features). The codes are stored as
    ceil(log2(number of codes)) bit planes of 64 columns per word, and the
    columns where two rows differ are counted with bitwise XOR, OR and
    popcount on words, in tiles of rows against rows. Memory is the bit
    planes, O(n_samples * n_features) (5 bits per code for 21 codes), plus
    a few tile work arrays of at most
    ``min(skbm._enumeration.BLOCK_BYTES, 512 KiB)`` each: no array of
    n_samples x n_samples is ever formed.

    Measured on a shared 2-core AMD EPYC (one thread; no BLAS is used, so
    ``OPENBLAS_NUM_THREADS`` makes no difference): 50,000 x 500 uniformly
    random codes 0 .. 20 took 116 s (112 s of CPU) with a tracemalloc peak
    of 22 MiB, the input excluded; 10,000 x 500 took 5 s. Alternatives
    timed on 3,000 x 500 and extrapolated quadratically to 50,000 rows were
    3 to 7 times slower: sparse one-hot products, block by transposed
    one-hot (about 400 s), scipy's ``cdist(..., "hamming")`` (660 s), byte
    comparisons column by column (770 s) and float32 one-hot matrix
    products (550 s with one BLAS thread, 2,400 s with two threads on the
    busy machine).

    References
    ----------
    .. [1] F. Morcos, A. Pagnani, B. Lunt, A. Bertolino, D. S. Marks,
       C. Sander, R. Zecchina, J. N. Onuchic, T. Hwa and M. Weigt,
       "Direct-coupling analysis of residue coevolution captures native
       contacts across many protein families", PNAS 108(49), E1293-E1301,
       2011.
    .. [2] M. Ekeberg, C. Lövkvist, Y. Lan, M. Weigt and E. Aurell,
       "Improved contact prediction in proteins: Using pseudolikelihoods to
       infer Potts models", Physical Review E 87, 012707, 2013.

    Examples
    --------
    >>> from sklearn.preprocessing import OrdinalEncoder
    >>> from skbm import sequence_weights
    >>> alignment = ["ACDE-", "ACDEA", "ACDE-", "-EDCA"]
    >>> X = OrdinalEncoder().fit_transform([list(s) for s in alignment])
    >>> weights = sequence_weights(X, identity=0.8)
    >>> weights.round(3).tolist()
    [0.333, 0.333, 0.333, 1.0]
    >>> float(weights.sum())  # M_eff: the first three count as one
    2.0
    >>> sequence_weights(X, identity=1.0).tolist()  # exact duplicates only
    [0.5, 1.0, 0.5, 1.0]
    """
    identity = _check_identity(identity)
    X = _check_codes(X)
    n_features = X.shape[1]
    min_matches = max(1, math.ceil(identity * n_features - ROUNDING))
    counts = _neighbour_counts(_bit_planes(X), n_features - min_matches, n_features)
    return 1.0 / counts
