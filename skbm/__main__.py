"""The main job: fit every skbm estimator and scikit-learn's RBM, compare likelihoods.

Run ``python -m skbm --help`` for the options. By default the data are
scikit-learn's bundled digits, binarized (pixel > 7), split 70/30 with
``random_state=0``; every model is scored by its held-out mean log-likelihood,
computed exactly where enumeration is feasible. The categorical models read
three grey levels of a few pixels, and the Gaussian RBM and scikit-learn's
GaussianMixture the dequantized digits (a log-density).
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM

from . import (
    BernoulliRBM2,
    BoltzmannMachine,
    CategoricalBoltzmannMachine,
    CategoricalRBM,
    GaussianBernoulliRBM,
    HiddenBoltzmannMachine,
)

# Pixels kept for the models whose exact scoring enumerates every visible unit.
N_SUBSET_PIXELS = 16

# Pixels of the categorical row: 3**8 = 6561 joint states, scored exactly.
N_LEVEL_PIXELS = 8

# Hidden units of the Gaussian row: 2**16 hidden states, scored exactly.
GAUSSIAN_COMPONENTS = 16

# Printed under the final table.
LEGEND = """
Held-out LL: mean ln P(x) over the held-out rows, in nats per row; higher is better.
h = hidden units. solver ("auto" resolved): pcd = persistent contrastive divergence
(scikit-learn's own for "pcd (sklearn)"), pseudolikelihood = L-BFGS on the
pseudo-likelihood, exact = L-BFGS on the exact likelihood, by enumeration
(SGD on the exact gradient for the RBMs), cd = contrastive divergence, EM =
expectation-maximisation. ln Z: exact = by enumeration (closed form: a Gaussian
mixture's normaliser); ais = annealed importance sampling: the held-out LL is
the forward AIS estimate (optimistic in expectation), shown with the RAISE
estimate from reverse annealing started at 100 held-out rows (conservative in
expectation), the bracket widened by 3 standard errors on each side, and the
effective sample size of the forward runs."""


def load_binary_digits():
    """scikit-learn's digits, binarized at pixel > 7 (bundled, no download)."""
    X, _ = load_digits(return_X_y=True)
    return (X > 7).astype(np.float64)


def load_dequantized_digits():
    """The digits' grey levels with uniform noise, (X + u) / 17: real values in
    [0, 1] that have a density (the density benchmark's data)."""
    X, _ = load_digits(return_X_y=True)
    return (X + np.random.default_rng(0).random(X.shape)) / 17


def load_digit_levels():
    """The digits' grey levels 0..16 as three categories: 0, 1-8 and 9-16."""
    X, _ = load_digits(return_X_y=True)
    return np.digitize(X, [1, 9])


def _is_number(field):
    try:
        float(field)
    except ValueError:
        return False
    return True


def _csv_records(path):
    """(line number, fields) of the lines of a .csv file that hold data.

    Comments (from ``#``) and blank lines are left out, as ``np.loadtxt``
    does; line numbers count every line of the file, from 1.
    """
    with open(path, encoding="utf-8", errors="replace") as file:
        for number, line in enumerate(file, start=1):
            line = line.split("#", 1)[0].strip()
            if line:
                yield number, [field.strip() for field in line.split(",")]


def _csv_header(path):
    """The header of a .csv file: (its line number, its names), or None.

    A header is a first line none of whose fields is a number, such as
    ``f0,f1,f2``; a first line of numbers is data.
    """
    for number, fields in _csv_records(path):
        if any(_is_number(field) for field in fields):
            return None
        return number, [field.strip("\"'") for field in fields]
    return None


def _csv_error(path, exc, after_line):
    """A ValueError naming the line and column of the first bad field."""
    width = None
    for number, fields in _csv_records(path):
        if number <= after_line:
            continue
        if width is not None and len(fields) != width:
            return ValueError(
                f"--data: could not read {path}: line {number} has "
                f"{len(fields)} values, the lines before it {width}."
            )
        width = len(fields)
        for column, field in enumerate(fields, start=1):
            if not _is_number(field):
                what = f"holds {field!r}" if field else "is empty"
                return ValueError(
                    f"--data: could not read {path}: line {number}, column "
                    f"{column} {what}, not a number."
                )
    return ValueError(f"--data: could not read {path}: {exc}")


def load_user_data(path):
    """Load a user's .npy or .csv file of 0/1 rows, with clear errors.

    A first line of names in a .csv file (no field a number) is skipped as a
    header.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The rows, as floats.
    header : list of str or None
        The names of the skipped header line, or None.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--data: no file at {path}.")
    suffix = path.suffix.lower()
    header = None
    try:
        if suffix == ".npy":
            X = np.load(path, allow_pickle=False)
        elif suffix == ".csv":
            header = _csv_header(path)
            skip = 0 if header is None else header[0]
            try:
                with warnings.catch_warnings():
                    # An empty file is refused below, by its shape.
                    warnings.filterwarnings("ignore", "loadtxt: input contained no")
                    X = np.loadtxt(path, delimiter=",", ndmin=2, skiprows=skip)
            except ValueError as exc:
                raise _csv_error(path, exc, after_line=skip) from exc
        else:
            raise ValueError(
                f"--data: {path.name} is neither .npy nor .csv; save the data "
                "as a 2-D array of 0/1 rows in one of these formats."
            )
    except (OSError, ValueError) as exc:
        if "--data" in str(exc):
            raise
        raise ValueError(f"--data: could not read {path}: {exc}") from exc
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] < 4 or X.shape[1] < 1:
        raise ValueError(
            f"--data: expected a 2-D array with at least 4 rows, got shape {X.shape}."
        )
    if not np.issubdtype(X.dtype, np.number) and X.dtype != bool:
        raise ValueError(f"--data: expected numbers, got dtype {X.dtype}.")
    X = X.astype(np.float64)
    if not np.all((X == 0) | (X == 1)):
        raise ValueError(
            "--data: expected binary rows (every value 0 or 1); binarize first, "
            "for example with sklearn.preprocessing.Binarizer."
        )
    return X, None if header is None else header[1]


def check_save_path(path):
    """Refuse a --save path that joblib.dump could not write, before any fit."""
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise ValueError(
            f"--save: {path} is a folder; give a file name in it, for example "
            f"--save {path / 'model.joblib'}."
        )
    if folder.exists() and not folder.is_dir():
        raise ValueError(
            f"--save: {folder} is a file, not a folder; give a path in a folder."
        )
    if not folder.is_dir():
        raise ValueError(
            f"--save: the folder {folder} does not exist; create it first "
            f"(mkdir -p {folder}) or give a path in an existing folder."
        )
    if not os.access(folder, os.W_OK | os.X_OK) or (
        path.exists() and not os.access(path, os.W_OK)
    ):
        where = path if path.exists() else f"the folder {folder}"
        raise ValueError(
            f"--save: no permission to write {where}; give a path in a "
            "folder you can write to."
        )


def as_bernoulli_rbm2(model, X_train):
    """scikit-learn's fitted RBM as a BernoulliRBM2 with the same weights.

    Its score is the real log-likelihood, so both libraries are scored the
    same way. It is fitted for no epochs on the training rows first, so its
    AIS base model (independent units at the training means) is the one
    skbm's own fits use.
    """
    twin = BernoulliRBM2(n_components=model.n_components, n_iter=0).fit(X_train)
    twin.components_ = model.components_.copy()
    twin.intercept_visible_ = model.intercept_visible_.copy()
    twin.intercept_hidden_ = model.intercept_hidden_.copy()
    return twin


def timed_fit(model, X):
    """Fit ``model`` on ``X``; print any ConvergenceWarning as a note and
    return the seconds the fit took."""
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X)
    seconds = time.perf_counter() - start
    for warning in caught:
        print(f"      note: {warning.message}")
    return seconds


def describe_score(model, X):
    """Mean held-out log-likelihood and how ln Z was obtained."""
    if not hasattr(model, "log_partition"):  # scikit-learn's GaussianMixture
        return model.score(X), "closed form"
    verbose = model.verbose
    try:
        # Both sides for an AIS estimate: forward runs and reverse runs from
        # 100 held-out rows (RAISE) side by side on n_jobs workers, with
        # their progress printed; exact ln Z otherwise. Its upper side is
        # the score.
        model.set_params(verbose=1)
        bracket = model.score_bracket(X)
    except ValueError:
        bracket = None  # too large to enumerate, or no RAISE for this machine
    finally:
        model.set_params(verbose=verbose)
    if bracket is not None and bracket.method == "exact":
        return bracket.upper, "exact"
    try:
        estimate = model.log_partition()  # cached by score_bracket
    except ValueError as exc:
        print(f"      not scored: {exc}")
        return float("nan"), "not computed (too large to enumerate)"
    ess = f"ESS {estimate.ess:.0f} of {estimate.n_runs}"
    if bracket is None:
        return model.score(X), f"ais ({ess})"
    low, high = bracket.interval
    interval = f"interval [{low:.3f}, {high:.3f}]"
    return bracket.upper, f"ais, RAISE {bracket.lower:.3f}, {interval}, {ess}"


def build_models(args, n_features):
    """The models of the main job: (label, columns or None, estimator)."""
    seed, n_iter = args.seed, args.n_iter
    subset = N_SUBSET_PIXELS if n_features > N_SUBSET_PIXELS else None
    models = [
        (
            f"BernoulliRBM2 ({args.n_components} h)",
            None,
            BernoulliRBM2(
                n_components=args.n_components, n_iter=n_iter, random_state=seed
            ),
        ),
        (
            f"sklearn BernoulliRBM ({args.n_components} h)",
            None,
            BernoulliRBM(
                n_components=args.n_components, n_iter=n_iter, random_state=seed
            ),
        ),
    ]
    if args.large_components:
        # Too large to enumerate: scored by annealed importance sampling.
        models.append(
            (
                f"BernoulliRBM2 ({args.large_components} h)",
                None,
                BernoulliRBM2(
                    n_components=args.large_components,
                    n_iter=n_iter,
                    random_state=seed,
                    n_jobs=-1,
                ),
            )
        )
    models.append(
        ("BoltzmannMachine", None, BoltzmannMachine(random_state=seed, n_jobs=-1))
    )
    if subset is not None:
        models.append(("BoltzmannMachine", subset, BoltzmannMachine(random_state=seed)))
    models.append(
        (
            "HiddenBoltzmannMachine (4 h)",
            subset,
            HiddenBoltzmannMachine(n_components=4, random_state=seed),
        )
    )
    return models


def run(args):
    if args.save:
        check_save_path(args.save)
    if args.data is None:
        X = load_binary_digits()
        source = "scikit-learn digits, binarized (pixel > 7)"
    else:
        X, names = load_user_data(args.data)
        source = str(args.data)
        if names is not None:
            names = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            print(f"Note: skipped the first line of {source} as a header ({names}).")
    X_train, X_test = train_test_split(X, test_size=0.3, random_state=0)
    print(
        f"Data: {source}; {X_train.shape[0]} training and {X_test.shape[0]} "
        f"held-out rows, {X.shape[1]} binary features."
    )
    # Subsets keep the most variable pixels, chosen on the training rows only.
    variance = X_train.var(axis=0)
    order = np.argsort(-variance, kind="stable")

    rows = []
    models = build_models(args, X.shape[1])
    for index, (label, subset, model) in enumerate(models, start=1):
        columns = np.sort(order[:subset]) if subset is not None else slice(None)
        data_label = f"{subset} pixels" if subset is not None else "all features"
        solver = getattr(model, "solver", "pcd (sklearn)")
        print(f"[{index}/{len(models)}] fitting {label} ({solver}, {data_label}) ...")
        seconds = timed_fit(model, X_train[:, columns])
        solver = getattr(model, "solver_", solver)
        print(f"      fitted in {seconds:.2f} s; scoring ...")
        start = time.perf_counter()
        if isinstance(model, BernoulliRBM):
            twin = as_bernoulli_rbm2(model, X_train[:, columns])
            score, how = twin.score(X_test[:, columns]), "exact"
        else:
            score, how = describe_score(model, X_test[:, columns])
        print(
            f"      held-out log-likelihood {score:.3f} ({how}), "
            f"scored in {time.perf_counter() - start:.2f} s"
        )
        rows.append((label, data_label, solver, seconds, score, how))
        if args.save and index == 1:
            import joblib

            try:
                joblib.dump(model, args.save)
            except OSError as exc:
                raise ValueError(f"--save: could not write {args.save}: {exc}") from exc
            print(f"      saved to {args.save}")

    if args.data is None:
        rows.extend(categorical_rows(args, order[:N_LEVEL_PIXELS]))
        rows.extend(gaussian_rows(args))

    print()
    header = (
        f"{'model':<31}{'data':<16}{'solver':<18}{'fit (s)':>9}  "
        f"{'held-out LL':>12}  ln Z"
    )
    print(header)
    print("-" * len(header))
    for label, data_label, solver, seconds, score, how in rows:
        print(
            f"{label:<31}{data_label:<16}{solver:<18}{seconds:>9.2f}  "
            f"{score:>12.3f}  {how}"
        )
    print(LEGEND)
    subsets = sorted({data for _, data, *_ in rows if "pixels" in data})
    if subsets:
        print(
            f"Rows on different data (all features, the {', '.join(subsets)} of "
            "highest training\nvariance, the dequantized pixels) are not "
            "comparable. 3-lvl: each pixel's grey level 0-16 as\nthree "
            "categories (0, 1-8, 9-16). dequant.: (grey level + uniform noise) "
            "/ 17, real values,\nwhose LL is a log-density; GaussianMixture has "
            "40 components with diagonal covariances."
        )


def fitted_rows(models, X_train, X_test, data_label):
    """Fit and score each (label, estimator) on one data set; their table rows."""
    rows = []
    for label, model in models:
        solver = getattr(model, "solver", "EM (sklearn)")
        print(f"[+] fitting {label} ({solver}, {data_label}) ...")
        seconds = timed_fit(model, X_train)
        score, how = describe_score(model, X_test)
        print(f"      fitted in {seconds:.2f} s; held-out {score:.3f} ({how})")
        rows.append(
            (label, data_label, getattr(model, "solver_", solver), seconds, score, how)
        )
    return rows


def categorical_rows(args, pixels):
    """The Potts model and a categorical RBM on three grey levels of a few pixels.

    The same rows and split as the binary models, the pixels of highest
    training variance, each pixel's grey level 0..16 read as one of three
    categories (0, 1-8, 9-16).
    """
    levels = load_digit_levels()[:, np.sort(pixels)]
    L_train, L_test = train_test_split(levels, test_size=0.3, random_state=0)
    models = [
        (
            "CategoricalBoltzmannMachine",
            CategoricalBoltzmannMachine(random_state=args.seed),
        ),
        (
            f"CategoricalRBM ({args.n_components} h)",
            CategoricalRBM(
                n_components=args.n_components,
                n_iter=args.n_iter,
                random_state=args.seed,
            ),
        ),
    ]
    return fitted_rows(models, L_train, L_test, f"{len(pixels)} pixels 3-lvl")


def gaussian_rows(args):
    """The Gaussian RBM and a diagonal GaussianMixture on the dequantized digits.

    The same split; their held-out figure is a log-density.
    """
    X_train, X_test = train_test_split(
        load_dequantized_digits(), test_size=0.3, random_state=0
    )
    models = [
        (
            f"GaussianBernoulliRBM ({GAUSSIAN_COMPONENTS} h)",
            GaussianBernoulliRBM(
                n_components=GAUSSIAN_COMPONENTS, random_state=args.seed
            ),
        ),
        (
            "sklearn GaussianMixture (40)",
            GaussianMixture(40, covariance_type="diag", random_state=args.seed),
        ),
    ]
    return fitted_rows(models, X_train, X_test, "dequant. 64 px")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skbm",
        description=(
            "Fit skbm's Boltzmann machines and scikit-learn's BernoulliRBM on "
            "binary data and compare their held-out log-likelihoods."
        ),
    )
    parser.add_argument(
        "--n-components",
        type=int,
        default=16,
        help="hidden units of the RBMs (default 16, small enough for exact scoring)",
    )
    parser.add_argument(
        "--n-iter",
        type=int,
        default=10,
        help="training epochs of the RBMs (default 10)",
    )
    parser.add_argument(
        "--data",
        metavar="FILE",
        help=(
            "a .npy or .csv file of 0/1 rows to use instead of the digits (a first "
            ".csv line of column names is skipped)"
        ),
    )
    parser.add_argument(
        "--save", metavar="PATH", help="write the fitted BernoulliRBM2 with joblib.dump"
    )
    parser.add_argument(
        "--large-components",
        type=int,
        default=256,
        metavar="N",
        help=(
            "hidden units of a second BernoulliRBM2, too large to enumerate and "
            "scored by AIS (default 256; 0 skips it)"
        ),
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="random_state of the models"
    )
    args = parser.parse_args(argv)
    if args.n_components < 1 or args.n_iter < 1 or args.large_components < 0:
        parser.error(
            "--n-components and --n-iter must be positive integers, "
            "--large-components a non-negative one"
        )
    try:
        run(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
