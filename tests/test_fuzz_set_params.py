"""Parameter changes between calls (set_params), by hypothesis.

A fitted model meets a sequence of steps. Each step sets one parameter,
drawn from all of the estimator's parameters, to a value that is valid
(edge values, numpy scalars, floats, structural changes), invalid (out of
range, zero where not allowed, NaN, wrong type, a string, a boolean for a
count, None) or of either kind, and then calls one of partial_fit, score,
score_samples, transform and sample. After every call:

- it worked and its output is finite and well formed: partial_fit leaves
  finite parameters that the model's own checks accept, score is a finite
  float, score_samples finite (one per row), transform finite, in [0, 1]
  and of shape (n_samples, n_features_out), sample {0, 1} of shape
  (2, n_features); or
- it raised a ``ValueError`` whose message names the problem: an invalid
  parameter by its name; divergence ("diverged", partial_fit); a changed
  number of units or connectivity ("Call fit", or the connectivity by name,
  partial_fit). The model is then byte for byte what it was before the call.

Never another exception, never a non-finite result. partial_fit, score and
score_samples validate every parameter at every call, so with an invalid
parameter set they must raise; transform and sample need not. An invalid
value is set back after its call, so that the next steps run on a valid
model: the one the failed call left.

``test_set_params_between_calls`` runs ``EXAMPLES`` derandomized sequences
per estimator; ``test_every_value_with_every_method`` tries each listed value
of each parameter once with each method, from the fitted model. Every model
is small, so that each call takes milliseconds: counts are drawn from small
ranges and AIS, when a model is scored by it, has few runs and temperatures.
"""

import copy
import pickle
import re
import warnings
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from skbm import BernoulliRBM2, BoltzmannMachine, HiddenBoltzmannMachine

EXAMPLES = 210
MAX_STEPS = 8
N_FEATURES = 5
N_ROWS = 30
N_SAMPLES = 2

SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# AIS (score_method="ais") takes milliseconds with these ais_runs and
# ais_betas, and the values drawn are as small.
ESTIMATORS = {
    "BernoulliRBM2": lambda: BernoulliRBM2(
        n_components=3,
        n_iter=2,
        batch_size=10,
        n_chains=4,
        n_temperatures=3,
        ais_runs=5,
        ais_betas=20,
        random_state=0,
    ),
    "BoltzmannMachine": lambda: BoltzmannMachine(
        max_iter=30,
        n_iter=2,
        batch_size=10,
        n_chains=4,
        ais_runs=5,
        ais_betas=20,
        random_state=0,
    ),
    "HiddenBoltzmannMachine": lambda: HiddenBoltzmannMachine(
        n_components=2,
        max_iter=30,
        n_iter=2,
        batch_size=10,
        n_chains=4,
        ais_runs=5,
        ais_betas=20,
        random_state=0,
    ),
}
NAMES = list(ESTIMATORS)

X = (np.random.default_rng(0).random((N_ROWS, N_FEATURES)) < 0.4).astype(float)

METHODS = ["partial_fit", "score", "score_samples", "transform", "sample"]
# These validate every parameter at every call.
VALIDATING = {"partial_fit", "score", "score_samples"}


@pytest.fixture(scope="module")
def fitted():
    models = {}
    for name, make in ESTIMATORS.items():
        model = make().fit(X)
        model.log_partition()
        models[name] = model
    return models


# ----------------------------------------------------------------------
# The values of each parameter, by label:
# - "valid": within the constraints;
# - "invalid": outside them, so that validating methods must refuse them
#   and name the parameter;
# - "either": accepted, or refused naming the parameter (a bool for a real,
#   n_jobs=0, which joblib refuses);
# - "structural": valid, but a new machine (n_components, connectivity), so
#   that partial_fit may refuse it, saying to call fit.
# Each parameter has lists of values (which the sweep tries one by one) and
# may have a strategy of more valid values (small ranges), for hypothesis.
# ----------------------------------------------------------------------
class Values:
    def __init__(self, valid, invalid, either=(), drawn=None, structural=False):
        self.valid, self.invalid, self.either = list(valid), list(invalid), either
        self.drawn = drawn
        self.valid_label = "structural" if structural else "valid"

    def labelled(self):
        """Every listed value with its label."""
        return (
            [(self.valid_label, value) for value in self.valid]
            + [("invalid", value) for value in self.invalid]
            + [("either", value) for value in self.either]
        )

    def strategy(self):
        """Labelled values, two thirds of them valid."""
        valid = st.sampled_from(self.valid).map(lambda v: (self.valid_label, v))
        if self.drawn is not None:
            drawn = self.drawn.map(lambda v: (self.valid_label, v))
            valid = st.one_of(valid, drawn)
        bad = st.sampled_from(
            [
                (label, v)
                for label, v in self.labelled()
                if label in ("invalid", "either")
            ]
        )
        return st.one_of(valid, valid, bad)


