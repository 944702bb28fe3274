"""Base class shared by the Boltzmann machine estimators.

The base carries what every model does the same way: input validation, the
atomic fit / partial_fit protocol, the mini-batch stochastic gradient loop
with its solver state, persistent contrastive divergence, log-likelihood
scoring with a cached log partition function, chunked transforms and
sampling. It orchestrates against the model-family interface
(:class:`skbm._family.ModelFamily`): a subclass says which family its
fitted attributes make (``_model``), how training starts and what its
gradient is, and nothing about how ln Z, samples or AIS are computed.
"""

import copy
import functools
import hashlib
import math
import time
import warnings
from abc import ABCMeta, abstractmethod
from dataclasses import dataclass, fields
from numbers import Integral, Real

import numpy as np
from scipy.optimize import minimize
from sklearn import get_config
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from ._ais import (
    N_STANDARD_ERRORS,
    adapted_betas,
    data_reverse_tasks,
    ess_chosen_log_weights,
    forward_tasks,
    one_pool,
    reverse_tasks,
    weight_summary,
)
from ._bernoulli_units import BERNOULLI
from ._bm_math import newton_polish
from ._enumeration import BLOCK_BYTES, MAX_EXACT_BITS, choose_by_size
from ._log_partition import AISWarning, LikelihoodBracket, LogPartition
from ._persistence import check_version, stamp_version
from ._threads import blas_threads_for, on_one_blas_thread
from ._validation import caller_stacklevel, validate_units

# Beyond this many enumerated units even score_method="exact" is refused:
# 2**30 terms already take many minutes.
MAX_FORCED_EXACT_BITS = 30

# Seed of AIS when random_state is None, so that scores stay deterministic.
DEFAULT_SCORE_SEED = 0

# Rows score_bracket anneals from at most (a weighted random subset beyond):
# as many chains as the forward side's default 100 runs, so the conservative
# side costs about what the forward side does.
BRACKET_MAX_ROWS = 100

# Tag of the seed that draws score_bracket's subset of rows, apart from the
# AIS streams' tags (1 to 5).
BRACKET_SUBSET_TAG = 100

# Training has diverged when a parameter leaves [-DIVERGENCE_BOUND,
# DIVERGENCE_BOUND]: at |field| > 40 a {0,1} unit's probability is already 0
# or 1 to double precision, so no fit of data needs weights near 1e6.
DIVERGENCE_BOUND = 1e6

# The share of an epoch's time that the per-epoch figure of verbose=1 may
# take: its rows are thinned until it fits (half the 10% it is allowed).
VERBOSE_SHARE = 0.05

# The largest |energy| a model's parameters may reach: beyond it float64
# spaces log-probabilities more than 0.02 nats apart, so scores lose meaning.
MAX_ENERGY = 1e14


def make_generator(random_state):
    """Turn a scikit-learn ``random_state`` into a numpy ``Generator``.

    ``None`` gives fresh entropy without touching numpy's global state; an
    integer gives a reproducible stream; a ``RandomState`` seeds a new
    generator from its next draw; a ``Generator`` is used as is.

    Parameters
    ----------
    random_state : None, int, RandomState or Generator
        The seed or source of randomness.

    Returns
    -------
    rng : numpy.random.Generator
        The generator.
    """
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, Integral):
        return np.random.default_rng(int(random_state))
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return np.random.default_rng(seed)


