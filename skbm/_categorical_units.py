"""The categorical (Potts) unit type: one-hot blocks, logsumexp cumulant.

A categorical unit with q states is a one-hot block of q columns x; with
field f (one value per state) it contributes f . x to -Phi, so

- its cumulant is ln sum_a exp(f_a) (a logsumexp over the block),
- its mean is the softmax of f over the block,
- its states are the q one-hot vectors, and the joint states of a layer are
  numbered in mixed radix with unit 0 varying fastest,
- and the independent unit with state frequencies p has the field ln p.

A layer may mix units with different q, so an instance describes one layer:
its ``n_categories`` (q_j of each unit) and the column offsets of the
blocks. User data hold one integer code per unit, 0 .. q_j - 1 (the output
of :class:`sklearn.preprocessing.OrdinalEncoder`), and are one-hot encoded
by :meth:`CategoricalUnits.check_values`.
"""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from ._units import UnitType
from ._validation import validate_units

# State frequencies are clipped to at least this before taking logs, so that
# states absent from the data keep finite fields.
FREQUENCY_CLIP = 1e-3


def _segment_starts(offsets):
    return offsets[:-1]


class CategoricalUnits(UnitType):
    """A layer of categorical units with ``n_categories[j]`` states each.

    Parameters
    ----------
    n_categories : array-like of int of shape (n_units,)
        Number of states q_j of each unit, each at least 1.

    Attributes
    ----------
    n_categories : ndarray of int of shape (n_units,)
        The q_j.
    offsets : ndarray of int of shape (n_units + 1,)
        Unit j owns the columns ``offsets[j]:offsets[j + 1]``.
    unit_of_column : ndarray of int of shape (sum q_j,)
        The unit that owns each column.

    Examples
    --------
    >>> import numpy as np
    >>> from skbm._categorical_units import CategoricalUnits
    >>> units = CategoricalUnits([2, 3])
    >>> units.states(np.array([0, 1, 2, 5]), 2).astype(int).tolist()
    [[1, 0, 1, 0, 0], [0, 1, 1, 0, 0], [1, 0, 0, 1, 0], [0, 1, 0, 0, 1]]
    >>> units.cumulant(np.zeros((1, 5))).round(6).tolist()  # ln 2, ln 3
    [[0.693147, 1.098612]]
    """

    name = "categorical"
    expected_values = "integer category codes"
    positive_only = True
    enumerable = True
    logistic = False

    def __init__(self, n_categories):
        q = np.asarray(n_categories, dtype=np.intp).reshape(-1)
        if q.size and q.min() < 1:
            raise ValueError(f"Every unit needs at least one category, got {q}.")
        self.n_categories = q
        self.offsets = np.concatenate([[0], np.cumsum(q)]).astype(np.intp)
        self.unit_of_column = np.repeat(np.arange(q.shape[0]), q)
        # With one q for all units (q = 21 for proteins) the blocks are a
        # reshape away, much faster than segment reductions.
        self._common_q = int(q[0]) if q.size and np.all(q == q[0]) else None

    def __repr__(self):
        return f"CategoricalUnits({self.n_categories.tolist()})"

    # ------------------------------------------------------------------
    # Data
    # ------------------------------------------------------------------
    def check_values(self, X, whom):
        """Check integer codes 0 .. q_j - 1 per column and one-hot encode them.

        A negative code, a code of q_j or more, or a non-integer raises a
        ``ValueError`` that names the column and the value.
        """
        X = X.toarray() if sp.issparse(X) else np.asarray(X)
        n_units = self.n_categories.shape[0]
        if X.shape[1] != n_units:
            raise ValueError(
                f"{whom} expects {n_units} columns of category codes, got {X.shape[1]}."
            )
        bad = (X < 0) | (X != np.round(X)) | (X >= self.n_categories)
        if bad.any():
            row, column = np.argwhere(bad)[0]
            value = float(X[row, column])
            q = self.n_categories[column]
            if value != np.round(value):
                problem = "is not an integer"
            elif value < 0:
                problem = "is negative"
            else:
                problem = f"is beyond the {q} categories of that column (0 to {q - 1})"
            # scikit-learn's wording for negative values comes first.
            prefix = f"Negative values in data passed to {whom}. " if value < 0 else ""
            raise ValueError(
                f"{prefix}{whom} expects integer category codes 0 .. q_j - 1 in "
                f"each column; column {column} holds {value:g} (row {row}), which "
                f"{problem}. Encode categories as integers, for example with "
                "sklearn.preprocessing.OrdinalEncoder, and set n_categories to "
                "cover every code."
            )
        return self.one_hot(X.astype(np.intp))

    def one_hot(self, codes, dtype=np.float64):
        """One-hot encoding (n_rows, sum q_j) of integer codes (n_rows, n_units)."""
        codes = np.asarray(codes, dtype=np.intp)
        encoded = np.zeros((codes.shape[0], self.offsets[-1]), dtype=dtype)
        rows = np.arange(codes.shape[0])[:, None]
        encoded[rows, self.offsets[:-1] + codes] = 1
        return encoded

    def codes(self, x):
        """Integer codes (n_rows, n_units) of one-hot rows (the inverse)."""
        x = np.asarray(x)
        if not self.n_categories.size:
            return np.zeros((x.shape[0], 0), dtype=np.intp)
        # The index of the largest entry of each block: the 1 of a one-hot.
        codes = np.empty((x.shape[0], self.n_categories.shape[0]), dtype=np.intp)
        bounds = zip(self.offsets[:-1], self.offsets[1:], strict=True)
        for unit, (start, stop) in enumerate(bounds):
            codes[:, unit] = np.argmax(x[:, start:stop], axis=1)
        return codes

    # ------------------------------------------------------------------
    # Energy and its sums
    # ------------------------------------------------------------------
    def _expand(self, values):
        """Per-unit values (..., n_units) repeated over each unit's columns."""
        return np.take(values, self.unit_of_column, axis=-1)

    def _block_max(self, field):
        if not self.n_categories.size:
            return np.zeros(field.shape[:-1] + (0,))
        return np.maximum.reduceat(field, _segment_starts(self.offsets), axis=-1)

    def _blocks(self, field):
        """``field`` as (..., n_units, q) when all units share q, else None."""
        if self._common_q is None:
            return None
        return field.reshape(field.shape[:-1] + (-1, self._common_q))

    def _exp_sums(self, field):
        """Per unit: the largest field ``top``, exp(field - top) column by
        column (in the shape of ``field``) and the sum of those, ``total``
        (``top`` and ``total`` of shape (..., n_units))."""
        blocks = self._blocks(field)
        if blocks is not None:
            top = blocks.max(axis=-1)
            shifted = blocks - top[..., None]
            np.exp(shifted, out=shifted)
            return top, shifted.reshape(field.shape), shifted.sum(axis=-1)
        top = self._block_max(field)
        shifted = np.exp(field - self._expand(top))
        return (
            top,
            shifted,
            np.add.reduceat(shifted, _segment_starts(self.offsets), axis=-1),
        )

    def _divide(self, shifted, total):
        """``shifted`` divided in place by its unit's ``total``: the softmax."""
        blocks = self._blocks(shifted)
        if blocks is not None:
            blocks /= total[..., None]
        else:
            shifted /= self._expand(total)
        return shifted

    def cumulant(self, field, out=None):
        field = np.asarray(field, dtype=np.float64)
        if not self.n_categories.size:
            return np.zeros(field.shape[:-1] + (0,))
        top, _, total = self._exp_sums(field)
        return top + np.log(total)

    def mean(self, field):
        field = np.asarray(field, dtype=np.float64)
        if not self.n_categories.size:
            return np.zeros(field.shape)
        _, shifted, total = self._exp_sums(field)
        return self._divide(shifted, total)

    def cumulant_and_mean(self, field):
        """The logsumexp and the softmax of each block, from one exp pass."""
        field = np.asarray(field, dtype=np.float64)
        if not self.n_categories.size:
            return self.cumulant(field), self.mean(field)
        top, shifted, total = self._exp_sums(field)
        return top + np.log(total), self._divide(shifted, total)

    def sample(self, field, rng):
        """One state per unit, drawn from the softmax of its block of fields."""
        dtype = field.dtype if field.dtype in (np.float32, np.float64) else np.float64
        proba = self.mean(field)
        if not self.n_categories.size:
            return proba.astype(dtype)
        # Within each block, the drawn state is the number of states whose
        # cumulative probability is at most one uniform draw per unit.
        cumulative = np.cumsum(proba, axis=-1)
        before = np.concatenate(
            [np.zeros(cumulative.shape[:-1] + (1,)), cumulative[..., :-1]], axis=-1
        )
        block_start = np.take(before, self.offsets[:-1], axis=-1)
        within = cumulative - self._expand(block_start)
        uniform = rng.random(proba.shape[:-1] + (self.n_categories.shape[0],))
        below = within <= self._expand(uniform)
        index = np.add.reduceat(below, _segment_starts(self.offsets), axis=-1)
        index = np.minimum(index, self.n_categories - 1)
        draws = np.zeros(proba.shape, dtype=dtype)
        chosen = self.offsets[:-1] + index
        np.put_along_axis(draws, chosen, 1, axis=-1)
        return draws

    def base_field(self, mean):
        """ln of the state frequencies, clipped to at least 1e-3."""
        return np.log(np.clip(np.asarray(mean, dtype=np.float64), FREQUENCY_CLIP, 1))

    # ------------------------------------------------------------------
    # Enumeration
    # ------------------------------------------------------------------
    def n_joint_states(self, n_units):
        return int(np.prod(self.n_categories[:n_units], dtype=object))

    def state_bits(self, n_units):
        return float(np.sum(np.log2(self.n_categories[:n_units])))

    def states(self, codes, n_units, dtype=np.float64):
        """One-hot joint states of the first ``n_units`` units (mixed radix)."""
        codes = np.asarray(codes, dtype=np.int64)
        digits = np.empty((codes.shape[0], n_units), dtype=np.intp)
        rest = codes
        for unit, q in enumerate(self.n_categories[:n_units]):
            rest, digits[:, unit] = np.divmod(rest, q)
        return self.restrict(np.arange(n_units)).one_hot(digits, dtype)

    # ------------------------------------------------------------------
    # Layer structure
    # ------------------------------------------------------------------
    def n_units(self, n_columns):
        return int(np.searchsorted(self.offsets, n_columns))

    def columns(self, units):
        units = np.asarray(units, dtype=np.intp)
        if not units.size:
            return np.zeros(0, dtype=np.intp)
        return np.concatenate(
            [np.arange(self.offsets[u], self.offsets[u + 1]) for u in units]
        ).astype(np.intp)

    def restrict(self, units):
        return CategoricalUnits(self.n_categories[np.asarray(units, dtype=np.intp)])

    def unit_graph(self, adjacency):
        adjacency = np.asarray(adjacency, dtype=bool)
        n_units = self.n_categories.shape[0]
        if not n_units:
            return np.zeros((0, 0), dtype=bool)
        starts = _segment_starts(self.offsets)
        counts = np.add.reduceat(adjacency.astype(np.intp), starts, axis=0)
        counts = np.add.reduceat(counts, starts, axis=1)
        graph = counts > 0
        np.fill_diagonal(graph, False)
        return graph