def counts(low, high, structural=False):
    """An integer parameter in [low, inf), drawn from [low, high]."""
    return Values(
        valid=[low, low + 1, high, np.int32(low), np.int64(high), np.uint8(low + 1)],
        invalid=[
            low - 1,
            -1,
            -(10**20),
            float(low + 1),
            np.float64(low + 1),
            1.5,
            np.nan,
            str(low + 1),
            None,
            True,
            False,
            np.bool_(True),
            [low + 1],
            np.array(low + 1),
            Fraction(low + 1),
        ],
        drawn=st.integers(low, high),
        structural=structural,
    )


def reals(low, high, *, low_closed, high_closed, up_to, special):
    """A real parameter in an interval; ``special`` are more valid values."""

    def inside(value):
        if not np.isfinite(value):
            return False  # the constraints refuse infinity
        above = value >= low if low_closed else value > low
        if high is None:
            return above
        return above and (value <= high if high_closed else value < high)

    edges = [low, np.nextafter(low, np.inf), 0, 0.0, -0.0, -1e-300, -0.5, -1e300]
    edges += [1.0, 1.5, np.inf, -np.inf] + ([high] if high is not None else [])
    return Values(
        valid=[v for v in edges if inside(v)]
        + [np.float32(up_to / 2), np.float16(up_to / 4), np.longdouble(up_to / 8)]
        + special,
        invalid=[v for v in edges if not inside(v)]
        + [np.nan, np.float32(np.nan), "0.5", None, [0.5], np.array(0.5)]
        + [Decimal("0.5")],
        # A bool and a Fraction are Reals, to Python and to the constraints.
        either=[True, False, Fraction(1, 2)],
        drawn=st.floats(
            min_value=low,
            max_value=up_to,
            exclude_min=not low_closed,
            exclude_max=high is not None and not high_closed,
        ),
    )


def options(choices):
    choices = sorted(choices)
    return Values(
        valid=choices + [np.str_(choice) for choice in choices],
        invalid=["bogus", "", choices[0].upper(), None, 0, [choices[0]]],
    )


BOOLEAN = Values(
    valid=[True, False, np.bool_(True), np.bool_(False)],
    invalid=[1, 0, "True", "yes", None],
)

RANDOM_STATE = Values(
    valid=[None, 0, 42, 2**32 - 1, np.int64(7), np.random.RandomState(3)],
    invalid=[-1, 2**32, "0", 1.5, [0], np.random.default_rng(0)],
    either=[True],
)

# n_jobs=2 starts joblib's worker processes, once (seconds); they are reused.
N_JOBS = Values(
    valid=[None, 1, 2, -1, -2, np.int32(1)],
    invalid=["two", "1", 1.5, np.nan, [1]],
    # 0 is an Integral, which joblib refuses; True is 1 to Python.
    either=[0, True],
)

VERBOSE = Values(
    valid=[0, 1, 2, True, False, np.int32(1)],
    invalid=[-1, "1", 1.5, None, np.nan],
)


def mask(n_hidden, kind):
    """A connectivity mask for N_FEATURES visible and ``n_hidden`` hidden units."""
    n_units = N_FEATURES + n_hidden
    full = ~np.eye(n_units, dtype=bool)
    restricted = np.zeros((n_units, n_units), dtype=int)
    restricted[:N_FEATURES, N_FEATURES:] = 1
    restricted[N_FEATURES:, :N_FEATURES] = 1
    return {
        "full": full,
        "full with diagonal": np.ones((n_units, n_units), dtype=bool),
        "restricted, 0/1 integers": restricted,
        "nested lists": full.tolist(),
        "asymmetric": np.triu(full),
        "values 2": 2 * full.astype(int),
        "NaN": np.where(full, np.nan, 0.0),
        "strings": full.astype(str),
        "1-D": np.ones(n_units, dtype=bool),
        "ragged": [[True] * n_units, [False]],
        "set": {0, 1},
        "sparse": sp.csr_matrix(full),
    }[kind]


MASK_KINDS = [
    "full",
    "full with diagonal",
    "restricted, 0/1 integers",
    "nested lists",
    "asymmetric",
    "values 2",
    "NaN",
    "strings",
    "1-D",
    "ragged",
    "set",
]

