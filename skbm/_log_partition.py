"""The records of an estimate: ln Z, and the bracket of a held-out log-likelihood.

Each says how it was obtained, what it guarantees and how far to trust it.
"""

from dataclasses import dataclass, field

import numpy as np

# Effective sample size, as a fraction of the forward runs, below which an
# AIS estimate is reported as not to be trusted (an AISWarning).
MIN_ESS_FRACTION = 0.1


class AISWarning(UserWarning):
    """An annealed importance sampling estimate is not to be trusted.

    Raised when the effective sample size of the forward weights falls below
    10% of the runs: a few runs dominate, so the estimate of ln Z is likely
    too low (the log-likelihood too high) by more than its interval says.
    Raise ``ais_betas`` (slower, smoother annealing) or ``ais_runs``.
    """


@dataclass(frozen=True)
class LogPartition:
    """The log partition function ln Z of a fitted model, with its provenance.

    For ``method="ais"`` the fields after ``interval`` describe the estimate;
    for an exact value they are ``None``.

    What each side guarantees. Z_0 is the base model's exact partition
    function and w the importance weights; single runs give
    ``run_log_z = ln Z_0 + ln w`` (forward) and
    ``reverse_run_log_z = ln Z_0 - ln w_rev`` (reverse).

    - Forward AIS: E[w] = Z / Z_0 exactly, so ``log_z`` (ln of the mean
      weight) is a stochastic lower bound: E[log_z] <= ln Z (Jensen), and
      P(log_z > ln Z + t) <= exp(-t) for any t > 0 (Markov). A single run is
      a lower bound in expectation, E[run_log_z] = ln Z - KL <= ln Z, with
      KL the divergence between the forward and backward chains.
    - Reverse AIS, started from exact draws of the model
      (``reverse_start="exact"``): E[w_rev] = Z_0 / Z exactly, so
      ``reverse_log_z`` is a stochastic upper bound: E[reverse_log_z] >= ln Z
      and P(reverse_log_z < ln Z - t) <= exp(-t); and
      E[reverse_run_log_z] >= ln Z. Started from Gibbs chains after a
      burn-in (``reverse_start="gibbs"``, models too large to sample
      exactly) the start is only approximately the model, and none of this
      is guaranteed; nor is it when starting from the data.
    - These are statements about expectations and tails, not about one
      estimate: once the annealing has converged, ``log_z`` and
      ``reverse_log_z`` both sit within noise of ln Z, on either side. The
      means of ``run_log_z`` and of ``reverse_run_log_z`` estimate the two
      ends of a deterministic bracket (E[run_log_z] <= ln Z <=
      E[reverse_run_log_z]; bidirectional Monte Carlo, Grosse et al. 2015),
      whose width shows how far the annealing is from converged.
    - ``interval`` is ln(mean w -/+ 3 standard errors) (Salakhutdinov and
      Murray, 2008), its lower end at least ``log_z - 3``: by Markov's
      inequality ln Z >= log_z - 3 with probability at least 95% whatever
      the weights' tails, where mean w - 3 se may not be positive. It is not
      a confidence interval with guaranteed coverage: with heavy-tailed
      weights the sample standard error underestimates the spread, which a
      small ``ess`` signals (and :meth:`trustworthy` checks). The
      interval's lower end and the upper end of ``reverse_interval`` make a
      conservative bracket.

    Attributes
    ----------
    log_z : float
        The value (or estimate) of ln Z, in nats.
    method : {"exact", "ais"}
        How it was obtained.
    interval : tuple of float
        Lower and upper end of the uncertainty interval; both equal ``log_z``
        for an exact value. For AIS, ln(mean w -/+ 3 standard errors) plus
        ln Z_0, the lower end at least ``log_z - 3`` (always finite).
    n_runs : int or None
        Independent AIS runs (``ais_runs``).
    n_betas : int or None
        Inverse temperatures of each run (``ais_betas``).
    ess : float or None
        Effective sample size of the forward weights, (sum w)**2 / sum w**2,
        between 1 and ``n_runs``; far below ``n_runs`` means a few runs
        dominate and the interval is not to be trusted.
    reverse_log_z : float or None
        The reverse AIS estimate of ln Z, a stochastic upper bound (see
        above); ``None`` unless asked for (``log_partition(reverse=True)``),
        and so for the other ``reverse_*`` fields.
    reverse_interval : tuple of float or None
        ln Z_0 - ln(mean w_rev +/- 3 standard errors) of the reverse weights,
        the upper end at most ``reverse_log_z + 3``.
    reverse_start : {"exact", "gibbs"} or None
        Where the reverse runs started: exact draws of the model, or Gibbs
        chains after a burn-in.
    run_log_z : ndarray of shape (n_runs,) or None
        Single-run forward estimates ln Z_0 + ln w, so that
        ``log_z = logsumexp(run_log_z) - ln(n_runs)``.
    reverse_run_log_z : ndarray of shape (n_runs,) or None
        Single-run reverse estimates ln Z_0 - ln w_rev, so that
        ``reverse_log_z = -(logsumexp(-reverse_run_log_z) - ln(n_runs))``.

    References
    ----------
    Salakhutdinov, R. and Murray, I. (2008). On the quantitative analysis of
    deep belief networks. ICML.

    Burda, Y., Grosse, R. and Salakhutdinov, R. (2015). Accurate and
    conservative estimates of MRF log-likelihood using reverse annealing.
    AISTATS.

    Grosse, R., Ghahramani, Z. and Adams, R. P. (2015). Sandwiching the
    marginal likelihood using bidirectional Monte Carlo. arXiv:1511.02543.
    """

    log_z: float
    method: str
    interval: tuple
    n_runs: int | None = None
    n_betas: int | None = None
    ess: float | None = None
    reverse_log_z: float | None = None
    reverse_interval: tuple | None = None
    reverse_start: str | None = None
    run_log_z: np.ndarray | None = field(default=None, repr=False, compare=False)
    reverse_run_log_z: np.ndarray | None = field(
        default=None, repr=False, compare=False
    )

    def trustworthy(self):
        """Whether the estimate can be taken at its interval: exact, or AIS
        whose effective sample size is at least 10% of its runs."""
        return self.method == "exact" or self.ess >= MIN_ESS_FRACTION * self.n_runs

    def __str__(self):
        if self.method == "exact":
            return f"ln Z = {self.log_z:.6f} (exact)"
        low, high = self.interval
        text = (
            f"ln Z = {self.log_z:.4f} ({self.method}, interval [{low:.4f}, {high:.4f}]"
        )
        if self.ess is not None:
            text += f", {self.n_runs} runs x {self.n_betas} betas, ESS {self.ess:.1f}"
        if self.reverse_log_z is not None:
            text += f", reverse {self.reverse_log_z:.4f} ({self.reverse_start} start)"
        return text + ")"


