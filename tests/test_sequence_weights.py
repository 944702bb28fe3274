"""sequence_weights: DCA reweighting against a brute-force double loop.

The brute force counts neighbours pair by pair with exact fractions, so it
shares neither the bit-plane algorithm nor the integer threshold of the
implementation. Tiny blocks, the validation messages and the memory bound
(tracemalloc, to which numpy reports its allocations) are tested too.
"""

import math
import tracemalloc
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.preprocessing import OrdinalEncoder

import skbm._enumeration
import skbm._sequence_weights
from skbm import sequence_weights
from skbm._sequence_weights import TILE_BYTES, _popcount_table


def brute_force_weights(X, identity):
    """1 / the number of rows whose fraction of equal columns is >= identity.

    ``identity`` is read as the decimal it prints as (0.55 is 11/20), the
    threshold a user means.
    """
    X = np.asarray(X)
    n_samples, n_features = X.shape
    threshold = Fraction(str(identity))
    weights = np.empty(n_samples)
    for i in range(n_samples):
        neighbours = 0
        for j in range(n_samples):
            equal = int(np.sum(X[i] == X[j]))
            neighbours += Fraction(equal, n_features) >= threshold
        weights[i] = 1.0 / neighbours
    return weights


def clustered_codes(n_samples, n_features, q, seed):
    """Codes in clusters: mutated copies of a few rows, and exact duplicates.

    Mutation rates from 0 to 40 % put pairs on both sides of the usual
    thresholds.
    """
    rng = np.random.default_rng(seed)
    roots = rng.integers(0, q, (max(1, n_samples // 6), n_features))
    X = roots[rng.integers(0, roots.shape[0], n_samples)]
    rates = rng.choice([0.0, 0.05, 0.1, 0.2, 0.4], size=(n_samples, 1))
    mutate = rng.random(X.shape) < rates
    X = np.where(mutate, rng.integers(0, q, X.shape), X)
    X[-5:] = X[:5]
    return X


@pytest.mark.parametrize("q", [2, 4, 21])
@pytest.mark.parametrize("identity", [0.5, 0.8, 1.0])
@pytest.mark.parametrize("n_features", [23, 70])
def test_matches_brute_force(q, identity, n_features):
    X = clustered_codes(48, n_features, q, seed=q + n_features)
    weights = sequence_weights(X, identity=identity)
    assert weights.dtype == np.float64
    assert weights.shape == (48,)
    np.testing.assert_array_equal(weights, brute_force_weights(X, identity))
    if identity < 1.0 and q > 2:
        assert weights.min() < 0.5  # the data do have neighbours


def test_default_identity_is_80_percent():
    X = clustered_codes(40, 30, 5, seed=3)
    np.testing.assert_array_equal(sequence_weights(X), brute_force_weights(X, 0.8))


def test_duplicates_weigh_one_over_their_multiplicity():
    rng = np.random.default_rng(0)
    # Rows that differ in every column, so only duplicates are neighbours.
    distinct = np.arange(4)[:, None] + np.zeros((4, 9), dtype=int)
    multiplicity = np.array([1, 2, 3, 5])
    order = rng.permutation(multiplicity.sum())
    X = np.repeat(distinct, multiplicity, axis=0)[order]
    expected = 1.0 / np.repeat(multiplicity, multiplicity)[order]
    np.testing.assert_array_equal(sequence_weights(X, identity=1.0), expected)
    # One differing column breaks identity=1.0 but not identity=0.8.
    X[0, 0] = 100
    weights = sequence_weights(X, identity=1.0)
    assert weights[0] == 1.0
    np.testing.assert_array_equal(sequence_weights(X, 0.8), expected)


def test_borderline_rounding_of_the_threshold():
    # 0.55 * 100 is 55.00000000000001 in floating point: a naive ceil asks
    # for 56 equal columns, although 55 of 100 is exactly 55 %.
    assert math.ceil(0.55 * 100) == 56
    base = np.zeros(100, dtype=int)
    exactly = base.copy()
    exactly[55:] = 1  # 55 equal columns: 55 %, neighbours
    below = base.copy()
    below[54:] = 1  # 54 equal columns: 54 %, not neighbours
    X = np.array([base, exactly])
    np.testing.assert_array_equal(sequence_weights(X, identity=0.55), [0.5, 0.5])
    np.testing.assert_array_equal(brute_force_weights(X, 0.55), [0.5, 0.5])
    X = np.array([base, below])
    np.testing.assert_array_equal(sequence_weights(X, identity=0.55), [1.0, 1.0])
    # 4 equal columns of 5 reach identity=0.8, 3 do not.
    X = np.array([[0, 1, 2, 3, 4], [0, 1, 2, 3, 0], [0, 1, 2, 0, 0]])
    np.testing.assert_array_equal(sequence_weights(X, 0.8), [0.5, 1 / 3, 0.5])
    np.testing.assert_array_equal(brute_force_weights(X, 0.8), [0.5, 1 / 3, 0.5])


def test_all_distinct_rows_weigh_one():
    # Row i is i everywhere: any two rows differ in every column.
    X = np.arange(30)[:, None] + np.zeros((30, 11), dtype=int)
    for identity in (0.01, 0.5, 0.8, 1.0):
        np.testing.assert_array_equal(sequence_weights(X, identity), np.ones(30))
    # A single row is its only neighbour.
    assert sequence_weights([[3, 1, 4]]).tolist() == [1.0]


def test_tiny_blocks_give_identical_results(monkeypatch):
    X = clustered_codes(70, 130, 21, seed=5)
    expected = sequence_weights(X, identity=0.8)
    batch_sizes = []
    original = skbm._sequence_weights.gen_batches

    def recording_gen_batches(n, batch_size, **kwargs):
        for batch in original(n, batch_size, **kwargs):
            batch_sizes.append(batch_size)
            yield batch

    monkeypatch.setattr(skbm._sequence_weights, "gen_batches", recording_gen_batches)
    # Tiles of 20 uint64: 4 rows against 5 rows at a time.
    monkeypatch.setattr(skbm._enumeration, "BLOCK_BYTES", 8 * 20)
    weights = sequence_weights(X, identity=0.8)
    np.testing.assert_array_equal(weights, expected)
    np.testing.assert_array_equal(weights, brute_force_weights(X, 0.8))
    assert batch_sizes.count(4) == math.ceil(70 / 4)
    assert batch_sizes.count(5) == sum(math.ceil((70 - s) / 5) for s in range(0, 70, 4))
    assert batch_sizes.count(5) > 100
    # Validation and packing went one row at a time.
    assert batch_sizes.count(1) == 2 * 70


def test_tiny_blocks_report_the_global_row(monkeypatch):
    monkeypatch.setattr(skbm._enumeration, "BLOCK_BYTES", 8)
    X = np.zeros((50, 4))
    X[37, 2] = -3
    with pytest.raises(ValueError, match=r"column 2 holds -3 \(row 37\)"):
        sequence_weights(X)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8, np.int32])
def test_integer_codes_of_any_dtype(dtype):
    X = clustered_codes(40, 25, 4, seed=7)
    np.testing.assert_array_equal(
        sequence_weights(X.astype(dtype)), sequence_weights(X)
    )


def test_large_codes_and_bool_codes():
    X = clustered_codes(40, 25, 4, seed=8)
    # Codes above 255 are ranked; only equality matters.
    np.testing.assert_array_equal(sequence_weights(X * 10**6 + 7), sequence_weights(X))
    np.testing.assert_array_equal(
        sequence_weights((X * 1e12).astype(np.float64)), sequence_weights(X)
    )
    B = X % 2
    np.testing.assert_array_equal(sequence_weights(B.astype(bool)), sequence_weights(B))


def test_ordinal_encoder_output():
    alignment = ["ACDE-", "ACDEA", "ACDE-", "-EDCA", "MKLV-"]
    X = OrdinalEncoder().fit_transform([list(s) for s in alignment])
    expected = [1 / 3, 1 / 3, 1 / 3, 1.0, 1.0]
    np.testing.assert_allclose(sequence_weights(X), expected, rtol=0, atol=0)


@pytest.mark.parametrize(
    "value, problem",
    [
        (-1, r"column 2 holds -1 \(row 3\), which is negative"),
        (1.5, r"column 2 holds 1.5 \(row 3\), which is not an integer"),
        (np.nan, r"column 2 holds nan \(row 3\), which is not finite"),
        (np.inf, r"column 2 holds inf \(row 3\), which is not finite"),
    ],
)
def test_bad_codes_name_column_value_and_fix(value, problem):
    X = np.zeros((5, 4))
    X[3, 2] = value
    with pytest.raises(ValueError, match=problem) as info:
        sequence_weights(X)
    assert "sklearn.preprocessing.OrdinalEncoder" in str(info.value)
    assert "integers 0 .. q - 1" in str(info.value)


def test_negative_integer_codes():
    X = np.zeros((5, 4), dtype=np.int64)
    X[0, 1] = -2
    with pytest.raises(ValueError, match=r"column 1 holds -2 \(row 0\)"):
        sequence_weights(X)


def test_sparse_input_is_refused():
    X = sp.csr_matrix(np.eye(4))
    with pytest.raises(ValueError, match="dense array of integer category codes"):
        sequence_weights(X)


@pytest.mark.parametrize(
    "identity", [0, 0.0, -0.1, 1.0000001, 2, np.nan, np.inf, "0.8", None]
)
def test_identity_out_of_range(identity):
    with pytest.raises(ValueError, match=r"identity must be a float in \(0, 1\]"):
        sequence_weights(np.zeros((3, 2)), identity=identity)


@pytest.mark.parametrize("identity", [True, False, np.True_])
def test_bool_identity_is_refused(identity):
    with pytest.raises(ValueError, match="identity must be a float"):
        sequence_weights(np.zeros((3, 2)), identity=identity)


def test_identity_of_numpy_and_integer_types():
    X = clustered_codes(30, 20, 3, seed=9)
    expected = sequence_weights(X, identity=1.0)
    np.testing.assert_array_equal(sequence_weights(X, identity=1), expected)
    np.testing.assert_array_equal(sequence_weights(X, np.float32(1.0)), expected)


def test_popcount_fallback():
    # The byte table that numpy < 2.0 uses instead of np.bitwise_count.
    rng = np.random.default_rng(0)
    words = rng.integers(0, 2**63, (7, 9), dtype=np.uint64) * np.uint64(2)
    words[0, 0] = np.uint64(2**64 - 1)
    out = np.empty(words.shape, np.uint8)
    expected = [[bin(int(word)).count("1") for word in row] for row in words]
    assert _popcount_table(words, out).tolist() == expected


@pytest.mark.parametrize("dtype", [np.int64, np.float64])
def test_memory_is_bounded(dtype):
    # float64: the codes as OrdinalEncoder outputs them.
    n_samples, n_features = 3000, 200
    rng = np.random.default_rng(0)
    X = rng.integers(0, 21, (n_samples, n_features)).astype(dtype)
    tracemalloc.start()
    try:
        weights = sequence_weights(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert weights.shape == (n_samples,)
    # What is allowed: row blocks of X-sized temporaries (validation masks,
    # uint8 codes and their bits: at most a few bytes per code, n_features
    # bytes per row, so 2 * X.nbytes leaves room), the bit planes and four
    # tile work arrays of at most TILE_BYTES. That is about 11 MB here,
    # where one n_samples x n_samples float64 matrix would take 72 MB.
    bound = 2 * X.nbytes + 4 * TILE_BYTES
    assert bound < n_samples**2 * 8 / 6
    assert peak < bound, (peak, bound)