# Any array-like meets the constraints; partial_fit checks it as a mask (and
# must name the connectivity when it refuses one).
CONNECTIVITY = Values(
    valid=["full", "semi-restricted", "restricted"]
    + [mask(2, kind) for kind in MASK_KINDS]  # 2 hidden units, as fitted
    + [mask(3, "full"), mask(0, "full")],
    # A sparse matrix is no array-like to scikit-learn's constraints.
    invalid=["bogus", "Full", None, 3, 1.5, mask(2, "sparse")],
    structural=True,
)

MOMENTUM = reals(
    0, 1, low_closed=True, high_closed=False, up_to=1.0, special=[0.5, 0.99]
)


def common():
    """The parameters every estimator has."""
    return {
        "score_method": options({"auto", "exact", "ais"}),
        "ais_runs": counts(1, 10),
        "ais_betas": counts(2, 50),
        "n_jobs": N_JOBS,
        "verbose": VERBOSE,
        "random_state": RANDOM_STATE,
        "learning_rate": reals(
            0,
            None,
            low_closed=False,
            high_closed=False,
            up_to=10.0,
            # Large rates may diverge, which partial_fit reports.
            special=[1e-300, 1e-3, 2, np.int64(1), 100.0, 1e4, 1e300],
        ),
        "alpha": reals(
            0,
            None,
            low_closed=True,
            high_closed=False,
            up_to=10.0,
            special=[1e-4, 1, 100.0, 1e300],
        ),
        "batch_size": counts(1, N_ROWS + 10),
        "n_iter": counts(0, 3),
        "n_chains": counts(1, 6),
        "n_gibbs_steps": counts(1, 3),
    }


def lbfgs():
    """The parameters of the L-BFGS solvers of fit."""
    return {
        "l1_ratio": reals(
            0, 1, low_closed=True, high_closed=True, up_to=1.0, special=[0.5]
        ),
        "max_iter": counts(1, 20),
        "tol": reals(
            0, None, low_closed=True, high_closed=False, up_to=1.0, special=[1e-5]
        ),
    }


PARAMETERS = {
    "BernoulliRBM2": {
        **common(),
        "n_components": counts(1, 4, structural=True),
        "solver": options({"pcd", "cd", "pt", "exact"}),
        "momentum": MOMENTUM,
        "centering": BOOLEAN,
        "shuffle": BOOLEAN,
        "n_temperatures": counts(2, 5),
        "learning_rate_schedule": options({"constant", "linear", "cosine"}),
    },
    "BoltzmannMachine": {
        **common(),
        "solver": options({"auto", "exact", "pseudolikelihood", "pcd"}),
        **lbfgs(),
    },
    "HiddenBoltzmannMachine": {
        **common(),
        "n_components": counts(0, 4, structural=True),
        "connectivity": CONNECTIVITY,
        "solver": options({"auto", "exact", "pcd"}),
        "momentum": MOMENTUM,
        **lbfgs(),
    },
}


def steps(name):
    """Lists of steps (parameter, (label, value), method)."""
    parameters = PARAMETERS[name]
    step = st.tuples(
        st.sampled_from(sorted(parameters)).flatmap(
            lambda p: st.tuples(st.just(p), parameters[p].strategy())
        ),
        # partial_fit, the call that changes the model, twice as often.
        st.sampled_from([*METHODS, "partial_fit"]),
    ).map(lambda pair: (*pair[0], pair[1]))
    return st.lists(step, min_size=1, max_size=MAX_STEPS)


# ----------------------------------------------------------------------
# The contract
# ----------------------------------------------------------------------
def call(model, method):
    """Call ``method``; returns (result, exception, warnings)."""
    args = (N_SAMPLES,) if method == "sample" else (X,)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            return getattr(model, method)(*args), None, caught
        except Exception as exc:  # the test inspects the type
            return None, exc, caught


def allowed_messages(method, labels):
    """Regular expressions of the ValueError messages ``method`` may raise."""
    named = [p for p, label in labels.items() if label in ("invalid", "either")]
    patterns = [rf"\b{re.escape(parameter)}\b" for parameter in named]
    if method in VALIDATING and "invalid" in labels.values():
        return patterns  # refused by the validation, before anything else
    if method == "partial_fit":
        patterns.append(r"diverged")
        if "structural" in labels.values():
            patterns.append(r"Call fit|\bconnectivity\b")
    return patterns


