"""BoltzmannMachine: the fully visible Boltzmann machine."""

from functools import partial
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils import gen_batches
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseBoltzmann, SolverState
from ._bm_math import (
    MachineFamily,
    _block_rows,
    bm_conditionals,
    check_couplings,
    data_statistics,
    dense,
    exact_objective,
    pack_parameters,
    pseudolikelihood_gradients,
    pseudolikelihood_hessian,
    pseudolikelihood_objective,
    unpack_parameters,
)
from ._enumeration import MAX_EXACT_BITS, choose_by_size

# solver="auto" fits by exact maximum likelihood up to this many features and
# by pseudo-likelihood beyond. Each added unit doubles the cost of an exact
# L-BFGS step; up to 14 features an exact fit took at most 0.25 s in our
# measurements, from 15 on about a second and more (see the class Notes).
AUTO_EXACT_MAX_FEATURES = 14

# solver="exact" enumerates the states of all features but one (the couplings
# are all free to be nonzero) at every L-BFGS step; the limit is on
# n_features.
MAX_EXACT_SOLVER_BITS = MAX_EXACT_BITS
# The pseudo-likelihood fit ends with Newton steps when a Hessian costs at
# most this many multiply-adds (n_rows * n_features**3).
NEWTON_BUDGET = 1e9


