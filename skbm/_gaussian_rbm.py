"""GaussianBernoulliRBM: an RBM of real-valued visible units, scored by its density."""

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval

from ._base import SolverState
from ._gaussian_units import GaussianUnits
from ._rbm import BaseRBM
from ._rbm_math import RestrictedFamily

# Standard deviations of the data are clipped to at least this fraction of
# the largest one, so that a constant feature keeps a finite scale.
MIN_RELATIVE_SCALE = 1e-6


class GaussianBernoulliRBM(BaseRBM):
    """Restricted Boltzmann machine with Gaussian visible units.

    Real-valued visible units v with a learned standard deviation
    ``sigma_`` each, and {0,1} hidden units h, with the energy of Cho et al.
    (2011)

        Phi(v, h) = sum_i (v_i - b_i)**2 / (2 sigma_i**2)
                    - sum_j c_j h_j - sum_ij (v_i / sigma_i**2) W_ji h_j,

    so that v | h ~ N(b + W^T h, diag(sigma**2)) and
    P(h_j = 1 | v) = sigmoid(c_j + sum_i W_ji v_i / sigma_i**2): a mixture of
    2**n_components Gaussians with shared diagonal covariance whose means
    are sums of the columns of W. :meth:`score_samples` returns the log
    density ln p(v) in nats, as :meth:`sklearn.mixture.GaussianMixture.score_samples`
    does: the integral over v is in closed form, and the hidden layer is
    enumerated while ``n_components`` is at most 20; beyond that ln Z is
    estimated by annealed importance sampling (AIS) from independent
    Gaussians at the training-data means (and the model's ``sigma_``).

    Training works on the data's scale: the steps of ``components_`` and
    ``intercept_visible_`` are their gradients multiplied by ``sigma_**2``
    (the inverse Fisher information of a Gaussian mean) and ``sigma_`` is
    learned in log space, so that the fit does not depend on the units of
    the features, and ``sigma_`` never falls below ``sigma_floor`` times the
    feature's standard deviation in the training data.

    Parameters
    ----------
    n_components : int, default=16
        Number of hidden units. Up to 20 are scored exactly.
    learning_rate : float, default=0.01
        Step size of the stochastic gradient ascent, on standardized scales.
    batch_size : int, default=10
        Rows per mini-batch.
    n_iter : int, default=50
        Passes over the training data in :meth:`fit`.
    sigma_floor : float, default=0.1
        Lower bound of each ``sigma_i``, as a fraction of the feature's
        standard deviation in the training data.
    verbose : int, default=0
        Print a line per epoch: with 1, the training mean of ln sum_h
        exp(-Phi(v, h)), the log-density plus ln Z (cheap); with 2 or more,
        the training mean log-density, ln Z exact or by AIS (which can take
        longer than the epoch).
    random_state : int, RandomState instance or None, default=None
        Seed of the initial weights, the shuffling and the Gibbs sampling.
    solver : {"pcd", "cd", "exact"}, default="pcd"
        Negative phase of the gradient: persistent Gibbs chains, chains
        restarted at the data (CD-k), or exact enumeration of the hidden
        layer (``n_components`` at most 20).
    n_gibbs_steps : int, default=5
        Gibbs steps per update for "pcd" and "cd".
    momentum : float, default=0.9
        Heavy-ball momentum of the updates.
    alpha : float, default=0.0
        L2 penalty (weight decay) on ``components_``, on standardized scales.
    centering : bool, default=True
        Whether to use centered gradients (Melchior et al., 2016), with
        visible offsets at the data mean.
    shuffle : bool, default=True
        Whether to visit the rows in a new random order in each epoch.
    n_chains : int, default=100
        Number of persistent Gibbs chains of "pcd".
    learning_rate_schedule : {"constant", "linear", "cosine"}, default="cosine"
        How :meth:`fit` decays ``learning_rate`` over its epochs.
    score_method : {"auto", "exact", "ais"}, default="auto"
        How ln Z is computed for scoring: "auto" enumerates the hidden layer
        when ``n_components`` is at most 20.
    ais_runs : int, default=100
        Independent annealed importance sampling runs.
    ais_betas : int or "auto", default=10000
        Intermediate inverse temperatures of each AIS run. "auto" chooses
        their number by the runs' effective sample size: from 1,000, longer
        runs until it reaches half the runs (at most 131,072); the number
        chosen is ``log_partition().n_betas``.
    n_jobs : int, default=None
        joblib workers for the AIS runs and threads over the blocks of the
        exact ln Z; the score is the same for any value.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Weights W: hidden unit j shifts the mean of v by ``components_[j]``.
    intercept_visible_ : ndarray of shape (n_features,)
        Visible biases b, the mean of v when every hidden unit is off.
    intercept_hidden_ : ndarray of shape (n_components,)
        Hidden biases c.
    sigma_ : ndarray of shape (n_features,)
        Standard deviation of each visible unit given the hidden units.
    h_samples_ : ndarray of shape (n_chains, n_components)
        Hidden states of the persistent chains.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    BernoulliRBM2 : The RBM of {0,1} visible units.
    sklearn.mixture.GaussianMixture : A mixture with free means and covariances.

    Notes
    -----
    The defaults were chosen by held-out log-density on scikit-learn's
    digits, dequantized (1,257 training rows; see the benchmarks page of the
    documentation): "cd" scored higher there than "pcd" (54.2 against 48.8
    nats at 64 hidden units) and its AIS estimates agreed with the reverse
    ones; ``learning_rate=0.001`` higher than 0.003 (60.6 against 57.2 at
    256 hidden units and 50 epochs). They take 12,600 updates on those
    rows; on a few hundred rows raise ``n_iter`` (or ``learning_rate``).

    References
    ----------
    Cho, K., Ilin, A. and Raiko, T. (2011). Improved learning of
    Gaussian-Bernoulli restricted Boltzmann machines. ICANN.

    Melchior, J., Wang, N. and Wiskott, L. (2017). Gaussian-binary
    restricted Boltzmann machines for modeling natural image statistics.
    PLOS ONE 12(2), e0171015.

    Examples
    --------
    >>> import numpy as np
    >>> from skbm import GaussianBernoulliRBM
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(-2, 0.5, (100, 2)),
    ...                     rng.normal(2, 0.5, (100, 2))])
    >>> model = GaussianBernoulliRBM(n_components=2, n_iter=300, random_state=0)
    >>> model = model.fit(X)
    >>> model.sigma_.shape, model.transform(X).shape
    ((2,), (200, 2))
    >>> bool(model.score(X) > -2.5)  # one Gaussian per feature scores -4.26
    True
    """

    _parameter_constraints: dict = {
        **BaseRBM._parameter_constraints,
        "sigma_floor": [Interval(Real, 0, 1, closed="neither")],
    }

    _parameter_names = (
        "components_",
        "intercept_visible_",
        "intercept_hidden_",
        "sigma_",
    )

    def __init__(
        self,
        n_components=256,
        *,
        learning_rate=0.001,
        batch_size=10,
        n_iter=100,
        sigma_floor=0.1,
        verbose=0,
        random_state=None,
        solver="cd",
        n_gibbs_steps=5,
        momentum=0.9,
        alpha=0.0,
        centering=True,
        shuffle=True,
        n_chains=100,
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
        self.sigma_floor = sigma_floor
        self.verbose = verbose
        self.random_state = random_state
        self.solver = solver
        self.n_gibbs_steps = n_gibbs_steps
        self.momentum = momentum
        self.alpha = alpha
        self.centering = centering
        self.shuffle = shuffle
        self.n_chains = n_chains
        self.learning_rate_schedule = learning_rate_schedule
        self.score_method = score_method
        self.ais_runs = ais_runs
        self.ais_betas = ais_betas
        self.n_jobs = n_jobs

    @property
    def _visible_units(self):
        return GaussianUnits(self.__dict__.get("sigma_"))

    # ------------------------------------------------------------------
    # Training
    # ------------------------------------------------------------------
    def _data_scale(self):
        """Standard deviation of each feature in the training data seen."""
        variance = self._ais_base_square - self._ais_base_mean**2
        scale = np.sqrt(np.maximum(variance, 0.0))
        largest = float(np.max(scale, initial=0.0))
        return np.maximum(scale, MIN_RELATIVE_SCALE * max(largest, 1.0))

    def _initialize(self, X, rng):
        # The independent-Gaussian fit: means and standard deviations of the
        # data, with weights of a tenth of the data's scale (a hundredth, as
        # for {0,1} units, took over 50 epochs to leave the symmetric start
        # on two clusters and made no difference on the digits).
        n_features = X.shape[1]
        self._check_exact_solver(n_features, self.n_components)
        dtype = X.dtype
        scale = self._data_scale()
        weights = rng.normal(0, 0.1, (self.n_components, n_features)) * scale
        self.components_ = weights.astype(dtype)
        self.intercept_visible_ = self._ais_base_mean.astype(dtype)
        self.intercept_hidden_ = np.zeros(self.n_components, dtype=dtype)
        self.sigma_ = scale.astype(dtype)
        return self._continue(X, rng, SolverState())

    def _continue(self, X, rng, state):
        state = super()._continue(X, rng, state)
        if state.visible_scale is None:
            state.visible_scale = self._data_scale().astype(self.sigma_.dtype)
        return state

    def _to_working(self, params):
        working = dict(params)
        working["log_sigma"] = np.log(working.pop("sigma_"))
        return working

    def _from_working(self, params):
        fitted = dict(params)
        fitted["sigma_"] = np.exp(fitted.pop("log_sigma"))
        return fitted

    def _constrain(self, params, state):
        floor = np.log(self.sigma_floor * state.visible_scale)
        np.maximum(params["log_sigma"], floor, out=params["log_sigma"])

    def _hidden_view_of_offset(self, offset, family):
        # The hidden input is c + W v / sigma**2: a step of W is one of the
        # family's weights divided by sigma**2.
        return offset / family.visible_units.variance.astype(offset.dtype)

    def _parameter_gradient(self, grads, data, model, family, params, state):
        """Chain rule from the family's natural parameters to W, b, c, ln sigma.

        The family's parameters are W / sigma**2, b / sigma**2, c and the
        coefficient -1 / (2 sigma**2) of v**2, whose gradients are data minus
        model statistics; d/d ln sigma of the three scaled ones is -2 times
        each. The steps of W and b are their gradients times sigma**2.
        """
        variance = family.visible_units.variance
        W_nat, b_nat = family.W, family.b
        # ln sigma from the plain (not centered) gradients.
        raw_W = data["components_"] - model["components_"]
        raw_b = data["intercept_visible_"] - model["intercept_visible_"]
        raw_square = data["visible_square"] - model["visible_square"]
        grad_log_sigma = (
            -2.0 * np.einsum("ji,ji->i", W_nat, raw_W)
            - 2.0 * b_nat * raw_b
            + raw_square / variance
        )
        # The steps of W and b are their gradients times sigma**2 (the
        # inverse Fisher information of a Gaussian mean): the plain
        # statistics' differences, on the data's scale.
        grad_W = grads["components_"]
        if self.alpha:
            grad_W -= self.alpha * params["components_"]
        return {
            "components_": grad_W,
            "intercept_visible_": grads["intercept_visible_"],
            "intercept_hidden_": grads["intercept_hidden_"],
            "log_sigma": grad_log_sigma.astype(W_nat.dtype),
        }

    # ------------------------------------------------------------------
    # The model
    # ------------------------------------------------------------------
    def _parameter_shapes(self, params):
        shapes = super()._parameter_shapes(params)
        shapes["sigma_"] = (self.n_features_in_,)
        return shapes

    def _check_structure(self, params):
        if not np.all(params["sigma_"] > 0):
            raise ValueError(
                "GaussianBernoulliRBM.sigma_ must be positive. Assign positive "
                "standard deviations, or call fit."
            )

    def _model(self, params=None):
        params = self._fitted_parameters() if params is None else params
        sigma = params["sigma_"]
        variance = sigma.astype(np.float64) ** 2
        b = params["intercept_visible_"]
        units = GaussianUnits(sigma)
        mean = self.__dict__.get("_ais_base_mean")
        return RestrictedFamily(
            params["components_"] / variance.astype(sigma.dtype),
            b / variance.astype(sigma.dtype),
            params["intercept_hidden_"],
            units.base_field(b if mean is None else mean),
            visible_units=units,
            offset=-0.5 * float(np.sum(b.astype(np.float64) ** 2 / variance)),
        )

    def _ais_base_logits(self):
        # The cache key of AIS: the base field of the fitted model.
        mean = self.__dict__.get("_ais_base_mean", self.intercept_visible_)
        return self._visible_units.base_field(mean)