def check_output(model, method, result):
    if method == "partial_fit":
        assert result is model
        for name in model._parameter_names:
            assert np.isfinite(getattr(model, name)).all(), name
        # What training made, the model can use (fitted parameters are
        # checked before every use).
        try:
            transformed = model.transform(X[:2])
        except ValueError as exc:
            raise AssertionError("partial_fit made a model it refuses") from exc
        assert np.isfinite(transformed).all()
    elif method == "score":
        assert isinstance(result, float), type(result)
        assert np.isfinite(result), result
    elif method == "score_samples":
        assert result.shape == (N_ROWS,)
        assert np.isfinite(result).all(), result
    elif method == "transform":
        n_out = len(model.get_feature_names_out())
        assert result.shape == (N_ROWS, n_out)
        assert np.isfinite(result).all(), result
        assert ((result >= 0) & (result <= 1)).all(), result
    else:
        assert result.shape == (N_SAMPLES, N_FEATURES)
        assert np.isin(result, (0, 1)).all(), result


def note(text):
    """A hypothesis event (statistics), outside hypothesis nothing."""
    if currently_in_test_context():
        event(text)


def step(model, labels, parameter, label, value, method):
    """set_params, then ``method``; AssertionError when the contract fails.

    ``labels`` holds the label of every parameter set so far. An invalid
    value (or one of either kind) is set back to the previous value after
    its call, as a user corrects a mistake, so that the steps after it run
    on a valid model, the one a failed call must have left unchanged.
    """
    previous = model.get_params()[parameter], labels.get(parameter)
    model.set_params(**{parameter: copy.deepcopy(value)})
    labels[parameter] = label
    check_call(model, labels, f"set_params({parameter}={value!r})", method)
    if label in ("invalid", "either"):
        model.set_params(**{parameter: previous[0]})
        if previous[1] is None:
            del labels[parameter]
        else:
            labels[parameter] = previous[1]


def check_call(model, labels, change, method):
    before = pickle.dumps(model)
    result, exc, caught = call(model, method)
    if any(issubclass(w.category, RuntimeWarning) for w in caught):
        note(f"{method}: RuntimeWarning")
    where = f"{method} after {change}; parameters set: {labels}"
    if exc is not None:
        if not isinstance(exc, ValueError):
            raise AssertionError(f"{type(exc).__name__} in {where}") from exc
        patterns = allowed_messages(method, labels)
        if not any(re.search(pattern, str(exc)) for pattern in patterns):
            raise AssertionError(
                f"{where}: message {str(exc)!r} names none of {patterns}"
            ) from exc
        assert pickle.dumps(model) == before, f"{where} raised and changed the model"
        note(f"{method}: ValueError")
        return
    invalid = [p for p, label in labels.items() if label == "invalid"]
    assert method not in VALIDATING or not invalid, f"{where} accepted {invalid}"
    check_output(model, method, result)
    note(f"{method}: worked")


def test_every_parameter_is_drawn():
    for name, make in ESTIMATORS.items():
        assert set(PARAMETERS[name]) == set(make().get_params()), name


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_set_params_between_calls(fitted, name, data):
    model = copy.deepcopy(fitted[name])
    labels = {}
    for parameter, (label, value), method in data.draw(steps(name), label="steps"):
        step(model, labels, parameter, label, value, method)


# Sequences found by fuzzing, kept as explicit cases: (estimator, steps).
FOUND = {
    # partial_fit by the exact solver leaves couplings that are not exactly
    # symmetric, which every later call refuses.
    "bm-exact-asymmetric-couplings": (
        "BoltzmannMachine",
        [
            ("learning_rate", ("valid", 1e4), "score"),
            ("batch_size", ("valid", 30), "partial_fit"),
        ],
    ),
}


@pytest.mark.parametrize("case", list(FOUND))
def test_found_by_fuzzing(fitted, case):
    name, sequence = FOUND[case]
    model = copy.deepcopy(fitted[name])
    labels = {}
    for parameter, (label, value), method in sequence:
        step(model, labels, parameter, label, value, method)


@pytest.mark.parametrize("name", NAMES)
def test_every_value_with_every_method(fitted, name):
    failures = []
    for parameter, values in PARAMETERS[name].items():
        for label, value in values.labelled():
            for method in METHODS:
                model = copy.deepcopy(fitted[name])
                try:
                    step(model, {}, parameter, label, value, method)
                except AssertionError as failure:
                    cause = failure.__cause__
                    detail = f" ({type(cause).__name__}: {cause})" if cause else ""
                    failures.append(f"{failure}{detail}")
    assert not failures, "\n".join([f"{len(failures)} failures:", *failures])
