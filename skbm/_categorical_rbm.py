"""CategoricalRBM: a restricted Boltzmann machine of categorical visible units."""

from numbers import Integral

from sklearn.utils._param_validation import Interval, StrOptions

from ._categorical_units import CategoricalInput
from ._rbm import BaseRBM


class CategoricalRBM(CategoricalInput, BaseRBM):
    """Restricted Boltzmann machine with categorical visible units.

    Each feature j is a categorical unit with ``q_j`` states, given as an
    integer code 0 .. q_j - 1 (the output of
    :class:`~sklearn.preprocessing.OrdinalEncoder`), the hidden units are
    {0,1}. With v the one-hot encoding of a row (``feature_offsets_`` gives
    each feature's columns), the energy is

        Phi(v, h) = -sum_ij W_ji v_i h_j - sum_i b_i v_i - sum_j c_j h_j,

    so a visible unit given h follows the softmax of its block of fields
    b + W^T h: the softmax-visible RBM of collaborative filtering
    (Salakhutdinov et al., 2007) and of protein-sequence RBMs (Tubiana et
    al., 2019). :meth:`score_samples` returns ln P(v) with ln Z exact by
    enumerating the layer with the fewer joint states (2**n_components
    hidden states, or the prod q_j visible ones) when that is at most
    2**20 terms, and estimated by annealed importance sampling (AIS)
    otherwise.

    Parameters
    ----------
    n_components : int, default=256
        Number of hidden units.
    n_categories : "auto", int or array-like of int, default="auto"
        Number of states of each feature. "auto" takes the largest code of
        each column in the training data plus one; an int or one int per
        column sets a minimum, raised to cover the codes seen (as
        :class:`~sklearn.naive_bayes.CategoricalNB`'s ``min_categories``).
        Stored in ``n_categories_``.
    learning_rate : float, default=0.1
        Step size of the stochastic gradient ascent.
    batch_size : int, default=10
        Rows per mini-batch.
    n_iter : int, default=10
        Passes over the training data in :meth:`fit`.
    verbose : int, default=0
        Print a line per epoch: with 1, the training mean of ln sum_h
        exp(-Phi(x, h)), the log-likelihood plus ln Z (cheap); with 2 or more,
        the training mean log-likelihood, ln Z exact or by AIS (which can
        take longer than the epoch).
    random_state : int, RandomState instance or None, default=None
        Seed of the initial weights, the shuffling and the Gibbs sampling.
    solver : {"pcd", "cd", "exact"}, default="pcd"
        Negative phase of the gradient: persistent Gibbs chains, chains
        restarted at the data (CD-k), or exact enumeration of the layer with
        the fewer states (at most 2**20 of them).
    n_gibbs_steps : int, default=5
        Gibbs steps per update for "pcd" and "cd".
    momentum : float, default=0.9
        Heavy-ball momentum of the updates.
    alpha : float, default=0.0
        L2 penalty (weight decay) on ``components_``.
    centering : bool, default=True
        Whether to use centered gradients (Melchior et al., 2016), with
        visible offsets at the one-hot data means.
    shuffle : bool, default=True
        Whether to visit the rows in a new random order in each epoch.
    n_chains : int, default=100
        Number of persistent Gibbs chains of "pcd".
    learning_rate_schedule : {"constant", "linear", "cosine"}, default="cosine"
        How :meth:`fit` decays ``learning_rate`` over its epochs.
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
        joblib workers for the AIS runs and threads over the blocks of the
        exact ln Z; the score is the same for any value.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, sum q_j)
        Weights W, one column per one-hot state.
    intercept_visible_ : ndarray of shape (sum q_j,)
        Visible fields b, one per one-hot state.
    intercept_hidden_ : ndarray of shape (n_components,)
        Hidden biases c.
    n_categories_ : ndarray of int of shape (n_features,)
        Number of states q_j of each feature.
    feature_offsets_ : ndarray of int of shape (n_features + 1,)
        Feature j owns the one-hot columns ``feature_offsets_[j]`` to
        ``feature_offsets_[j + 1] - 1``.
    h_samples_ : ndarray of shape (n_chains, n_components)
        Hidden states of the persistent chains.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    CategoricalBoltzmannMachine : Pairwise couplings between categorical units.
    BernoulliRBM2 : The RBM of {0,1} visible units.

    References
    ----------
    Salakhutdinov, R., Mnih, A. and Hinton, G. (2007). Restricted Boltzmann
    machines for collaborative filtering. ICML.

    Tubiana, J., Cocco, S. and Monasson, R. (2019). Learning protein
    constitutive motifs from sequence data. eLife 8, e39397.

    Examples
    --------
    >>> import numpy as np
    >>> from skbm import CategoricalRBM
    >>> X = np.array([[0, 2, 1], [1, 0, 1], [2, 2, 0], [0, 2, 1]])
    >>> model = CategoricalRBM(n_components=2, n_iter=20, random_state=0).fit(X)
    >>> model.n_categories_.tolist(), model.components_.shape
    ([3, 3, 2], (2, 8))
    >>> bool(model.score(X) > -np.log(3 * 3 * 2))  # beats the uniform model
    True
    >>> model.sample(2, random_state=0).shape
    (2, 3)
    """

    _parameter_constraints: dict = {
        **BaseRBM._parameter_constraints,
        "n_categories": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
            "array-like",
        ],
    }

    def __init__(
        self,
        n_components=256,
        *,
        n_categories="auto",
        learning_rate=0.1,
        batch_size=10,
        n_iter=10,
        verbose=0,
        random_state=None,
        solver="pcd",
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
        self.n_categories = n_categories
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
        self.n_chains = n_chains
        self.learning_rate_schedule = learning_rate_schedule
        self.score_method = score_method
        self.ais_runs = ais_runs
        self.ais_betas = ais_betas
        self.n_jobs = n_jobs
