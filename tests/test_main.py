"""The main job, ``python -m skbm``, on small data files."""

import joblib
import numpy as np
import pytest

from skbm import BernoulliRBM2
from skbm.__main__ import load_binary_digits, main


@pytest.fixture
def binary_file(tmp_path):
    rng = np.random.default_rng(0)
    X = (rng.random((120, 8)) < 0.3).astype(int)
    path = tmp_path / "data.csv"
    np.savetxt(path, X, fmt="%d", delimiter=",")
    return path


def test_main_job_prints_a_table_of_exact_scores(binary_file, tmp_path, capsys):
    saved = tmp_path / "model.joblib"
    code = main(
        ["--data", str(binary_file), "--n-iter", "2", "--save", str(saved)]
        + ["--large-components", "0"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "held-out LL" in out
    for label in ("BernoulliRBM2", "sklearn BernoulliRBM", "BoltzmannMachine"):
        assert label in out
    table = out.split("held-out LL")[-1]
    assert table.count("exact") >= 4
    model = joblib.load(saved)
    assert isinstance(model, BernoulliRBM2)
    assert model.components_.shape == (16, 8)


@pytest.mark.parametrize(
    "content, name, message",
    [
        ("0,1\n1,0\n", "data.txt", "neither .npy nor .csv"),
        ("0,2\n1,0\n0,0\n1,1\n", "data.csv", "binary rows"),
        ("0,a\n1,0\n", "data.csv", "could not read"),
    ],
)
def test_main_job_rejects_bad_data_clearly(tmp_path, capsys, content, name, message):
    path = tmp_path / name
    path.write_text(content)
    assert main(["--data", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_main_job_reports_a_missing_file(tmp_path, capsys):
    assert main(["--data", str(tmp_path / "nothing.npy")]) == 2
    assert "no file" in capsys.readouterr().err


def test_bundled_digits_are_binary():
    X = load_binary_digits()
    assert X.shape == (1797, 64)
    assert set(np.unique(X)) == {0.0, 1.0}
