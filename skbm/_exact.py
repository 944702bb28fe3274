"""The exact-sum engine: sums over the states of a Boltzmann machine.

Every exact sum over states has one shape (:class:`SplitSum`). Some units
are *clamped* (given, one configuration per row), the others are *free*. The
free units are split into a set R of units with no couplings among
themselves and the rest K. Given the clamped units and a state of K, the
units of R are conditionally independent, so they are summed in closed form
by their unit type's cumulant::

    sum_{x_R} exp(-Phi) = exp(-Phi(x_c, x_K, 0)) prod_{j in R} exp(cumulant(f_j)),

with f_j the field on unit j, and only the states of K are enumerated. With
nothing clamped this gives ln Z and the exact moments E[x x^T] (a fully
connected machine of {0,1} units enumerates 2**(n - 1) states, a bipartite
one only its smaller side); with the visible units clamped it gives the sums
over hidden units.

The states of K are a product: a *low* part (its first units, at most
``LOW_STATES`` joint states, enumerated once) times a *high* part (the other
units, enumerated block by block so that memory stays bounded). The
quadratic form of a joint state is then that of its low part, plus that of
its high part, plus one cross term from a matrix product, so a state costs
O(|K|) operations rather than O(|K|**2), and the statistics of K come from
products of the probability table with the two small state arrays.

The engine knows nothing of any model: it takes couplings, intercepts, a
partition of the units and a unit type (:mod:`skbm._units`).
"""

import numpy as np
from scipy.special import logsumexp

from ._enumeration import map_blocks, state_ranges

# Most joint states of the low part of K, enumerated once per sum.
LOW_STATES = 1024


def _quadratic(states, coupling):
    """1/2 s^T W s for each state s (row by row)."""
    return 0.5 * np.einsum("ij,ij->i", states @ coupling, states)