@dataclass(frozen=True)
class LikelihoodBracket:
    """The mean log-likelihood of some rows, bracketed from both sides.

    Returned by ``score_bracket``. For a model whose ln Z is exact, both
    sides equal ``score``. Otherwise the two sides are two estimators whose
    errors point in opposite directions:

    - ``upper`` is ``score``: the mean of ln f(x) - ln Z_hat with ln Z_hat
      from forward AIS, a stochastic lower bound on ln Z, so ``upper`` is a
      stochastic upper bound on the mean log-likelihood (optimistic):
      E[ln Z_hat] <= ln Z.
    - ``lower`` comes from reverse AIS started at the rows themselves
      (RAISE, Burda et al. 2015). Forward AIS with the model's transitions
      is itself a generative model, the annealing model p_ann, and each
      row's reverse run gives an unbiased estimate of p_ann(x); its log is
      a stochastic lower bound on ln p_ann(x). As the annealing converges,
      p_ann tends to the model, and ``lower`` to the mean log-likelihood
      from below. It is not a bound on the model's own log-likelihood for a
      short schedule: p_ann is then a different model, which can fit
      held-out rows better than the model does. On a 784 x 500 RBM fitted
      to 4,000 MNIST digits, ``lower`` lay 1.3 nats above ``upper`` at
      10,000 inverse temperatures and 0.4 above at 30,000, while ``upper``
      stayed within 0.05 nats: the annealing model had converged to the
      RBM from above.
    - With many rows, only a random subset (``max_rows``, drawn with
      probabilities proportional to the sample weights) is annealed:
      ``lower`` is then the mean of ln f(x) over all rows minus the mean,
      over the subset, of each row's estimate of ln Z (ln f(x) - ln
      p_ann_hat(x)). That estimate varies little from row to row, far less
      than ln f(x) does, so a subset costs little accuracy; ``lower_se``
      says how much.

    When the two sides agree within a few of their standard errors, the
    annealing has converged and either is the log-likelihood; a wide gap
    measures how far it is from that. ``interval`` is the smallest range
    holding both sides with three standard errors on each side of each.

    Attributes
    ----------
    lower : float
        RAISE estimate of the (weighted) mean log-likelihood, in nats.
    upper : float
        Forward AIS estimate, equal to ``score`` with the same rows and
        weights.
    interval : tuple of float
        The smallest range holding ``lower +/- 3 * lower_se`` and ``upper
        +/- 3 * upper_se`` (usually ``(lower - 3 * lower_se, upper + 3 *
        upper_se)``); always finite.
    lower_se : float
        Standard error of ``lower``: the spread of the rows' estimates of ln
        Z, over the square root of the rows annealed.
    upper_se : float
        Standard error of ``upper``: that of ln Z_hat, sd(w) / (mean(w)
        sqrt(n_runs)) by the delta method.
    method : {"exact", "ais"}
        How ln Z was obtained; for "exact" both sides equal ``score``.
    n_rows : int
        Rows annealed for ``lower`` (0 for "exact").
    runs_per_row : int
        Reverse runs from each annealed row.
    log_partition : LogPartition
        The forward estimate of ln Z behind ``upper``.
    row_indices : ndarray of int or None
        Which rows were annealed (indices into the rows passed).
    row_lower : ndarray or None
        ln p_ann_hat(x) of each annealed row, in the order of
        ``row_indices``.

    References
    ----------
    Burda, Y., Grosse, R. and Salakhutdinov, R. (2015). Accurate and
    conservative estimates of MRF log-likelihood using reverse annealing.
    AISTATS.
    """

    lower: float
    upper: float
    interval: tuple
    lower_se: float
    upper_se: float
    method: str
    n_rows: int
    runs_per_row: int
    log_partition: LogPartition = field(repr=False)
    row_indices: np.ndarray | None = field(default=None, repr=False, compare=False)
    row_lower: np.ndarray | None = field(default=None, repr=False, compare=False)

    def trustworthy(self):
        """Whether the forward side's effective sample size is at least 10% of
        its runs (see :meth:`LogPartition.trustworthy`)."""
        return self.log_partition.trustworthy()

    def __str__(self):
        if self.method == "exact":
            return f"mean log-likelihood {self.upper:.4f} (exact ln Z)"
        low, high = self.interval
        return (
            f"mean log-likelihood in [{self.lower:.4f}, {self.upper:.4f}] "
            f"(RAISE on {self.n_rows} rows, forward AIS with ESS "
            f"{self.log_partition.ess:.1f} of {self.log_partition.n_runs}; "
            f"with 3 standard errors [{low:.4f}, {high:.4f}])"
        )