def check_n_categories(n_categories, observed, whom):
    """Resolve ``n_categories`` ("auto", an int or one int per column).

    Parameters
    ----------
    n_categories : "auto", int or array-like of int
        As the estimator's parameter: "auto" takes the largest code seen in
        each column plus one; an int or array is a minimum per column, raised
        to the codes seen, as ``CategoricalNB``'s ``min_categories``.
    observed : ndarray of int of shape (n_features,)
        Largest code seen in each column plus one.
    whom : str
        Name of the caller, for messages.

    Returns
    -------
    n_categories_ : ndarray of int of shape (n_features,)
    """
    if isinstance(n_categories, str):
        return np.maximum(observed, 1).astype(np.intp)
    values = np.ravel(np.asarray(n_categories, dtype=object))
    integers = all(
        isinstance(value, Integral) and not isinstance(value, (bool, np.bool_))
        for value in values
    )
    given = np.asarray(n_categories)
    if given.ndim == 0:
        given = np.full(observed.shape[0], given)
    if given.shape != observed.shape or not integers:
        raise ValueError(
            f"n_categories of {whom} must be 'auto', a positive int or one "
            f"positive int per column ({observed.shape[0]} columns), got "
            f"{n_categories!r}."
        )
    if given.size and given.min() < 1:
        raise ValueError(
            f"n_categories of {whom} must be positive, got {n_categories!r}."
        )
    return np.maximum(given, observed).astype(np.intp)