def _row_keys(block, n_words, bitorder):
    """The rows of a binary block packed into ``n_words`` 64-bit words each."""
    if sp.issparse(block):
        bits = np.zeros(block.shape, dtype=bool)
        row = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
        bits[row, block.indices] = block.data != 0
    else:
        bits = block != 0
    packed = np.zeros((block.shape[0], 8 * n_words), dtype=np.uint8)
    packed[:, : -(-block.shape[1] // 8)] = np.packbits(bits, axis=1, bitorder=bitorder)
    # Little-endian words hold the code with bit i = unit i; big-endian words
    # order the rows as their bits read from unit 0 on (lexicographically).
    return packed.view("<u8" if bitorder == "little" else ">u8")


def _distinct_rows(X, sample_weight=None):
    """Indices of the distinct rows of binary ``X`` and their counts.

    Binary data repeat rows, so the pseudo-likelihood evaluates each distinct
    row once, weighted by its frequency (or by the sum of its weights). The
    rows are keyed by their bits packed into 64-bit words, block by block,
    without a dense or float64 copy of the data: the keys take
    ``n_samples * ceil(n_features / 64)`` words. Rows of up to 62 units are
    in the order of their integer codes (bit i = unit i), wider ones in
    lexicographic order, as ``np.unique(axis=0)`` sorts them.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        The data.
    sample_weight : ndarray of shape (n_samples,), default=None
        Row weights; ``None`` counts the rows.

    Returns
    -------
    first : ndarray of int of shape (n_distinct,)
        The index of the first occurrence of each distinct row, or ``None``
        when some value of ``X`` is not 0 or 1.
    counts : ndarray of shape (n_distinct,)
        How many rows equal each of them, or the sum of their weights
        (``None`` with ``first``).
    """
    if sp.issparse(X):
        X = X.tocsr()
    n_samples, n_features = X.shape
    n_words = max(1, -(-n_features // 64))
    bitorder = "little" if n_features <= 62 else "big"
    keys = np.empty((n_samples, n_words), dtype=np.uint64)
    for batch in gen_batches(n_samples, _block_rows(n_features)):
        block = X[batch]
        if sp.issparse(block) and not block.has_canonical_format:
            block = block.copy()
            block.sum_duplicates()
        values = block.data if sp.issparse(block) else block
        if not np.all((values == 0) | (values == 1)):
            return None, None
        keys[batch] = _row_keys(block, n_words, bitorder)
    if n_words == 1:
        _, first, inverse, counts = np.unique(
            keys[:, 0], return_index=True, return_inverse=True, return_counts=True
        )
        if sample_weight is None:
            return first, counts
        return first, np.bincount(
            inverse.ravel(), weights=sample_weight, minlength=first.shape[0]
        )
    order = np.lexsort(keys.T[::-1])  # word 0 first
    keys = keys[order]
    starts = np.flatnonzero(np.r_[True, np.any(keys[1:] != keys[:-1], axis=1)])
    if sample_weight is None:
        return order[starts], np.diff(np.r_[starts, n_samples])
    return order[starts], np.add.reduceat(sample_weight[order], starts)


class BoltzmannMachine(BaseBoltzmann):
    """Fully visible Boltzmann machine on binary units.

    The model is P(x) = exp(-Phi(x)) / Z on x in {0, 1}^n with energy

        Phi(x) = -1/2 x^T W x - b . x,

    where ``W = coupling_`` is symmetric with a zero diagonal and
    ``b = intercept_``. It is an exponential family, so its log-likelihood is
    concave in (W, b) and the exact maximum-likelihood fit matches moments:
    at the optimum (with ``alpha=0``) the model's E[x_i x_j] and E[x_i] equal
    those of the data. :meth:`score_samples` returns ln P(x) with ln Z
    computed exactly by enumeration (see ``score_method``): the units of an
    independent set of the graph are summed out in closed form and the
    states of the others enumerated, 2**(n_features - 1) of them when every
    coupling is nonzero.

    Parameters
    ----------
    solver : {"auto", "exact", "pseudolikelihood", "pcd"}, default="auto"
        How :meth:`fit` estimates the parameters.

        - "exact": maximum likelihood by L-BFGS, with ln Z, E[x] and
          E[x x^T] computed exactly by enumeration at every step (at most
          20 features).
        - "pseudolikelihood": maximum pseudo-likelihood, sum over samples and
          units of ln P(x_i | x_rest), by L-BFGS. Concave, deterministic,
          consistent, and linear in the number of samples and quadratic in
          the number of features.
        - "pcd": stochastic gradient ascent on the likelihood with the model
          statistics estimated from ``n_chains`` persistent Gibbs chains
          (persistent contrastive divergence).
        - "auto": "exact" for at most 14 features, "pseudolikelihood"
          otherwise (see Notes).
    alpha : float, default=1e-4
        L2 penalty on the couplings: the objective is the mean negative
        log-(pseudo-)likelihood plus ``alpha / 2 * sum_{i<j} w_ij ** 2``.
        The intercepts are not penalised.
    l1_ratio : float, default=0.0
        Share of L1 in the coupling penalty, which becomes
        ``alpha * ((1 - l1_ratio) / 2 * sum w_ij ** 2 + l1_ratio * sum |w_ij|)``.
        The L-BFGS fits solve the L1 part exactly (L-BFGS-B on split
        variables), and stochastic updates ("pcd", :meth:`partial_fit`) by
        a proximal step (a soft threshold after each update), so couplings
        it removes are exactly zero.
    max_iter : int, default=200
        Maximum number of L-BFGS iterations ("exact", "pseudolikelihood").
        A "pseudolikelihood" fit whose Hessian is cheap (n_samples *
        n_features**3 <= 1e9) then takes up to 8 Newton steps, which reach
        the optimum to rounding where L-BFGS stalls on an ill-conditioned
        problem; they count in ``n_iter_``.
    tol : float, default=1e-5
        L-BFGS stops when no gradient component exceeds ``tol``. For
        "exact" with ``alpha=0`` the gradient is the difference between the
        model and data moments, so ``tol`` is the moment-matching tolerance.
    learning_rate : float, default=0.05
        Step size of the stochastic gradient ascent ("pcd", and every
        solver's :meth:`partial_fit`). Gradients are means over a mini-batch.
    n_iter : int, default=20
        Passes over the training data in :meth:`fit` for "pcd".
    batch_size : int, default=100
        Rows per mini-batch of the stochastic gradient ascent.
    n_chains : int, default=100
        Number of persistent Gibbs chains ("pcd").
    n_gibbs_steps : int, default=1
        Gibbs sweeps of the persistent chains per update ("pcd").
    score_method : {"auto", "exact", "ais"}, default="auto"
        How ln Z is computed for scoring: "auto" enumerates when
        n_features <= 20.
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
        score is the same for any value, the fit up to rounding. ``None``
        means 1 unless in a joblib context.
    verbose : int, default=0
        Print a line per epoch ("pcd", :meth:`partial_fit`): with 1, the
        training mean of -Phi(x), the log-likelihood plus ln Z (cheap); with
        2 or more, the training mean log-likelihood, ln Z exact or by AIS
        (which can take longer than the epoch). L-BFGS solvers print their
        final penalised objective.
    random_state : int, RandomState instance or None, default=None
        Seed of the persistent chains and of the shuffling (the L-BFGS
        solvers are deterministic).

    Attributes
    ----------
    coupling_ : ndarray of shape (n_features, n_features)
        Couplings W, symmetric with a zero diagonal, in the dtype of the
        training data.
    intercept_ : ndarray of shape (n_features,)
        Intercepts (biases) b.
    solver_ : str
        The solver used, with "auto" resolved.
    n_iter_ : int
        L-BFGS (and Newton) iterations ("exact", "pseudolikelihood") or
        passes over the data ("pcd") of the last :meth:`fit`; each
        :meth:`partial_fit` adds one.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    HiddenBoltzmannMachine : Boltzmann machine with hidden units.
    BernoulliRBM2 : Restricted Boltzmann machine.

    Notes
    -----
    :meth:`partial_fit` makes one pass of mini-batch gradient ascent over
    ``X`` (``learning_rate``, ``batch_size``) with the gradient of the
    chosen solver: exact model statistics by enumeration for "exact", the
    pseudo-likelihood gradient for "pseudolikelihood", persistent chains for
    "pcd". The first call initialises the model as :meth:`fit` does and fixes
    ``solver_``; later calls keep it.

    The "auto" threshold was measured on 2 shared cores with one BLAS thread,
    fitting 2,000 and 50,000 rows sampled from random BMs (best of 3 fits).
    Exact fits took 0.03 s at 12 features, 0.13-0.25 s at 14, about 1 s at
    15 and 16, 2-2.6 s at 17 and 7 s at 18, independent of the number of
    rows; pseudo-likelihood took 0.02-0.06 s on 2,000 rows and 0.04-1.2 s on
    50,000 rows over the same sizes, and recovered the couplings as well as
    the exact fit on those data. So "auto" uses "exact" while its fit stays
    well under a second, up to 14 features. (Those times predate summing one
    unit out in closed form, which has since made an exact fit at 16
    features about 20% faster: 0.19 s instead of 0.24 s on 2,000 rows.)

    :meth:`transform` returns P(x_i = 1 | x_rest) = expit(b_i + sum_j
    w_ij x_j) for each feature. :meth:`sample` draws exactly by enumeration
    for at most 20 features and from burned-in Gibbs chains otherwise.

    References
    ----------
    Ackley, D. H., Hinton, G. E. and Sejnowski, T. J. (1985). A learning
    algorithm for Boltzmann machines. Cognitive Science 9(1), 147-169.

    Besag, J. (1975). Statistical analysis of non-lattice data. The
    Statistician 24(3), 179-195.

    Hyvarinen, A. (2006). Consistency of pseudolikelihood estimation of fully
    visible Boltzmann machines. Neural Computation 18(10), 2283-2292.

    Tieleman, T. (2008). Training restricted Boltzmann machines using
    approximations to the likelihood gradient. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from skbm import BoltzmannMachine
    >>> X = np.array([[0, 0, 0], [1, 1, 0], [1, 1, 1], [0, 0, 1], [1, 1, 0]])
    >>> model = BoltzmannMachine(solver="exact").fit(X)
    >>> model.coupling_.shape
    (3, 3)
    >>> bool(model.coupling_[0, 1] > 1)  # x0 and x1 always agree
    True
    >>> bool(model.score(X) > -np.log(8))  # better than the uniform model
    True
    >>> model.transform(X[:1]).shape
    (1, 3)
    """

    _parameter_constraints: dict = {
        **BaseBoltzmann._parameter_constraints,
        "solver": [StrOptions({"auto", "exact", "pseudolikelihood", "pcd"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
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
        *,
        solver="auto",
        alpha=1e-4,
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
        self.solver = solver
        self.alpha = alpha
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

    @property
    def _n_features_out(self):
        return self.coupling_.shape[0]

    # ------------------------------------------------------------------
    # Training
    # ------------------------------------------------------------------
    def _resolve_solver(self, n_features):
        return choose_by_size(
            self.solver,
            n_features,
            auto_bits=AUTO_EXACT_MAX_FEATURES,
            max_bits=MAX_EXACT_SOLVER_BITS,
            otherwise="pseudolikelihood",
            refusal=(
                f"solver='exact' enumerates about 2**n_features = 2**{n_features} "
                f"states at every step; it is limited to {MAX_EXACT_SOLVER_BITS} "
                "features. Use solver='pseudolikelihood' or 'pcd'."
            ),
        )

    def _initialize(self, X, rng):
        n_features = X.shape[1]
        self.solver_ = self._resolve_solver(n_features)
        dtype = X.dtype
        # Start from the independent-units fit: zero couplings, intercepts at
        # the log-odds of the (weighted) data means, those of the AIS base
        # (clipped, so constant units stay finite).
        mean = self._ais_base_mean
        self.coupling_ = np.zeros((n_features, n_features), dtype=dtype)
        self.intercept_ = self._visible_units.base_field(mean).astype(dtype)
        self.n_iter_ = 0
        return self._continue(X, rng, SolverState())

    def _continue(self, X, rng, state):
        # A solver set explicitly since the last call takes effect; "auto"
        # keeps what it chose.
        if self.solver not in ("auto", self.solver_):
            self.solver_ = self._resolve_solver(self.n_features_in_)
        if self.solver_ == "pcd" and (
            state.chains is None or state.chains.shape[0] != self.n_chains
        ):
            # Chains start from the independent-units fit.
            state.chains = self._model(training=True).start_chains(self.n_chains, rng)
        return state

    def _parameter_shapes(self, params):
        n_features = self.n_features_in_
        return {"coupling_": (n_features, n_features), "intercept_": (n_features,)}

    def _check_structure(self, params):
        check_couplings(params["coupling_"], type(self).__name__)

    def _model(self, params=None, training=False):
        params = self._fitted_parameters() if params is None else params
        # While training every coupling is free to become non-zero, so the
        # chains are swept over the complete graph, one unit at a time.
        n_features = params["coupling_"].shape[0]
        complete = ~np.eye(n_features, dtype=bool)
        return MachineFamily(
            params["coupling_"],
            params["intercept_"],
            self._ais_base_logits(),
            adjacency=complete if training and self.solver_ == "pcd" else None,
            units=self._visible_units,
        )

    def _train(self, X, rng, state, *, n_epochs, sample_weight=None):
        if n_epochs is None and self.solver_ in ("exact", "pseudolikelihood"):
            return self._fit_lbfgs(X, sample_weight)
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
        return {**params, "n_iter_": self.n_iter_ + n_epochs}

    def _fit_lbfgs(self, X, sample_weight=None):
        """Minimise the exact or pseudo negative log-likelihood by L-BFGS."""
        n_features = X.shape[1]
        weight = None if sample_weight is None else sample_weight / sample_weight.sum()
        l2, l1 = self._coupling_penalties()
        if self.solver_ == "exact":
            fun = exact_objective
            args = (*data_statistics(X, weight), l2)
        else:
            fun = partial(pseudolikelihood_objective, n_jobs=self.n_jobs)
            # The data are visited in blocks, never copied whole: each
            # distinct row once, weighted by its frequency (or its summed
            # weights), when binary rows repeat, all rows otherwise.
            first, counts = _distinct_rows(X, weight)
            if first is not None and len(first) < X.shape[0]:
                args = (X, l2, counts / counts.sum(), first)
            else:
                args = (X, l2, weight)
        theta = pack_parameters(self.coupling_, self.intercept_)
        n_pairs = n_features * (n_features - 1) // 2
        # Newton steps finish the convex pseudo-likelihood fit where its
        # Hessian is cheap: n_rows * n_features**3 at most 1e9 multiply-adds
        # (about a second; the digits' 1797 x 64 takes 0.5e9).
        n_rows = X.shape[0] if len(args) < 4 else len(args[3])
        hessian = (
            pseudolikelihood_hessian
            if self.solver_ == "pseudolikelihood"
            and n_rows * n_features**3 <= NEWTON_BUDGET
            else None
        )
        result = self._minimize(fun, theta, args, l1=l1, n_l1=n_pairs, hessian=hessian)
        coupling, intercept = unpack_parameters(result.x, n_features)
        dtype = self.coupling_.dtype
        return {
            "coupling_": coupling.astype(dtype),
            "intercept_": intercept.astype(dtype),
            "n_iter_": int(result.nit),
        }

    def _gradient(self, params, batch, rng, state):
        """Mean gradient of the solver's objective on one mini-batch."""
        coupling = params["coupling_"]
        intercept = params["intercept_"]
        dtype = coupling.dtype
        batch = dense(batch)
        if self.solver_ == "pseudolikelihood":
            _, grad_coupling, grad_intercept = pseudolikelihood_gradients(
                batch, coupling, intercept
            )
        else:
            family = self._model(params, training=True)
            data = family.data_statistics(batch)
            if self.solver_ == "exact":
                model = family.model_statistics()
            else:
                model = self._persistent_statistics(
                    family, state, self.n_gibbs_steps, rng
                )
            difference = data["coupling_"] - model["coupling_"]
            # Exactly symmetric, so that the couplings stay exactly symmetric.
            grad_coupling = (difference + difference.T) / 2
            grad_intercept = data["intercept_"] - model["intercept_"]
            np.fill_diagonal(grad_coupling, 0.0)
        grad_coupling -= self._coupling_penalties()[0] * coupling
        return {
            "coupling_": grad_coupling.astype(dtype, copy=False),
            "intercept_": grad_intercept.astype(dtype, copy=False),
        }

    def _transform(self, X):
        X = dense(X)
        return bm_conditionals(X, self.coupling_, self.intercept_).astype(
            X.dtype, copy=False
        )

    def transform(self, X):
        """Conditional probabilities P(x_i = 1 | all other units) of each feature.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data, binary or in [0, 1].

        Returns
        -------
        proba : ndarray of shape (n_samples, n_features)
            ``expit(X @ coupling_ + intercept_)``, in the dtype of ``X``.

        Examples
        --------
        In these data x0 and x1 always agree, so given x0 = 1 the model
        expects x1 = 1:

        >>> import numpy as np
        >>> from skbm import BoltzmannMachine
        >>> X = np.array([[0, 0, 0], [1, 1, 0], [1, 1, 1], [0, 0, 1]])
        >>> model = BoltzmannMachine(solver="exact").fit(X)
        >>> proba = model.transform([[1, 0, 0]])
        >>> proba.shape
        (1, 3)
        >>> bool(proba[0, 1] > 0.9)  # P(x1 = 1 | x0 = 1, x2 = 0)
        True
        """
        return super().transform(X)
