"""CategoricalBoltzmannMachine: the Potts model for categorical data."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import BaseBoltzmann, SolverState
from ._bm_math import (
    MachineFamily,
    bm_conditionals,
    compact,
    data_statistics,
    dense,
    exact_objective,
    pack_parameters,
    pseudolikelihood_gradients,
    pseudolikelihood_objective,
    pseudolikelihood_scale,
    unpack_parameters,
)
from ._categorical_units import CategoricalInput
from ._enumeration import MAX_EXACT_BITS, choose_by_size

# solver="auto" fits by "exact" up to 2**AUTO_EXACT_BITS joint states, by
# "pseudolikelihood" beyond, as BoltzmannMachine does (14 binary features).
AUTO_EXACT_BITS = 14


class CategoricalBoltzmannMachine(CategoricalInput, BaseBoltzmann):
    """Fully visible Boltzmann machine of categorical units (a Potts model).

    Each feature j is a categorical unit with ``q_j`` states, given as an
    integer code 0 .. q_j - 1 (the output of
    :class:`~sklearn.preprocessing.OrdinalEncoder`). With x the one-hot
    encoding of a row, the energy is

        Phi(x) = -sum_i h_i(x_i) - sum_{i<j} J_ij(x_i, x_j)
               = -b . x - 1/2 x^T W x,

    where ``b = intercept_`` holds the fields h_i(a) and ``W = coupling_``
    the couplings J_ij(a, c) in the one-hot layout (symmetric, with zero
    blocks on the diagonal), and P(x) = exp(-Phi(x)) / Z. This is the model
    of direct coupling analysis (DCA) of protein sequences, with q = 21.
    With q = 2 everywhere it is :class:`BoltzmannMachine` in another
    parametrisation.

    :meth:`score_samples` returns the exact ln P(x) when the prod q_j joint
    states number at most 2**20, and estimates ln Z by annealed importance
    sampling (AIS) otherwise, from a base of independent units at the
    (weighted) state frequencies of the training data.

    Parameters
    ----------
    n_categories : "auto", int or array-like of int, default="auto"
        Number of states of each feature. "auto" takes the largest code of
        each column in the training data plus one; an int or one int per
        column is a minimum, raised to the codes seen (as
        :class:`~sklearn.naive_bayes.CategoricalNB`'s ``min_categories``).
        Stored in ``n_categories_``.
    solver : {"auto", "exact", "pseudolikelihood", "pcd"}, default="auto"
        How :meth:`fit` estimates the parameters.

        - "exact": maximum likelihood by L-BFGS, with ln Z and the model
          moments computed by enumerating the joint states at every step
          (at most 2**20 of them).
        - "pseudolikelihood": maximum pseudo-likelihood by L-BFGS, the
          symmetric plmDCA: sum over rows and sites of ln P(x_i | x_rest).
          Convex, deterministic and linear in the number of rows.
        - "pcd": stochastic gradient ascent on the likelihood with the
          model statistics from ``n_chains`` persistent Gibbs chains that
          resample one site at a time.
        - "auto": "exact" up to 2**14 joint states, "pseudolikelihood"
          beyond.
    alpha : float, default=1e-3
        Penalty on the couplings: the objective is the weighted mean
        negative log-(pseudo-)likelihood plus
        ``alpha * ((1 - l1_ratio) / 2 * ||J||_2^2 + l1_ratio * ||J||_1)``
        over the couplings J_ij(a, c), i < j. The default was chosen by
        held-out log-likelihood (see Notes); raise it for few rows per
        parameter, as in protein alignments (DCA tools use about 0.01).
    alpha_fields : float, default=1e-3
        L2 penalty ``alpha_fields / 2 * ||h||_2^2`` on the fields.
    l1_ratio : float, default=0.0
        Share of L1 in the coupling penalty. The L1 part is solved exactly
        by L-BFGS-B on split variables in the L-BFGS fits of "exact" and
        "pseudolikelihood", and by a proximal step (a soft threshold after
        each update) in the stochastic updates ("pcd", and
        :meth:`partial_fit`); see Notes. Couplings it removes are exactly
        zero.
    max_iter : int, default=200
        Maximum number of L-BFGS iterations ("exact", "pseudolikelihood").
    tol : float, default=1e-5
        L-BFGS stops when no gradient component exceeds ``tol``.
    learning_rate : float, default=0.05
        Step size of the stochastic gradient ascent ("pcd", and every
        solver's :meth:`partial_fit`).
    n_iter : int, default=20
        Passes over the training data in :meth:`fit` for "pcd".
    batch_size : int, default=100
        Rows per mini-batch of the stochastic gradient ascent.
    n_chains : int, default=100
        Number of persistent Gibbs chains ("pcd").
    n_gibbs_steps : int, default=1
        Gibbs sweeps of the chains per update ("pcd").
    score_method : {"auto", "exact", "ais"}, default="auto"
        How ln Z is computed for scoring: "auto" enumerates when there are
        at most 2**20 joint states.
    ais_runs : int, default=100
        Independent annealed importance sampling runs.
    ais_betas : int or "auto", default=10000
        Intermediate inverse temperatures of each AIS run. "auto" chooses
        their number by the runs' effective sample size: from 1,000, longer
        runs until it reaches half the runs (at most 131,072); the number
        chosen is ``log_partition().n_betas``.
    n_jobs : int, default=None
        joblib workers for the AIS runs, and threads over the blocks of the
        exact ln Z and over the row blocks of the pseudo-likelihood fit; the
        score is the same for any value, the fit up to rounding.
    verbose : int, default=0
        Print the training progress: per epoch ("pcd"), with 1 the training
        mean of -Phi(x), the log-likelihood plus ln Z (cheap), with 2 or more
        the training mean log-likelihood (ln Z exact or by AIS); the final
        objective of L-BFGS.
    random_state : int, RandomState instance or None, default=None
        Seed of the Gibbs chains, the mini-batches and the sampling.

    Attributes
    ----------
    n_categories_ : ndarray of int of shape (n_features,)
        Number of states q_j of each feature.
    feature_offsets_ : ndarray of int of shape (n_features + 1,)
        Feature j owns the one-hot columns
        ``feature_offsets_[j]:feature_offsets_[j + 1]`` of the parameters.
    coupling_ : ndarray of shape (sum q_j, sum q_j)
        Couplings J_ij(a, c) in the one-hot layout: symmetric, with zero
        blocks on the diagonal, in the zero-sum gauge (see Notes).
    intercept_ : ndarray of shape (sum q_j,)
        Fields h_i(a), in the zero-sum gauge.
    solver_ : str
        The solver used, with "auto" resolved.
    n_iter_ : int
        L-BFGS iterations of the last :meth:`fit`, or epochs of stochastic
        gradient ascent in all.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    BoltzmannMachine : The same model for {0,1} data.
    sequence_weights : DCA weights of rows, for ``sample_weight``.

    Notes
    -----
    **Gauge.** Adding g_i(a) to J_ij(a, c) for every c and subtracting
    sum_j g_i(a) ... from the fields leaves the distribution unchanged, so
    the parameters are determined only up to such shifts. The fitted
    parameters are reported in the *zero-sum* (Ising) gauge of the DCA
    tools: every block J_ij sums to zero over each of its rows and columns,
    and every field h_i sums to zero over its states, with the same
    distribution as the penalised optimum found.

    **Default penalties.** On rows drawn from known Potts models (8 sites
    with q = 3 and 6 sites with q = 4, couplings of standard deviation 0.5
    before gauging), the held-out log-likelihood was best at
    ``alpha = alpha_fields`` = 0.01 for 300 rows (1e-3 was 0.05 to 0.1 nats
    lower), at 1e-3 for 3,000 rows (0.01 was 0.005 to 0.017 lower) and at
    1e-4 to 1e-3 for 30,000 rows (within 0.001; 0.01 was 0.01 to 0.026
    lower), with both solvers.

    **Contact prediction** asks for stronger coupling penalties than
    density estimation. On ``benchmarks/potts_contacts.py`` (10,000
    sequences of 50 sites, q = 21, 50 contacts; pseudo-likelihood, one
    thread), the top-50 precision of ``coupling_norms()``, the L-BFGS
    iterations and the fit times were: ``alpha=0.1, alpha_fields=0,
    tol=1e-3``: 1.00 in 15 iterations (21 s; 1.00 in 25 and 32 s at
    ``tol=1e-4``); ``alpha=0.03``: 1.00 in 26; ``alpha=0.3``: 0.98 in 6;
    ``alpha_fields=0.001`` or ``0.01``: 0.98 in 45 or 0.96 in 38; the
    defaults: 0.84, stopped at ``max_iter=200`` after 237 s. A field penalty
    slows the fit and costs precision there, so leave fields unpenalised, as
    scikit-learn leaves intercepts (the field of a state that never occurs
    then falls until its gradient is below ``tol``).

    **L1.** Each coupling is written w = u - v with u, v >= 0, on which the
    L1 penalty alpha * l1_ratio * (u + v) is linear; L-BFGS-B keeps u and v
    at their bound 0 where the penalty outweighs the gradient, which leaves
    exact zeros. A stochastic update is followed by the penalty's proximal
    map, ``w <- sign(w) * max(|w| - learning_rate * alpha * l1_ratio, 0)``,
    which leaves exact zeros too. The zero-sum gauge keeps a block that is zero
    at zero.

    References
    ----------
    Ekeberg, M., Lovkvist, C., Lan, Y., Weigt, M. and Aurell, E. (2013).
    Improved contact prediction in proteins: using pseudolikelihoods to infer
    Potts models. Physical Review E 87, 012707.

    Morcos, F. et al. (2011). Direct-coupling analysis of residue
    coevolution captures native contacts across many protein families. PNAS
    108(49).

    Examples
    --------
    >>> import numpy as np
    >>> from skbm import CategoricalBoltzmannMachine
    >>> X = np.array([[0, 2, 1], [1, 0, 0], [2, 2, 1], [0, 1, 0]] * 5)
    >>> model = CategoricalBoltzmannMachine().fit(X)
    >>> model.n_categories_.tolist(), model.coupling_.shape
    ([3, 3, 2], (8, 8))
    >>> model.transform(X[:1]).shape  # P(x_i = a | rest), one-hot layout
    (1, 8)
    """

    _parameter_constraints: dict = {
        **BaseBoltzmann._parameter_constraints,
        "n_categories": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
            "array-like",
        ],
        "solver": [StrOptions({"auto", "exact", "pseudolikelihood", "pcd"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "alpha_fields": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_chains": [Interval(Integral, 1, None, closed="left")],
        "n_gibbs_steps": [Interval(Integral, 1, None, closed="left")],
    }

    _parameter_names = ("coupling_", "intercept_")

    def __init__(
        self,
        n_categories="auto",
        *,
        solver="auto",
        alpha=1e-3,
        alpha_fields=1e-3,
        l1_ratio=0.0,
        max_iter=200,
        tol=1e-5,
        learning_rate=0.05,
        n_iter=20,
        batch_size=100,
        n_chains=100,
        n_gibbs_steps=1,
        score_method="auto",
        ais_runs=100,
        ais_betas=10000,
        n_jobs=None,
        verbose=0,
        random_state=None,
    ):
        self.n_categories = n_categories
        self.solver = solver
        self.alpha = alpha
        self.alpha_fields = alpha_fields
        self.l1_ratio = l1_ratio
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.n_iter = n_iter
        self.batch_size = batch_size
        self.n_chains = n_chains
        self.n_gibbs_steps = n_gibbs_steps
        self.score_method = score_method
        self.ais_runs = ais_runs
        self.ais_betas = ais_betas
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.random_state = random_state

    # ------------------------------------------------------------------
    # Data
    # ------------------------------------------------------------------
    @property
    def _n_features_out(self):
        return int(self.feature_offsets_[-1])

    # ------------------------------------------------------------------
    # Fitting
    # ------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Fit the model to the category codes X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Integer category codes, 0 .. q_j - 1 in column j.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row, for example
            :func:`sequence_weights`; a weight of k counts as k copies of
            the row. ``None`` weighs the rows equally.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, first_call=True, sample_weight=sample_weight)

    def partial_fit(self, X, y=None, sample_weight=None):
        """One pass of mini-batch gradient ascent on X.

        The first call initialises the model from ``X``; later calls continue
        training with the same random stream and training state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Integer category codes.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights: the pass draws rows with replacement with
            probabilities proportional to them, so the expected gradient is
            the weighted one.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._partial_fit(X, sample_weight)

    def _resolve_solver(self):
        bits = self._visible_units.state_bits(self.n_categories_.shape[0])
        return choose_by_size(
            self.solver,
            bits,
            auto_bits=AUTO_EXACT_BITS,
            max_bits=MAX_EXACT_BITS,
            otherwise="pseudolikelihood",
            refusal=(
                f"solver='exact' enumerates the prod q_j = 2**{bits:.1f} joint "
                f"states at every step; it is limited to 2**{MAX_EXACT_BITS}. "
                "Use solver='pseudolikelihood' or 'pcd'."
            ),
        )

    def _pairs(self):
        """The coupled column pairs (i < j in different features)."""
        return np.nonzero(np.triu(self._coupled_mask(), 1))

    def _initialize(self, X, rng):
        self.solver_ = self._resolve_solver()
        n_columns = X.shape[1]
        self.coupling_ = np.zeros((n_columns, n_columns))
        # The independent-sites fit: fields at the log state frequencies.
        self.intercept_ = self._ais_base_logits()
        self.n_iter_ = 0
        return self._continue(X, rng, SolverState())

    def _continue(self, X, rng, state):
        if self.solver not in ("auto", self.solver_):
            self.solver_ = self._resolve_solver()
        if self.solver_ == "pcd" and (
            state.chains is None or state.chains.shape[0] != self.n_chains
        ):
            state.chains = self._model(training=True).start_chains(self.n_chains, rng)
        return state

    def _parameter_shapes(self, params):
        n_columns = int(self.feature_offsets_[-1])
        return {"coupling_": (n_columns, n_columns), "intercept_": (n_columns,)}

    def _check_structure(self, params):
        coupling = params["coupling_"]
        if not np.array_equal(coupling, coupling.T):
            raise ValueError(
                f"{type(self).__name__}.coupling_ must be symmetric. Assign a "
                "symmetric array, or call fit."
            )
        if np.any(coupling[~self._coupled_mask()]):
            raise ValueError(
                f"{type(self).__name__}.coupling_ must have zero blocks on "
                "its diagonal (a feature is not coupled to itself). Assign "
                "such an array, or call fit."
            )

    def _train(self, X, rng, state, *, n_epochs, sample_weight=None):
        if n_epochs is None and self.solver_ in ("exact", "pseudolikelihood"):
            params = self._fit_lbfgs(X, sample_weight)
        else:
            n_epochs = self.n_iter if n_epochs is None else n_epochs
            params = self._sgd_epochs(
                X,
                rng,
                state,
                n_epochs=n_epochs,
                batch_size=self.batch_size,
                learning_rate=self.learning_rate,
                sample_weight=sample_weight,
            )
            params["n_iter_"] = self.n_iter_ + n_epochs
        params["coupling_"], params["intercept_"] = zero_sum_gauge(
            params["coupling_"], params["intercept_"], self.feature_offsets_
        )
        return params

    def _fit_lbfgs(self, X, sample_weight):
        units, pairs = self._visible_units, self._pairs()
        (l2, l1), l2_fields = self._coupling_penalties(), self.alpha_fields
        weight = (
            np.full(X.shape[0], 1.0 / X.shape[0])
            if sample_weight is None
            else sample_weight / sample_weight.sum()
        )
        keywords = {"units": units, "pairs": pairs, "alpha_fields": l2_fields}
        scale = None
        if self.solver_ == "exact":

            def objective(theta, mean, second):
                return exact_objective(theta, mean, second, l2, **keywords)

            args = data_statistics(X, weight)
        else:

            def objective(theta, X, weight):
                return pseudolikelihood_objective(
                    theta, X, l2, weight, n_jobs=self.n_jobs, **keywords
                )

            X = compact(X)  # CSR from q >= 10 states on
            args = (X, weight)
            # One-hot values are their own squares.
            mean = np.asarray(weight @ X).ravel()
            scale = pseudolikelihood_scale(mean, mean, l2, l2_fields, pairs)
        theta = pack_parameters(self.coupling_, self.intercept_, pairs)
        result = self._minimize(
            objective, theta, args, l1=l1, n_l1=pairs[0].shape[0], scale=scale
        )
        coupling, intercept = unpack_parameters(result.x, X.shape[1], pairs)
        return {
            "coupling_": coupling,
            "intercept_": intercept,
            "n_iter_": int(result.nit),
        }

    def _gradient(self, params, rows, rng, state):
        """Mean gradient of the solver's objective on one mini-batch."""
        coupling, intercept = params["coupling_"], params["intercept_"]
        units = self._visible_units
        l2, _ = self._coupling_penalties()
        if self.solver_ == "pseudolikelihood":
            _, grad_coupling, grad_intercept = pseudolikelihood_gradients(
                rows, coupling, intercept, units=units
            )
        else:
            family = self._model(params, training=True)
            data = family.data_statistics(rows)
            if self.solver_ == "exact":
                model = family.model_statistics()
            else:
                model = self._persistent_statistics(
                    family, state, self.n_gibbs_steps, rng
                )
            difference = data["coupling_"] - model["coupling_"]
            grad_coupling = (difference + difference.T) / 2
            grad_intercept = data["intercept_"] - model["intercept_"]
        grad_coupling = grad_coupling * self._coupled_mask()
        grad_coupling -= l2 * coupling
        grad_intercept = grad_intercept - self.alpha_fields * intercept
        return {"coupling_": grad_coupling, "intercept_": grad_intercept}

    def _coupled_mask(self):
        """Which one-hot columns may be coupled: those of different features."""
        unit = self._visible_units.unit_of_column
        return unit[:, None] != unit[None, :]

    # ------------------------------------------------------------------
    # The model
    # ------------------------------------------------------------------
    def _model(self, params=None, training=False):
        params = self._fitted_parameters() if params is None else params
        return MachineFamily(
            params["coupling_"],
            params["intercept_"],
            self._ais_base_logits(),
            # While training every coupling may become nonzero.
            adjacency=self._coupled_mask() if training else None,
            units=self._visible_units,
        )

    def _transform(self, X):
        params = self._fitted_parameters()
        return bm_conditionals(
            dense(X), params["coupling_"], params["intercept_"], self._visible_units
        )

    def transform(self, X):
        """Conditional probabilities P(x_i = a | x_rest) of every state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Integer category codes.

        Returns
        -------
        proba : ndarray of shape (n_samples, sum q_j)
            For each row, feature i and state a, in the one-hot layout
            (``feature_offsets_``), the probability of state a at feature i
            given the row's other features.
        """
        return super().transform(X)

    def get_feature_names_out(self, input_features=None):
        """Names of the one-hot columns of :meth:`transform`: "x0_0", "x0_1", ...

        Parameters
        ----------
        input_features : array-like of str, default=None
            Input feature names; ``None`` uses ``feature_names_in_`` or
            "x0", "x1", ...

        Returns
        -------
        names : ndarray of str of shape (sum q_j,)
        """
        check_is_fitted(self, "n_categories_")
        if input_features is None:
            input_features = getattr(
                self,
                "feature_names_in_",
                [f"x{j}" for j in range(self.n_features_in_)],
            )
        if len(input_features) != self.n_features_in_:
            raise ValueError(
                f"input_features should have length {self.n_features_in_}, got "
                f"{len(input_features)}."
            )
        return np.asarray(
            [
                f"{name}_{state}"
                for name, q in zip(input_features, self.n_categories_, strict=True)
                for state in range(q)
            ],
            dtype=object,
        )

    def coupling_norms(self, apc=True):
        """Coupling strength of every pair of features: the contact map of DCA.

        The Frobenius norm F_ij of each block J_ij of ``coupling_`` (in the
        zero-sum gauge), with the average-product correction of Dunn et al.
        (2008) when ``apc``: ``F_ij - mean_i * mean_j / mean``, where
        ``mean_i`` is the mean of row i over the other features and
        ``mean`` that of all pairs.

        Parameters
        ----------
        apc : bool, default=True
            Apply the average-product correction.

        Returns
        -------
        norms : ndarray of shape (n_features, n_features)
            Symmetric scores, zero on the diagonal; higher means a stronger
            direct coupling.
        """
        params = self._fitted_parameters()
        offsets = self.feature_offsets_
        W = params["coupling_"]
        n = self.n_categories_.shape[0]
        norms = np.zeros((n, n))
        for i in range(n):
            for j in range(i + 1, n):
                block = W[offsets[i] : offsets[i + 1], offsets[j] : offsets[j + 1]]
                norms[i, j] = norms[j, i] = np.sqrt(np.sum(block**2))
        if apc and n > 2:
            row_mean = norms.sum(axis=1) / (n - 1)
            total_mean = norms.sum() / (n * (n - 1))
            if total_mean > 0:
                norms = norms - np.outer(row_mean, row_mean) / total_mean
                np.fill_diagonal(norms, 0.0)
        return norms


def zero_sum_gauge(coupling, intercept, offsets):
    """The same Potts model with every block and field summing to zero.

    J'_ij(a, c) = J_ij(a, c) - J_ij(., c) - J_ij(a, .) + J_ij(., .) and
    h'_i(a) = h_i(a) - h_i(.) + sum_{j != i} (J_ij(a, .) - J_ij(., .)),
    where a dot is the mean over that index. The energy changes by a
    constant only, so the distribution is the same.

    Parameters
    ----------
    coupling : ndarray of shape (n_columns, n_columns)
        Couplings in the one-hot layout, zero blocks on the diagonal.
    intercept : ndarray of shape (n_columns,)
        Fields.
    offsets : ndarray of int of shape (n_features + 1,)
        Column offsets of the features.

    Returns
    -------
    coupling, intercept : ndarray
        The gauged parameters, new float64 arrays.
    """
    W = np.array(coupling, dtype=np.float64)
    b = np.array(intercept, dtype=np.float64)
    n = offsets.shape[0] - 1
    spans = [slice(offsets[i], offsets[i + 1]) for i in range(n)]
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            block = W[spans[i], spans[j]]
            row_mean = block.mean(axis=1, keepdims=True)
            col_mean = block.mean(axis=0, keepdims=True)
            total = block.mean()
            # The fields absorb what the block's row means contribute.
            b[spans[i]] += row_mean.ravel() - total
            W[spans[i], spans[j]] = block - row_mean - col_mean + total
    for i in range(n):
        b[spans[i]] -= b[spans[i]].mean()
    # Blocks (i, j) and (j, i) were centred along different axes: make the
    # rounding symmetric too.
    return (W + W.T) / 2, b