class SplitSum:
    """Sums over the free units given clamped ones, in memory-bounded blocks.

    The engine of every exact sum over states of a general machine (see the
    module docstring).

    The clamped units take the values of a row of ``V``; the units of
    ``summed`` (no couplings among them) are summed in closed form by the
    unit type's cumulant and the states of ``enumerated`` are enumerated in
    the unit type's code order (the first unit varies fastest).

    Parameters
    ----------
    V : ndarray of shape (n_rows, n_clamped)
        Values of the clamped units, one configuration per row.
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal.
    intercept : ndarray of shape (n_units,)
        Intercepts.
    clamped : ndarray of int
        Columns of the clamped units (those of ``V``).
    enumerated, summed : ndarray of int
        The free units, as units of the layer ``units`` (for {0,1} units,
        unit j is column j); no two units of ``summed`` are coupled.
    units : UnitType
        The unit type of the free units (enumerated and summed): a layer
        whose units ``enumerated`` and ``summed`` name.
    """

    def __init__(self, V, coupling, intercept, clamped, enumerated, summed, units):
        W = np.asarray(coupling, dtype=np.float64)
        b = np.asarray(intercept, dtype=np.float64)
        V = np.asarray(V, dtype=np.float64)
        self.V, self.n_units, self.units = V, b.shape[0], units
        # The free units as units of the layer ``units`` and as columns.
        self.units_k = units.restrict(enumerated)
        self.units_r = units.restrict(summed)
        c = np.asarray(clamped, dtype=np.intp)
        k = units.columns(enumerated)
        r = units.columns(summed)
        self.clamped, self.enumerated, self.summed = c, k, r
        # Row by row (einsum), as V @ b may round a row differently with
        # the number of rows.
        base = _quadratic(V, W[np.ix_(c, c)]) + np.einsum("ij,j->i", V, b[c])
        field_k = V @ W[np.ix_(c, k)] + b[k]
        self.field_r = V @ W[np.ix_(c, r)] + b[r]

        # Floats per (row, joint state of K) in the widest work arrays: the
        # fields and means of R, the log weights and the probabilities.
        n_rows = V.shape[0]
        width = n_rows * (2 * r.shape[0] + 2)
        units_k = self.units_k
        n_k = np.asarray(enumerated).shape[0]
        n_states = units_k.n_joint_states(n_k)
        per_block = next(state_ranges(n_states, k.shape[0], width))[1]
        n_low = 0
        while n_low < n_k and units_k.n_joint_states(n_low + 1) <= min(
            per_block, LOW_STATES
        ):
            n_low += 1
        self.units_high = units_k.restrict(np.arange(n_low, n_k))
        self.n_high_units = n_k - n_low
        n_low_columns = units_k.columns(np.arange(n_low)).shape[0]
        low, high = k[:n_low_columns], k[n_low_columns:]
        self.low, self.high = low, high
        L = units_k.states(np.arange(units_k.n_joint_states(n_low)), n_low)
        self.low_states = L
        # Per row and low state: the base, the low part's fields and
        # quadratic form; per low state, its contribution to the fields on
        # R and on the high units.
        self.low_logits = (
            base[:, None]
            + field_k[:, :n_low_columns] @ L.T
            + _quadratic(L, W[np.ix_(low, low)])
        )
        self.low_field_r = L @ W[np.ix_(low, r)]
        self.low_field_high = L @ W[np.ix_(low, high)]
        self.field_high = field_k[:, n_low_columns:]
        self.W_hh = W[np.ix_(high, high)]
        self.W_hr = W[np.ix_(high, r)]
        self.W_kr = W[np.ix_(k, r)]
        n_high = self.units_high.n_joint_states(self.n_high_units)
        self.bounds = list(state_ranges(n_high, high.shape[0], width * L.shape[0]))

    def block(self, start, stop, means=False):
        """Log weights of high codes ``start`` to ``stop - 1``.

        Returns ``(logits, high_states, mean)``: the log weights
        (n_rows, n_high_states, n_low_states), the high states, and, if
        ``means``, the means of the summed units given each state (n_rows,
        n_high_states, n_low_states, n_summed), else None.
        """
        codes = np.arange(start, stop, dtype=np.int64)
        H = self.units_high.states(codes, self.n_high_units)
        high_logits = self.field_high @ H.T + _quadratic(H, self.W_hh)
        # In place where possible: each pass over the joint states counts.
        logits = (H @ self.low_field_high.T)[None, :, :] + self.low_logits[:, None, :]
        logits += high_logits[:, :, None]
        low_r = self.low_field_r[None, :, :] + self.field_r[:, None, :]
        field = (H @ self.W_hr)[None, :, None, :] + low_r[:, None, :, :]
        mean = self.units_r.mean(field) if means else None
        # In place: a fresh array of this size costs as much in page faults
        # as the cumulant itself.
        cumulant = self.units_r.cumulant(field, out=field)
        if cumulant.shape[3] == 1:
            logits += cumulant[..., 0]
        elif cumulant.shape[3]:
            logits += cumulant.sum(axis=3)
        return logits, H, mean

    def log_weights(self):
        """Log weights of all states of K for the first row, in code order."""
        return np.concatenate(
            [self.block(*bounds)[0][0].ravel() for bounds in self.bounds]
        )

    def log_sum(self, n_jobs=None):
        """ln of the sum over the free units, for each row, float64.

        The blocks run on ``n_jobs`` joblib threads; the result is the same
        for any value.
        """
        n_rows = self.V.shape[0]
        sums = map_blocks(
            lambda start, stop: logsumexp(
                self.block(start, stop)[0].reshape(n_rows, -1), axis=1
            ),
            self.bounds,
            n_jobs,
        )
        return logsumexp(np.stack(sums, axis=1), axis=1)

    def statistics(self, weights=None):
        """Exact conditional expectations given each row.

        Returns ``(log_sum, expectation, mean, second)``: ln of the sum per
        row; E[x | row] (n_rows, n_units); and, when ``weights`` is given,
        sum_n w_n E[x | row n] and sum_n w_n E[x x^T | row n] (zeros
        otherwise).
        """
        V, L = self.V, self.low_states
        n_rows = V.shape[0]
        n_high, n_r = self.high.shape[0], self.summed.shape[0]
        low_mass = np.zeros((n_rows, L.shape[0]))
        high_mean = np.zeros((n_rows, n_high))
        r_mean = np.zeros((n_rows, n_r))
        # Weighted sums over rows (and states) of the free units' second
        # moments, by pairs of parts.
        low_weight = np.zeros(L.shape[0])
        low_r = np.zeros((L.shape[0], n_r))
        low_high = np.zeros((L.shape[1], n_high))
        high_high = np.zeros((n_high, n_high))
        high_r = np.zeros((n_high, n_r))
        r_r = np.zeros((n_r, n_r))
        if len(self.bounds) == 1:
            # One block: ln of the sum and the probabilities from one exp,
            # shifted by each row's largest log weight; the sums below are
            # normalised at the end (``total``) instead of the probabilities.
            logits, H, mean_r = self.block(*self.bounds[0], means=True)
            peak = logits.max(axis=(1, 2))
            logits -= peak[:, None, None]
            blocks = [(np.exp(logits, out=logits), H, mean_r)]
            total = blocks[0][0].sum(axis=(1, 2))
            log_sum = peak + np.log(total)
        else:
            log_sum, total = self.log_sum(), np.ones(n_rows)
            blocks = (self.block(*bounds, means=True) for bounds in self.bounds)
        # Weights of the unnormalised rows: every weighted sum over the
        # states is a sum over rows of per-row sums, but for low_high.
        row_weights = np.zeros(n_rows) if weights is None else weights / total
        for proba, H, mean_r in blocks:
            if len(self.bounds) > 1:
                proba -= log_sum[:, None, None]
                np.exp(proba, out=proba)
            proba_r = proba[..., None] * mean_r  # (rows, high, low, summed)
            # Per row: the mass of each low state and of each high state, and
            # the mean of R over the states of each.
            by_low, by_high = proba.sum(axis=1), proba.sum(axis=2)
            r_by_low, r_by_high = proba_r.sum(axis=1), proba_r.sum(axis=2)
            low_mass += by_low
            high_mean += by_high @ H
            r_mean += r_by_low.sum(axis=1)
            if weights is None:
                continue
            low_weight += row_weights @ by_low
            low_r += np.einsum("m,mlr->lr", row_weights, r_by_low)
            high_high += H.T @ ((row_weights @ by_high)[:, None] * H)
            high_r += H.T @ np.einsum("m,mhr->hr", row_weights, r_by_high)
            if n_rows == 1:  # the row's own states, weighted after the product
                low_high += row_weights[0] * ((L.T @ proba[0].T) @ H)
            else:
                joint = np.einsum("m,mhl->hl", row_weights, proba)
                low_high += (L.T @ joint.T) @ H
            if n_r > 1:  # the diagonal, all there is for one unit, is set below
                weighted_r = row_weights[:, None, None, None] * proba_r
                r_r += weighted_r.reshape(-1, n_r).T @ mean_r.reshape(-1, n_r)
        low_mass /= total[:, None]
        high_mean /= total[:, None]
        r_mean /= total[:, None]
        expectation = np.empty((n_rows, self.n_units))
        expectation[:, self.clamped] = V
        expectation[:, self.low] = low_mass @ L
        expectation[:, self.high] = high_mean
        expectation[:, self.summed] = r_mean
        n_units = self.n_units
        if weights is None:
            return log_sum, expectation, np.zeros(n_units), np.zeros((n_units,) * 2)
        mean = weights @ expectation
        second = np.empty((n_units, n_units))
        clamped_rows = V.T @ (weights[:, None] * expectation)
        second[self.clamped, :] = clamped_rows
        second[:, self.clamped] = clamped_rows.T
        free = np.concatenate([self.low, self.high, self.summed])
        low_low = L.T @ (low_weight[:, None] * L)
        low_r = L.T @ low_r
        second[np.ix_(free, free)] = np.block(
            [
                [low_low, low_high, low_r],
                [low_high.T, high_high, high_r],
                [low_r.T, high_r.T, r_r],
            ]
        )
        # The diagonal, E[x_i^2], never enters a gradient (the coupling
        # diagonal is zero); it is set to E[x_i], its value for {0,1} and
        # one-hot units. (Pairs of columns of one categorical unit in R are
        # not meaningful either: their couplings are zero.)
        second[np.diag_indices(n_units)] = mean
        return log_sum, expectation, mean, second
