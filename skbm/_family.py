"""The model-family interface: what the estimators need of one kind of machine.

A model family is a Boltzmann machine of a given shape (fully visible, with
hidden units, restricted) with its parameters, as a small object built from
an estimator's fitted attributes. The estimator base
(:class:`skbm._base.BaseBoltzmann`) orchestrates scoring, sampling, AIS and
training against this interface only; the families implement it on top of
the engines (:mod:`skbm._exact`, :mod:`skbm._gibbs`, :mod:`skbm._ais`), and
say which unit type (:mod:`skbm._units`) each of their layers has.

The rules that are the same for every family live here once: when a model
is sampled exactly and how Gibbs chains are run otherwise, and what reverse
AIS starts from.
"""

from abc import ABC, abstractmethod

import numpy as np

from ._enumeration import MAX_EXACT_BITS
from ._validation import dense

# sample() beyond exact enumeration: independent Gibbs chains started at the
# base model, burned in for SAMPLE_BURN_IN sweeps, then read every
# SAMPLE_THIN sweeps; at most SAMPLE_MAX_CHAINS chains run at once.
SAMPLE_BURN_IN = 1000
SAMPLE_THIN = 10
SAMPLE_MAX_CHAINS = 1000


class ModelFamily(ABC):
    """A Boltzmann machine with its parameters, as the engines see it.

    Attributes
    ----------
    n_visible : int
        Number of visible units (the data's columns).
    dtype : dtype
        Dtype of the parameters, in which samples are returned.
    """

    n_visible: int
    dtype: np.dtype

    # ------------------------------------------------------------------
    # Probabilities
    # ------------------------------------------------------------------
    @abstractmethod
    def unnormalized_log_proba(self, X):
        """ln sum_h exp(-Phi(x, h)) of each row of validated ``X``, float64."""

    @abstractmethod
    def enumeration_bits(self):
        """log2 of the number of terms the exact ln Z enumerates."""

    @abstractmethod
    def exact_log_partition(self, n_jobs=None):
        """ln Z by enumeration, float64; the same for any ``n_jobs``."""

    def row_width(self):
        """Widest per-row work array of :meth:`unnormalized_log_proba`."""
        return self.n_visible

    # ------------------------------------------------------------------
    # Sampling: exact where the enumeration is small, Gibbs otherwise
    # ------------------------------------------------------------------
    @abstractmethod
    def exact_sample(self, n_samples, rng):
        """Exact draws; the visible units come first, float64."""

    @abstractmethod
    def start_chains(self, n_chains, rng):
        """States of all units drawn from the base model, in ``dtype``."""

    @abstractmethod
    def sweep(self, states, n_sweeps, rng):
        """New states after ``n_sweeps`` Gibbs sweeps (``states`` is kept)."""

    def can_sample_exactly(self):
        """Whether draws come from the exact distribution (small enumeration)."""
        return self.enumeration_bits() <= MAX_EXACT_BITS

    def gibbs_sample(self, n_samples, rng):
        """Draws of all units from Gibbs chains started at the base model.

        At most ``SAMPLE_MAX_CHAINS`` chains are burned in for
        ``SAMPLE_BURN_IN`` sweeps, then read every ``SAMPLE_THIN`` sweeps
        until ``n_samples`` states are collected.
        """
        n_chains = min(n_samples, SAMPLE_MAX_CHAINS)
        chains = self.sweep(self.start_chains(n_chains, rng), SAMPLE_BURN_IN, rng)
        draws = [chains]
        for _ in range(-(-n_samples // n_chains) - 1):
            chains = self.sweep(chains, SAMPLE_THIN, rng)
            draws.append(chains)
        return np.concatenate(draws)[:n_samples]

    def sample_states(self, n_samples, rng):
        """Draws of the model's units: exact when feasible, Gibbs otherwise."""
        if self.can_sample_exactly():
            return self.exact_sample(n_samples, rng)
        return self.gibbs_sample(n_samples, rng)

    def sample(self, n_samples, rng):
        """Draws of the visible units, in the dtype of the parameters."""
        states = self.sample_states(n_samples, rng)
        return np.asarray(states[:, : self.n_visible], dtype=self.dtype)

    # ------------------------------------------------------------------
    # Annealed importance sampling
    # ------------------------------------------------------------------
    @abstractmethod
    def annealing_problem(self):
        """The machine as an :class:`skbm._ais.AnnealingProblem`."""

    def target_sampler(self, problem):
        """``(sample_target, start)`` for reverse AIS.

        ``sample_target(n, rng)`` returns draws of the sampled units of
        ``problem`` from the model; ``start`` is "exact" when those are exact
        draws and "gibbs" when they come from burned-in chains.
        """

        def sample_target(n_samples, rng):
            return problem.start_states(self.sample_states(n_samples, rng))

        return sample_target, "exact" if self.can_sample_exactly() else "gibbs"

    def data_start_states(self, problem, X):
        """The sampled units of ``problem`` in validated data rows ``X``.

        Reverse AIS from the data (RAISE) starts there, so every sampled unit
        must be visible; ``None`` when some are hidden (a machine whose
        annealing samples hidden units, which the data do not give).
        """
        n_k = len(problem.W_KR)
        sampled = np.arange(n_k) if problem.sampled is None else problem.sampled
        if np.any(np.asarray(sampled) >= self.n_visible):
            return None
        return problem.start_states(dense(X))

    # ------------------------------------------------------------------
    # Gradient statistics
    # ------------------------------------------------------------------
    @abstractmethod
    def data_statistics(self, X):
        """Mean sufficient statistics of the data phase, keyed by parameter.

        The hidden units are summed out: for each parameter, the mean over
        the rows of E[statistic | v].
        """

    @abstractmethod
    def model_statistics(self):
        """Exact model expectations of the statistics, keyed by parameter."""

    @abstractmethod
    def chain_statistics(self, chains):
        """Model expectations of the statistics estimated from chain states."""
