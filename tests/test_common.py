"""scikit-learn's estimator checks on every public skbm estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

import skbm


def _public_estimators():
    # Small instances keep the checks fast; every other parameter is default.
    return [
        getattr(skbm, name)(n_iter=2)
        if name == "BernoulliRBM2"
        else getattr(skbm, name)()
        for name in skbm.__all__
    ]


@parametrize_with_checks(_public_estimators())
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
