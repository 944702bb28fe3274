"""scikit-learn's estimator checks on every public skbm estimator."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn_checks import expected_failed_checks

import skbm

# The public names that are not estimators: the records log_partition and
# score_bracket return, the warnings of an untrustworthy AIS estimate and of
# a pickle from another skbm version, and the DCA row weights. Every other
# name in skbm.__all__ is an estimator and meets the checks.
NOT_ESTIMATORS = {
    "AISWarning",
    "InconsistentVersionWarning",
    "LikelihoodBracket",
    "LogPartition",
    "sequence_weights",
}


def _public_estimators():
    # Every other parameter at its default; fewer epochs keep the checks fast.
    fast = {
        "BernoulliRBM2": {"n_iter": 2},
        # Few enough hidden units to score exactly.
        "GaussianBernoulliRBM": {"n_components": 8, "n_iter": 5},
    }
    names = [name for name in skbm.__all__ if name not in NOT_ESTIMATORS]
    return [getattr(skbm, name)(**fast.get(name, {})) for name in names]


@parametrize_with_checks(
    _public_estimators(), expected_failed_checks=expected_failed_checks
)
# The checks feed values above 1, which skbm clips with a UserWarning by design.
@pytest.mark.filterwarnings("ignore:Values above 1 in data")
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
