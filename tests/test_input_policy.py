"""The input policy (doc/user_guide.rst and doc/contributing.rst), by hypothesis.

Every public method of every estimator meets inputs that vary over shape,
dtype, container, NaN and inf at random positions and range. Each input
either works (finite, well-formed results) or raises a ``ValueError`` whose
message names the problem; never another exception, never a RuntimeWarning.
A call that raises leaves the model byte for byte as it was.

Each method runs ``EXAMPLES`` derandomized examples, the estimator drawn as
part of each example (``gibbs``, which only ``BernoulliRBM2`` has, runs all
of them on it).
"""

import copy
import pickle
import re
import warnings
from numbers import Integral

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from skbm import BernoulliRBM2, BoltzmannMachine, HiddenBoltzmannMachine

# np.matrix inputs are generated on purpose (and rejected).
pytestmark = pytest.mark.filterwarnings(
    "ignore:the matrix subclass:PendingDeprecationWarning"
)

EXAMPLES = 210
N_FEATURES = 5

SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Small models: every call below takes milliseconds.
ESTIMATORS = {
    "BernoulliRBM2": lambda: BernoulliRBM2(
        n_components=3, n_iter=2, batch_size=5, n_chains=4, random_state=0
    ),
    "BoltzmannMachine": lambda: BoltzmannMachine(max_iter=30, random_state=0),
    "HiddenBoltzmannMachine": lambda: HiddenBoltzmannMachine(
        n_components=2, n_iter=2, batch_size=5, n_chains=4, random_state=0
    ),
}
NAMES = list(ESTIMATORS)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = (rng.random((30, N_FEATURES)) < 0.4).astype(float)
    models = {}
    for name, make in ESTIMATORS.items():
        model = make().fit(X)
        model.log_partition()  # a warm score cache, so scoring changes nothing
        models[name] = model
    return models


# ----------------------------------------------------------------------
# Generated inputs
# ----------------------------------------------------------------------
PROBLEMS = {
    "nan": [np.nan],
    "inf": [np.inf, -np.inf],
    "negative": [-1e-300, -0.5, -1.0, -1e300],
    "above_one": [1 + 1e-12, 2.0, 255.0, 1e300],
}
DTYPES = [
    "float64",
    "float32",
    "float16",
    "int64",
    "uint8",
    "bool",
    "object",
    "str",
    "complex",
]
FORMATS = [
    "ndarray",
    "fortran",
    "strided",
    "list",
    "matrix",
    "csr",
    "csc",
    "coo",
    "csr_array",
]
# Items an object array can hold that are no number at all.
UNREADABLE = {
    "dict": ({"a": 1}, r"could not read the data as a 2-D array of real numbers"),
    "huge_int": (10**400, r"could not read the data as a 2-D array of real numbers"),
    # A list whose every item is a sequence reads as a 3-D array.
    "sequence": ([0, 1], r"setting an array element with a sequence|dim 3"),
}


@st.composite
def unit_inputs(draw, widths):
    """A spec and the input built from it: ``(spec, X)``."""
    spec = {
        "n_rows": draw(st.sampled_from([0, 1, 2, 3, 17])),
        "n_cols": draw(st.sampled_from(widths)),
        "values": draw(st.sampled_from(["binary", "fractional", "negative_zero"])),
        "problems": draw(
            st.one_of(
                st.just(()),
                st.just(()),
                st.just(("above_one",)),
                st.lists(st.sampled_from(sorted(PROBLEMS)), max_size=2, unique=True),
            )
        ),
        "dtype": draw(st.sampled_from(DTYPES)),
        "format": draw(st.sampled_from(FORMATS)),
        "unreadable": draw(st.sampled_from([None] * 9 + sorted(UNREADABLE))),
        "seed": draw(st.integers(0, 2**32 - 1)),
    }
    X, values = build_input(spec)
    return spec, X, values


