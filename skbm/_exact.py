"""The exact-sum engine: sums over the states of a Boltzmann machine.

Every exact sum over states has one shape (:class:`SplitSum`). Some units
are *clamped* (given, one configuration per row), the others are *free*. The
free units are split into a set R of units with no couplings among
themselves and the rest K. Given the clamped units and a state of K, the
units of R are conditionally independent, so they are summed in closed form
by their unit type's cumulant::

    sum_{x_R} exp(-Phi) = exp(-Phi(x_c, x_K, 0)) prod_{j in R} exp(cumulant(f_j)),

with f_j the field on unit j, and only the states of K are enumerated, block
by block so that memory stays bounded. With nothing clamped this gives ln Z
and the exact moments E[x x^T] (a fully connected machine of {0,1} units
enumerates 2**(n - 1) states, a bipartite one only its smaller side); with
the visible units clamped it gives the sums over hidden units.

The engine knows nothing of any model: it takes couplings, intercepts, a
partition of the units and a unit type (:mod:`skbm._units`).
"""

import numpy as np
from scipy.special import logsumexp

from ._enumeration import map_blocks, state_ranges


class SplitSum:
    """Sums over the free units given clamped ones, in memory-bounded blocks.

    The engine of every exact sum over states of a general machine (see the
    module docstring).

    The clamped units take the values of a row of ``V``; the units of
    ``summed`` (no couplings among them) are summed in closed form by the
    unit type's cumulant and the states of ``enumerated`` are enumerated
    block by block in the unit type's code order.

    Parameters
    ----------
    V : ndarray of shape (n_rows, n_clamped)
        Values of the clamped units, one configuration per row.
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal.
    intercept : ndarray of shape (n_units,)
        Intercepts.
    clamped, enumerated, summed : ndarray of int
        A partition of the units; no two units of ``summed`` are coupled.
    units : UnitType
        The unit type of the free units (enumerated and summed).
    """

    def __init__(self, V, coupling, intercept, clamped, enumerated, summed, units):
        W = np.asarray(coupling, dtype=np.float64)
        b = np.asarray(intercept, dtype=np.float64)
        V = np.asarray(V, dtype=np.float64)
        c, k, r = clamped, enumerated, summed
        self.V, self.n_units, self.units = V, b.shape[0], units
        self.clamped, self.enumerated, self.summed = c, k, r
        # Row by row (einsum), as V @ b may round a row differently with
        # the number of rows.
        self.base = 0.5 * np.einsum("ij,ij->i", V @ W[np.ix_(c, c)], V)
        self.base += np.einsum("ij,j->i", V, b[c])
        self.field_k = V @ W[np.ix_(c, k)] + b[k]
        self.field_r = V @ W[np.ix_(c, r)] + b[r]
        self.W_kk = W[np.ix_(k, k)]
        self.W_kr = W[np.ix_(k, r)]
        # Widest per-state array: the (rows, states, units) expectations.
        width = V.shape[0] * max(self.n_units, 1)
        n_states = units.n_joint_states(k.shape[0])
        self.bounds = list(state_ranges(n_states, k.shape[0], width))

    def block(self, start, stop):
        """Log weights (n_rows, n_states), the states of K, fields on R."""
        codes = np.arange(start, stop, dtype=np.int64)
        states = self.units.states(codes, self.enumerated.shape[0])
        logits = self.base[:, None] + self.field_k @ states.T
        logits += 0.5 * np.einsum("ij,ij->i", states @ self.W_kk, states)
        field = self.field_r[:, None, :] + (states @ self.W_kr)[None, :, :]
        logits += self.units.cumulant(field).sum(axis=2)
        return logits, states, field

    def log_sum(self, n_jobs=None):
        """ln of the sum over the free units, for each row, float64.

        The blocks run on ``n_jobs`` joblib threads; the result is the same
        for any value.
        """
        sums = map_blocks(
            lambda start, stop: logsumexp(self.block(start, stop)[0], axis=1),
            self.bounds,
            n_jobs,
        )
        return logsumexp(np.stack(sums, axis=1), axis=1)

    def statistics(self, weights=None):
        """Exact conditional expectations given each row.

        Returns ``(log_sum, expectation, mean, second)``: ln of the sum per
        row; E[x | row] (n_rows, n_units); and, when ``weights`` is given,
        sum_n w_n E[x | row n] and sum_n w_n E[x x^T | row n].
        """
        n_rows, n_units = self.V.shape[0], self.n_units
        single = len(self.bounds) == 1
        first = self.block(*self.bounds[0]) if single else None
        log_sum = logsumexp(first[0], axis=1) if single else self.log_sum()
        expectation = np.zeros((n_rows, n_units))
        mean = np.zeros(n_units)
        second = np.zeros((n_units, n_units))
        for bounds in self.bounds:
            logits, states, field = first if single else self.block(*bounds)
            proba = np.exp(logits - log_sum[:, None])
            # E[x | row, state of K]: clamped values, the state, the mean
            # of the summed units given their field.
            units = np.empty((n_rows, states.shape[0], n_units))
            units[:, :, self.clamped] = self.V[:, None, :]
            units[:, :, self.enumerated] = states[None, :, :]
            units[:, :, self.summed] = self.units.mean(field)
            expectation += np.einsum("ms,msu->mu", proba, units)
            if weights is not None:
                flat = units.reshape(-1, n_units)
                weighted = (proba * weights[:, None]).reshape(-1, 1)
                mean += (flat * weighted).sum(axis=0)
                second += (flat * weighted).T @ flat
        if weights is not None:
            # The diagonal, E[x_i^2], never enters a gradient (the coupling
            # diagonal is zero); it is set to E[x_i], its value for {0,1}
            # units.
            second[np.diag_indices(n_units)] = mean
        return log_sum, expectation, mean, second