def atomic(method):
    """Make a state-changing method all-or-nothing.

    The estimator's attribute dictionary is restored when the method raises,
    so a failed call leaves a fitted model exactly as it was. This relies on
    training code replacing attribute arrays rather than updating them in
    place.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        saved = self.__dict__.copy()
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    return wrapper


@dataclass
class SolverState:
    """What training carries from one update to the next, besides the parameters.

    The training loop works on a copy and the estimator commits it only when
    a fit succeeds, so a failed call leaves the model as it was.

    Attributes
    ----------
    velocity : dict of ndarray or None
        Heavy-ball velocities, keyed like the parameters.
    chains : ndarray or None
        States of the persistent Gibbs chains (all units of a general
        machine; the hidden units of an RBM).
    tempered_chains : ndarray or None
        Hidden states of the parallel-tempering chains, one slice per
        temperature.
    visible_offset, hidden_offset : ndarray or None
        Offsets of the centered gradient.
    visible_scale : ndarray or None
        Standard deviations of real-valued training data, which set the
        floor of the model's standard deviations.
    """

    velocity: dict | None = None
    chains: np.ndarray | None = None
    tempered_chains: np.ndarray | None = None
    visible_offset: np.ndarray | None = None
    hidden_offset: np.ndarray | None = None
    visible_scale: np.ndarray | None = None

    def copy(self):
        """A deep copy, for a training call to work on."""
        return SolverState(
            **{
                item.name: copy.deepcopy(getattr(self, item.name))
                for item in fields(self)
            }
        )


def _row_weights(sample_weight, rows, whom):
    """Validated row weights (non-negative, finite, one per row of ``rows``,
    not all zero), float64; None for None.

    scikit-learn >= 1.7 refuses all-zero weights itself, 1.6 does not, so
    the check is here too: no fit or mean can use them.
    """
    if sample_weight is None:
        return None
    weights = _check_sample_weight(
        sample_weight, rows, dtype=np.float64, ensure_non_negative=True
    )
    if not weights.sum() > 0:
        raise ValueError(
            f"{whom}: the sample weights sum to zero; at least one non-zero "
            "weight is needed, on a row that should count."
        )
    return weights


def _log_mean_standard_error(log_values):
    """Standard error of ln mean(exp(log_values)) by the delta method,
    sd(w) / (mean(w) sqrt(n)); NaN for a single value."""
    w = np.exp(log_values - np.max(log_values))
    if len(w) < 2:
        return float("nan")
    return float(w.std(ddof=1) / (w.mean() * np.sqrt(len(w))))


class BaseBoltzmann(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator, metaclass=ABCMeta
):
    """Abstract base of the skbm estimators.

    Subclasses set ``_parameter_names`` (the fitted parameter attributes,
    which define the model and key the score cache) and implement the
    abstract methods below.
    """

    _parameter_constraints: dict = {
        "score_method": [StrOptions({"auto", "exact", "ais"})],
        "ais_runs": [Interval(Integral, 1, None, closed="left")],
        "ais_betas": [Interval(Integral, 2, None, closed="left"), StrOptions({"auto"})],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    _parameter_names: tuple = ()

    # ------------------------------------------------------------------
    # What a model supplies
    # ------------------------------------------------------------------
    #: The unit type of the data: its input policy validates every input.
    _visible_units = BERNOULLI

    @abstractmethod
    def _model(self, params=None):
        """The model family of the fitted attributes, or of ``params``.

        ``params`` is a dict of parameter arrays keyed like
        ``_parameter_names`` (the working copies of training); ``None``
        means the fitted attributes, as scoring and sampling use them.
        """

    @abstractmethod
    def _initialize(self, X, rng):
        """Set the fitted parameters from the first data; return a SolverState."""

    @abstractmethod
    def _train(self, X, rng, state, *, n_epochs, sample_weight=None):
        """Train on ``X``; return the new fitted attributes as a dict.

        ``sample_weight`` is None or the validated row weights (non-negative,
        with a positive sum).

        Never changes ``self``: the parameters are new arrays and ``state``
        (a copy) is updated, and :meth:`_fit` commits both on success.
        """

    @abstractmethod
    def _transform(self, X):
        """The transform of validated ``X`` (one chunk of rows)."""

    @abstractmethod
    def _parameter_shapes(self, params):
        """The shape each fitted parameter must have, given all of them.

        Shapes follow from ``n_features_in_`` and from the parameters
        themselves (an RBM's number of hidden units is
        ``len(intercept_hidden_)``), so consistently assigned arrays pass.
        """

    def _check_structure(self, params):
        """Raise ValueError if the parameters break the model's structure."""

    def _continue(self, X, rng, state):
        """Adapt the solver state of a further partial_fit to the parameters.

        Parameters changed with ``set_params`` since the last call must fit
        the state: an estimator rebuilds what it can (chains for a new
        ``n_chains``, centering offsets) and refuses, with a message that
        says to call ``fit``, what it cannot (a new number of units).
        """
        return state

    def _gradient(self, params, rows, rng, state):
        """Mean log-likelihood gradient on a mini-batch, keyed like ``params``.

        Used by :meth:`_step`; a subclass whose solvers all fuse
        their step need not define it.
        """
        raise NotImplementedError

    def _validate_params(self):
        try:
            super()._validate_params()
        except TypeError as exc:
            # scikit-learn's constraints test with np.isnan, which fails on
            # numbers numpy does not know (Fraction, Decimal).
            odd = [
                f"{name}={value!r}"
                for name, value in self.get_params(deep=False).items()
                if isinstance(value, Real)
                and not isinstance(value, (int, float, np.number))
            ]
            raise ValueError(
                f"The parameters of {type(self).__name__} must be plain numbers: "
                f"{', '.join(odd) or exc}. Pass an int or a float."
            ) from exc
        # A bool is an Integral to Python, but never a count of units, runs
        # or rows.
        for name, constraints in self._parameter_constraints.items():
            value = getattr(self, name)
            counts = any(
                isinstance(c, Interval) and c.type is Integral for c in constraints
            )
            if counts and isinstance(value, (bool, np.bool_)):
                raise ValueError(
                    f"The {name!r} parameter of {type(self).__name__} must be an "
                    f"integer, not the boolean {value!r}."
                )

    def _fitted_parameters(self):
        """The fitted parameters, checked: shapes, finite values, structure.

        Fitted attributes may be assigned; anything assigned that the model
        cannot use gets a ``ValueError`` here, before any computation.
        """
        check_is_fitted(self)
        name = type(self).__name__
        params = {key: np.asarray(getattr(self, key)) for key in self._parameter_names}
        for key, shape in self._parameter_shapes(params).items():
            value = params[key]
            if value.shape != shape:
                raise ValueError(
                    f"{name}.{key} has shape {value.shape}, but the model needs "
                    f"{shape}. Assign an array of that shape, or call fit."
                )
            if not np.issubdtype(value.dtype, np.floating) or not np.all(
                np.isfinite(value)
            ):
                raise ValueError(
                    f"{name}.{key} must hold finite floating-point values. "
                    "Assign finite values, or call fit."
                )
        self._check_structure(params)
        with np.errstate(over="ignore"):  # an overflow is itself too large
            reach = sum(float(np.abs(value).sum()) for value in params.values())
        if reach > MAX_ENERGY:
            raise ValueError(
                f"The parameters of {name} are too large: the energy of a state "
                f"can reach {reach:.3g} nats, beyond the {MAX_ENERGY:.0e} at "
                "which float64 can still tell log-probabilities apart. Rescale "
                "the parameters, or call fit."
            )
        return params

    # ------------------------------------------------------------------
    # Fitting
    # ------------------------------------------------------------------
    def _validate_units(self, X, *, reset):
        return validate_units(self, X, reset=reset, units=self._visible_units)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Fit the model to the data X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data: binary or in [0, 1] for {0,1} units, real values
            for Gaussian units, integer codes for categorical units.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row: a weight of k counts as k copies
            of the row, a weight of 0 removes it. Deterministic solvers weigh
            the objective; stochastic ones draw the rows of every epoch with
            probabilities proportional to the weights. ``None`` weighs the
            rows equally.

        Returns
        -------
        self : object
            The fitted estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from skbm import BoltzmannMachine
        >>> X = np.array([[0, 0], [1, 1], [1, 1], [0, 1]])
        >>> model = BoltzmannMachine(solver="exact").fit(X)
        >>> model.coupling_.shape, model.intercept_.shape
        ((2, 2), (2,))
        """
        return self._fit(X, first_call=True, sample_weight=sample_weight)

    def partial_fit(self, X, y=None, sample_weight=None):
        """Fit the model on one more chunk of data, mini-batch by mini-batch.

        The first call initialises the model from ``X``; later calls continue
        training with the same random stream and training state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data: binary or in [0, 1] for {0,1} units, real values
            for Gaussian units, integer codes for categorical units.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights: the pass draws its rows with
            replacement, with probabilities proportional to them, so that
            the expected gradient is the weighted one.

        Returns
        -------
        self : object
            The fitted estimator.

        Examples
        --------
        Train on a stream of chunks, one pass over each:

        >>> import numpy as np
        >>> from skbm import BernoulliRBM2
        >>> X = (np.random.default_rng(0).random((100, 6)) < 0.3).astype(float)
        >>> model = BernoulliRBM2(n_components=3, random_state=0)
        >>> for chunk in np.array_split(X, 4):
        ...     model = model.partial_fit(chunk)
        >>> model.components_.shape
        (3, 6)
        """
        return self._partial_fit(X, sample_weight)

    # Not named partial_fit: _fit_context would then validate the parameters
    # of the first call only, and parameters set between calls must be valid
    # too.
    @_fit_context(prefer_skip_nested_validation=True)
    def _partial_fit(self, X, sample_weight=None):
        first_call = not hasattr(self, "n_features_in_")
        return self._fit(
            X, first_call=first_call, n_epochs=1, sample_weight=sample_weight
        )

    @atomic
    @on_one_blas_thread
    def _fit(self, X, *, first_call, n_epochs=None, sample_weight=None):
        X = self._validate_units(X, reset=first_call)
        # A zero weight drops its row.
        sample_weight = _row_weights(sample_weight, X, type(self).__name__)
        self._update_ais_base(X, first_call=first_call, sample_weight=sample_weight)
        if first_call:
            rng = make_generator(self.random_state)
            state = self._initialize(X, rng)
        else:
            # Continue the stream and the state on copies, committed only on
            # success.
            rng = np.random.default_rng()
            rng.bit_generator.state = self._rng_state
            self._fitted_parameters()
            state = self._continue(X, rng, self._solver_state.copy())
        attributes = self._train(
            X, rng, state, n_epochs=n_epochs, sample_weight=sample_weight
        )
        for name, value in attributes.items():
            setattr(self, name, value)
        self._solver_state = state
        self._rng_state = rng.bit_generator.state
        return self

    def _minimize(
        self, objective, theta, args, l1=0.0, n_l1=0, hessian=None, scale=None
    ):
        """Minimise a deterministic objective by L-BFGS (solvers of ``fit``).

        Runs at most ``max_iter`` iterations and stops when no gradient
        component exceeds ``tol``; warns with a ConvergenceWarning when it
        stops otherwise, and prints the result when ``verbose``.

        An L1 penalty ``l1 * sum |theta[:n_l1]|`` is handled exactly: each
        of those entries is the difference of two non-negative variables,
        on which the penalty is linear, and L-BFGS-B keeps them at their
        bound of zero where the penalty wins, so the entries are exactly
        zero (not the near-zeros of a subgradient method).

        Parameters
        ----------
        objective : callable
            ``objective(theta, *args)`` returns the loss and its gradient.
        theta : ndarray
            Flat starting parameters.
        args : tuple
            Further arguments of ``objective``.
        l1 : float, default=0.0
            Strength of the L1 penalty.
        n_l1 : int, default=0
            Number of leading entries of ``theta`` it applies to.
        hessian : callable, default=None
            ``hessian(theta, *args)``, the Hessian of a strictly convex
            objective: when given (and there is no L1 part), Newton steps
            polish the L-BFGS result to rounding (:func:`newton_polish`, at
            most 8 steps beyond ``max_iter``, counted in ``nit``), so that
            fits of the same objective agree to about 1e-10 however it is
            written, and convergence is judged after them.
        scale : ndarray of the shape of ``theta``, default=None
            A diagonal preconditioner: L-BFGS runs on ``theta / scale``,
            which with ``scale`` near the inverse square root of the
            Hessian's diagonal evens out the curvature of rare and common
            statistics (25 iterations instead of 59 to ``tol=1e-4`` on the
            contact benchmark's Potts model). It stops when no component of
            the scaled gradient exceeds ``tol * min(scale)``, which implies
            the unscaled criterion.

        Returns
        -------
        result : scipy.optimize.OptimizeResult
            The optimiser's result (``x``, ``fun``, ``nit``).
        """
        start = time.time()
        bounds = None
        fun = objective
        if l1 > 0 and n_l1:
            n_rest = theta.shape[0] - n_l1

            def fun(z, *args):
                theta = np.concatenate([z[:n_l1] - z[n_l1 : 2 * n_l1], z[2 * n_l1 :]])
                loss, grad = objective(theta, *args)
                pair = grad[:n_l1]
                return loss + l1 * z[: 2 * n_l1].sum(), np.concatenate(
                    [pair + l1, l1 - pair, grad[n_l1:]]
                )

            head = theta[:n_l1]
            theta = np.concatenate(
                [np.maximum(head, 0), np.maximum(-head, 0), theta[n_l1:]]
            )
            bounds = [(0, None)] * (2 * n_l1) + [(None, None)] * n_rest
        gtol = self.tol
        if scale is not None:
            # The split variables u, v share the scale of their coupling.
            z_scale = np.concatenate([scale[:n_l1], scale]) if bounds else scale
            unscaled = fun

            def fun(phi, *args):
                loss, grad = unscaled(phi * z_scale, *args)
                return loss, grad * z_scale

            theta = theta / z_scale
            gtol = self.tol * float(np.min(z_scale, initial=1.0))
        result = minimize(
            fun,
            theta,
            args=args,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={
                "maxiter": self.max_iter,
                "gtol": gtol,
                # Stop on the gradient, not on a tiny relative decrease.
                "ftol": 64 * np.finfo(float).eps,
                "maxls": 50,
            },
        )
        if scale is not None:
            result.x = result.x * z_scale
        if hessian is not None and bounds is None:
            result.x, n_steps, loss, grad = newton_polish(
                objective, hessian, result.x, args
            )
            result.nit += n_steps
            if n_steps:
                result.fun = loss
                result.success = np.max(np.abs(grad), initial=0.0) <= self.tol
        if not result.success:
            warnings.warn(
                f"{type(self).__name__} (solver={self.solver_!r}): L-BFGS did not "
                f"converge after {result.nit} iterations ({result.message}); "
                "increase max_iter or tol, or raise alpha.",
                ConvergenceWarning,
                stacklevel=caller_stacklevel(),
            )
        if self.verbose:
            print(
                f"[{type(self).__name__}] L-BFGS ({self.solver_}): {result.nit} "
                f"iterations, objective = {result.fun:.6f}, "
                f"time = {time.time() - start:.2f}s"
            )
        if bounds is not None:
            z = result.x
            result.x = np.concatenate([z[:n_l1] - z[n_l1 : 2 * n_l1], z[2 * n_l1 :]])
        return result

    def _working_order(self, X):
        """Memory order of the parameters' working copies during training."""
        return "C"

    def _step_function(self, X):
        """The update that every mini-batch of ``X`` takes (see :meth:`_step`).

        Chosen once per call, not per batch; a subclass with a fused update
        returns it where it applies.
        """
        return self._step

    def _coupling_penalties(self):
        """(L2, L1) strengths on the couplings: ``alpha`` split by
        ``l1_ratio`` (an estimator without ``l1_ratio`` has no L1 part)."""
        alpha, ratio = getattr(self, "alpha", 0.0), getattr(self, "l1_ratio", 0.0)
        return alpha * (1 - ratio), alpha * ratio

    def _step(self, params, rows, rng, rate, momentum, state):
        """One update on a mini-batch, in place: gradient and heavy-ball step.

        An L1 part of the coupling penalty (``alpha * l1_ratio``) is applied
        by its proximal map after the step, a soft threshold of ``rate``
        times its strength: couplings it removes are exactly zero, which a
        subgradient step would never leave.
        """
        grads = self._gradient(params, rows, rng, state)
        for name, grad in grads.items():
            step = state.velocity[name]
            step *= momentum
            step += rate * grad
            params[name] += step
        _, l1 = self._coupling_penalties()
        if l1 > 0:
            coupling = params["coupling_"]
            shrunk = np.maximum(np.abs(coupling) - rate * l1, 0.0)
            np.copysign(shrunk, coupling, out=coupling)
        self._constrain(params, state)

    def _constrain(self, params, state):
        """Project the working parameters back onto their domain, in place.

        Called after every step of :meth:`_step`; a model with bounded
        parameters (a floor on a Gaussian's standard deviation) overrides it.
        """

    def _to_working(self, params):
        """The parameters as training updates them, from the fitted attributes.

        The identity by default; a model may train a transform of an
        attribute (the logarithm of a standard deviation). Keys may differ.
        """
        return params

    def _from_working(self, params):
        """The fitted attributes of working parameters: :meth:`_to_working` undone."""
        return params

    def _persistent_statistics(self, family, state, n_sweeps, rng):
        """Persistent contrastive divergence: the model statistics of the chains.

        The chains of ``state`` take ``n_sweeps`` Gibbs sweeps of ``family``
        (whose parameters are the current ones) and their statistics
        estimate the model expectations of the gradient (Tieleman, 2008).
        """
        state.chains = family.sweep(state.chains, n_sweeps, rng)
        return family.chain_statistics(state.chains)

    def _sgd_epochs(
        self,
        X,
        rng,
        state,
        *,
        n_epochs,
        batch_size,
        learning_rate,
        momentum=0.0,
        shuffle=True,
        sample_weight=None,
    ):
        """Stochastic gradient ascent on the log-likelihood, epoch by epoch.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Validated training data.
        rng : numpy.random.Generator
            Source of randomness for shuffling and the gradient's sampling.
        state : SolverState
            The solver state, updated in place (velocities, chains).
        n_epochs : int
            Passes over ``X``.
        batch_size : int
            Rows per update; a short last batch is averaged over its own
            rows, so every update is correctly scaled.
        learning_rate : float or callable
            Step size, or ``learning_rate(progress) -> float`` where
            ``progress`` counts epochs, fractionally within an epoch.
        momentum : float, default=0.0
            Heavy-ball momentum; the velocity persists across calls.
        shuffle : bool, default=True
            Whether to visit the rows in a fresh random order each epoch.
        sample_weight : ndarray of shape (n_samples,), default=None
            Row weights. An epoch then draws ``n_samples`` rows with
            replacement, each with probability proportional to its weight,
            so that the expected gradient of every mini-batch is the
            weighted one.

        Returns
        -------
        params : dict of ndarray
            The trained parameters, new C-ordered arrays.
        """
        order = self._working_order(X)
        # Contiguous working copies, which in-place BLAS updates rely on.
        fitted = {name: getattr(self, name) for name in self._parameter_names}
        params = {
            name: np.array(value, order=order)
            for name, value in self._to_working(fitted).items()
        }
        state.velocity = (
            {name: np.zeros_like(value) for name, value in params.items()}
            if state.velocity is None
            else {
                name: np.array(value, order=order)
                for name, value in state.velocity.items()
            }
        )
        step = self._step_function(X)
        batch_size = int(batch_size)
        n_samples = X.shape[0]
        stride = 1  # of the rows of the verbose figure
        for epoch in range(n_epochs):
            start = time.time()
            if sample_weight is not None:
                permutation = rng.choice(
                    n_samples, n_samples, p=sample_weight / sample_weight.sum()
                )
            else:
                permutation = rng.permutation(n_samples) if shuffle else None
            n_batches = -(-n_samples // batch_size)
            for index, batch in enumerate(gen_batches(n_samples, batch_size)):
                rate = (
                    learning_rate(epoch + index / n_batches)
                    if callable(learning_rate)
                    else learning_rate
                )
                rows = X[batch] if permutation is None else X[permutation[batch]]
                step(params, rows, rng, rate, momentum, state)
            self._check_divergence(params, epoch + 1)
            if self.verbose:
                stride = self._report_progress(
                    epoch + 1, n_epochs, X, time.time() - start, params, stride
                )
        state.velocity = {
            name: value.copy(order="C") for name, value in state.velocity.items()
        }
        return self._from_working(
            {name: value.copy(order="C") for name, value in params.items()}
        )

    def _step_size(self):
        """The learning rate as a number (an estimator may resolve "auto")."""
        return self.learning_rate

    def _check_divergence(self, params, epoch):
        """Raise ValueError when training has diverged (see DIVERGENCE_BOUND)."""
        largest = max(
            float(np.max(np.abs(value), initial=0)) for value in params.values()
        )
        if np.isfinite(largest) and largest <= DIVERGENCE_BOUND:
            return
        rate = self._step_size()
        hint = f"Lower learning_rate, for example to {rate / 10:g}"
        alpha = getattr(self, "alpha", 0.0)
        if alpha and rate * alpha >= 1:
            hint += (
                f", and keep learning_rate * alpha below 1 (it is {rate * alpha:g}: "
                "the weight decay then overshoots)"
            )
        raise ValueError(
            f"{type(self).__name__} diverged in epoch {epoch}: a parameter reached "
            f"{largest:.3g}. {hint}. The model was left as it was before this call."
        )

    def _report_progress(self, epoch, n_epochs, X, seconds, params, stride=1):
        """Print one line of training progress, its figure labelled.

        ``verbose=1``: the mean of ln sum_h exp(-Phi(x, h)), the
        log-likelihood plus ln Z, over every ``stride``-th training row. It
        is cheap, but it is not a log-likelihood: it also rises when ln Z
        does. ``stride`` grows so that the figure costs at most
        ``VERBOSE_SHARE`` of an epoch. ``verbose >= 2``: the training mean
        log-likelihood itself over all rows, with ln Z exact or estimated by
        forward AIS, which can take longer than the epoch.

        Returns the stride of the next epoch's figure.
        """
        name = type(self).__name__
        family = self._model(
            self._from_working(
                {key: value.copy(order="C") for key, value in params.items()}
            )
        )
        start = time.perf_counter()
        rows = X if self.verbose >= 2 else X[::stride]
        if self.verbose < 2 and getattr(family, "clamped_ais", None) is not None:
            # Sums over h by AIS, row by row: not a cheap figure.
            label = "verbose=2 prints the log-likelihood"
        else:
            mean_unnormalized = float(
                np.mean(self._chunked(rows, family.unnormalized_log_proba, family))
            )
            over = "" if stride == 1 else f", every {stride}th row"
            label = (
                f"train mean ln sum_h exp(-energy) = {mean_unnormalized:.4f} "
                f"(log-likelihood + ln Z{over})"
            )
        if self.verbose >= 2:
            try:
                estimate = self._compute_log_partition(
                    self._resolve_score_method(family), family
                )[0]
            except ValueError as exc:
                label = f"log-likelihood not computed ({exc})"
            else:
                low, high = estimate.interval
                label = (
                    f"train mean log-likelihood ({estimate.method}) = "
                    f"{mean_unnormalized - estimate.log_z:.4f}"
                )
                if estimate.method != "exact":
                    label += f" in [{mean_unnormalized - high:.4f}, "
                    label += f"{mean_unnormalized - low:.4f}]"
        cost = time.perf_counter() - start
        print(
            f"[{name}] epoch {epoch}/{n_epochs}, {label}, time = {seconds:.2f}s "
            f"(+{cost:.2f}s for this line)"
        )
        if self.verbose < 2 and cost > VERBOSE_SHARE * seconds:
            stride = math.ceil(stride * cost / (VERBOSE_SHARE * max(seconds, 1e-9)))
        return stride

    # ------------------------------------------------------------------
    # Scoring
    # ------------------------------------------------------------------
    def _resolve_score_method(self, family=None):
        family = self._model() if family is None else family
        bits = family.enumeration_bits()
        return choose_by_size(
            self.score_method,
            bits,
            auto_bits=MAX_EXACT_BITS,
            max_bits=MAX_FORCED_EXACT_BITS,
            otherwise="ais",
            refusal=(
                f"Exact scoring of {type(self).__name__} enumerates 2**{bits} "
                f"states, more than the 2**{MAX_FORCED_EXACT_BITS} skbm allows. "
                "Use score_method='ais'."
            ),
        )

    def _cache_key(self, method=None):
        """Hash of everything ln Z depends on, computed by ``method``.

        The parameter values, and for AIS also its settings, its seed and
        its base model: an exact value stays valid when only those change.
        """
        if method is None:
            method = self._resolve_score_method()
        digest = hashlib.blake2b(digest_size=16)
        for name in self._parameter_names:
            value = np.ascontiguousarray(getattr(self, name))
            digest.update(f"{name}{value.dtype}{value.shape}".encode())
            digest.update(value.tobytes())
        digest.update(method.encode())
        if method == "ais":
            # The AIS base model changes the estimate, not its expectation.
            digest.update(self._ais_base_logits().tobytes())
            # The seed AIS would use, not repr(random_state): a RandomState's
            # repr holds its address, which changes in a copy or an unpickled
            # model (on a worker process), where the cached value is valid.
            settings = (self.ais_runs, self.ais_betas, self._score_seed())
            digest.update(repr(settings).encode())
        return digest.hexdigest()

    # ------------------------------------------------------------------
    # Annealed importance sampling
    # ------------------------------------------------------------------
    def _update_ais_base(self, X, *, first_call, sample_weight=None):
        """Keep the running mean of the visible units over all training rows.

        The AIS base model is made of independent visible units at these
        means (weighted by ``sample_weight`` when given). ``fit`` (and the
        first ``partial_fit``) restart the mean; later ``partial_fit`` calls
        fold their rows in, so the base model reflects all the data seen,
        whatever order it came in. For real-valued units (that cannot be
        enumerated) the mean of the squares is kept too, for their scale.
        """
        columns = {"_ais_base_mean": X}
        if not self._visible_units.enumerable:
            columns["_ais_base_square"] = X * X  # dense: real-valued data are
        if sample_weight is None:
            count = X.shape[0]
            moments = {name: value.mean(axis=0) for name, value in columns.items()}
        else:
            count = float(sample_weight.sum())
            moments = {
                name: (value.T @ sample_weight) / count
                for name, value in columns.items()
            }
        if first_call or not hasattr(self, "_ais_base_count"):
            total, previous = count, 0.0
        else:
            total, previous = self._ais_base_count + count, self._ais_base_count
        for name, value in moments.items():
            value = np.asarray(value, dtype=np.float64).ravel()
            if previous:
                value = (getattr(self, name) * previous + value * count) / total
            setattr(self, name, value)
        self._ais_base_count = total

    def _ais_base_logits(self):
        """Fields of the AIS base model's visible units, float64.

        The training-data means clipped to [1e-3, 1 - 1e-3], so constant
        units keep finite logits; zeros (uniform) for a model whose
        parameters were set without fitting.
        """
        mean = self.__dict__.get("_ais_base_mean")
        if mean is None:
            return np.zeros(self.n_features_in_)
        return self._visible_units.base_field(mean)

    def _score_seed(self):
        """The integer seed of AIS, derived from ``random_state`` without using it up.

        ``None`` gives the fixed seed 0, so that scores are deterministic
        whatever ``random_state``; an integer is used as is; a
        ``RandomState`` or ``Generator`` gives a draw from a copy of it.
        """
        state = self.random_state
        if state is None:
            return DEFAULT_SCORE_SEED
        if isinstance(state, Integral):
            return int(state)
        if isinstance(state, np.random.Generator):
            return int(copy.deepcopy(state).integers(2**32))
        return int(copy.deepcopy(check_random_state(state)).randint(2**32 - 1))

    def _ais_log_partition(self, family, *, reverse=False, cached=None, rows=None):
        """AIS estimate of ln Z as a LogPartition (forward runs, and reverse
        runs too when ``reverse``), and RAISE weights when ``rows`` is given.

        ``cached`` is the forward estimate of an earlier call (the cache) on
        the same parameters and settings; its runs are reused, so asking for
        the reverse side later costs only the reverse runs. ``rows`` is
        ``(starts, runs_per_row)``: reverse runs from those data states
        (:func:`skbm._ais.data_reverse_tasks`). All the runs needed share one
        pool of ``n_jobs`` workers, and each draws from its own streams of
        the seed, so the results are the same however they were grouped.

        Returns
        -------
        estimate : LogPartition
        rows_log_mean_weights : ndarray or None
            ln of the mean reverse weight from each start of ``rows``.
        """
        problem = family.annealing_problem()
        # Python ints: a numpy uint8 count would overflow in the products
        # that size the chains.
        n_runs = int(self.ais_runs)
        seed, verbose = self._score_seed(), self.verbose
        log_z_base = float(problem.log_z_base())
        if cached is not None:
            n_betas, forward = cached.n_betas, cached.run_log_z
        elif self.ais_betas == "auto":
            # The forward runs choose their length first; reverse runs and
            # RAISE then follow that schedule.
            n_betas, fresh = ess_chosen_log_weights(
                problem, n_runs, seed, self.n_jobs, verbose
            )
            forward = log_z_base + fresh
        else:
            n_betas, forward = int(self.ais_betas), None
        # Deterministic, so a later call (reverse runs, RAISE) recomputes it:
        # the pilot costs at most a tenth of the runs, and the cached record
        # stays small.
        betas = adapted_betas(problem, n_betas, n_runs, seed)
        task_lists = [[], [], []]
        if forward is None:
            task_lists[0] = forward_tasks(problem, betas, n_runs, seed, verbose)
        if reverse:
            sample_target, start = family.target_sampler(problem)
            task_lists[1] = reverse_tasks(
                problem, betas, n_runs, seed, sample_target, verbose
            )
        if rows is not None:
            starts, runs_per_row = rows
            task_lists[2] = data_reverse_tasks(
                problem, starts, runs_per_row, betas, seed, verbose
            )
        fresh, backward, from_rows = one_pool(task_lists, self.n_jobs)
        if forward is None:
            forward = log_z_base + fresh
        log_z, low, high, ess = weight_summary(forward)
        estimate = dict(
            log_z=log_z,
            method="ais",
            interval=(low, high),
            n_runs=n_runs,
            n_betas=n_betas,
            ess=ess,
            run_log_z=forward,
        )
        if backward is not None:
            reverse_mean, reverse_low, reverse_high, _ = weight_summary(backward)
            estimate.update(
                reverse_log_z=log_z_base - reverse_mean,
                reverse_interval=(log_z_base - reverse_high, log_z_base - reverse_low),
                reverse_start=start,
                reverse_run_log_z=log_z_base - backward,
            )
        return LogPartition(**estimate), from_rows

    @on_one_blas_thread
    def _compute_log_partition(
        self, method, family, *, reverse=False, cached=None, rows=None
    ):
        """``(LogPartition, RAISE weights or None)``, exact or by AIS."""
        if method == "exact":
            log_z = float(family.exact_log_partition(n_jobs=self.n_jobs))
            exact = LogPartition(log_z=log_z, method="exact", interval=(log_z, log_z))
            return exact, None
        return self._ais_log_partition(
            family, reverse=reverse, cached=cached, rows=rows
        )

    def log_partition(self, reverse=False):
        """The log partition function ln Z of the fitted model.

        Exact by enumeration when ``score_method="exact"``, or "auto" and the
        enumeration has at most 2**20 terms; otherwise estimated by annealed
        importance sampling: ``ais_runs`` forward runs of ``ais_betas``
        inverse temperatures from a base model of independent visible units
        at the training-data means (stored at fit; ``partial_fit`` keeps the
        running mean of all rows it has seen) to the model. With
        ``reverse=True``, as many reverse runs from draws of the model back to
        the base follow, for the other side of the bracket; ``score`` and
        ``score_samples`` run the forward side only. The estimate is
        deterministic for a given ``random_state`` (``None`` uses the fixed
        seed 0) and the same for any ``n_jobs``.

        Computed once per parameter values and cached: refitting, further
        ``partial_fit`` calls or assigning to a fitted attribute invalidate
        it. A later ``reverse=True`` call reuses the cached forward runs.

        Parameters
        ----------
        reverse : bool, default=False
            Also run reverse AIS (no effect on an exact value). It costs about
            as much again as the forward runs.

        Returns
        -------
        estimate : LogPartition
            ``log_z`` with the method used and its interval; for AIS also the
            effective sample size and the single-run estimates, and with
            ``reverse=True`` the reverse estimate (a stochastic upper bound).
            See :class:`LogPartition` for what each side guarantees.

        References
        ----------
        Neal, R. M. (2001). Annealed importance sampling. Statistics and
        Computing 11(2), 125-139.

        Salakhutdinov, R. and Murray, I. (2008). On the quantitative analysis
        of deep belief networks. ICML.

        Burda, Y., Grosse, R. and Salakhutdinov, R. (2015). Accurate and
        conservative estimates of MRF log-likelihood using reverse annealing.
        AISTATS.

        Examples
        --------
        A machine that has learnt nothing yet (``n_iter=0``) has zero
        couplings and intercepts at the log-odds of the data means; with both
        means at 1/2 it is uniform over the 2**2 states, so Z = 4:

        >>> import numpy as np
        >>> from skbm import BoltzmannMachine
        >>> X = np.array([[0, 1], [1, 0]])
        >>> model = BoltzmannMachine(solver="pcd", n_iter=0).fit(X)
        >>> estimate = model.log_partition()
        >>> estimate.method
        'exact'
        >>> print(f"{estimate.log_z:.6f} = ln 4 = {np.log(4):.6f}")
        1.386294 = ln 4 = 1.386294
        """
        return self._log_partition(reverse=reverse)[0]

    def _log_partition(self, *, reverse=False, rows=None):
        """:meth:`log_partition` through the cache, and with ``rows``
        (``(starts, runs_per_row)``, for an AIS estimate) the RAISE weights
        from those starts, computed in one pool with whatever AIS runs the
        cache lacks."""
        check_is_fitted(self)
        if not get_config()["skip_parameter_validation"]:
            # Scoring parameters (score_method, ais_runs, n_jobs) may have
            # been set after fit.
            self._validate_params()
        family = self._model()
        method = self._resolve_score_method(family)
        key = self._cache_key(method)
        cached = self.__dict__.get("_log_partition_cache")
        if cached is None or cached[0] != key:
            estimate, from_rows = self._compute_log_partition(
                method, family, reverse=reverse, rows=rows
            )
            self._log_partition_cache = (key, estimate)
            self._warn_if_untrustworthy(estimate)
            return estimate, from_rows
        estimate = cached[1]
        more_reverse = reverse and method == "ais" and estimate.reverse_log_z is None
        if not more_reverse and rows is None:
            return estimate, None
        fuller, from_rows = self._compute_log_partition(
            method, family, reverse=more_reverse, cached=estimate, rows=rows
        )
        if more_reverse:
            self._log_partition_cache = (key, fuller)
            estimate = fuller
        return estimate, from_rows

    def _warn_if_untrustworthy(self, estimate):
        """An AISWarning, once per estimate, when a few runs dominate it."""
        if estimate.trustworthy():
            return
        warnings.warn(
            f"{type(self).__name__}: the AIS estimate of ln Z has an effective "
            f"sample size of {estimate.ess:.1f} of {estimate.n_runs} runs, so a "
            "few runs dominate it and it is likely too low (the log-likelihood "
            "too high) by more than its interval says. Raise ais_betas (now "
            f"{estimate.n_betas}; 'auto' chooses it by the effective sample "
            "size) for a smoother annealing, or ais_runs; score_bracket gives "
            "the conservative side.",
            AISWarning,
            stacklevel=caller_stacklevel(),
        )

    def score_samples(self, X):
        """Log-likelihood ln P(x) of each sample, in nats.

        ln P(x) = ln sum_h exp(-Phi(x, h)) - ln Z, with ln Z exact by
        enumeration or estimated, as ``score_method`` says.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data: binary or in [0, 1] for {0,1} units, real values for
            Gaussian units, integer codes for categorical units.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
            ln P(x) of each row, float64.

        Examples
        --------
        The probabilities of all 2**3 states sum to one:

        >>> import itertools
        >>> import numpy as np
        >>> from skbm import BernoulliRBM2
        >>> X = np.array([[0, 0, 1], [1, 1, 0], [1, 1, 1]])
        >>> model = BernoulliRBM2(n_components=2, n_iter=5, random_state=0).fit(X)
        >>> states = np.array(list(itertools.product([0, 1], repeat=3)))
        >>> log_p = model.score_samples(states)
        >>> log_p.shape
        (8,)
        >>> print(f"{np.exp(log_p).sum():.6f}")
        1.000000
        """
        check_is_fitted(self)
        X = self._validate_units(X, reset=False)
        log_z = self.log_partition().log_z
        return self._unnormalized_log_proba(X) - log_z

    def _unnormalized_log_proba(self, X):
        """ln sum_h exp(-Phi(x, h)) of each row of validated ``X``, in chunks."""
        family = self._model()
        return self._chunked(X, family.unnormalized_log_proba, family)

    def score(self, X, y=None, sample_weight=None):
        """Mean log-likelihood of the samples, in nats.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data: binary or in [0, 1] for {0,1} units, real values for
            Gaussian units, integer codes for categorical units.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights of the mean; ``None`` weighs the rows equally.

        Returns
        -------
        score : float
            Mean of :meth:`score_samples` (weighted by ``sample_weight``).

        Examples
        --------
        >>> import numpy as np
        >>> from skbm import BoltzmannMachine
        >>> X = np.array([[0, 0, 0], [1, 1, 0], [1, 1, 1], [0, 0, 1]])
        >>> model = BoltzmannMachine(solver="exact").fit(X)
        >>> bool(model.score(X) > np.log(1 / 8))  # beats the uniform model
        True
        >>> bool(np.isclose(model.score(X), model.score_samples(X).mean()))
        True
        """
        log_p = self.score_samples(X)
        weights = _row_weights(sample_weight, log_p, type(self).__name__)
        if weights is None:
            return float(np.mean(log_p))
        return float(np.average(log_p, weights=weights))

    def score_bracket(
        self, X, sample_weight=None, *, max_rows=BRACKET_MAX_ROWS, runs_per_row=1
    ):
        """Mean log-likelihood of the samples, bracketed from both sides.

        ``score`` uses forward AIS, whose estimate of ln Z errs low, so that
        the log-likelihood it returns errs high. This adds the conservative
        side: reverse AIS started from the rows themselves (RAISE, Burda et
        al. 2015), whose estimate errs low for the annealing model (which
        tends to the model as the schedule grows). Where ln Z is exact, both sides
        equal ``score``. See :class:`~skbm.LikelihoodBracket` for what each
        side guarantees.

        The forward side is the cached ``log_partition()``. The reverse
        side anneals ``runs_per_row`` chains along the ``ais_betas``
        schedule from each of at most ``max_rows`` rows (a random subset
        beyond, drawn with probabilities proportional to ``sample_weight``
        and seeded like AIS), so it costs about as much as the forward runs
        at the defaults. ``verbose > 0`` prints its progress.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data, as for :meth:`score`.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights of the mean; ``None`` weighs the rows equally.
        max_rows : int, default=100
            Rows to anneal from at most.
        runs_per_row : int, default=1
            Reverse runs from each annealed row.

        Returns
        -------
        bracket : LikelihoodBracket
            ``lower`` (RAISE) and ``upper`` (forward AIS, equal to
            ``score``), their standard errors and a finite ``interval``.

        Raises
        ------
        ValueError
            If the model's annealing samples hidden units (some
            ``HiddenBoltzmannMachine`` graphs), which rows do not give.

        References
        ----------
        Burda, Y., Grosse, R. and Salakhutdinov, R. (2015). Accurate and
        conservative estimates of MRF log-likelihood using reverse annealing.
        AISTATS.

        Examples
        --------
        >>> import numpy as np
        >>> from skbm import BernoulliRBM2
        >>> rng = np.random.default_rng(0)
        >>> X = (rng.random((200, 30)) < 0.3).astype(float)
        >>> model = BernoulliRBM2(
        ...     n_components=25, n_iter=3, score_method="ais", ais_betas=1000,
        ...     random_state=0,
        ... ).fit(X)
        >>> bracket = model.score_bracket(X[:50])
        >>> bool(np.isclose(bracket.upper, model.score(X[:50])))
        True
        >>> bool(abs(bracket.upper - bracket.lower) < 0.1)
        True
        """
        check_is_fitted(self)
        for name, value in (("max_rows", max_rows), ("runs_per_row", runs_per_row)):
            if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(
                    f"{name} must be a positive integer, got {value!r}: it counts "
                    "the rows (max_rows) or the reverse runs per row "
                    "(runs_per_row) of the conservative side."
                )
        X = self._validate_units(X, reset=False)
        log_f = self._unnormalized_log_proba(X)
        weights = _row_weights(sample_weight, log_f, type(self).__name__)
        if weights is None:
            weights = np.ones(len(log_f))
        mean_log_f = float(np.average(log_f, weights=weights))
        family = self._model()
        if self._resolve_score_method(family) == "exact":
            estimate = self.log_partition()
            exact = mean_log_f - estimate.log_z
            return LikelihoodBracket(
                lower=exact,
                upper=exact,
                interval=(exact, exact),
                lower_se=0.0,
                upper_se=0.0,
                method="exact",
                n_rows=0,
                runs_per_row=0,
                log_partition=estimate,
            )
        problem = family.annealing_problem()
        starts = family.data_start_states(problem, X)
        if starts is None:
            raise ValueError(
                f"{type(self).__name__}.score_bracket anneals back from the data "
                "rows, but this machine's annealing samples hidden units, which "
                "the rows do not give. Use log_partition(reverse=True) for a "
                "reverse estimate from the model's own samples, or "
                "score_method='exact' where ln Z can be enumerated."
            )
        if len(log_f) <= max_rows:
            rows = np.flatnonzero(weights > 0)
            row_weights = weights[rows]
        else:
            rng = np.random.default_rng([self._score_seed(), BRACKET_SUBSET_TAG])
            rows = np.sort(rng.choice(len(log_f), max_rows, p=weights / weights.sum()))
            row_weights = np.ones(max_rows)
        # The forward runs, if not cached, run beside these in one pool.
        estimate, log_mean_w = self._log_partition(
            rows=(starts[rows], int(runs_per_row))
        )
        upper = mean_log_f - estimate.log_z
        # Each row's estimate of ln Z; ln p_ann_hat(x) = ln f(x) - row_log_z.
        row_log_z = float(problem.log_z_base()) - log_mean_w
        mean_log_z = float(np.average(row_log_z, weights=row_weights))
        lower = mean_log_f - mean_log_z
        spread = np.sqrt(np.sum(row_weights**2 * (row_log_z - mean_log_z) ** 2))
        lower_se = float(spread / row_weights.sum())
        upper_se = _log_mean_standard_error(estimate.run_log_z)
        # The hull of both sides' 3-standard-error intervals: it covers both
        # estimates even where a short schedule puts RAISE above forward.
        ends = [
            side + sign * N_STANDARD_ERRORS * se
            for side, se in ((lower, lower_se), (upper, upper_se))
            for sign in (-1, 1)
        ]
        return LikelihoodBracket(
            lower=lower,
            upper=upper,
            interval=(min(ends), max(ends)),
            lower_se=lower_se,
            upper_se=upper_se,
            method="ais",
            n_rows=len(rows),
            runs_per_row=int(runs_per_row),
            log_partition=estimate,
            row_indices=rows,
            row_lower=log_f[rows] - row_log_z,
        )

    # ------------------------------------------------------------------
    # Transforming and sampling
    # ------------------------------------------------------------------
    def transform(self, X):
        """Transform the data; see the subclass for what is computed.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data: binary or in [0, 1] for {0,1} units, real values for
            Gaussian units, integer codes for categorical units.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_out)
            The transformed data, in the dtype of ``X``.
        """
        check_is_fitted(self)
        X = self._validate_units(X, reset=False)
        return self._chunked(X, self._transform, self._model())

    def _chunked(self, X, function, family):
        """Apply ``function`` to row chunks of ``X`` so memory stays bounded.

        The chunks are written into one preallocated output, so the peak is
        the output plus one chunk's work arrays (not twice the output).
        """
        width = max(family.row_width(), self._n_features_out, X.shape[1])
        rows = max(1, BLOCK_BYTES // (8 * width))
        # A chunk's product with the weights is large enough for the user's
        # BLAS threads to pay only on big models and many rows.
        n_weights = sum(np.size(getattr(self, name)) for name in self._parameter_names)
        with blas_threads_for(min(rows, X.shape[0]) * n_weights):
            if X.shape[0] <= rows:
                return function(X)
            out = None
            for chunk in gen_batches(X.shape[0], rows):
                result = function(X[chunk])
                if out is None:
                    out = np.empty((X.shape[0], *result.shape[1:]), dtype=result.dtype)
                out[chunk] = result
            return out

    @on_one_blas_thread
    def sample(self, n_samples=1, random_state=None):
        """Draw samples of the visible units from the model.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : None, int, RandomState or Generator, default=None
            Source of randomness. An integer gives reproducible draws;
            ``None`` gives fresh ones.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Samples of the visible units (binary for {0,1} units), in the
            dtype of the fitted parameters.

        Examples
        --------
        >>> import numpy as np
        >>> from skbm import BernoulliRBM2
        >>> X = np.array([[0, 0, 1], [1, 1, 0], [1, 1, 1]])
        >>> model = BernoulliRBM2(n_components=2, n_iter=5, random_state=0).fit(X)
        >>> samples = model.sample(5, random_state=0)
        >>> samples.shape
        (5, 3)
        >>> bool(np.isin(samples, (0, 1)).all())
        True
        >>> bool((model.sample(5, random_state=0) == samples).all())  # reproducible
        True
        """
        check_is_fitted(self)
        is_bool = isinstance(n_samples, (bool, np.bool_))
        if is_bool or not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(
                f"n_samples must be a positive integer, got {n_samples!r}."
            )
        return self._model().sample(int(n_samples), make_generator(random_state))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.positive_only = self._visible_units.positive_only
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def __getstate__(self):
        # The skbm version travels with the pickle (and skops files), as
        # scikit-learn's own does; a mismatch warns at load.
        return stamp_version(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(check_version(state, type(self).__name__))