class _Codes(CategoricalUnits):
    """Numeric 2-D data as given: the first pass that finds n_categories."""

    def __init__(self):
        super().__init__([])

    def check_values(self, X, whom):
        return X.toarray() if hasattr(X, "toarray") else np.asarray(X)


class CategoricalInput:
    """Mixin of the estimators whose visible units are categorical.

    Reads integer category codes, resolves the ``n_categories`` parameter
    into ``n_categories_`` at the first fit, encodes the codes one-hot for
    the model (:class:`CategoricalUnits`) and returns codes from
    :meth:`sample`. Place it before the estimator base in the bases.
    """

    @property
    def _visible_units(self):
        categories = self.__dict__.get("n_categories_")
        return CategoricalUnits([] if categories is None else categories)

    @property
    def feature_offsets_(self):
        """Column offsets of the features in the one-hot layout.

        Feature j owns the one-hot columns ``feature_offsets_[j]`` to
        ``feature_offsets_[j + 1] - 1``.
        """
        check_is_fitted(self, "n_categories_")
        return self._visible_units.offsets

    def _visible_units_width(self):
        return int(self.feature_offsets_[-1])

    def _validate_units(self, X, *, reset):
        if reset:
            codes = validate_units(self, X, reset=True, units=_Codes())
            observed = (np.floor(codes.max(axis=0, initial=0)) + 1).astype(np.intp)
            self.n_categories_ = check_n_categories(
                self.n_categories, np.maximum(observed, 1), type(self).__name__
            )
        return validate_units(self, X, reset=False, units=self._visible_units)

    def _ais_base_logits(self):
        mean = self.__dict__.get("_ais_base_mean")
        units = self._visible_units
        if mean is None:  # parameters set without fitting: uniform states
            mean = 1.0 / np.repeat(units.n_categories, units.n_categories)
        return units.base_field(mean)

    def _visible_values(self, x):
        return self._visible_units.codes(x)

    def sample(self, n_samples=1, random_state=None):
        """Draw rows of category codes from the model.

        Exact by enumeration when the model's smaller enumeration has at
        most 2**20 terms, otherwise from long Gibbs chains (see the user
        guide).

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows.
        random_state : None, int, RandomState or Generator, default=None
            Source of randomness.

        Returns
        -------
        X : ndarray of int of shape (n_samples, n_features)
            Category codes.
        """
        return self._visible_values(super().sample(n_samples, random_state))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Integer category codes: scikit-learn's checks then pass codes.
        tags.input_tags.categorical = True
        tags.input_tags.positive_only = True
        # Codes are integers: the parameters and transform are float64.
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags
