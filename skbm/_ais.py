"""Annealed importance sampling (AIS) of log partition functions.

Pure functions on arrays, shared by every model (Neal, 2001; Salakhutdinov
and Murray, 2008). All three estimators reduce to one problem: a Boltzmann
machine with energy Phi(x) = -1/2 x^T W x - b . x whose units are split into
a set K that is sampled and a set R of units with no couplings among
themselves, which are summed out in closed form given K. An RBM is the case
K = visible, R = hidden and W_KK = 0.

The path is geometric between a base model of independent units with
logits ``a`` (p_A(x) proportional to exp(a . x)) and the target p_B,

    ln f_beta(x) = beta * (-Phi(x)) + (1 - beta) * a . x,

and with R summed out, on the states x_K of K,

    ln f_beta(x_K) = beta * (1/2 x_K W_KK x_K + b_K . x_K)
                     + (1 - beta) * a_K . x_K
                     + sum_{j in R} softplus(beta * (b_j + x_K W_Kj)
                                             + (1 - beta) * a_j),

so Z_0 = prod_i (1 + exp(a_i)) over all units. For the RBM this is the
construction of Salakhutdinov and Murray: the intermediate model is an RBM
with weights beta W, hidden biases beta c and visible biases
(1 - beta) a + beta b.

A run draws x from p_0, then for k = 1 .. K adds
ln f_k(x) - ln f_{k-1}(x) to its log weight and moves x with a transition
that leaves f_k invariant: the units of R are drawn given K, then the colour
blocks of K are resampled in turn given everything else (block Gibbs). The
mean of the weights is an unbiased estimate of Z_K / Z_0. Running the same
loop along the reversed path (beta from 1 to 0), started from draws of the
target, estimates Z_0 / Z_K instead ("reverse AIS"). It is forward AIS
on the reversed sequence of distributions, so each reverse weight is
f_{k-1}(x) / f_k(x) at the state x *before* the move, and the move after it
leaves f_{k-1} (the new distribution) invariant; with exact start states
E[w_rev] = Z_0 / Z_K holds exactly (tests/test_ais.py checks the mean
weight of both directions on a small machine).

Runs are split into chunks of ``CHUNK_RUNS`` with seeds derived from the
caller's seed and the chunk index only; each chunk is computed on its own, so
results are identical whatever the number of joblib workers.
"""

import hashlib
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from scipy.special import logsumexp

from ._enumeration import BLOCK_BYTES
from ._graph import greedy_coloring, independent_split
from ._threads import helper_thread_pays

# Runs per chunk: the unit of parallel work and of seeding. Chunks are
# computed separately, so this sets how results depend on ais_runs (not on
# n_jobs). A chunk pays a fixed cost per step (about 16 numpy calls), which
# two chunks of 50 paid twice (25% slower than one of 100 on one core), so
# the default 100 runs are one chunk and workers help from 200 runs on.
CHUNK_RUNS = 100

# Uniform steps of Salakhutdinov and Murray (2008): 500 betas up to 0.5
# (steps of 1e-3), 4000 up to 0.9 (1e-4) and 10000 up to 1 (1e-5).
SCHEDULE_KNOTS = np.array([0.0, 500.0, 4500.0, 14500.0]) / 14500.0
SCHEDULE_BETAS = np.array([0.0, 0.5, 0.9, 1.0])

# The adapted schedule (``adapted_betas``): a pilot of PILOT_RUNS runs along
# PILOT_BETAS betas of the paper's schedule, cut into PILOT_SEGMENTS segments
# of equal steps, measures where the log weights vary. It runs only when it
# costs at most PILOT_SHARE of the runs it plans.
PILOT_RUNS, PILOT_BETAS, PILOT_SEGMENTS = 50, 1000, 25
PILOT_SHARE = 0.1

# ais_betas="auto" (``ess_chosen_log_weights``): runs of AUTO_FIRST_BETAS
# betas, then longer ones, until the effective sample size reaches
# AUTO_ESS_FRACTION of the runs or the length reaches AUTO_MAX_BETAS.
AUTO_FIRST_BETAS, AUTO_MAX_BETAS = 1000, 2**17
AUTO_ESS_FRACTION = 0.5

# Standard errors on each side of the mean weight in the reported interval.
N_STANDARD_ERRORS = 3.0

# Nats below ln of the mean weight that the interval's lower end never passes:
# whatever the weights' tails, P(ln mean(w) > ln E[w] + t) <= exp(-t)
# (Markov), so at t = 3 the lower end holds with probability >= 95%.
MARKOV_NATS = 3.0

# Steps of uniform draws taken from a stream at once (fixed, so that draws
# do not depend on how chains are batched). A page of 100 chains of a
# 784 x 500 RBM is then 4 MB: larger pages cost more in page faults and
# cache misses than they save in calls (0.32 against 0.28 ms per step at 32).
PAGE_STEPS = 8

# Random 32-bit words drawn from a stream at once, at least, where a page
# of it is smaller (32 KB). RAISE gives each row a stream of its own, whose
# pages of a 64 x 256 RBM are 2,560 words: drawn and shifted stream by
# stream, a page of 100 rows took 1.2-2.0 ms, against 0.4-0.5 ms for one
# stream of 100 chains; drawn three pages at a time and shifted at once,
# 0.6 ms.
STOCK_WORDS = 2**13

# Random draws per step (chains times units) from which ``anneal`` works in
# a helper thread beside its products, when one_pool allows it. Below, the
# handing over of pages costs more than it saves: measured on one BLAS
# thread, 100 chains of a 64 x 20 RBM (8,400 draws) took 1.34 times as long
# with the helper, 64 x 64 (12,800) 1.16 times, 64 x 128 (19,200) 0.88
# times and 784 x 100 (88,400) 0.66 times.
HELPER_DRAWS_PER_STEP = 2**14

# Largest |beta_k - beta_{k-1}| * |field| for which a weight increment is
# computed by the float32 log1p form (see ``anneal``); beyond it, expm1 of
# the step and the cancellation in log1p near -1 would lose accuracy (at 1,
# log1p's argument stays above 1/e - 1, and a term keeps about 1e-7 of it).
FAST_STEP_BOUND = 1.0

# Bits of the float32 1.0: OR-ed with 23 random mantissa bits, a float in [1, 2).
ONE_FLOAT32_BITS = np.uint32(0x3F800000)

# Seed tags, so that forward, reverse, clamped and data-started reverse runs
# draw unrelated streams.
FORWARD, REVERSE, CLAMPED, DATA_REVERSE, PILOT = 1, 2, 3, 4, 5


