"""Input validation shared by every skbm estimator and method.

Anything that is not a 2-D array of real numbers (strings, complex numbers,
dates, ragged or non-array objects) is rejected with a ``ValueError``, never
another exception. Which real values are valid is the unit type's input
policy (``UnitType.check_values``; for {0,1} units see
:mod:`skbm._bernoulli_units`).
"""

import os
import sys

import joblib
import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.utils.validation import validate_data

# Frames in these folders are library code: a warning to the user points at
# the first frame outside them, the user's own call.
LIBRARY_FOLDERS = tuple(
    os.path.dirname(module.__file__) + os.sep
    for module in (sys.modules[__package__], sklearn, joblib)
)


class NonNumericDataError(ValueError, TypeError):
    """Data that cannot be read as a 2-D array of real numbers.

    A ``ValueError``, as skbm's input policy promises for every bad input, and
    a ``TypeError``, as numpy and scikit-learn raise for such data (the
    pattern of :class:`sklearn.exceptions.NotFittedError`).
    """


# Array kinds that hold no real numbers, whatever their values look like.
NON_NUMERIC_KINDS = {
    "U": "strings",
    "S": "byte strings",
    "c": "complex numbers",
    "M": "datetimes",
    "m": "timedeltas",
    "V": "structured records",
}


def _object_contents(array):
    """What non-real values an object array holds, or None."""
    if array.size == 0:
        return None
    flat = array.ravel()
    if np.frompyfunc(lambda value: isinstance(value, (str, bytes)), 1, 1)(flat).any():
        return "strings"
    is_complex = np.frompyfunc(
        lambda value: isinstance(value, (complex, np.complexfloating)), 1, 1
    )
    if is_complex(flat).any():
        return "complex numbers"
    return None


def check_real(X, whom, expected="real numbers in [0, 1]"):
    """Reject data that are not real numbers, with a message naming them.

    Numeric-looking strings such as ``"1"`` are rejected too, rather than
    silently parsed: unit values are numbers, and text usually means a
    categorical column that needs encoding.

    Parameters
    ----------
    X : object
        The data as passed by the user.
    whom : str
        Name of the caller, used in the messages.
    expected : str, default="real numbers in [0, 1]"
        What the caller reads, for the messages.

    Raises
    ------
    ValueError
        If ``X`` holds strings, complex numbers, dates or records.
    """
    if sp.issparse(X):
        kind, contents = X.dtype.kind, None
    else:
        try:
            array = np.asarray(X)
        except (TypeError, ValueError, OverflowError):
            return  # not array-like at all: validate_data reports it
        kind = array.dtype.kind
        contents = _object_contents(array) if kind == "O" else None
    what = NON_NUMERIC_KINDS.get(kind, contents)
    if what is None:
        return
    hint = (
        " Encode categories as numbers first, for example with "
        "sklearn.preprocessing.OneHotEncoder."
        if "strings" in what
        else ""
    )
    if what == "complex numbers":
        # scikit-learn's wording, which its estimator checks look for.
        what += " (Complex data not supported)"
    raise ValueError(f"{whom} expects {expected}, but the data hold {what}.{hint}")


def caller_stacklevel():
    """``stacklevel`` for a warning to the user, raised in the calling function.

    Counts the frames from the function that calls this one up to the first
    one outside skbm, scikit-learn and joblib (their decorators, validation
    helpers and meta-estimators such as ``GridSearchCV``), so that the
    warning names the user's line, however deep inside the library it is
    raised.
    """
    level, frame = 1, sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(
        LIBRARY_FOLDERS
    ):
        frame, level = frame.f_back, level + 1
    return level


def validate_units(estimator, X, *, reset, units, dtype=None):
    """Validate ``X`` as unit values for ``estimator``.

    Applies :func:`check_real`, then
    :func:`sklearn.utils.validation.validate_data` (finite, 2-D, non-empty,
    numeric, consistent width) and then the input policy of the unit type.

    Parameters
    ----------
    estimator : estimator instance
        The estimator the data is passed to.
    X : array-like or sparse matrix of shape (n_samples, n_features)
        The data.
    reset : bool
        Whether to record ``n_features_in_`` and ``feature_names_in_``.
    units : UnitType
        The unit type of the data, whose ``check_values`` is the input
        policy.
    dtype : dtype or tuple of dtypes, default=None
        Accepted dtypes; ``None`` means float64 or float32, keeping float32.

    Returns
    -------
    X : {ndarray, sparse CSR matrix} of shape (n_samples, n_features)
        Validated data in the unit type's internal representation.

    Raises
    ------
    ValueError
        For any data that break the input policy; the message names the
        problem.
    """
    whom = type(estimator).__name__
    if dtype is None:
        dtype = (np.float64, np.float32)
    check_real(X, whom, units.expected_values)
    try:
        # scikit-learn tests finiteness with a fast sum first, which warns
        # (inf - inf, overflow) on exactly the data it then rejects.
        with np.errstate(invalid="ignore", over="ignore"):
            X = validate_data(
                estimator, X, reset=reset, accept_sparse=("csr", "csc"), dtype=dtype
            )
    except (TypeError, OverflowError) as exc:
        if str(exc).startswith("Feature names are only supported"):
            # Column names of mixed types: scikit-learn's message says how to
            # fix them; the values themselves may be fine.
            raise NonNumericDataError(f"{whom}: {exc}") from exc
        # np.matrix, dicts, generators, integers too large for a float...:
        # the input policy promises a ValueError for every bad input.
        raise NonNumericDataError(
            f"{whom} could not read the data as a 2-D array of real numbers: {exc}"
        ) from exc
    if sp.issparse(X):
        X = X.tocsr()
    return units.check_values(X, whom)


def dense(X):
    """``X`` as a dense array (sparse matrices densified)."""
    return X.toarray() if sp.issparse(X) else np.asarray(X)
