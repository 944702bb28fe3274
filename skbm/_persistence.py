"""The skbm version stored in every pickled estimator, checked at load.

As scikit-learn does with ``_sklearn_version``: a fitted model pickled by one
release of skbm and loaded by another still loads, with a warning naming both
versions, because private attributes may have changed meaning between them.
"""

import warnings

VERSION_KEY = "_skbm_version"

# What a pickle made before skbm stored its version reports.
UNKNOWN_VERSION = "unknown (pickled before skbm stored its version)"


class InconsistentVersionWarning(UserWarning):
    """Warning raised when a model is unpickled with another skbm version.

    Attributes
    ----------
    estimator_name : str
        Class name of the estimator.
    original_version : str
        skbm version that pickled the estimator.
    current_version : str
        skbm version that unpickles it.
    """

    def __init__(self, *, estimator_name, original_version, current_version):
        self.estimator_name = estimator_name
        self.original_version = original_version
        self.current_version = current_version

    def __str__(self):
        return (
            f"Trying to unpickle estimator {self.estimator_name} from skbm version "
            f"{self.original_version} when using version {self.current_version}. "
            "This might lead to breaking code or invalid results. Use at your own "
            "risk: refit the model with the current version, or load it with "
            f"skbm {self.original_version}."
        )


def _current_version():
    from . import __version__  # at call time: skbm/__init__ imports this module

    return __version__


def stamp_version(state):
    """A copy of the pickled ``state`` dict with the skbm version added."""
    return {**state, VERSION_KEY: _current_version()}


def check_version(state, estimator_name):
    """Remove the stored version from ``state``, warning on a mismatch.

    Parameters
    ----------
    state : dict
        The unpickled state; not modified.
    estimator_name : str
        Class name, for the message.

    Returns
    -------
    state : dict
        The state without the version entry.
    """
    state = dict(state)
    original = state.pop(VERSION_KEY, UNKNOWN_VERSION)
    current = _current_version()
    if original != current:
        warnings.warn(
            InconsistentVersionWarning(
                estimator_name=estimator_name,
                original_version=original,
                current_version=current,
            ),
            stacklevel=3,
        )
    return state