def build_input(spec):
    """The input, and its values as float64 as the oracle sees them."""
    rng = np.random.default_rng(spec["seed"])
    shape = (spec["n_rows"], spec["n_cols"])
    values = rng.random(shape)
    if spec["values"] == "binary":
        values = (values < 0.5).astype(float)
    elif spec["values"] == "negative_zero":
        # -0.0 is not negative: it must be accepted like 0.
        values = np.where(values < 0.5, -0.0, 1.0)
    if values.size:
        for problem in spec["problems"]:
            for _ in range(rng.integers(1, 4)):
                position = tuple(rng.integers(0, n) for n in shape)
                values[position] = rng.choice(PROBLEMS[problem])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # float32(1e300) is inf
        dtype = spec["dtype"]
        if dtype in ("int64", "uint8"):
            low = 0 if dtype == "uint8" else -1e6
            finite = np.nan_to_num(values, nan=0.0, posinf=1e6, neginf=low)
            X = np.rint(np.clip(finite, low, 1e6)).astype(dtype)
        elif dtype == "bool":
            X = values > 0.5
        elif dtype == "str":
            X = values.astype(str)
        elif dtype == "complex":
            X = values.astype(complex)
        else:
            X = values.astype(dtype)
    values = as_float(X)
    if spec["unreadable"] and X.size:
        X = X.astype(object)
        position = tuple(rng.integers(0, n) for n in X.shape)
        X[position] = UNREADABLE[spec["unreadable"]][0]
    return format_input(X, spec["format"]), values


def format_input(X, form):
    sparse_ok = X.dtype.kind not in "OU" and X.dtype != np.float16
    if form in ("csr", "csc", "coo") and sparse_ok:
        return getattr(sp, f"{form}_matrix")(X)
    if form == "csr_array" and sparse_ok:
        return sp.csr_array(X)
    if form == "fortran":
        return np.asfortranarray(X)
    if form == "strided":
        wide = np.repeat(X, 2, axis=1)
        return wide[:, ::2]  # a non-contiguous view
    if form == "list":
        return X.tolist()
    if form == "matrix":
        return np.asmatrix(X)
    return X


def as_float(X):
    """The values of a generated input as float64 (the oracle's view)."""
    if sp.issparse(X):
        X = X.toarray()
    if X.dtype.kind in "UOc":
        return np.real(np.asarray(X.tolist(), dtype=complex))
    return X.astype(np.float64)


def expected_problems(spec, values, n_features):
    """Regular expressions of the messages allowed; empty if X is valid."""
    allowed = []
    if spec["format"] == "matrix":
        allowed.append(r"np.matrix is not supported")
    if spec["unreadable"] and values.size:
        allowed.append(UNREADABLE[spec["unreadable"]][1])
    if spec["dtype"] == "str":
        allowed.append(r"data hold strings")
    if spec["dtype"] == "complex":
        allowed.append(r"Complex data not supported")
    if spec["n_rows"] == 0:
        allowed.append(r"0 sample\(s\)")
        if spec["format"] == "list":  # [] has lost its width: it is 1-D
            allowed.append(r"Expected 2D array, got 1D array")
    if n_features is not None and spec["n_cols"] != n_features:
        allowed.append(rf"X has {spec['n_cols']} features, but \w+ is expecting")
    if np.isnan(values).any():
        allowed.append(r"Input X contains NaN")
    if np.isinf(values).any():
        allowed.append(r"Input X contains infinity")
    if (values < 0).any():
        allowed.append(r"Negative values in data passed to \w+")
    return allowed


def above_one(values):
    return bool((values[np.isfinite(values)] > 1).any())


