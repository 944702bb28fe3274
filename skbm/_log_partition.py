"""The record of a log partition function: value, provenance and uncertainty."""

from dataclasses import dataclass, field

import numpy as np


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
      Murray, 2008). It is not a confidence interval with guaranteed
      coverage: with heavy-tailed weights the sample standard error
      underestimates the spread, which a small ``ess`` signals. The
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
        ln Z_0; the lower end is -inf when mean w - 3 se <= 0.
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
        ln Z_0 - ln(mean w_rev +/- 3 standard errors) of the reverse weights;
        the upper end is +inf when mean w_rev - 3 se <= 0.
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