def default_betas(n_betas):
    """Inverse temperatures from 0 to 1, denser near 1 (Salakhutdinov & Murray).

    The schedule of the paper (steps of 1e-3 to 0.5, 1e-4 to 0.9 and 1e-5 to
    1, 14,501 points) is rescaled to ``n_betas`` points, keeping the
    fractions of the points spent in each segment: about 3.4% below 0.5,
    27.6% between 0.5 and 0.9 and 69% above 0.9.

    Parameters
    ----------
    n_betas : int
        Number of inverse temperatures, at least 2; the first is 0 and the
        last is 1.

    Returns
    -------
    betas : ndarray of shape (n_betas,)
        Increasing inverse temperatures, float64.

    Examples
    --------
    >>> from skbm._ais import default_betas
    >>> betas = default_betas(14501)
    >>> float(betas[500]), float(betas[4500]), float(betas[-1])
    (0.5, 0.9, 1.0)
    >>> float(betas[1] - betas[0]), float(betas[-1] - betas[-2])
    (0.001, 1e-05)
    """
    if n_betas < 2:
        raise ValueError(f"AIS needs at least 2 inverse temperatures, got {n_betas}.")
    positions = np.linspace(0.0, 1.0, n_betas)
    betas = np.interp(positions, SCHEDULE_KNOTS, SCHEDULE_BETAS)
    betas[0], betas[-1] = 0.0, 1.0
    return betas


def adapted_betas(problem, n_betas, n_runs, seed):
    """Inverse temperatures placed where a pilot's log weights vary most.

    The variance of a run's log weight is the sum, over the steps, of the
    variance each step adds. A step of size d at beta adds about g(beta) d**2,
    with g the variance of d ln f_beta / d beta; so with ``n_betas`` points
    the total is least, and every step adds the same, when the density of
    points is proportional to sqrt(g) (a schedule of equal thermodynamic
    length). A pilot of ``PILOT_RUNS`` runs along ``PILOT_BETAS`` points of
    :func:`default_betas`, cut into ``PILOT_SEGMENTS`` segments of equal
    steps, measures the variance its log weights gain in each segment; the
    segment then receives a share of the points proportional to the square
    root of that variance (for equal steps per segment, sqrt(g) integrated
    over the segment), spread evenly over it.

    The pilot draws from its own stream, so the runs along the schedule it
    returns stay unbiased. Where the pilot would cost more than
    ``PILOT_SHARE`` of the ``n_runs`` runs, :func:`default_betas` is
    returned unchanged.

    Measured on a 784 x 500 RBM fitted to 4,000 MNIST digits, 100 runs of
    10,000 points: the effective sample size rose from 10.5 to 20.2 and the
    spread of the log weights fell from 2.29 to 2.06 nats; on a 784 x 20
    RBM, from 34 to 49 and from 1.09 to 1.01 nats.

    Parameters
    ----------
    problem : AnnealingProblem
        The machine (not per chain).
    n_betas : int
        Points of the schedule, at least 2.
    n_runs : int
        Runs that will follow the schedule.
    seed : int
        Seed; the pilot draws from the stream ``(seed, PILOT)``.

    Returns
    -------
    betas : ndarray of shape (n_betas,)
        Increasing inverse temperatures from 0 to 1.
    """
    if PILOT_RUNS * PILOT_BETAS > PILOT_SHARE * n_runs * n_betas:
        return default_betas(n_betas)
    grid = default_betas(PILOT_BETAS)
    edges = np.linspace(0, PILOT_BETAS - 1, PILOT_SEGMENTS + 1).round().astype(int)
    rng = _stream([seed, PILOT])
    states = problem.sample_base(PILOT_RUNS, rng)
    uniforms = _uniforms(problem, PILOT_RUNS, rng)
    spread = np.empty(PILOT_SEGMENTS)
    for index, (start, stop) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        log_w, states = anneal(problem, states, grid[start : stop + 1], uniforms)
        spread[index] = np.sqrt(np.var(log_w))
    # A floor, so that no segment is skipped where the pilot saw no spread.
    share = np.maximum(spread, 1e-3 * spread.max(initial=0.0) + 1e-12)
    mass = np.concatenate([[0.0], np.cumsum(share)]) / share.sum()
    betas = np.interp(np.linspace(0.0, 1.0, n_betas), mass, grid[edges])
    betas[0], betas[-1] = 0.0, 1.0
    return np.maximum.accumulate(betas)


@dataclass(frozen=True)
class AnnealingProblem:
    """A Boltzmann machine to anneal to, split into sampled and summed units.

    Intercepts and base logits may hold one row per chain (shape
    ``(n_chains, n)``) for problems that differ from chain to chain, such as
    the hidden units clamped to different visible rows.

    Parameters
    ----------
    W_KK : ndarray of shape (n_K, n_K) or None
        Couplings among the sampled units, symmetric with a zero diagonal;
        ``None`` means zero (bipartite machines).
    W_KR : ndarray of shape (n_K, n_R)
        Couplings from the sampled to the summed units.
    b_K, b_R : ndarray of shape (n_K,) and (n_R,), or one row per chain
        Target intercepts.
    a_K, a_R : ndarray of shape (n_K,) and (n_R,), or one row per chain
        Logits of the independent base model.
    blocks : list of ndarray of int
        Independent sets of the graph among K (indices into K) that cover K,
        resampled one after another in a sweep.
    units_K, units_R : UnitType
        Unit types of the sampled and of the summed units.
    sampled : ndarray of int, default=None
        Indices of the columns of K among the machine's columns; draws of
        all units give the start states ``x[:, sampled]``. ``None`` means the
        first ``n_K`` columns.
    block_units : tuple of UnitType, default=None
        The unit type of each block, when a unit spans several columns
        (categorical units); ``None`` means ``units_K`` for every block.
    offset : float, default=0.0
        A constant term of ln f_beta at every beta (a Gaussian RBM's
        -sum b**2 / (2 sigma**2)): it leaves every weight unchanged and is
        part of ln Z_0, so of the estimate of ln Z.
    """

    W_KK: object
    W_KR: np.ndarray
    b_K: np.ndarray
    b_R: np.ndarray
    a_K: np.ndarray
    a_R: np.ndarray
    blocks: tuple
    units_K: object
    units_R: object
    sampled: object = None
    block_units: object = None
    offset: float = 0.0

    def units_of_blocks(self):
        """The unit type of each block of K."""
        if self.block_units is None:
            return (self.units_K,) * len(self.blocks)
        return self.block_units

    def log_z_base(self):
        """ln Z_0 = sum over all units of their cumulant at a (plus the offset),
        per chain if rows."""
        return (
            self.units_K.cumulant(np.asarray(self.a_K, float)).sum(axis=-1)
            + self.units_R.cumulant(np.asarray(self.a_R, float)).sum(axis=-1)
            + self.offset
        )

    def sample_base(self, n_chains, rng):
        """Exact draws of x_K from the base model, float64."""
        field = np.broadcast_to(np.asarray(self.a_K, float), (n_chains, len(self.W_KR)))
        return self.units_K.sample(field, rng)

    def start_states(self, states):
        """The sampled units' columns of draws of all the machine's units."""
        states = np.asarray(states, dtype=np.float64)
        if self.sampled is None:
            return states[:, : len(self.W_KR)]
        return states[:, self.sampled]

    def rows(self, rows):
        """The problem restricted to chains ``rows`` (per-chain arrays only)."""

        def take(value):
            value = np.asarray(value)
            return value[rows] if value.ndim == 2 else value

        return AnnealingProblem(
            self.W_KK,
            self.W_KR,
            take(self.b_K),
            take(self.b_R),
            take(self.a_K),
            take(self.a_R),
            self.blocks,
            self.units_K,
            self.units_R,
            self.sampled,
            self.block_units,
            self.offset,
        )


