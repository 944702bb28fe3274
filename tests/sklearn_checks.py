"""Which of scikit-learn's estimator checks fail for skbm, and why."""

import sklearn

SAMPLE_WEIGHT_CHECKS = (
    "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weight_equivalence_on_sparse_data",
    # The same check under its name in scikit-learn 1.6.
    "check_sample_weights_invariance",
)

# Why each estimator's fit with integer weights is not equal, to the checks'
# rtol of 1e-7, to its fit on repeated rows. The equivalences that hold are
# tested in the estimators' own test files.
SAMPLE_WEIGHT_REASONS = {
    # Stochastic solvers: the rows of each epoch are drawn with probabilities
    # proportional to the weights, so only the expected gradient is equal.
    "BernoulliRBM2": "stochastic solvers (weighted draws of the rows)",
    # The checks' 30 features and 4 hidden units take "pcd" (stochastic).
    "HiddenBoltzmannMachine": "the checks' machine is fitted by pcd (stochastic)",
    # These checks draw continuous data (rng.rand) whatever the estimator's
    # categorical input tag, and integer codes are the only valid input.
    "CategoricalBoltzmannMachine": (
        "feeds continuous values; the input is integer category codes"
    ),
}


# Solvers whose updates sample (chains, and weighted draws of the rows).
STOCHASTIC_SOLVERS = ("pcd", "cd", "pt")


def expected_failed_checks(estimator):
    """The ``expected_failed_checks`` of ``parametrize_with_checks``."""
    name = type(estimator).__name__
    if getattr(estimator, "solver", None) in STOCHASTIC_SOLVERS:
        reason = SAMPLE_WEIGHT_REASONS["BernoulliRBM2"]
    else:
        # BoltzmannMachine's deterministic solvers pass: its pseudo-likelihood
        # fit ends with Newton steps, so both fits reach the optimum.
        reason = SAMPLE_WEIGHT_REASONS.get(name)
    failing = dict.fromkeys(SAMPLE_WEIGHT_CHECKS, reason) if reason else {}
    old = tuple(int(part) for part in sklearn.__version__.split(".")[:2]) < (1, 7)
    if estimator.__sklearn_tags__().input_tags.categorical and old:
        # scikit-learn 1.6's check subtracts a float mean in place from the
        # int32 codes it makes for categorical estimators, and fails before
        # calling fit; later versions pass.
        failing["check_positive_only_tag_during_fit"] = "a bug of the check in 1.6"
    return failing
