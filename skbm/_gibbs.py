"""The Gibbs engine: block Gibbs sampling of any Boltzmann machine, any unit type.

One sweep resamples blocks of units in turn, each from its exact
conditional given all the others. The units of a block must be
conditionally independent given the rest (an independent set of the
coupling graph, such as a colour class of :func:`skbm._graph.greedy_coloring`
or a layer of an RBM), so a block is drawn in one vectorised call of its
unit type's sampler, for all chains at once.

The engine knows nothing of any model. A model family supplies the blocks,
the field on a block given the chains' states (:func:`machine_fields` for a
general machine; an RBM computes it from its weight matrix), and the unit
type of each block. Chains start from independent units at the base model
(:func:`independent_draws`), drawn group by group.
"""

import numpy as np


def block_gibbs(states, n_sweeps, rng, blocks, field, units):
    """Block Gibbs sweeps, vectorised over chains, in place.

    Parameters
    ----------
    states : ndarray of shape (n_chains, n_units)
        Current states; overwritten with the new ones.
    n_sweeps : int
        Number of sweeps.
    rng : numpy.random.Generator
        Source of randomness.
    blocks : list of (ndarray of int or slice)
        Blocks of conditionally independent units, resampled in this order.
    field : callable
        ``field(states, index) -> ndarray (n_chains, block size)``, the field
        on block ``index`` given the current states.
    units : UnitType or list of UnitType
        The unit type of every block, or of each block.

    Returns
    -------
    states : ndarray of shape (n_chains, n_units)
        ``states`` itself, after the sweeps.
    """
    if not isinstance(units, (list, tuple)):
        units = [units] * len(blocks)
    for _ in range(n_sweeps):
        for index, (block, block_units) in enumerate(zip(blocks, units, strict=True)):
            states[:, block] = block_units.sample(field(states, index), rng)
    return states


def machine_fields(coupling, intercept, blocks, dtype, beta=1.0):
    """The field function of a general machine for :func:`block_gibbs`.

    The field on block B is beta * (x @ W[:, B] + b_B).

    Parameters
    ----------
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal.
    intercept : ndarray of shape (n_units,)
        Intercepts.
    blocks : list of ndarray of int
        The blocks.
    dtype : dtype
        Working dtype of the states.
    beta : float, default=1.0
        Inverse temperature.

    Returns
    -------
    field : callable
        ``field(states, index)``.
    """
    coupling = np.asarray(coupling, dtype=dtype) * dtype.type(beta)
    intercept = np.asarray(intercept, dtype=dtype) * dtype.type(beta)
    columns = [np.ascontiguousarray(coupling[:, block]) for block in blocks]
    biases = [intercept[block] for block in blocks]
    return lambda states, index: states @ columns[index] + biases[index]


def gibbs_sweeps(
    states, coupling, intercept, n_sweeps, rng, blocks, units, free=None, beta=1.0
):
    """Block Gibbs sampling of a general machine, vectorised over chains.

    One sweep resamples each block in turn from its exact conditional given
    the field beta * (x @ W[:, B] + b_B).

    Parameters
    ----------
    states : ndarray of shape (n_chains, n_units)
        Current states, float32 or float64. Not modified.
    coupling : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal.
    intercept : ndarray of shape (n_units,)
        Intercepts.
    n_sweeps : int
        Number of sweeps.
    rng : numpy.random.Generator
        Source of randomness; uniforms are drawn in the dtype of ``states``.
    blocks : list of ndarray of int
        Independent sets covering the units to update, for example from
        :func:`skbm._graph.greedy_coloring`.
    units : UnitType or list of UnitType
        The unit type of the machine, or of each block.
    free : ndarray of bool of shape (n_units,), default=None
        Units allowed to change; the others stay clamped. ``None`` means all.
    beta : float, default=1.0
        Inverse temperature multiplying ``W`` and ``b``.

    Returns
    -------
    states : ndarray of shape (n_chains, n_units)
        New states, in the dtype of the input.
    """
    dtype = states.dtype if states.dtype in (np.float32, np.float64) else np.float64
    dtype = np.dtype(dtype)
    states = np.array(states, dtype=dtype)
    if not isinstance(units, (list, tuple)):
        units = [units] * len(blocks)
    if free is not None:
        free = np.asarray(free, dtype=bool)
        blocks = [block[free[block]] for block in blocks]
    kept = [index for index, block in enumerate(blocks) if len(block)]
    blocks = [np.asarray(blocks[index]) for index in kept]
    units = [units[index] for index in kept]
    field = machine_fields(coupling, intercept, blocks, dtype, beta)
    return block_gibbs(states, n_sweeps, rng, blocks, field, units)


def independent_draws(groups, n_chains, rng, dtype):
    """Draws of independent units at the base model, group by group.

    The start of every Gibbs chain: each group (for example the visible,
    then the hidden units) is drawn in turn with its unit type's sampler,
    from float64 uniforms whatever ``dtype``.

    Parameters
    ----------
    groups : list of (UnitType, ndarray)
        Each group's unit type and base fields, of shape (n_group_units,).
    n_chains : int
        Number of chains.
    rng : numpy.random.Generator
        Source of randomness.
    dtype : dtype
        Dtype of the returned states.

    Returns
    -------
    states : ndarray of shape (n_chains, n_units)
        The draws, the groups side by side.
    """
    draws = [
        units.sample(
            np.broadcast_to(np.asarray(fields, np.float64), (n_chains, len(fields))),
            rng,
        )
        for units, fields in groups
    ]
    return np.concatenate(draws, axis=1).astype(dtype)