def machine_problem(coupling, intercept, base_logits, units):
    """The :class:`AnnealingProblem` of a general Boltzmann machine.

    A greedy independent set R of the graph ``coupling != 0`` is summed out;
    the other units K are resampled over a greedy colouring of their graph.

    Parameters
    ----------
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal.
    intercept : ndarray of shape (n_units,)
        Intercepts.
    base_logits : ndarray of shape (n_units,)
        Fields of the independent base model.
    units : UnitType
        The unit type of the machine.

    Returns
    -------
    problem : AnnealingProblem
        The problem; ``problem.sampled`` holds the indices of K.
    """
    W = np.asarray(coupling, dtype=np.float64)
    b = np.asarray(intercept, dtype=np.float64)
    a = np.asarray(base_logits, dtype=np.float64)
    graph = units.unit_graph(W != 0)
    K_units, R_units = independent_split(graph, range(graph.shape[0]))
    K, R = units.columns(K_units), units.columns(R_units)
    units_K = units.restrict(K_units)
    # Colour classes of the units of K, as columns of K.
    classes = greedy_coloring(graph[np.ix_(K_units, K_units)]) if len(K_units) else []
    blocks = tuple(units_K.columns(members) for members in classes)
    return AnnealingProblem(
        W_KK=W[np.ix_(K, K)],
        W_KR=W[np.ix_(K, R)],
        b_K=b[K],
        b_R=b[R],
        a_K=a[K],
        a_R=a[R],
        blocks=blocks,
        units_K=units_K,
        units_R=units.restrict(R_units),
        sampled=K,
        block_units=tuple(units_K.restrict(members) for members in classes),
    )


