"""BernoulliRBM2: a drop-in scikit-learn RBM scored by its real log-likelihood."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import safe_sparse_dot

from ._base import BaseBoltzmann, SolverState, make_generator
from ._rbm_math import (
    RestrictedFamily,
    layer_bits,
    sample_bernoulli,
    sgd_step,
)
from ._threads import on_one_blas_thread

# Solver "exact" enumerates the smaller layer at every update.
MAX_EXACT_SOLVER_BITS = 20

# Sliding-average rate of the hidden offsets of centering.
HIDDEN_OFFSET_RATE = 0.05

# learning_rate="auto": AUTO_LEARNING_RATE, scaled down by the data's spread
# sum_i var(x_i) where it exceeds AUTO_REFERENCE_SPREAD. A step moves each
# hidden unit's field by about the rate times that spread, so the rate chosen
# on binarized 8x8 digits (spread 8.45) gives the same moves on any data: on
# 784-pixel MNIST digits (spread 68.3) the rate 0.1 made the 32 persistent
# chains fall behind and the fit collapse (held-out -3,066 nats after one
# epoch, by forward AIS), where 0.1 * 8.5 / 68.3 reached -160, against -202
# for independent pixels (benchmarks/time_to_quality.py).
AUTO_LEARNING_RATE = 0.1
AUTO_REFERENCE_SPREAD = 8.5


class BaseRBM(BaseBoltzmann):
    """Base of the restricted Boltzmann machines: {0,1} hidden units, any visible.

    Carries what every RBM trains and computes the same way whatever its
    visible unit type: the stochastic gradient loop with CD, PCD or the
    exact gradient, centering, the learning-rate schedule, the transform
    P(h | v) and Gibbs steps. A subclass names its visible unit type
    (``_visible_units``) and, if its parameters are not the family's
    (a Gaussian's standard deviations), how they map (``_model``,
    ``_parameter_gradient``).
    """

    _parameter_constraints: dict = {
        **BaseBoltzmann._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "solver": [StrOptions({"pcd", "cd", "exact"})],
        "n_gibbs_steps": [Interval(Integral, 1, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "centering": ["boolean"],
        "shuffle": ["boolean"],
        "n_chains": [Interval(Integral, 1, None, closed="left")],
        "learning_rate_schedule": [StrOptions({"constant", "linear", "cosine"})],
    }

    _parameter_names = ("components_", "intercept_visible_", "intercept_hidden_")

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    # ------------------------------------------------------------------
    # Training
    # ------------------------------------------------------------------
    def _initialize(self, X, rng):
        n_features = X.shape[1]
        self._check_exact_solver(n_features, self.n_components)
        dtype = X.dtype
        self.components_ = rng.normal(0, 0.01, (self.n_components, n_features)).astype(
            dtype
        )
        # Visible biases at the fields of the data means (the log-odds for
        # {0,1} units, Hinton's practical guide): the model starts from the
        # independent-unit fit.
        self.intercept_visible_ = self._ais_base_logits().astype(dtype)
        self.intercept_hidden_ = np.zeros(self.n_components, dtype=dtype)
        return self._continue(X, rng, SolverState())

    def _check_exact_solver(self, n_features, n_hidden):
        bits = min(layer_bits(n_hidden, n_features, self._visible_units))
        if self.solver == "exact" and bits > MAX_EXACT_SOLVER_BITS:
            raise ValueError(
                f"solver='exact' enumerates the {2**bits:.3g} states of the "
                f"smaller layer at every update; it is limited to "
                f"2**{MAX_EXACT_SOLVER_BITS}. Use solver='pcd'."
            )

    def _continue(self, X, rng, state):
        n_hidden, n_features = self.components_.shape
        if self.n_components != n_hidden:
            raise ValueError(
                f"n_components is {self.n_components}, but the model was fitted "
                f"with {n_hidden} hidden units; partial_fit continues the fitted "
                "model. Call fit to train one of the new size."
            )
        self._check_exact_solver(n_features, n_hidden)
        dtype = self.components_.dtype
        if state.chains is None or state.chains.shape[0] != self.n_chains:
            # Hidden states of the chains start at zero (scikit-learn's
            # h_samples_); a new n_chains starts new chains.
            state.chains = np.zeros((self.n_chains, n_hidden), dtype=dtype)
            state.tempered_chains = None
        if self.centering and state.visible_offset is None:
            # Centering switched on: offsets at the data mean and at 1/2.
            state.visible_offset = self._ais_base_mean.astype(dtype)
            state.hidden_offset = np.full(n_hidden, 0.5, dtype=dtype)
        return state

    def _parameter_shapes(self, params):
        n_hidden = params["intercept_hidden_"].shape[0]
        n_columns = self._visible_units_width()
        return {
            "components_": (n_hidden, n_columns),
            "intercept_visible_": (n_columns,),
            "intercept_hidden_": (n_hidden,),
        }

    def _visible_units_width(self):
        """Columns of the visible layer's internal representation."""
        return self.n_features_in_

    def _model(self, params=None):
        params = self._fitted_parameters() if params is None else params
        return RestrictedFamily(
            params["components_"],
            params["intercept_visible_"],
            params["intercept_hidden_"],
            self._ais_base_logits(),
            visible_units=self._visible_units,
        )

    def _fused(self, X):
        """Whether the batches of ``X`` take a fused update (none by default)."""
        return False

    def _working_order(self, X):
        # The fused step's products are fastest on Fortran-ordered weights.
        return "F" if self._fused(X) else "C"

    def _train(self, X, rng, state, *, n_epochs, sample_weight=None):
        # The fused update's sigmoid lets exp overflow to inf where P = 0
        # exactly; the warning is silenced here, once (see _conditional).
        with np.errstate(over="ignore"):
            params = self._sgd_epochs(
                X,
                rng,
                state,
                n_epochs=self.n_iter if n_epochs is None else n_epochs,
                batch_size=self.batch_size,
                learning_rate=self._learning_rate_schedule(n_epochs),
                momentum=self.momentum,
                shuffle=self.shuffle,
                sample_weight=sample_weight,
            )
        return {**params, "h_samples_": state.chains}

    def _step_function(self, X):
        return self._fused_step if self._fused(X) else self._step

    def _learning_rate_schedule(self, n_epochs):
        rate = self._step_size()
        # partial_fit has no horizon to decay over: it keeps the rate constant.
        if self.learning_rate_schedule == "constant" or n_epochs is not None:
            return rate
        total = max(self.n_iter, 1)
        if self.learning_rate_schedule == "linear":
            return lambda progress: rate * (1 - progress / total)
        return lambda progress: rate * 0.5 * (1 + np.cos(np.pi * progress / total))

    def _gradient(self, params, V, rng, state):
        """Mean log-likelihood gradient on mini-batch ``V``, keyed like ``params``.

        The data minus the model statistics of the family (E[h v^T], E[v],
        E[h] and, for Gaussian units, E[v**2]), centered if asked, then
        mapped to the estimator's parameters by :meth:`_parameter_gradient`.
        For {0,1} units this is the reference of the fused step: CD/PCD here
        (on the Gibbs engine) and in :func:`~skbm._rbm_math.sgd_step` give
        the same update from the same random stream.
        """
        family = self._model(self._from_working(params))
        data = family.data_statistics(V)
        if self.solver == "exact":
            model = family.model_statistics()
        else:
            model = self._sampled_statistics(family, V, rng, state)
        grads = {key: data[key] - model[key] for key in data}
        if self.centering:
            # Centered gradient, translated back to the standard parameters.
            mu = state.visible_offset
            lam = state.hidden_offset
            grad_W = grads["components_"]
            grad_b = grads["intercept_visible_"]
            grad_c = grads["intercept_hidden_"]
            grad_W -= np.outer(lam, grad_b) + np.outer(grad_c, mu)
            grad_b -= lam @ grad_W
            grad_c -= grad_W @ self._hidden_view_of_offset(mu, family)
            state.hidden_offset = (
                1 - HIDDEN_OFFSET_RATE
            ) * lam + HIDDEN_OFFSET_RATE * data["intercept_hidden_"]
        return self._parameter_gradient(grads, data, model, family, params, state)

    def _hidden_view_of_offset(self, offset, family):
        """The visible offset as the hidden units' input weighs it.

        Centering moves c so that the hidden input at v = offset does not
        change with a weight step; a step of the estimator's weights is one
        of the family's here, so the offset itself.
        """
        return offset

    def _parameter_gradient(self, grads, data, model, family, params, state):
        """The gradient of the working parameters from the family's.

        ``grads`` holds the data-minus-model statistics of the family's
        parameters (centered if asked), ``data`` and ``model`` the
        statistics themselves. The family's parameters are the estimator's
        here, so only the weight decay is added.
        """
        grads.pop("visible_square", None)
        if self.alpha:
            grads["components_"] -= self.alpha * params["components_"]
        return grads

    def _sampled_statistics(self, family, V, rng, state):
        """Model statistics from chains, persistent or restarted at the data."""
        if self.solver == "cd":
            # The chains start from a sample of P(h | data).
            field = safe_sparse_dot(V, family.W.T, dense_output=True) + family.c
            hidden = family.hidden_units.sample(field, rng)
        else:
            hidden = state.chains
        n_visible = family.n_visible
        states = np.zeros((hidden.shape[0], n_visible + hidden.shape[1]), hidden.dtype)
        states[:, n_visible:] = hidden
        states = family.sweep(states, self.n_gibbs_steps, rng)
        state.chains = states[:, n_visible:]
        return family.chain_statistics(states)

    # ------------------------------------------------------------------
    # The model
    # ------------------------------------------------------------------
    def _transform(self, X):
        return self._model().hidden_probabilities(X).astype(X.dtype, copy=False)

    def transform(self, X):
        """Hidden activation probabilities P(h = 1 | v = X).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Visible data, in the estimator's input format.

        Returns
        -------
        h : ndarray of shape (n_samples, n_components)
            P(h_j = 1 | v) for each row, in the dtype of ``X``.
        """
        return super().transform(X)

    def _visible_values(self, x):
        """User values of internal visible states (category codes of one-hot rows)."""
        return x

    @on_one_blas_thread
    def gibbs(self, v):
        """Perform one Gibbs sampling step from visible states ``v``.

        Parameters
        ----------
        v : {array-like, sparse matrix} of shape (n_samples, n_features)
            Visible states to start from.

        Returns
        -------
        v_new : ndarray of shape (n_samples, n_features)
            Visible states after one step v -> h -> v, in the dtype of the
            fitted parameters.
        """
        family = self._model()
        v = self._validate_units(v, reset=False)
        if not hasattr(self, "_gibbs_rng"):
            self._gibbs_rng = make_generator(self.random_state)
        dtype = family.dtype
        field = safe_sparse_dot(v, family.W.T, dense_output=True) + family.c
        h = family.hidden_units.sample(field.astype(dtype, copy=False), self._gibbs_rng)
        v_new = family.visible_units.sample(family.visible_field(h), self._gibbs_rng)
        return self._visible_values(v_new)


