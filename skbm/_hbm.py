"""HiddenBoltzmannMachine: a Boltzmann machine with hidden units and any graph."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._ais import default_betas
from ._base import BaseBoltzmann, SolverState
from ._bm_math import check_couplings, dense, pack_parameters, unpack_parameters
from ._enumeration import MAX_EXACT_BITS, choose_by_size
from ._hbm_math import HiddenFamily, exact_objective, split_sizes

# solver="exact" enumerates 2**bits states at every update; refused beyond.
MAX_EXACT_SOLVER_BITS = 20

# solver="auto" picks "exact" up to this many enumerated units for ln Z: its
# L-BFGS fit is deterministic and reaches the maximum likelihood, where PCD's
# noisy steps do not (the README's 16-pixel HBM). One step of a fully
# connected machine of 20 units (2**19 states) took 0.1 s here.
AUTO_EXACT_BITS = MAX_EXACT_SOLVER_BITS

# Hidden states enumerated per row for an exact E[h | v] (transform and the
# positive phase of "pcd"); beyond, the mean-field approximation is used.
MAX_POSTERIOR_BITS = 10

# Hidden units enumerated per row for an exact ln sum_h exp(-Phi(v, h))
# (2**20 terms, as for ln Z); beyond, unless score_method="exact", each row
# is estimated by AIS on the clamped machine.
MAX_HIDDEN_SUM_BITS = MAX_EXACT_BITS

# Standard deviation of the initial couplings: small for stochastic gradient
# ascent (Hinton's practical guide). L-BFGS starts farther out, because it
# stops at the saddle where the hidden units are unused when it starts near
# it, where stochastic steps escape: on the parity data (alpha=1e-4) it
# stayed there on 20 seeds of 20 from 0.01, on 12 from 0.1, on 1 from 0.3
# and on none of 60 from 0.5. From 0.5 it reached -8.94 to -9.05 nats on the
# README's 16 digits pixels (seeds 0-4; -8.97 to -9.03 from 0.3).
INIT_SCALE = 0.01
LBFGS_INIT_SCALE = 0.5

CONNECTIVITIES = ("full", "semi-restricted", "restricted")

# Inverse temperatures of the per-row AIS sums over h when ais_betas="auto".
CLAMPED_AUTO_BETAS = 10000


class HiddenBoltzmannMachine(BaseBoltzmann):
    """Boltzmann machine with hidden units and general connectivity.

    A Boltzmann machine over binary units x = (v, h): ``n_features`` visible
    units followed by ``n_components`` hidden units, with energy
    Phi(x) = -1/2 x^T W x - b . x (``W = coupling_``, symmetric with a zero
    diagonal, ``b = intercept_``) and P(x) = exp(-Phi(x)) / Z. The data are
    modelled by P(v) = sum_h P(v, h), so hidden units capture dependencies of
    any order, which the pairwise couplings of a fully visible
    :class:`BoltzmannMachine` cannot.

    Which couplings exist is set by ``connectivity``: all pairs, no
    hidden-hidden pairs (semi-restricted), only visible-hidden pairs
    (restricted, an RBM), or any symmetric mask.

    :meth:`score_samples` returns ln P(v) = ln sum_h exp(-Phi(v, h)) - ln Z.
    The sum over h is exact: in closed form where the hidden units have no
    couplings among themselves (they are then conditionally independent given
    v), otherwise by enumerating all hidden units outside a greedy
    independent set. ln Z is exact by enumerating all units outside a greedy
    independent set (a restricted machine enumerates one layer), when that
    takes at most 2**20 terms (``score_method="auto"``), and estimated by
    annealed importance sampling otherwise (see :meth:`log_partition`).
    When the hidden units are coupled among themselves and the sum over h
    would enumerate more than 2**20 hidden states per row, it too is
    estimated, unless ``score_method="exact"``: by AIS on the hidden units
    with v clamped, ``ais_runs`` runs of ``ais_betas`` steps per distinct
    row, vectorised over rows. That costs
    O(n_rows * ais_runs * ais_betas * n_components * n_units) operations,
    far more than ln Z, so reduce ``ais_runs`` or ``ais_betas`` to score
    many rows. Each row's stream is seeded by ``random_state`` and the row's
    values, so its score does not depend on the other rows passed.

    Parameters
    ----------
    n_components : int, default=4
        Number of hidden units. ``0`` gives a fully visible machine.
    connectivity : {"full", "semi-restricted", "restricted"} or array-like \
            of shape (n_units, n_units), default="full"
        Which pairs of units are coupled. "full": all pairs;
        "semi-restricted": no hidden-hidden pairs; "restricted": only
        visible-hidden pairs. An array is a symmetric boolean mask over the
        ``n_units = n_features + n_components`` units, visible first; its
        diagonal is ignored.
    solver : {"auto", "exact", "pcd"}, default="auto"
        How :meth:`fit` estimates the parameters.

        - "exact": maximum likelihood by L-BFGS, with the sums over h given
          each distinct row, ln Z and the model moments computed exactly by
          enumeration at every step (for machines whose ln Z enumerates at
          most 2**20 states). Deterministic: it reaches the same maximum
          whatever the BLAS kernel. :meth:`partial_fit` takes stochastic
          gradient steps on the same exact gradient.
        - "pcd": stochastic gradient ascent. The positive phase
          E[x x^T | v] is exact when the hidden units are conditionally
          independent given v or when at most 2**10 hidden states per row
          are enumerated, otherwise it uses the mean-field approximation of
          E[h | v]; the negative phase uses ``n_chains`` persistent Gibbs
          chains with block updates over a greedy colouring of the graph
          (two blocks for a bipartite graph).
        - "auto": "exact" when ln Z enumerates at most 2**20 states, else
          "pcd".
    alpha : float, default=1e-4
        L2 penalty (weight decay) on ``coupling_``: the objective is the
        mean negative log-likelihood plus
        ``alpha / 2 * sum_{i<j} w_ij ** 2``. The intercepts are not
        penalised. Without it, a machine with hidden units can fit a few
        rows by couplings that grow without bound.
    l1_ratio : float, default=0.0
        Share of L1 in the coupling penalty, which becomes
        ``alpha * ((1 - l1_ratio) / 2 * sum w_ij ** 2 + l1_ratio * sum |w_ij|)``.
        The L-BFGS fits solve the L1 part exactly (L-BFGS-B on split
        variables), and stochastic updates ("pcd", :meth:`partial_fit`) by
        a proximal step (a soft threshold after each update), so couplings
        it removes are exactly zero.
    max_iter : int, default=200
        Maximum number of L-BFGS iterations of "exact" in :meth:`fit`.
    tol : float, default=1e-5
        L-BFGS stops when no gradient component exceeds ``tol``.
    learning_rate : float, default=0.1
        Step size of the stochastic gradient ascent on the mean
        log-likelihood of a mini-batch ("pcd", and :meth:`partial_fit`).
    n_iter : int, default=10
        Passes over the training data in :meth:`fit` for "pcd".
    batch_size : int, default=10
        Rows per mini-batch.
    n_chains : int, default=100
        Persistent Gibbs chains of solver "pcd".
    n_gibbs_steps : int, default=1
        Gibbs sweeps of the chains per update, for solver "pcd".
    momentum : float, default=0.5
        Heavy-ball momentum of the stochastic updates.
    score_method : {"auto", "exact", "ais"}, default="auto"
        How ln Z is computed for scoring: "auto" enumerates when it takes at
        most 2**20 terms.
    ais_runs : int, default=100
        Independent annealed importance sampling runs.
    ais_betas : int or "auto", default=10000
        Intermediate inverse temperatures of each AIS run. "auto" chooses
        their number by the runs' effective sample size: from 1,000, longer
        runs until it reaches half the runs (at most 131,072); the number
        chosen is ``log_partition().n_betas``. The per-row AIS sums over h
        use 10,000 under "auto".
    n_jobs : int, default=None
        joblib workers for the AIS runs, and threads over the blocks of the
        exact ln Z; the scores are the same for any value. ``None`` means 1
        unless in a joblib context.
    verbose : int, default=0
        Print a line per epoch ("pcd", :meth:`partial_fit`): with 1, the
        training mean of ln sum_h exp(-Phi(v, h)), the log-likelihood plus
        ln Z (when the sums over h are exact; cheap); with 2 or more, the
        training mean log-likelihood, ln Z exact or by AIS (which can take
        longer than the epoch). L-BFGS solvers print their final penalised
        objective.
    random_state : int, RandomState instance or None, default=None
        Seed of the initial couplings, the shuffling and the Gibbs sampling.

    Attributes
    ----------
    coupling_ : ndarray of shape (n_units, n_units)
        Symmetric couplings W with a zero diagonal, zero wherever the
        connectivity has no edge; visible units first, hidden units after.
        In the dtype of the training data.
    intercept_ : ndarray of shape (n_units,)
        Intercepts b, visible units first.
    solver_ : str
        The solver used, with "auto" resolved.
    n_iter_ : int
        L-BFGS iterations run by the last :meth:`fit` with "exact"; epochs
        of stochastic gradient ascent run in all, otherwise.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    BoltzmannMachine : Fully visible Boltzmann machine.
    BernoulliRBM2 : Restricted Boltzmann machine, the bipartite special case.

    Notes
    -----
    :meth:`transform` returns E[h | v]. It is exact when the hidden units are
    conditionally independent given v or when at most 2**10 hidden states
    per row are enumerated; otherwise it is the naive mean-field fixed point
    mu = expit(b_h + v W_vh + mu W_hh), found by coordinate ascent, which is
    an approximation.

    References
    ----------
    Ackley, D. H., Hinton, G. E. and Sejnowski, T. J. (1985). A learning
    algorithm for Boltzmann machines. Cognitive Science 9(1).

    Tieleman, T. (2008). Training restricted Boltzmann machines using
    approximations to the likelihood gradient. ICML.

    Salakhutdinov, R. and Hinton, G. (2009). Deep Boltzmann machines.
    AISTATS (mean-field positive phase).

    Examples
    --------
    >>> import numpy as np
    >>> from skbm import HiddenBoltzmannMachine
    >>> X = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 0]] * 5)
    >>> model = HiddenBoltzmannMachine(n_components=2, random_state=0).fit(X)
    >>> model.coupling_.shape
    (5, 5)
    >>> model.transform(X[:4]).shape
    (4, 2)
    """

    _parameter_constraints: dict = {
        **BaseBoltzmann._parameter_constraints,
        "n_components": [Interval(Integral, 0, None, closed="left")],
        "connectivity": [StrOptions(set(CONNECTIVITIES)), "array-like"],
        "solver": [StrOptions({"auto", "exact", "pcd"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_chains": [Interval(Integral, 1, None, closed="left")],
        "n_gibbs_steps": [Interval(Integral, 1, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }

    _parameter_names = ("coupling_", "intercept_")

    def __init__(
        self,
        n_components=4,
        *,
        connectivity="full",
        solver="auto",
        learning_rate=0.1,
        n_iter=10,
        batch_size=10,
        n_chains=100,
        n_gibbs_steps=1,
        momentum=0.5,
        alpha=1e-4,
        l1_ratio=0.0,
        max_iter=200,
        tol=1e-5,
        score_method="auto",
        ais_runs=100,
        ais_betas=10000,
        n_jobs=None,
        verbose=0,
        random_state=None,
    ):
        self.n_components = n_components
        self.connectivity = connectivity
        self.solver = solver
        self.learning_rate = learning_rate
        self.n_iter = n_iter
        self.batch_size = batch_size
        self.n_chains = n_chains
        self.n_gibbs_steps = n_gibbs_steps
        self.momentum = momentum
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.max_iter = max_iter
        self.tol = tol
        self.score_method = score_method
        self.ais_runs = ais_runs
        self.ais_betas = ais_betas
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.random_state = random_state

    @property
    def _n_features_out(self):
        return self.coupling_.shape[0] - self.n_features_in_

    # ------------------------------------------------------------------
    # Connectivity
    # ------------------------------------------------------------------
    def _connectivity_mask(self, n_visible):
        """The validated boolean (n_units, n_units) mask, zero diagonal."""
        n_units = n_visible + self.n_components
        if isinstance(self.connectivity, str):
            mask = np.ones((n_units, n_units), dtype=bool)
            if self.connectivity in ("semi-restricted", "restricted"):
                mask[n_visible:, n_visible:] = False
            if self.connectivity == "restricted":
                mask[:n_visible, :n_visible] = False
        else:
            try:
                mask = np.asarray(self.connectivity)
            except ValueError as exc:  # ragged nested lists
                raise ValueError(
                    "The connectivity mask must be a boolean array of shape "
                    f"(n_units, n_units) = ({n_units}, {n_units}): {exc}"
                ) from exc
            if mask.shape != (n_units, n_units):
                raise ValueError(
                    "The connectivity mask must have shape (n_units, n_units) = "
                    f"({n_units}, {n_units}) for {n_visible} features and "
                    f"{self.n_components} hidden units, got shape {mask.shape}."
                )
            if mask.dtype != bool:
                numeric = np.issubdtype(mask.dtype, np.number)
                if not numeric or not np.isin(mask, (0, 1)).all():
                    raise ValueError(
                        "The connectivity mask must be boolean (or hold only 0 "
                        f"and 1), got an array of dtype {mask.dtype}."
                    )
            mask = mask.astype(bool)
            if not np.array_equal(mask, mask.T):
                raise ValueError(
                    "The connectivity mask must be symmetric: couplings are "
                    "undirected, so mask[i, j] must equal mask[j, i]."
                )
        mask = mask.copy()
        np.fill_diagonal(mask, False)
        return mask

    # ------------------------------------------------------------------
    # Training
    # ------------------------------------------------------------------
    def _resolve_solver(self, mask, n_visible):
        total_bits = split_sizes(mask, n_visible)[1]
        return choose_by_size(
            self.solver,
            total_bits,
            auto_bits=AUTO_EXACT_BITS,
            max_bits=MAX_EXACT_SOLVER_BITS,
            otherwise="pcd",
            refusal=(
                f"solver='exact' enumerates 2**{total_bits} states at every "
                f"update for this machine; it is limited to "
                f"2**{MAX_EXACT_SOLVER_BITS}. Use solver='pcd'."
            ),
        )

    def _initialize(self, X, rng):
        n_visible = X.shape[1]
        mask = self._connectivity_mask(n_visible)
        n_units = mask.shape[0]
        self.solver_ = self._resolve_solver(mask, n_visible)
        dtype = X.dtype
        scale = LBFGS_INIT_SCALE if self.solver_ == "exact" else INIT_SCALE
        noise = np.triu(rng.normal(0.0, scale, (n_units, n_units)), 1)
        self.coupling_ = ((noise + noise.T) * mask).astype(dtype)
        # Visible intercepts at the log-odds of the data means (Hinton's
        # practical guide): the model starts near the independent fit.
        intercept = np.zeros(n_units)
        intercept[:n_visible] = self._ais_base_logits()
        self.intercept_ = intercept.astype(dtype)
        self._mask = mask
        self.n_iter_ = 0
        self._exact_posterior = split_sizes(mask, n_visible)[0] <= MAX_POSTERIOR_BITS
        return self._continue(X, rng, SolverState())

    def _continue(self, X, rng, state):
        mask = self._connectivity_mask(self.n_features_in_)
        if mask.shape != self._mask.shape or not np.array_equal(mask, self._mask):
            raise ValueError(
                f"n_components or connectivity of {type(self).__name__} changed "
                "since the model was fitted; partial_fit continues the fitted "
                "machine. Call fit to train the new one."
            )
        # A solver set explicitly since the last call takes effect; "auto"
        # keeps what it chose.
        if self.solver not in ("auto", self.solver_):
            self.solver_ = self._resolve_solver(mask, self.n_features_in_)
        if self.solver_ == "pcd" and (
            state.chains is None or state.chains.shape[0] != self.n_chains
        ):
            # Chains start from the AIS base model: visible units at the data
            # means, hidden units uniform.
            state.chains = self._model(training=True).start_chains(self.n_chains, rng)
        return state

    def _parameter_shapes(self, params):
        n_units = max(params["intercept_"].shape[0], self.n_features_in_)
        return {"coupling_": (n_units, n_units), "intercept_": (n_units,)}

    def _check_structure(self, params):
        check_couplings(params["coupling_"], type(self).__name__)

    def _train(self, X, rng, state, *, n_epochs, sample_weight=None):
        if n_epochs is None and self.solver_ == "exact":
            return self._fit_lbfgs(X, sample_weight)
        n_epochs = self.n_iter if n_epochs is None else n_epochs
        params = self._sgd_epochs(
            X,
            rng,
            state,
            n_epochs=n_epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            momentum=self.momentum,
            sample_weight=sample_weight,
        )
        # Enforce the structure on a new array (also after assignments).
        coupling = params["coupling_"]
        coupling = np.where(self._mask, (coupling + coupling.T) / 2, 0)
        params["coupling_"] = coupling.astype(params["intercept_"].dtype)
        return {**params, "n_iter_": self.n_iter_ + n_epochs}

    def _fit_lbfgs(self, X, sample_weight=None):
        """Maximise the exact likelihood by L-BFGS over the masked couplings."""
        # Each distinct row once, weighted by its (weighted) frequency.
        rows, inverse = np.unique(
            dense(X).astype(np.float64), axis=0, return_inverse=True
        )
        weights = np.bincount(
            np.ravel(inverse), weights=sample_weight, minlength=rows.shape[0]
        )
        pairs = np.nonzero(np.triu(self._mask, 1))
        theta = pack_parameters(self.coupling_, self.intercept_, pairs)
        l2, l1 = self._coupling_penalties()
        args = (rows, weights / weights.sum(), self._mask, l2)
        result = self._minimize(
            exact_objective, theta, args, l1=l1, n_l1=pairs[0].shape[0]
        )
        n_units = self._mask.shape[0]
        coupling, intercept = unpack_parameters(result.x, n_units, pairs)
        dtype = self.intercept_.dtype
        return {
            "coupling_": coupling.astype(dtype),
            "intercept_": intercept.astype(dtype),
            "n_iter_": int(result.nit),
        }

    def _gradient(self, params, rows, rng, state):
        """Mean log-likelihood gradient on a mini-batch (data - model)."""
        W, b = params["coupling_"], params["intercept_"]
        family = self._model(params, training=True)
        data = family.data_statistics(rows)
        if self.solver_ == "exact":
            model = family.model_statistics()
        else:
            model = self._persistent_statistics(family, state, self.n_gibbs_steps, rng)
        difference = data["coupling_"] - model["coupling_"]
        # Exactly symmetric, so that the couplings stay exactly symmetric.
        grad_W = np.where(self._mask, (difference + difference.T) / 2, 0.0)
        if self.alpha:
            grad_W -= self._coupling_penalties()[0] * W
        grad_b = data["intercept_"] - model["intercept_"]
        return {
            "coupling_": grad_W.astype(W.dtype),
            "intercept_": grad_b.astype(b.dtype),
        }

    # ------------------------------------------------------------------
    # The model
    # ------------------------------------------------------------------
    def _model(self, params=None, training=False):
        """The :class:`~skbm._hbm_math.HiddenFamily` of the parameters.

        While training, the graph is the connectivity mask and the data
        statistics use the exact posterior where it is small enough (always
        for solver "exact"); for scoring, the graph is that of the nonzero
        couplings and the sums over h may be estimated by AIS.
        """
        params = self._fitted_parameters() if params is None else params
        coupling, intercept = params["coupling_"], params["intercept_"]
        n_visible = self.n_features_in_
        base = np.zeros(coupling.shape[0])
        base[:n_visible] = self._ais_base_logits()
        if training:
            return HiddenFamily(
                coupling,
                intercept,
                base,
                n_visible,
                adjacency=self._mask,
                exact_posterior=self.solver_ == "exact" or self._exact_posterior,
                units=self._visible_units,
            )
        hidden_bits = split_sizes(coupling != 0, n_visible)[0]
        return HiddenFamily(
            coupling,
            intercept,
            base,
            n_visible,
            exact_posterior=hidden_bits <= MAX_POSTERIOR_BITS,
            clamped_ais=self._clamped_ais(hidden_bits),
            units=self._visible_units,
        )

    def _clamped_ais(self, hidden_bits):
        """AIS settings of the sums over h, or None when they are exact."""
        if self.score_method == "exact" or hidden_bits <= MAX_HIDDEN_SUM_BITS:
            return None
        # "auto" chooses the length of ln Z's runs; the per-row sums keep
        # the default length.
        n_betas = CLAMPED_AUTO_BETAS if self.ais_betas == "auto" else self.ais_betas
        return (
            int(self.ais_runs),
            default_betas(int(n_betas)),
            self._score_seed(),
            self.n_jobs,
        )

    def _hidden_sum_by_ais(self):
        """Whether ln sum_h exp(-Phi(v, h)) is estimated by AIS, row by row."""
        return self._model().clamped_ais is not None

    def _transform(self, X):
        return self._model().posterior(X).astype(X.dtype, copy=False)

    def transform(self, X):
        """Posterior means of the hidden units, E[h | v = X].

        Exact when the hidden units are conditionally independent given v or
        at most 2**10 hidden states per row are enumerated; otherwise the
        mean-field approximation (see Notes of the class).

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
        >>> from skbm import HiddenBoltzmannMachine
        >>> X = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 0]] * 5)
        >>> model = HiddenBoltzmannMachine(n_components=2, random_state=0).fit(X)
        >>> H = model.transform(X[:4])
        >>> H.shape
        (4, 2)
        >>> bool(((H >= 0) & (H <= 1)).all())  # posterior means
        True
        """
        return super().transform(X)