class PagedUniforms:
    """Random draws for the AIS transitions, a page of steps at a time.

    Stream ``i`` feeds ``rows`` consecutive chains. Every stream is read in
    pages of ``PAGE_STEPS`` steps of float32 uniforms u (first those of the
    summed units, then those of the sampled units), so the numbers a chain
    receives depend on its own stream only, not on which other streams are
    batched with it. A page returns them in the forms the transitions
    compare with, so that no sigmoid is evaluated: 1 / u for the summed
    units (on when 1 + exp(-t) < 1 / u) and ``logit(u) = ln(u / (1 - u))``
    for the sampled units (on when logit(u) < t); both hold exactly when
    u < expit(t).

    Parameters
    ----------
    rngs : list of numpy.random.Generator
        One stream per group of chains.
    rows : int
        Chains per stream.
    width : int
        Draws per chain and step, n_R + n_K.
    """

    def __init__(self, rngs, rows, width):
        self.rngs, self.rows, self.width = rngs, rows, width
        self.sets, self.turn = [], 1  # the first page takes set 0
        self.raw = np.empty((len(rngs), 0), np.uint64)
        self.stock, self.taken = self.raw.view(np.uint32), 0

    def _words(self, count):
        """The next ``count`` random 32-bit words of every stream, as an
        array of shape (n_streams, count): halves of raw 64-bit outputs, in
        order (``count`` is even, as PAGE_STEPS is, so no half is skipped)."""
        if self.taken == self.stock.shape[1]:
            # Small pages are drawn several at a time, so that a stream of
            # one chain (a row of RAISE) costs few calls; large ones one
            # request at a time, so the words are still in cache when used.
            page_words = PAGE_STEPS * self.rows * self.width
            size = max(STOCK_WORDS // page_words, 1) * page_words
            size = count if page_words > STOCK_WORDS else size
            if len(self.rngs) == 1:  # no copy
                raw = self.rngs[0].bit_generator.random_raw(size // 2)[None]
            else:
                if self.raw.shape[1] < size // 2:
                    self.raw = np.empty((len(self.rngs), size // 2), np.uint64)
                raw = self.raw[:, : size // 2]
                for stream, rng in zip(raw, self.rngs, strict=True):
                    stream[...] = rng.bit_generator.random_raw(size // 2)
            self.stock, self.taken = raw.view(np.uint32), 0
        self.taken += count
        return self.stock[:, self.taken - count : self.taken]

    def page(self, n_r):
        """The next page: 1 / u for R and logit(u) for K.

        Parameters
        ----------
        n_r : int
            Draws per chain and step for the summed units; the other
            ``width - n_r`` are for the sampled units.

        Returns
        -------
        inverse_R, logits_K : ndarray of shape (PAGE_STEPS, n_chains, n)
            Float32, n = n_r and width - n_r; a uniform of exactly 0 gives
            +inf and -inf. Two sets of buffers are used in turn, so a page
            stays valid while the next is drawn and is overwritten by the
            call after (fresh arrays would cost page faults); callers may
            modify it.
        """
        self.turn = 1 - self.turn
        while len(self.sets) <= self.turn:
            n_chains = self.rows * len(self.rngs)
            self.sets.append(
                [
                    np.empty((PAGE_STEPS, n_chains, n), np.float32)
                    for n in (n_r, self.width - n_r)
                ]
            )
            self.spare = np.empty_like(self.sets[0][1])
        inverse_R, logits_K = buffers = self.sets[self.turn]
        n_streams = len(self.rngs)
        for buffer in buffers:
            # Each stream's draws for R, then for K: 23 bits of a 32-bit
            # word as the mantissa of a float32 v in [1, 2); u = v - 1.
            n = buffer.shape[2]
            words = self._words(PAGE_STEPS * self.rows * n)
            words = words.reshape(n_streams, PAGE_STEPS, self.rows, n)
            shape = (PAGE_STEPS, n_streams, self.rows, n)
            out = buffer.view(np.uint32).reshape(shape)
            np.right_shift(words.transpose(1, 0, 2, 3), 9, out=out)
        for v in buffers:
            np.bitwise_or(v.view(np.uint32), ONE_FLOAT32_BITS, out=v.view(np.uint32))
        np.subtract(2, logits_K, out=self.spare)
        with np.errstate(divide="ignore"):
            for v in buffers:
                v -= 1
            np.divide(1, inverse_R, out=inverse_R)
            np.divide(logits_K, self.spare, out=logits_K)
            np.log(logits_K, out=logits_K)
        return buffers


class Progress:
    """Reports how far AIS runs have come, at most every ``every`` seconds.

    ``anneal`` calls :meth:`advance` once per page of steps; a line gives
    the inverse temperatures done, the time elapsed and an estimate of the
    time left, so that a score that takes minutes does not sit silent.

    Parameters
    ----------
    label : str
        What is annealed, e.g. "forward AIS, 100 runs".
    total_steps : int
        Steps of all the batches this reporter follows.
    every : float, default=10.0
        Seconds between lines.
    """

    def __init__(self, label, total_steps, every=10.0):
        self.label, self.total, self.every = label, max(int(total_steps), 1), every
        self.done = 0
        self.start = self.last = None

    def advance(self, steps):
        now = time.perf_counter()
        if self.start is None:
            self.start = self.last = now
        self.done = min(self.done + steps, self.total)
        if now - self.last >= self.every or self.done == self.total:
            self.last = now
            elapsed = now - self.start
            left = elapsed * (self.total - self.done) / self.done
            print(
                f"[{self.label}] step {self.done:.0f} of {self.total} "
                f"({100 * self.done / self.total:.0f}%), {elapsed:.1f} s elapsed, "
                f"about {left:.0f} s left",
                flush=True,
            )


def anneal(problem, states, betas, uniforms, progress=None):
    """One batch of AIS runs along ``betas``, vectorised over the chains.

    Problems whose units all have logistic conditionals ({0,1} units) run
    the fused kernel described below; any other unit types run
    :func:`anneal_generic`, which calls only the unit-type interface.

    Per step, the log weights take ln f_new(x) - ln f_old(x). Given
    s = x W_KR + b_R - a_R on a summed unit and t = a_R + beta * s, the unit
    contributes softplus(t_new) - softplus(t_old), computed from the odds
    1 + exp(-t_new) (see :class:`_PageWeights`), which are also what the
    transition needs: a summed unit is on with probability
    1 / (1 + exp(-t_new)), that is when 1 + exp(-t_new) < 1 / u for a
    uniform u. The part of ln f linear in beta, x . (b_K - a_K)
    (+ 1/2 x W_KK x), is one more column of the weight product. The sampled
    units' fields are compared with the logistic draws of
    :class:`PagedUniforms`, turned once per page into thresholds: a unit is
    on when its threshold is below its field. The products are float32; the
    log weights stay float64.

    Only the products, the odds and the comparisons are on the path from
    one step to the next. Drawing the next page of random numbers and
    summing the log-weight terms of the last page run in a helper thread
    when :func:`one_pool` says a core is idle and a step has at least
    ``HELPER_DRAWS_PER_STEP`` draws, and at once otherwise; the numbers are
    the same either way.

    Parameters
    ----------
    problem : AnnealingProblem
        The target, the base and the split of the units.
    states : ndarray of shape (n_chains, n_K)
        Start states, exact draws of the distribution at ``betas[0]``.
    betas : ndarray of shape (n_betas,)
        Non-negative inverse temperatures in the order they are visited:
        increasing for forward AIS, decreasing for reverse AIS.
    uniforms : PagedUniforms
        ``uniforms.page(n_R)`` returns the draws of ``PAGE_STEPS``
        transitions: inverse uniforms of shape (PAGE_STEPS, n_chains, n_R)
        for R and logistic draws of shape (PAGE_STEPS, n_chains, n_K) for K.
    progress : Progress, default=None
        Told of every page of steps done.

    Returns
    -------
    log_weights : ndarray of shape (n_chains,)
        sum_k ln f_{beta_k}(x_k) - ln f_{beta_{k-1}}(x_k), float64; their
        exponentials average to Z(betas[-1]) / Z(betas[0]).
    states : ndarray of shape (n_chains, n_K)
        Final states.
    """
    betas = np.asarray(betas, dtype=np.float64)
    if np.any(betas < 0):
        raise ValueError("Inverse temperatures must not be negative.")
    if not (problem.units_K.logistic and problem.units_R.logistic):
        return _anneal_streams(problem, states, betas, uniforms, progress)
    states = np.asarray(states, dtype=np.float64)
    n_chains, n_k = states.shape
    b_K, b_R = np.asarray(problem.b_K, float), np.asarray(problem.b_R, float)
    a_K, a_R = np.asarray(problem.a_K, float), np.asarray(problem.a_R, float)
    W_KR = np.asarray(problem.W_KR, float)
    W_KK = None if problem.W_KK is None else np.asarray(problem.W_KK, float)
    n_r = W_KR.shape[1]
    n_s = n_r + 1  # the summed units and the linear part
    # ln f_beta = ln f_0 + beta * (target - base): the linear part on K, the
    # quadratic part 1/2 x W_KK x and, per unit of R, softplus(a + beta * s).
    linear_K = b_K - a_K
    shift_R = b_R - a_R
    quadratic = W_KK is not None
    # Weight product [x, 1] @ [[W_KR, linear_K, 1/2 W_KK], [shift_R, 0, 0]]:
    # the fields s, the linear part (if one row for all chains), then x W_KK.
    # In float32, twice as fast as float64: a field's rounding error (about
    # 1e-7 of it) enters the log weight times the step, and the steps sum
    # to 1, so a run's log weight moves by at most about 1e-7 of the summed
    # absolute fields (5e-3 nats for 500 fields of 100).
    W_aug = np.zeros((n_k + 1, n_s + (n_k if quadratic else 0)), np.float32)
    W_aug[:n_k, :n_r] = W_KR
    if linear_K.ndim == 1:
        W_aug[:n_k, n_r] = linear_K
    if shift_R.ndim == 1:
        W_aug[n_k, :n_r] = shift_R
    if quadratic:
        W_aug[:n_k, n_s:] = 0.5 * W_KK
    xw = np.ones((n_chains, n_k + 1), np.float32)
    xw[:, :n_k] = states
    x = xw[:, :n_k]
    a_R32 = a_R.astype(np.float32) if np.any(a_R) else None
    # Sampling, in float32: sources are h (bipartite) or [x, h], each with the
    # column of the linear part, which stays 0.
    n_sources = n_s + (n_k if quadratic else 0)
    sources = np.zeros((n_chains, n_sources), np.float32)
    hidden = sources[:, n_sources - n_s : n_sources - 1]
    W_to_K = np.zeros((n_sources, n_k), np.float32)
    W_to_K[n_sources - n_s : n_sources - 1] = W_KR.T
    if quadratic:
        W_to_K[:n_k] = W_KK
        sources[:, :n_k] = states
    target = sources if quadratic else xw
    prepared = []
    for block in problem.blocks:
        block = np.asarray(block, dtype=np.intp)
        contiguous = len(block) and np.all(np.diff(block) == 1)
        units = slice(block[0], block[-1] + 1) if contiguous else block
        prepared.append(
            (
                np.ascontiguousarray(W_to_K[:, block]),
                np.empty((n_chains, len(block)), np.float32),
                units,
            )
        )
    weights = _PageWeights(
        W_KR, a_R, shift_R, problem.units_R.cumulant, betas, n_chains, W_aug.shape[1]
    )
    # views[slot][j]: step j of a page's products (s, linear part, x W_KK / 2)
    # and odds, 1 + exp(-t_new), the inverse probability that a unit of R is
    # on; two slots, so that one page is summed while the next is recorded.
    views = [
        [
            (product, product[:, :n_r], product[:, n_r], product[:, n_s:], odds)
            for product, odds in zip(products, odds_page, strict=True)
        ]
        for products, odds_page in zip(weights.products, weights.odds, strict=True)
    ]
    # The draws of the next page and the log weights of the last one are
    # computed beside the products: in a helper thread where one_pool says a
    # core is idle, otherwise at once. Either way the numbers are the same.
    large = n_chains * (n_k + n_r) >= HELPER_DRAWS_PER_STEP
    helper = ThreadPoolExecutor(max_workers=1) if large and _draw_ahead.get() else None
    run = _at_once if helper is None else helper.submit
    pages = _transition_pages(uniforms, n_r, betas, a_K, linear_K)
    next_page = run(next, pages, None)
    summed = [_at_once(int), _at_once(int)]  # both slots free
    last = len(betas) - 1
    try:
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            for k in range(1, last + 1):
                page, j = divmod(k - 1, PAGE_STEPS)
                slot = page % 2
                if j == 0:
                    summed[slot].result()  # the slot is free again
                product, s, linear, quad, odds = views[slot][j]
                new = float(betas[k])
                np.matmul(xw, W_aug, out=product)
                if shift_R.ndim == 2:
                    s += shift_R
                if quadratic:
                    linear += np.einsum("ij,ij->i", x, quad)
                if linear_K.ndim == 2:
                    linear += np.einsum("ij,ij->i", x, linear_K)
                np.multiply(s, -new, out=odds)
                if a_R32 is not None:
                    odds -= a_R32
                np.exp(odds, out=odds)
                odds += 1.0
                if j == PAGE_STEPS - 1 or k == last:
                    summed[slot] = run(weights.add, slot, k - 1 - j, j + 1)
                    if progress is not None:
                        progress.advance(j + 1)
                if k == last:
                    break
                # Transition leaving f_new invariant: R given K, then K block
                # by block; a unit of K is on when its logistic draw is below
                # a + new * (field + b - a), i.e.
                # (draw - a) / new - (b - a) < field.
                if j == 0:
                    inverse_R, thresholds_K = next_page.result()
                    next_page = run(next, pages, None)
                np.less(odds, inverse_R[j], out=hidden)
                draws_K = thresholds_K[j]
                for columns, field, units in prepared:
                    np.matmul(sources, columns, out=field)
                    if isinstance(units, slice):
                        np.less(draws_K[:, units], field, out=target[:, units])
                    else:
                        target[:, units] = draws_K[:, units] < field
                if quadratic:
                    x[...] = sources[:, :n_k]
        for future in summed:
            future.result()
    finally:
        if helper is not None:
            helper.shutdown(wait=True, cancel_futures=True)
    return weights.log_w, x.astype(np.float64)


class _PageWeights:
    """The log weights of :func:`anneal`, summed a page of steps at a time.

    The annealing loop records, per step, the weight product [s, linear
    part, ...] and the odds 1 + exp(-t_new) in :attr:`products` and
    :attr:`odds` (two slots of ``PAGE_STEPS`` steps); :meth:`add` turns a
    recorded page into log-weight terms, off the loop's critical path.

    Per step and unit of R the term is softplus(t_new) - softplus(t_old) =
    -ln(1 + (exp(-step * s) - 1) / (1 + exp(-t_new))): no cancellation
    between two large softplus values, in float32 to about 1e-7 of each
    term while |step| * |s| <= ``FAST_STEP_BOUND`` (checked per chain and
    step against the largest |s| a state can give). Chains with larger
    steps take the difference of two softplus in float64. The part linear in
    beta adds step times its product column; the terms of a step are summed
    per chain (about 1e-7 of the sum as error) and added in float64.
    """

    def __init__(self, W_KR, a_R, shift_R, cumulant, betas, n_chains, width):
        self.a_R, self.cumulant = a_R, cumulant
        self.n_r = n_r = W_KR.shape[1]
        self.betas, self.steps = betas, np.diff(betas)
        self.products = np.empty((2, PAGE_STEPS, n_chains, width), np.float32)
        self.odds = np.empty((2, PAGE_STEPS, n_chains, n_r), np.float32)
        self.terms = np.empty((PAGE_STEPS, n_chains, n_r), np.float32)
        self.row_sums = np.empty((PAGE_STEPS, n_chains), np.float32)
        self.log_w = np.zeros(n_chains)
        # Per chain, the largest |step| for which the fast form is used: |s|
        # is at most sum_i |W_ij| + |shift_j|.
        bound = np.max(np.abs(W_KR).sum(axis=0) + np.abs(shift_R), axis=-1, initial=0)
        with np.errstate(divide="ignore"):
            limit = np.broadcast_to(FAST_STEP_BOUND / bound, (n_chains,))
        self.order = np.argsort(limit, kind="stable")
        self.n_slow = np.searchsorted(
            limit[self.order], np.abs(self.steps), side="left"
        )

    def add(self, slot, first, count):
        """Add the terms of steps ``first .. first + count - 1`` (indices of
        ``np.diff(betas)``), recorded in ``slot``, to :attr:`log_w`."""
        n_r = self.n_r
        steps = self.steps[first : first + count]
        fields = self.products[slot, :count, :, :n_r]
        terms, row_sums = self.terms[:count], self.row_sums[:count]
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            np.multiply(fields, -steps.astype(np.float32)[:, None, None], out=terms)
            np.expm1(terms, out=terms)
            terms /= self.odds[slot, :count]
            np.log1p(terms, out=terms)
        # Row sums that do not depend on the number of rows (gemv may).
        np.einsum("kij->ki", terms, out=row_sums)
        totals = steps[:, None] * self.products[slot, :count, :, n_r] - row_sums
        for index in np.flatnonzero(self.n_slow[first : first + count]):
            old, new = self.betas[first + index : first + index + 2]
            rows = self.order[: self.n_slow[first + index]]
            s = fields[index, rows].astype(np.float64)
            a = self.a_R[rows] if self.a_R.ndim == 2 else self.a_R
            totals[index, rows] = steps[index] * self.products[
                slot, index, rows, n_r
            ] + (self.cumulant(new * s + a) - self.cumulant(old * s + a)).sum(axis=1)
        self.log_w += totals.sum(axis=0)


def _at_once(function, *args):
    """A finished Future of ``function(*args)``: the helper thread's stand-in."""
    future = Future()
    try:
        future.set_result(function(*args))
    except Exception as error:  # re-raised by future.result()
        future.set_exception(error)
    return future


def _transition_pages(uniforms, n_r, betas, a_K, linear_K):
    """The draws of the transitions at ``betas[1:-1]``, a page at a time:
    1 / u for R and, for K, thresholds (logit(u) - a) / beta - (b - a)."""
    a_K32, linear_K32 = a_K.astype(np.float32), linear_K.astype(np.float32)
    scale = np.ones((PAGE_STEPS, 1, 1))
    moves = betas[1:-1]  # the last beta has no transition (it may be 0)
    for first in range(0, len(moves), PAGE_STEPS):
        inverse_R, thresholds_K = uniforms.page(n_r)
        page_betas = moves[first : first + PAGE_STEPS]
        scale[: len(page_betas), 0, 0] = 1.0 / page_betas
        scale32 = scale.astype(np.float32)
        with np.errstate(divide="ignore", invalid="ignore"):
            thresholds_K *= scale32
            thresholds_K -= a_K32 * scale32 + linear_K32
        yield inverse_R, thresholds_K


# Whether ``anneal`` works in a helper thread beside its products (drawing
# the next page of random numbers, summing the last page's log weights);
# set per task by ``one_pool``.
_draw_ahead = ContextVar("draw_ahead", default=False)


def anneal_generic(problem, states, betas, rng):
    """AIS runs along ``betas`` for any unit types, vectorised over the chains.

    Per step, the log weights take ln f_new(x) - ln f_old(x), with

        ln f_beta(x_K) = beta * (1/2 x_K W_KK x_K + b_K . x_K)
                         + (1 - beta) * a_K . x_K - self_energy_K(x_K)
                         + sum_{j in R} cumulant_R(beta * (b_j + x_K W_Kj)
                                                   + (1 - beta) * a_j),

    and the transition that leaves f_new invariant draws R given K, then
    the blocks of K in turn, with the unit types' samplers. Plain numpy on
    the unit-type interface: the reference that :func:`anneal`'s fused
    kernel for {0,1} units is an optimisation of.

    Parameters
    ----------
    problem : AnnealingProblem
        The target, the base and the split of the units.
    states : ndarray of shape (n_chains, n_K)
        Start states, exact draws of the distribution at ``betas[0]``.
    betas : ndarray of shape (n_betas,)
        Non-negative inverse temperatures in the order they are visited.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    log_weights : ndarray of shape (n_chains,)
        Float64 log weights.
    states : ndarray of shape (n_chains, n_K)
        Final states.
    """
    x = np.array(states, dtype=np.float64)
    b_K, b_R = np.asarray(problem.b_K, float), np.asarray(problem.b_R, float)
    a_K, a_R = np.asarray(problem.a_K, float), np.asarray(problem.a_R, float)
    W_KR = np.asarray(problem.W_KR, float)
    W_KK = None if problem.W_KK is None else np.asarray(problem.W_KK, float)
    units_K, units_R = problem.units_K, problem.units_R

    def field_R(beta):
        return beta * (x @ W_KR + b_R) + (1 - beta) * a_R

    def log_f(beta):
        linear = np.broadcast_to(beta * b_K + (1 - beta) * a_K, x.shape)
        value = np.einsum("ij,ij->i", x, linear)
        if W_KK is not None:
            value += 0.5 * beta * np.einsum("ij,ij->i", x @ W_KK, x)
        value -= units_K.self_energy(x)
        return value + units_R.cumulant(field_R(beta)).sum(axis=-1)

    log_w = np.zeros(x.shape[0])
    last = len(betas) - 1
    for k in range(1, last + 1):
        old, new = float(betas[k - 1]), float(betas[k])
        log_w += log_f(new) - log_f(old)
        if k == last:
            break
        summed = units_R.sample(field_R(new), rng)
        for block, block_units in zip(
            problem.blocks, problem.units_of_blocks(), strict=True
        ):
            block = np.asarray(block, dtype=np.intp)
            field = summed @ W_KR[block].T + b_K[..., block]
            if W_KK is not None:
                field += x @ W_KK[:, block]
            field = new * field + (1 - new) * a_K[..., block]
            x[:, block] = block_units.sample(field, rng)
    return log_w, x


def _anneal_streams(problem, states, betas, uniforms, progress=None):
    """:func:`anneal_generic` on each stream's chains, with that stream."""
    states = np.asarray(states, dtype=np.float64)
    log_w, final = np.empty(states.shape[0]), np.empty_like(states)
    n_streams = len(uniforms.rngs)
    for index, rng in enumerate(uniforms.rngs):
        chains = np.arange(index * uniforms.rows, (index + 1) * uniforms.rows)
        log_w[chains], final[chains] = anneal_generic(
            problem.rows(chains), states[chains], betas, rng
        )
        if progress is not None:
            # The streams share the steps of the batch.
            progress.advance((len(betas) - 1) / n_streams)
    return log_w, final


def _stream(seed):
    """The generator of a seed: SFC64, whose raw outputs are the cheapest."""
    return np.random.Generator(np.random.SFC64(seed))


def _chunks(n_runs):
    return [
        (start, min(start + CHUNK_RUNS, n_runs))
        for start in range(0, n_runs, CHUNK_RUNS)
    ]


def _progress(verbose, label, n_steps):
    return Progress(label, n_steps) if verbose else None


def _forward_chunk(problem, betas, n_chains, seed, verbose=0, label=""):
    rng = _stream(seed)
    start = problem.sample_base(n_chains, rng)
    progress = _progress(verbose, f"forward AIS, {label}", len(betas) - 1)
    return anneal(problem, start, betas, _uniforms(problem, n_chains, rng), progress)[0]


def _reverse_chunk(problem, betas, n_chains, seed, sample_target, verbose=0, label=""):
    rng = _stream(seed)
    start = sample_target(n_chains, rng)
    progress = _progress(verbose, f"reverse AIS, {label}", len(betas) - 1)
    uniforms = _uniforms(problem, n_chains, rng)
    return anneal(problem, start, betas[::-1], uniforms, progress)[0]


def _uniforms(problem, n_chains, rng):
    width = sum(np.shape(problem.W_KR))
    return PagedUniforms([rng], n_chains, width)


def _runs_label(start, stop, n_runs):
    return f"runs {start + 1}-{stop} of {n_runs}"


def forward_tasks(problem, betas, n_runs, seed, verbose=0):
    """joblib tasks of :func:`forward_log_weights`, for :func:`one_pool`."""
    return [
        delayed(_forward_chunk)(
            problem,
            betas,
            stop - start,
            [seed, FORWARD, index],
            verbose,
            _runs_label(start, stop, n_runs),
        )
        for index, (start, stop) in enumerate(_chunks(n_runs))
    ]


def reverse_tasks(problem, betas, n_runs, seed, sample_target, verbose=0):
    """joblib tasks of :func:`reverse_log_weights`, for :func:`one_pool`."""
    return [
        delayed(_reverse_chunk)(
            problem,
            betas,
            stop - start,
            [seed, REVERSE, index],
            sample_target,
            verbose,
            _runs_label(start, stop, n_runs),
        )
        for index, (start, stop) in enumerate(_chunks(n_runs))
    ]


def one_pool(task_lists, n_jobs=None):
    """Run several lists of joblib tasks in one pool of ``n_jobs`` workers.

    So that two workers run, say, the forward runs and the reverse runs side
    by side even when each is a single chunk. Every task computes the same
    thing wherever it runs, so the results do not depend on ``n_jobs``.

    Returns
    -------
    results : list of (ndarray or None)
        The concatenated results of each list, ``None`` for an empty list.
    """
    tasks = [task for tasks in task_lists for task in tasks]
    # The random draws of each task's annealing are made in a helper thread
    # (the same draws, in the same order) where a core would be left idle.
    ahead = helper_thread_pays(min(effective_n_jobs(n_jobs), len(tasks)))
    results = Parallel(n_jobs=n_jobs)(delayed(_run)(task, ahead) for task in tasks)
    out, start = [], 0
    for tasks in task_lists:
        stop = start + len(tasks)
        out.append(np.concatenate(results[start:stop]) if tasks else None)
        start = stop
    return out


def _run(task, ahead):
    """Call a ``delayed`` task with ``anneal``'s helper thread on or off."""
    function, args, kwargs = task
    token = _draw_ahead.set(ahead)
    try:
        return function(*args, **kwargs)
    finally:
        _draw_ahead.reset(token)


def forward_log_weights(problem, betas, n_runs, seed, n_jobs=None, verbose=0):
    """Log weights of ``n_runs`` forward AIS runs, ln of Z_B / Z_0 estimates.

    Parameters
    ----------
    problem : AnnealingProblem
        The machine; intercepts and logits must not be per chain.
    betas : ndarray of shape (n_betas,)
        Increasing inverse temperatures from 0 to 1.
    n_runs : int
        Number of independent runs.
    seed : int
        Seed; chunk ``i`` of ``CHUNK_RUNS`` runs draws from the stream
        ``(seed, FORWARD, i)`` whatever ``n_jobs``.
    n_jobs : int, default=None
        joblib workers over the chunks.
    verbose : int, default=0
        Print each chunk's progress (see :class:`Progress`) when positive.

    Returns
    -------
    log_weights : ndarray of shape (n_runs,)
        Float64 log weights.
    """
    return one_pool([forward_tasks(problem, betas, n_runs, seed, verbose)], n_jobs)[0]


def reverse_log_weights(
    problem, betas, n_runs, seed, sample_target, n_jobs=None, verbose=0
):
    """Log weights of ``n_runs`` reverse AIS runs, ln of Z_0 / Z_B estimates.

    Each run starts from ``sample_target(n, rng)``, draws of x_K from the
    target, and anneals from beta = 1 down to 0.

    Parameters
    ----------
    problem : AnnealingProblem
        The machine; intercepts and logits must not be per chain.
    betas : ndarray of shape (n_betas,)
        Increasing inverse temperatures from 0 to 1 (visited in reverse).
    n_runs : int
        Number of independent runs.
    seed : int
        Seed; chunk ``i`` draws from the stream ``(seed, REVERSE, i)``.
    sample_target : callable
        ``sample_target(n_chains, rng) -> ndarray (n_chains, n_K)``.
    n_jobs : int, default=None
        joblib workers over the chunks.
    verbose : int, default=0
        Print each chunk's progress when positive.

    Returns
    -------
    log_weights : ndarray of shape (n_runs,)
        Float64 log weights.
    """
    tasks = reverse_tasks(problem, betas, n_runs, seed, sample_target, verbose)
    return one_pool([tasks], n_jobs)[0]


def ess_chosen_log_weights(problem, n_runs, seed, n_jobs=None, verbose=0):
    """Forward AIS whose number of inverse temperatures is chosen by the
    effective sample size (``ais_betas="auto"``).

    Runs of ``AUTO_FIRST_BETAS`` points are tried first (along
    :func:`adapted_betas`); while their effective sample size is below
    ``AUTO_ESS_FRACTION`` of the runs, longer ones are tried, up to
    ``AUTO_MAX_BETAS``. The next length assumes that the variance of the log
    weights falls like 1 / sqrt(n_betas), as measured on a 784 x 500 MNIST
    RBM (12.3 at 2,000 points, 5.2 at 10,000), and aims at a variance of
    ln(1 / AUTO_ESS_FRACTION) (the effective sample size of log-normal
    weights is about n_runs * exp(-variance)); each step at least doubles
    and at most multiplies by 8. The runs of the length chosen are those a
    fixed ``ais_betas`` of that length gives, and the earlier ones are
    discarded, so the total cost is at most about twice theirs.

    Returns
    -------
    n_betas : int
        The number of inverse temperatures chosen.
    log_weights : ndarray of shape (n_runs,)
        The forward log weights of the runs of that length.
    """
    n_betas = AUTO_FIRST_BETAS
    target = np.log(1.0 / AUTO_ESS_FRACTION)
    while True:
        betas = adapted_betas(problem, n_betas, n_runs, seed)
        log_w = forward_log_weights(problem, betas, n_runs, seed, n_jobs, verbose)
        ess = weight_summary(log_w)[3]
        if ess >= AUTO_ESS_FRACTION * n_runs or n_betas >= AUTO_MAX_BETAS:
            return n_betas, log_w
        growth = min(max((np.var(log_w) / target) ** 2, 2.0), 8.0)
        following = min(int(n_betas * growth), AUTO_MAX_BETAS)
        if verbose:
            print(
                f"[AIS, ais_betas='auto'] {n_betas} betas: ESS {ess:.1f} of "
                f"{n_runs}; trying {following}",
                flush=True,
            )
        n_betas = following


def weight_summary(log_weights, n_standard_errors=N_STANDARD_ERRORS):
    """ln of the mean weight, its interval and the effective sample size.

    Parameters
    ----------
    log_weights : ndarray of shape (n_runs,)
        Log importance weights.
    n_standard_errors : float, default=3.0
        Half-width of the interval on the mean weight, in standard errors.

    Returns
    -------
    log_mean : float
        ln mean(w), computed with log-sum-exp.
    low, high : float
        ln(mean(w) -/+ n_standard_errors * se), with se the standard error of
        the mean (sample standard deviation / sqrt(n_runs)), except that
        ``low`` is at least ``log_mean - MARKOV_NATS``: with heavy-tailed
        weights mean(w) - 3 se may not be positive, and ln E[w] >= low then
        still holds with probability at least 1 - exp(-3) (Markov's
        inequality). ``high`` is +inf for a single run.
    ess : float
        Effective sample size (sum w)**2 / sum w**2, between 1 and n_runs.

    Examples
    --------
    >>> import numpy as np
    >>> from skbm._ais import weight_summary
    >>> log_mean, low, high, ess = weight_summary(np.log([1.0, 1.0, 1.0]))
    >>> float(log_mean), float(low), float(high), float(ess)
    (0.0, 0.0, 0.0, 3.0)
    """
    log_weights = np.asarray(log_weights, dtype=np.float64)
    n_runs = log_weights.shape[0]
    log_mean = float(logsumexp(log_weights) - np.log(n_runs))
    shift = float(np.max(log_weights))
    w = np.exp(log_weights - shift)
    ess = float(w.sum() ** 2 / np.sum(w**2))
    markov_low = log_mean - MARKOV_NATS
    if n_runs < 2:
        return log_mean, markov_low, np.inf, ess
    mean = w.mean()
    half = n_standard_errors * w.std(ddof=1) / np.sqrt(n_runs)
    high = shift + float(np.log(mean + half))
    low = shift + float(np.log(mean - half)) if mean - half > 0 else -np.inf
    return log_mean, max(low, markov_low), high, ess


def _row_stream(seed, row, tag=CLAMPED):
    """The generator of one row: seeded by its content, not position."""
    digest = hashlib.blake2b(row.tobytes(), digest_size=16).digest()
    words = np.frombuffer(digest, dtype=np.uint32).tolist()
    return _stream([seed, tag, *words])


def _clamped_batch(problem, rows, n_runs, betas, seed):
    """Log-mean weights of ``n_runs`` AIS runs for each of a batch of rows."""
    n_rows = rows.shape[0]
    rngs = [_row_stream(seed, row) for row in rows]
    n_k = problem.W_KR.shape[0]
    a_K = np.asarray(problem.a_K, dtype=np.float64)
    start = np.concatenate(
        [
            problem.units_K.sample(np.broadcast_to(a_K[index], (n_runs, n_k)), rng)
            for index, rng in enumerate(rngs)
        ]
    )
    chains = problem.rows(np.repeat(np.arange(n_rows), n_runs))
    log_mean_w = _log_mean_weights_per_row(chains, start, betas, rngs, n_runs)
    return log_mean_w + problem.log_z_base()


def _log_mean_weights_per_row(problem, states, betas, rngs, n_runs, progress=None):
    """Anneal ``n_runs`` consecutive chains per row, each row on its own stream
    of ``rngs``; ln of the mean weight of each row's chains."""
    uniforms = PagedUniforms(rngs, n_runs, sum(problem.W_KR.shape))
    log_w = anneal(problem, states, betas, uniforms, progress)[0]
    return logsumexp(log_w.reshape(len(rngs), n_runs), axis=1) - np.log(n_runs)


def _row_batches(problem, n_rows, n_runs):
    """Index batches of rows whose pages fit in ``BLOCK_BYTES``: per draw of
    a step, at most 16 bytes of draws (two float32 pages, the spare and a
    raw half-word) and at most 20 of recorded products, odds and terms
    (``_PageWeights``); 48 leaves room for the rest. Each row's stream also
    keeps a stock of at most ``STOCK_WORDS`` words of 4 bytes."""
    n_units = max(sum(np.shape(problem.W_KR)), 1)
    per_row = 48 * PAGE_STEPS * n_runs * n_units + 4 * STOCK_WORDS
    size = max(1, BLOCK_BYTES // per_row)
    return [
        np.arange(start, min(start + size, n_rows)) for start in range(0, n_rows, size)
    ]


def per_row_log_partitions(problem, rows, n_runs, betas, seed, n_jobs=None):
    """Forward AIS estimates of ln Z of one problem per row, vectorised.

    ``problem`` holds one row of intercepts and base fields per row of
    ``rows`` (for example the hidden units of a machine clamped to each
    visible row). Each row draws from its own stream, seeded by ``seed``
    and a hash of the row's values, so a row's estimate does not depend on
    the other rows passed or on their order, and equal rows get equal
    estimates. Each estimate is a stochastic lower bound, like forward AIS
    of ln Z.

    Parameters
    ----------
    problem : AnnealingProblem
        Per-row intercepts and base fields, one row per row of ``rows``.
    rows : ndarray of shape (n_rows, n_columns)
        The rows that seed the streams, float64 (distinct rows).
    n_runs : int
        AIS runs per row.
    betas : ndarray of shape (n_betas,)
        Increasing inverse temperatures from 0 to 1.
    seed : int
        Seed combined with each row's content.
    n_jobs : int, default=None
        joblib workers over batches of rows.

    Returns
    -------
    log_z : ndarray of shape (n_rows,)
        Estimates of ln Z of each row's problem, float64.
    """
    tasks = [
        delayed(_clamped_batch)(problem.rows(batch), rows[batch], n_runs, betas, seed)
        for batch in _row_batches(problem, len(rows), n_runs)
    ]
    result = one_pool([tasks], n_jobs)[0]
    return np.zeros(0) if result is None else result


def _data_reverse_batch(problem, starts, n_runs, betas, seed, verbose=0, label=""):
    """ln of the mean reverse weight of ``n_runs`` runs from each start."""
    rngs = [_row_stream(seed, row, DATA_REVERSE) for row in starts]
    # One transition at beta = 1 first (a zero-weight step from 1 to 1):
    # the annealing model's last move, reversed.
    path = np.concatenate([[1.0], betas[::-1]])
    progress = _progress(verbose, f"RAISE, {label}", len(path) - 1)
    chains = np.repeat(starts, n_runs, axis=0)
    return _log_mean_weights_per_row(problem, chains, path, rngs, n_runs, progress)


def data_reverse_log_weights(
    problem, starts, n_runs, betas, seed, n_jobs=None, verbose=0
):
    """Reverse AIS started from data rows: RAISE (Burda et al., 2015).

    Forward AIS with the transitions of :func:`anneal` is a generative model
    of its own, the annealing model p_ann: draw x_0 from the base, then move
    it with the transitions at beta_1, ..., beta_K = 1 in turn. Its
    probability of a row x is the expectation, over reverse runs started at
    x itself (one transition at beta = 1, then the reverse path to 0), of

        p_ann_hat(x) = f_1(x) / Z_0 * w_rev,

    with w_rev the reverse weight (the product of f_{k-1} / f_k at the states
    visited) and f_1 the target's unnormalised probability. So ln Z_0 - ln
    w_rev is an estimate of ln Z whose use in ln f_1(x) - (ln Z_0 - ln w_rev)
    gives a stochastic lower bound on ln p_ann(x): E[ln p_ann_hat(x)] <= ln
    p_ann(x) (Jensen) and P(ln p_ann_hat(x) > ln p_ann(x) + t) <= exp(-t)
    (Markov). As the annealing converges, p_ann tends to the target.

    Each start draws from its own stream, seeded by ``seed`` and a hash of
    the start, as in :func:`per_row_log_partitions`.

    Parameters
    ----------
    problem : AnnealingProblem
        The machine (not per chain).
    starts : ndarray of shape (n_rows, n_K)
        The sampled units' values in each data row, float64.
    n_runs : int
        Reverse runs per row.
    betas : ndarray of shape (n_betas,)
        Increasing inverse temperatures from 0 to 1 (visited in reverse).
    seed : int
        Seed combined with each row's content.
    n_jobs : int, default=None
        joblib workers over batches of rows.
    verbose : int, default=0
        Print each batch's progress when positive.

    Returns
    -------
    log_mean_weights : ndarray of shape (n_rows,)
        ln of the mean reverse weight of each row's runs, float64;
        ``ln Z_0 - log_mean_weights`` estimates ln Z from each row.

    References
    ----------
    Burda, Y., Grosse, R. and Salakhutdinov, R. (2015). Accurate and
    conservative estimates of MRF log-likelihood using reverse annealing.
    AISTATS.
    """
    tasks = data_reverse_tasks(problem, starts, n_runs, betas, seed, verbose)
    result = one_pool([tasks], n_jobs)[0]
    return np.zeros(0) if result is None else result


def data_reverse_tasks(problem, starts, n_runs, betas, seed, verbose=0):
    """joblib tasks of :func:`data_reverse_log_weights`, for :func:`one_pool`."""
    starts = np.asarray(starts, dtype=np.float64)
    betas = np.asarray(betas, dtype=np.float64)
    n_rows = len(starts)
    return [
        delayed(_data_reverse_batch)(
            problem,
            starts[batch],
            n_runs,
            betas,
            seed,
            verbose,
            f"rows {batch[0] + 1}-{batch[-1] + 1} of {n_rows}",
        )
        for batch in _row_batches(problem, n_rows, n_runs)
    ]
