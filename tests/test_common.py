"""scikit-learn's estimator checks on every public skbm estimator."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

import skbm


def _public_estimators():
    # Every other parameter at its default; fewer epochs keep the checks fast.
    fast = {"BernoulliRBM2": {"n_iter": 2}}
    return [getattr(skbm, name)(**fast.get(name, {})) for name in skbm.__all__]


@parametrize_with_checks(_public_estimators())
# The checks feed values above 1, which skbm clips with a UserWarning by design.
@pytest.mark.filterwarnings("ignore:Values above 1 in data")
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
