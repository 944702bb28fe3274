"""Input policy shared by every skbm estimator and method.

Binary units take values in {0, 1}. Data in [0, 1] are read as probabilities
(the expected value of a unit). Negative data are rejected; data above 1 are
clipped to 1 with a warning, since no probability exceeds 1.
"""

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_non_negative, validate_data

ABOVE_ONE_MESSAGE = (
    "Values above 1 in data passed to {whom}: skbm reads unit values as "
    "probabilities and expects binary or [0, 1] data, so they were clipped to 1. "
    "Rescale the data first, for example with "
    "sklearn.preprocessing.MinMaxScaler(clip=True)."
)


def check_unit_interval(X, whom):
    """Reject negative values and clip values above 1, warning about them.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Validated, finite, floating-point data. Not modified in place.
    whom : str
        Name of the caller, used in the messages.

    Returns
    -------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        ``X`` itself, or a clipped copy when it held values above 1.
    """
    check_non_negative(X, whom)
    values = X.data if sp.issparse(X) else X
    if values.size and values.max() > 1:
        warnings.warn(ABOVE_ONE_MESSAGE.format(whom=whom), UserWarning, stacklevel=3)
        X = X.copy()
        clipped = X.data if sp.issparse(X) else X
        np.minimum(clipped, 1, out=clipped)
    return X


def validate_units(estimator, X, *, reset, dtype=None):
    """Validate ``X`` as unit values for ``estimator``.

    Wraps :func:`sklearn.utils.validation.validate_data` (finite, 2-D,
    non-empty, numeric, consistent width) and then applies
    :func:`check_unit_interval`.

    Parameters
    ----------
    estimator : estimator instance
        The estimator the data is passed to.
    X : array-like or sparse matrix of shape (n_samples, n_features)
        The data.
    reset : bool
        Whether to record ``n_features_in_`` and ``feature_names_in_``.
    dtype : dtype or tuple of dtypes, default=None
        Accepted dtypes; ``None`` means float64 or float32, keeping float32.

    Returns
    -------
    X : {ndarray, sparse CSR matrix} of shape (n_samples, n_features)
        Validated data, values in [0, 1].
    """
    if dtype is None:
        dtype = (np.float64, np.float32)
    X = validate_data(
        estimator, X, reset=reset, accept_sparse=("csr", "csc"), dtype=dtype
    )
    if sp.issparse(X):
        X = X.tocsr()
    return check_unit_interval(X, type(estimator).__name__)