def call(method, *args):
    """Call ``method``; returns (result, exception, warnings)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            return method(*args), None, caught
        except Exception as exc:  # the test inspects the type
            return None, exc, caught


def check_outcome(spec, values, result, exc, caught, n_features):
    """The policy: a named ValueError, or a result with the right warnings."""
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [
        str(w.message) for w in caught
    ]
    allowed = expected_problems(spec, values, n_features)
    if allowed:
        assert exc is not None, f"accepted invalid input {spec}"
        assert isinstance(exc, ValueError), f"{type(exc).__name__}: {exc} for {spec}"
        assert any(re.search(pattern, str(exc)) for pattern in allowed), (
            f"message {str(exc)!r} names none of {allowed} for {spec}"
        )
        event("rejected")
        return False
    if exc is not None:
        raise AssertionError(f"valid input {spec} raised") from exc
    warned = any("Values above 1" in str(w.message) for w in caught)
    assert warned == above_one(values), f"above-one warning {warned} for {spec}"
    event("accepted, values above 1" if warned else "accepted")
    return True


def out_dtype(X):
    dtype = X.dtype if hasattr(X, "dtype") else np.asarray(X).dtype
    return np.float32 if dtype == np.float32 else np.float64


def n_out(model):
    return model.transform(np.zeros((1, model.n_features_in_))).shape[1]


def assert_finite_model(model):
    for name in model._parameter_names:
        assert np.isfinite(getattr(model, name)).all(), name


# Widths: mostly the fitted width; also 1, one too many and wide.
FITTED_WIDTHS = [N_FEATURES] * 5 + [1, N_FEATURES + 1, 40]
FIT_WIDTHS = [N_FEATURES, N_FEATURES, 1, 2, 40]


# ----------------------------------------------------------------------
# Methods of a fitted model that must not change it
# ----------------------------------------------------------------------
@SETTINGS
@given(name=st.sampled_from(NAMES), data=unit_inputs(FITTED_WIDTHS))
def test_transform(fitted, name, data):
    spec, X, values = data
    model = fitted[name]
    before = pickle.dumps(model)
    result, exc, caught = call(model.transform, X)
    assert pickle.dumps(model) == before
    if check_outcome(spec, values, result, exc, caught, N_FEATURES):
        assert result.shape == (spec["n_rows"], n_out(model))
        assert result.dtype == out_dtype(X)
        assert np.isfinite(result).all()
        assert ((result >= 0) & (result <= 1)).all()


@SETTINGS
@given(name=st.sampled_from(NAMES), data=unit_inputs(FITTED_WIDTHS))
def test_score_samples(fitted, name, data):
    spec, X, values = data
    model = fitted[name]
    before = pickle.dumps(model)
    result, exc, caught = call(model.score_samples, X)
    assert pickle.dumps(model) == before
    if check_outcome(spec, values, result, exc, caught, N_FEATURES):
        assert result.shape == (spec["n_rows"],)
        assert result.dtype == np.float64
        assert np.isfinite(result).all()
        # ln P(x) <= 0 for every x in [0, 1]^n: the unnormalised
        # log-probability is convex in each coordinate, so its maximum over
        # the cube is at a binary state, where it is at most ln Z.
        assert (result <= 1e-9).all()


@SETTINGS
@given(name=st.sampled_from(NAMES), data=unit_inputs(FITTED_WIDTHS))
def test_score(fitted, name, data):
    spec, X, values = data
    model = fitted[name]
    before = pickle.dumps(model)
    result, exc, caught = call(model.score, X)
    assert pickle.dumps(model) == before
    if check_outcome(spec, values, result, exc, caught, N_FEATURES):
        assert isinstance(result, float)
        assert np.isfinite(result) and result <= 1e-9


# ----------------------------------------------------------------------
# Methods that change the model: on a copy, atomic when they raise
# ----------------------------------------------------------------------
@SETTINGS
@given(name=st.sampled_from(NAMES), data=unit_inputs(FITTED_WIDTHS))
def test_partial_fit(fitted, name, data):
    spec, X, values = data
    model = copy.deepcopy(fitted[name])
    before = pickle.dumps(model)
    result, exc, caught = call(model.partial_fit, X)
    if not check_outcome(spec, values, result, exc, caught, N_FEATURES):
        assert pickle.dumps(model) == before
        return
    assert result is model
    assert_finite_model(model)
    assert np.isfinite(model.score_samples(np.eye(N_FEATURES))).all()


@SETTINGS
@given(name=st.sampled_from(NAMES), data=unit_inputs(FIT_WIDTHS))
def test_fit(fitted, name, data):
    # Refitting a fitted model: a failed fit must leave the old model.
    spec, X, values = data
    model = copy.deepcopy(fitted[name])
    before = pickle.dumps(model)
    result, exc, caught = call(model.fit, X)
    if not check_outcome(spec, values, result, exc, caught, None):
        assert pickle.dumps(model) == before
        return
    assert result is model
    assert model.n_features_in_ == spec["n_cols"]
    assert_finite_model(model)
    transformed = model.transform(np.ones((2, spec["n_cols"])))
    assert np.isfinite(transformed).all()


@SETTINGS
@given(name=st.sampled_from(NAMES), data=unit_inputs(FIT_WIDTHS))
def test_fit_transform(name, data):
    spec, X, values = data
    model = ESTIMATORS[name]()
    result, exc, caught = call(model.fit_transform, X)
    if not check_outcome(spec, values, result, exc, caught, None):
        assert not hasattr(model, "n_features_in_")  # still unfitted
        return
    assert result.shape == (spec["n_rows"], n_out(model))
    assert result.dtype == out_dtype(X)
    assert np.isfinite(result).all()
    assert_finite_model(model)


@SETTINGS
@given(data=unit_inputs(FITTED_WIDTHS))
def test_gibbs(fitted, data):
    spec, X, values = data
    model = copy.deepcopy(fitted["BernoulliRBM2"])
    before = pickle.dumps(model)
    result, exc, caught = call(model.gibbs, X)
    if not check_outcome(spec, values, result, exc, caught, N_FEATURES):
        assert pickle.dumps(model) == before
        return
    assert result.shape == (spec["n_rows"], N_FEATURES)
    assert np.isin(result, (0, 1)).all()


# ----------------------------------------------------------------------
# sample(n_samples, random_state)
# ----------------------------------------------------------------------
N_SAMPLES = st.one_of(
    st.integers(-3, 40),
    st.sampled_from(
        [
            0,
            True,
            False,
            2.0,
            1.5,
            float("nan"),
            "3",
            None,
            [2],
            np.int64(4),
            np.uint8(3),
            np.int64(-1),
            np.array(2),
        ]
    ),
)


def make_random_state(kind, seed):
    return {
        "none": None,
        "int": seed,
        "RandomState": np.random.RandomState(seed),
        "Generator": np.random.default_rng(seed),
    }[kind]


@SETTINGS
@given(
    name=st.sampled_from(NAMES),
    n_samples=N_SAMPLES,
    kind=st.sampled_from(["none", "int", "RandomState", "Generator"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_sample(fitted, name, n_samples, kind, seed):
    model = fitted[name]
    before = pickle.dumps(model)
    random_state = make_random_state(kind, seed)
    result, exc, caught = call(model.sample, n_samples, random_state)
    assert pickle.dumps(model) == before
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    valid = (
        isinstance(n_samples, Integral)
        and not isinstance(n_samples, (bool, np.bool_))
        and n_samples >= 1
    )
    if not valid:
        assert isinstance(exc, ValueError), exc
        assert "n_samples must be a positive integer" in str(exc)
        return
    assert exc is None, exc
    assert result.shape == (n_samples, N_FEATURES)
    assert np.isin(result, (0, 1)).all()
    if kind == "int":
        again = model.sample(n_samples, random_state=seed)
        np.testing.assert_array_equal(result, again)


@pytest.mark.parametrize("method", ["fit", "partial_fit", "score", "transform"])
def test_values_above_one_warning_points_at_the_users_line(method):
    """The warning names this file, not a line inside skbm or scikit-learn."""
    X = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    model = BernoulliRBM2(n_components=2, n_iter=1, random_state=0).fit(X)
    above = X * 2
    with pytest.warns(UserWarning, match="Values above 1") as record:
        getattr(model, method)(above)
    assert [w.filename for w in record] == [__file__]


def test_values_above_one_warning_points_at_the_users_line_through_a_search():
    from sklearn.model_selection import GridSearchCV

    X = np.tile([[0.0, 2.0, 1.0], [2.0, 0.0, 1.0]], (5, 1))
    search = GridSearchCV(BernoulliRBM2(n_iter=1), {"n_components": [1, 2]}, cv=2)
    with pytest.warns(UserWarning, match="Values above 1") as record:
        search.fit(X)
    assert {w.filename for w in record} == {__file__}