class BernoulliRBM2(BaseRBM):
    """Bernoulli restricted Boltzmann machine with a real log-likelihood.

    A drop-in replacement for :class:`sklearn.neural_network.BernoulliRBM`:
    the same constructor parameters (with ``learning_rate="auto"``, which
    is scikit-learn's 0.1 on data like 8x8 digits and smaller on wider
    data), the same fitted attributes and ``gibbs``. Unlike it,
    :meth:`score_samples` returns the log-likelihood
    ln P(v) = -F(v) - ln Z, with ln Z computed exactly by
    enumerating the smaller layer, so :meth:`score` can select models in
    ``GridSearchCV``.

    The energy is Phi(v, h) = -sum_ij W_ji v_i h_j - sum_i b_i v_i - sum_j c_j h_j
    with ``W = components_``, ``b = intercept_visible_`` and
    ``c = intercept_hidden_``.

    Parameters
    ----------
    n_components : int, default=256
        Number of hidden units.
    learning_rate : float or "auto", default="auto"
        Step size of the stochastic gradient ascent. Gradients are means over
        a mini-batch, as in scikit-learn. "auto" is
        ``0.1 * min(1, 8.5 / spread)``, where the spread is the sum of the
        features' variances, sum_i m_i (1 - m_i) at the training means m: a
        step then moves the hidden fields about as much on wide data as 0.1
        does on binarized 8x8 digits (spread 8.45), where it was chosen. On
        784-pixel MNIST digits (spread 68) it is 0.012; 0.1 there made the
        fit collapse.
    batch_size : int, default=10
        Rows per mini-batch.
    n_iter : int, default=10
        Passes over the training data in :meth:`fit`.
    verbose : int, default=0
        Print a line per epoch: with 1, the training mean of ln sum_h
        exp(-Phi(v, h)) (minus the free energy), the log-likelihood plus ln Z
        (cheap); with 2 or more, the training mean log-likelihood, labelled
        with how ln Z was obtained (exact, or AIS, which can take longer than
        the epoch).
    random_state : int, RandomState instance or None, default=None
        Seed of the initial weights, the shuffling and the Gibbs sampling.
    solver : {"pcd", "cd", "pt", "exact"}, default="pcd"
        How the model statistic (negative phase) of the gradient is estimated:
        persistent Gibbs chains, chains restarted at the data (CD-k),
        parallel tempering over ``n_temperatures`` inverse temperatures, or
        exact enumeration of the smaller layer (for
        ``min(n_features, n_components) <= 20``).
    n_gibbs_steps : int, default=1
        Gibbs steps per update for "pcd", "cd" and "pt".
    momentum : float, default=0.9
        Heavy-ball momentum of the updates.
    alpha : float, default=0.0
        L2 penalty (weight decay) on ``components_``.
    centering : bool, default=True
        Whether to use centered gradients (Melchior et al., 2016): the
        gradient is taken with visible offsets at the data mean and hidden
        offsets at a sliding mean of the hidden activations. The model and
        its parameters stay in the standard form above.
    shuffle : bool, default=True
        Whether to visit the rows in a new random order in each epoch.
    n_temperatures : int, default=10
        Number of inverse temperatures, evenly spaced in (0, 1], for "pt".
    n_chains : int, default=32
        Number of persistent Gibbs chains of "pcd" and "pt", independent of
        ``batch_size``.
    learning_rate_schedule : {"constant", "linear", "cosine"}, default="cosine"
        How :meth:`fit` decays ``learning_rate`` over its ``n_iter`` epochs:
        not at all, linearly to zero, or along a half cosine to zero.
        :meth:`partial_fit` always uses the constant ``learning_rate``.
    score_method : {"auto", "exact", "ais"}, default="auto"
        How ln Z is computed for scoring: "auto" enumerates when it takes at
        most 2**20 terms.
    ais_runs : int, default=100
        Independent annealed importance sampling runs.
    ais_betas : int or "auto", default=10000
        Intermediate inverse temperatures of each AIS run. "auto" chooses
        their number by the runs' effective sample size: from 1,000, longer
        runs until it reaches half the runs (at most 131,072); the number
        chosen is ``log_partition().n_betas``.
    n_jobs : int, default=None
        joblib workers for the AIS runs, and threads over the blocks of the
        exact ln Z; the score is the same for any value. ``None`` means 1
        unless in a joblib context.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Weight matrix W.
    intercept_hidden_ : ndarray of shape (n_components,)
        Hidden biases c.
    intercept_visible_ : ndarray of shape (n_features,)
        Visible biases b.
    h_samples_ : ndarray of shape (n_chains, n_components)
        Hidden states of the persistent chains (solver "pcd"), or of the
        last negative phase.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    sklearn.neural_network.BernoulliRBM : The model this one replaces.

    Notes
    -----
    The defaults were chosen by held-out log-likelihood against fit time
    (``benchmarks/time_to_quality.py``): at every number of epochs
    scikit-learn's ``BernoulliRBM`` was run for, on binarized digits with 16
    and 256 hidden units and on MNIST digits with 500, these defaults reach
    a higher held-out log-likelihood in the same time or less. More chains
    and Gibbs steps buy likelihood per epoch at a higher cost per epoch:
    ``n_chains=100, n_gibbs_steps=5`` reached -18.61 nats after 10 epochs
    on digits with 16 hidden units, against -18.97 for the defaults, but
    took 5.7 times as long.

    References
    ----------
    Tieleman, T. (2008). Training restricted Boltzmann machines using
    approximations to the likelihood gradient. ICML.

    Melchior, J., Fischer, A. and Wiskott, L. (2016). How to center deep
    Boltzmann machines. JMLR 17(99).

    Examples
    --------
    >>> import numpy as np
    >>> from skbm import BernoulliRBM2
    >>> X = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
    >>> model = BernoulliRBM2(n_components=2, n_iter=20, random_state=0).fit(X)
    >>> model.transform(X).shape
    (4, 2)
    >>> bool(model.score(X) > -np.log(8))  # better than the uniform model
    True
    """

    _parameter_constraints: dict = {
        **BaseRBM._parameter_constraints,
        "learning_rate": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
        ],
        "solver": [StrOptions({"pcd", "cd", "pt", "exact"})],
        "n_temperatures": [Interval(Integral, 2, None, closed="left")],
    }

    def __init__(
        self,
        n_components=256,
        *,
        learning_rate="auto",
        batch_size=10,
        n_iter=10,
        verbose=0,
        random_state=None,
        solver="pcd",
        n_gibbs_steps=1,
        momentum=0.9,
        alpha=0.0,
        centering=True,
        shuffle=True,
        n_temperatures=10,
        n_chains=32,
        learning_rate_schedule="cosine",
        score_method="auto",
        ais_runs=100,
        ais_betas=10000,
        n_jobs=None,
    ):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state
        self.solver = solver
        self.n_gibbs_steps = n_gibbs_steps
        self.momentum = momentum
        self.alpha = alpha
        self.centering = centering
        self.shuffle = shuffle
        self.n_temperatures = n_temperatures
        self.n_chains = n_chains
        self.learning_rate_schedule = learning_rate_schedule
        self.score_method = score_method
        self.ais_runs = ais_runs
        self.ais_betas = ais_betas
        self.n_jobs = n_jobs

    def _step_size(self):
        if self.learning_rate != "auto":
            return self.learning_rate
        # The spread of {0,1} data, sum m (1 - m), from the means kept for
        # AIS (over all rows seen, weighted); an upper bound on [0, 1] data.
        mean = self._ais_base_mean
        spread = float(np.sum(mean * (1 - mean)))
        return AUTO_LEARNING_RATE * min(1.0, AUTO_REFERENCE_SPREAD / max(spread, 1e-12))

    def _continue(self, X, rng, state):
        state = super()._continue(X, rng, state)
        tempered = state.tempered_chains
        if tempered is not None and tempered.shape[0] != self.n_temperatures:
            # New temperatures: the ladder restarts from the chains.
            state.tempered_chains = None
        return state

    def _fused(self, X):
        # Dense CD/PCD batches take the fused in-place update of sgd_step;
        # sparse data and the other solvers use _gradient and the heavy-ball
        # step of the base.
        return self.solver in ("pcd", "cd") and not sp.issparse(X)

    def _fused_step(self, params, rows, rng, rate, momentum, state):
        """The update of _gradient plus the heavy-ball step, fused, in place."""
        velocity = state.velocity
        chains, pos_h = sgd_step(
            params["components_"],
            params["intercept_visible_"],
            params["intercept_hidden_"],
            rows,
            rng,
            chains=state.chains if self.solver == "pcd" else None,
            n_gibbs_steps=self.n_gibbs_steps,
            rate=rate,
            momentum=momentum,
            velocity=(
                velocity["components_"],
                velocity["intercept_visible_"],
                velocity["intercept_hidden_"],
            ),
            alpha=self.alpha,
            visible_offset=state.visible_offset if self.centering else None,
            hidden_offset=state.hidden_offset if self.centering else None,
        )
        state.chains = chains
        if self.centering:
            state.hidden_offset = (
                1 - HIDDEN_OFFSET_RATE
            ) * state.hidden_offset + HIDDEN_OFFSET_RATE * pos_h

    def _sampled_statistics(self, family, V, rng, state):
        """Model statistics from chains: persistent, restarted at the data, or PT."""
        if self.solver == "pt":
            v = self._tempered_negative_phase(family.W, family.b, family.c, rng, state)
            return family.chain_statistics(v)
        return super()._sampled_statistics(family, V, rng, state)

    def _tempered_negative_phase(self, W, b, c, rng, state):
        """Parallel tempering: Gibbs at every temperature, then swaps."""
        betas = np.linspace(1.0, 0.0, self.n_temperatures, endpoint=False)
        betas = betas.astype(W.dtype)[:, None, None]
        chains = state.tempered_chains
        if chains is None:
            chains = np.repeat(state.chains[None], self.n_temperatures, axis=0)
        for _ in range(self.n_gibbs_steps):
            v = sample_bernoulli(expit(betas * (chains @ W + b)), rng)
            lam = v @ W.T + c
            chains = sample_bernoulli(expit(betas * lam), rng)
        # Swap neighbouring temperatures with the Metropolis rule on the joint
        # energies; even pairs, then odd pairs.
        energy = -(np.einsum("tkj,tkj->tk", chains, lam) + v @ b)
        for first in (0, 1):
            for t in range(first, self.n_temperatures - 1, 2):
                log_accept = (betas[t, 0, 0] - betas[t + 1, 0, 0]) * (
                    energy[t] - energy[t + 1]
                )
                swap = np.log(rng.random(log_accept.shape)) < log_accept
                for arr in (chains, v, energy):
                    upper = arr[t][swap].copy()
                    arr[t][swap] = arr[t + 1][swap]
                    arr[t + 1][swap] = upper
        state.tempered_chains = chains
        state.chains = chains[0]
        return v[0]

    # ------------------------------------------------------------------
    # The model
    # ------------------------------------------------------------------
    def transform(self, X):
        """Hidden activation probabilities P(h = 1 | v = X).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Visible data, binary or in [0, 1].

        Returns
        -------
        h : ndarray of shape (n_samples, n_components)
            P(h_j = 1 | v) for each row, in the dtype of ``X``.

        Examples
        --------
        >>> import numpy as np
        >>> from skbm import BernoulliRBM2
        >>> X = np.array([[0, 0, 1], [1, 1, 0], [1, 1, 1]])
        >>> model = BernoulliRBM2(n_components=2, n_iter=5, random_state=0).fit(X)
        >>> H = model.transform(X)
        >>> H.shape
        (3, 2)
        >>> bool(((H > 0) & (H < 1)).all())  # probabilities
        True
        """
        return super().transform(X)

    def gibbs(self, v):
        """Perform one Gibbs sampling step from visible states ``v``.

        Parameters
        ----------
        v : {array-like, sparse matrix} of shape (n_samples, n_features)
            Visible states to start from.

        Returns
        -------
        v_new : ndarray of shape (n_samples, n_features)
            Visible states after one step v -> h -> v, 0/1 values in the
            dtype of the fitted parameters.

        Examples
        --------
        >>> import numpy as np
        >>> from skbm import BernoulliRBM2
        >>> X = np.array([[0, 0, 1], [1, 1, 0], [1, 1, 1]])
        >>> model = BernoulliRBM2(n_components=2, n_iter=5, random_state=0).fit(X)
        >>> v = model.gibbs(X)
        >>> v.shape
        (3, 3)
        >>> bool(np.isin(v, (0, 1)).all())
        True
        """
        return super().gibbs(v)
