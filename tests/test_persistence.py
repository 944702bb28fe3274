"""Persistence: pickle, joblib and skops round trips reproduce every output.

Pickles carry the skbm version; loading one made by another version warns
with both versions named, as scikit-learn does.
"""

import pickle
import warnings

import joblib
import numpy as np
import pytest

import skbm
from skbm import BernoulliRBM2, BoltzmannMachine, HiddenBoltzmannMachine
from skbm._persistence import InconsistentVersionWarning

X = (np.random.default_rng(0).random((40, 6)) < 0.4).astype(float)
X32 = X.astype(np.float32)

MODELS = {
    "BernoulliRBM2": lambda: BernoulliRBM2(
        n_components=4, n_iter=3, n_chains=10, random_state=0
    ),
    "BernoulliRBM2-pt-float32": lambda: BernoulliRBM2(
        n_components=4, n_iter=3, n_chains=10, solver="pt", random_state=0
    ),
    "BoltzmannMachine-exact": lambda: BoltzmannMachine(random_state=0),
    "BoltzmannMachine-pcd": lambda: BoltzmannMachine(
        solver="pcd", n_iter=3, n_chains=10, random_state=0
    ),
    "HiddenBoltzmannMachine": lambda: HiddenBoltzmannMachine(
        n_components=2, n_iter=3, random_state=0
    ),
    "HiddenBoltzmannMachine-pcd": lambda: HiddenBoltzmannMachine(
        n_components=2, n_iter=3, solver="pcd", n_chains=10, random_state=0
    ),
}


def fitted(key, scored):
    data = X32 if "float32" in key else X
    model = MODELS[key]().fit(data)
    if scored:
        model.score(data)  # a warm score cache travels too
    if hasattr(model, "gibbs"):
        model.gibbs(data[:3])  # and a started Gibbs stream
    return model


def outputs(model):
    """Everything the model computes, in a fixed order; changes the model."""
    dtype = getattr(model, model._parameter_names[0]).dtype
    data = X32 if dtype == np.float32 else X
    if isinstance(model, BernoulliRBM2):
        parameters = [model.components_, model.h_samples_]
    else:
        parameters = [model.coupling_, model.intercept_]
    results = [
        *parameters,
        model.transform(data),
        model.score_samples(data),
        np.float64(model.score(data)),
        np.float64(model.log_partition().log_z),
        model.sample(25, random_state=3),
        model.get_feature_names_out(),
    ]
    if hasattr(model, "gibbs"):
        results.append(model.gibbs(data))  # continues the stored stream
    model.partial_fit(data)  # continues the stored random stream
    results.extend(getattr(model, name) for name in model._parameter_names)
    return results


def assert_same_outputs(original, loaded):
    assert type(loaded) is type(original)
    assert loaded.get_params() == original.get_params()
    for expected, got in zip(outputs(original), outputs(loaded), strict=True):
        np.testing.assert_array_equal(got, expected)
        assert got.dtype == expected.dtype


def pickle_round_trip(model, tmp_path):
    return pickle.loads(pickle.dumps(model))


def joblib_round_trip(model, tmp_path):
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    return joblib.load(path)


def skops_round_trip(model, tmp_path):
    sio = pytest.importorskip("skops.io")
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    untrusted = sio.get_untrusted_types(file=path)
    # Only skbm's own classes (and numpy's generator) need trusting.
    assert all(name.startswith(("skbm.", "numpy.")) for name in untrusted), untrusted
    return sio.load(path, trusted=untrusted)


@pytest.mark.parametrize("scored", [False, True], ids=["unscored", "scored"])
@pytest.mark.parametrize("key", list(MODELS))
@pytest.mark.parametrize(
    "round_trip",
    [pickle_round_trip, joblib_round_trip, skops_round_trip],
    ids=["pickle", "joblib", "skops"],
)
def test_round_trip_reproduces_every_output(round_trip, key, scored, tmp_path):
    model = fitted(key, scored)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        loaded = round_trip(model, tmp_path)
    assert "_skbm_version" not in loaded.__dict__
    assert_same_outputs(model, loaded)


@pytest.mark.parametrize("key", ["BernoulliRBM2", "BoltzmannMachine-exact"])
def test_unfitted_round_trip(key):
    model = MODELS[key]()
    loaded = pickle.loads(pickle.dumps(model))
    assert loaded.get_params() == model.get_params()
    assert not hasattr(loaded, "n_features_in_")


def test_pickle_stores_the_skbm_version():
    model = fitted("BernoulliRBM2", scored=False)
    state = model.__getstate__()
    assert state["_skbm_version"] == skbm.__version__
    # Stored in the pickle, never on the live model.
    assert "_skbm_version" not in model.__dict__


@pytest.mark.parametrize("key", ["BernoulliRBM2", "HiddenBoltzmannMachine"])
def test_loading_another_version_warns_naming_both(key):
    model = fitted(key, scored=True)
    state = model.__getstate__()
    state["_skbm_version"] = "0.0.1"
    other = type(model).__new__(type(model))
    with pytest.warns(InconsistentVersionWarning) as record:
        other.__setstate__(state)
    message = str(record[0].message)
    assert "0.0.1" in message and skbm.__version__ in message
    assert type(model).__name__ in message
    assert record[0].message.original_version == "0.0.1"
    assert record[0].message.current_version == skbm.__version__
    assert issubclass(InconsistentVersionWarning, UserWarning)
    # It still loads, and works.
    assert "_skbm_version" not in other.__dict__
    np.testing.assert_array_equal(other.transform(X), model.transform(X))


def test_loading_a_pickle_without_version_warns():
    model = fitted("BoltzmannMachine-exact", scored=False)
    state = model.__getstate__()
    del state["_skbm_version"]
    other = BoltzmannMachine.__new__(BoltzmannMachine)
    with pytest.warns(InconsistentVersionWarning, match="unknown"):
        other.__setstate__(state)


def test_version_mismatch_through_pickle_bytes():
    # The real path: bytes written by "another release" are loaded.
    model = fitted("BernoulliRBM2", scored=False)
    current = skbm.__version__.encode()
    data = pickle.dumps(model)
    assert data.count(current) == 1
    # A version string of the same length keeps the pickle's framing valid.
    other = current[:-1] + (b"8" if current.endswith(b"9") else b"9")
    with pytest.warns(InconsistentVersionWarning, match=f"version {other.decode()} "):
        loaded = pickle.loads(data.replace(current, other))
    np.testing.assert_array_equal(loaded.components_, model.components_)
