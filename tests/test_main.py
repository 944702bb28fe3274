"""The main job, ``python -m skbm``, on small data files."""

import joblib
import numpy as np
import pytest

import skbm.__main__ as main_module
from skbm import BernoulliRBM2
from skbm.__main__ import load_binary_digits, load_user_data, main


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
    table, legend = out[out.index("held-out LL") :].split("Held-out LL:")
    assert table.count("exact") >= 4
    for words in ("higher is better", "h = hidden units", "pcd = persistent"):
        assert words in legend
    # 8 features: no model was fitted on a pixel subset.
    assert "pixels" not in out
    assert "not comparable" not in out
    model = joblib.load(saved)
    assert isinstance(model, BernoulliRBM2)
    assert model.components_.shape == (16, 8)


@pytest.mark.parametrize(
    "content, name, message",
    [
        ("0,1\n1,0\n", "data.txt", "neither .npy nor .csv"),
        ("0,2\n1,0\n0,0\n1,1\n", "data.csv", "binary rows"),
        ("0,a\n1,0\n", "data.csv", "could not read"),
        # A first line with a number in it is data, not a header.
        ("0,a\n1,0\n0,0\n1,1\n", "data.csv", "line 1, column 2 holds 'a'"),
        ("f0,f1\n0,1\n\n1,0\n0,x\n1,1\n", "data.csv", "line 5, column 2 holds 'x'"),
        ("0,1\n1,,0\n", "data.csv", "line 2 has 3 values"),
        ("0,1\n1,\n0,0\n1,1\n", "data.csv", "line 2, column 2 is empty"),
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


def test_a_csv_header_row_is_skipped(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text('# a comment\n"f0", f1 ,f2\n0,1,1\n1,0,0\n0,0,1\n1,1,1\n')
    X, header = load_user_data(path)
    assert header == ["f0", "f1", "f2"]
    np.testing.assert_array_equal(X[0], [0, 1, 1])
    assert X.shape == (4, 3)
    path.write_text("0,1,1\n1,0,0\n0,0,1\n1,1,1\n")
    X, header = load_user_data(path)
    assert header is None
    assert X.shape == (4, 3)


def test_main_job_says_it_skipped_a_header(binary_file, tmp_path, capsys):
    path = tmp_path / "named.csv"
    names = ",".join(f"pixel{i}" for i in range(8))
    path.write_text(names + "\n" + binary_file.read_text())
    assert main(["--data", str(path), "--n-iter", "1", "--large-components", "0"]) == 0
    out = capsys.readouterr().out
    assert "skipped the first line of" in out
    assert "as a header (pixel0, pixel1, pixel2, ...)" in out
    assert "120 binary" not in out
    assert "84 training and 36 held-out rows, 8 binary features" in out


def test_main_job_notes_the_pixel_subset_only_when_used(
    binary_file, monkeypatch, capsys
):
    monkeypatch.setattr(main_module, "N_SUBSET_PIXELS", 4)
    args = ["--data", str(binary_file), "--n-iter", "1", "--large-components", "0"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "4 pixels" in out
    assert "not comparable" in out.split("Held-out LL:")[-1]


@pytest.fixture
def no_fitting(monkeypatch):
    """Fail the test if the main job gets as far as building its models."""

    def build_models(*args, **kwargs):
        raise AssertionError("the main job started fitting")

    monkeypatch.setattr(main_module, "build_models", build_models)


@pytest.mark.parametrize(
    "where, message",
    [
        ("missing/model.joblib", "the folder {tmp}/missing does not exist; create it"),
        (".", "is a folder; give a file name in it"),
        ("data.csv/model.joblib", "data.csv is a file, not a folder"),
    ],
)
def test_a_bad_save_path_is_refused_before_fitting(
    binary_file, no_fitting, capsys, where, message
):
    tmp = binary_file.parent
    save = tmp / where
    assert main(["--data", str(binary_file), "--save", str(save)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --save: ")
    assert err.count("\n") == 1
    assert message.format(tmp=tmp) in err


def test_an_unwritable_save_folder_is_refused_before_fitting(
    binary_file, no_fitting, monkeypatch, capsys
):
    # Permissions do not stop root, so the check itself is made to say no.
    monkeypatch.setattr(main_module.os, "access", lambda path, mode: False)
    save = binary_file.parent / "model.joblib"
    assert main(["--data", str(binary_file), "--save", str(save)]) == 2
    assert "no permission to write the folder" in capsys.readouterr().err
