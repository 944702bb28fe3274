"""The unit-type interface: everything that depends on what values a unit takes.

A Boltzmann machine couples units through a bilinear energy. Writing a
layer's internal representation as x (one column per {0,1} unit, a one-hot
block of q columns per categorical unit, one real column per Gaussian unit)
and its input field as f (the intercepts plus what the other units send
through the couplings), the part of -Phi that belongs to the layer is

    f . x - self_energy(x),

and everything the engines need from a unit type follows from that:

- its **cumulant** ln sum_x exp(f . x - self_energy(x)), summed (or
  integrated) over the values of one unit: softplus(f) for {0,1} units,
  logsumexp over the q columns for categorical units, a closed-form Gaussian
  integral for Gaussian units. It sums an independent set of units out;
- its **mean** E[x | f] (the derivative of the cumulant) and a **sampler**
  of x given f;
- its **second moment** E[x**2 | f], the statistic that the gradient of a
  unit's own scale (a Gaussian's variance) needs next to x and x_i x_j;
- whether it can be **enumerated**, and its joint states in a fixed code
  order, for exact sums;
- the **base model** of AIS and the start of training: the field of
  independent units with given means;
- its **input policy**: which user values are valid, what happens to the
  others, and how user data map to the internal representation.

The engines (:mod:`skbm._exact`, :mod:`skbm._gibbs`, :mod:`skbm._ais`) call
only these methods, so they run any unit type; the model families
(:mod:`skbm._bm_math`, :mod:`skbm._hbm_math`, :mod:`skbm._rbm_math`) say
which unit type each layer has. The {0,1} unit type is
:class:`skbm._bernoulli_units.BernoulliUnits`, the categorical one
:class:`skbm._categorical_units.CategoricalUnits` and the Gaussian one
:class:`skbm._gaussian_units.GaussianUnits`.
"""

from abc import ABC, abstractmethod

import numpy as np


class UnitType(ABC):
    """What a kind of unit contributes to the energy, the sums and the data.

    Methods take arrays of fields or values whose last axis runs over the
    columns of a layer of one unit type. A unit type object holds no data
    of its own beyond its shape parameters (q for categorical units), so
    one instance may serve any number of layers.
    """

    #: Short name used in messages and documentation.
    name = "units"

    #: What user data hold, in messages ("real numbers in [0, 1]").
    expected_values = "real numbers in [0, 1]"

    #: Whether the input policy rejects negative values (scikit-learn's
    #: ``positive_only`` input tag).
    positive_only = False

    #: Whether the joint states of a layer can be listed (discrete units).
    enumerable = False

    #: Whether a unit is 1 with probability expit(field) and 0 otherwise, so
    #: that the AIS engine's fused kernel for such units applies.
    logistic = False

    # ------------------------------------------------------------------
    # Data
    # ------------------------------------------------------------------
    @abstractmethod
    def check_values(self, X, whom):
        """Apply the input policy to validated numeric data.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Finite, 2-D, floating-point data as validated by scikit-learn.
        whom : str
            Name of the caller, for messages.

        Returns
        -------
        X : {ndarray, sparse matrix}
            ``X`` in the internal representation (never modified in place).

        Raises
        ------
        ValueError
            For values the unit type cannot take, saying how to fix them.
        """

    # ------------------------------------------------------------------
    # Energy and its sums
    # ------------------------------------------------------------------
    def self_energy(self, x):
        """The part of Phi that involves one unit alone, beyond f . x.

        Zero for discrete units (the intercepts carry it); the sum of
        x**2 / (2 sigma**2) for a Gaussian layer.

        Parameters
        ----------
        x : ndarray of shape (n_rows, n_columns)
            Values.

        Returns
        -------
        energy : ndarray of shape (n_rows,)
            Self-energy of each row, float64.
        """
        return np.zeros(x.shape[0])

    @abstractmethod
    def cumulant(self, field, out=None):
        """ln sum_x exp(f . x - self_energy(x)) of each unit, given its field.

        Parameters
        ----------
        field : ndarray of shape (..., n_columns)
            Input fields.
        out : ndarray, default=None
            Where to write the result, when it has the shape of ``field``.

        Returns
        -------
        cumulant : ndarray of shape (..., n_units)
            Finite for finite fields.
        """

    @abstractmethod
    def mean(self, field):
        """E[x | f], the gradient of the cumulant, of shape of ``field``."""

    def cumulant_and_mean(self, field):
        """Both :meth:`cumulant` and :meth:`mean` of one field.

        Unit types whose two share work (a softmax and its logsumexp) compute
        them in one pass; the default calls the two.

        Returns
        -------
        cumulant : ndarray of shape (..., n_units)
            As :meth:`cumulant`.
        mean : ndarray of the shape of ``field``
            As :meth:`mean`, float64.
        """
        return self.cumulant(field), self.mean(field)

    @abstractmethod
    def sample(self, field, rng):
        """Draws of x given its field, in the dtype of ``field``."""

    def square_mean(self, field):
        """E[x**2 | f] of each column: the statistic of a unit's own scale.

        The gradient of the log-likelihood with respect to a Gaussian unit's
        variance is the data minus the model expectation of x**2. For {0,1}
        and one-hot columns x**2 = x, so the default is :meth:`mean`.
        """
        return self.mean(field)

    @abstractmethod
    def base_field(self, mean):
        """The field of independent units whose means are ``mean``.

        The start of training and the AIS base model: clipped, so that units
        that are constant in the data keep finite fields.
        """

    # ------------------------------------------------------------------
    # Enumeration
    # ------------------------------------------------------------------
    def n_joint_states(self, n_units):
        """Number of joint states of ``n_units`` units (enumerable types)."""
        raise ValueError(f"{self.name} units cannot be enumerated.")

    def state_bits(self, n_units):
        """log2 of :meth:`n_joint_states`: the size that thresholds compare."""
        raise ValueError(f"{self.name} units cannot be enumerated.")

    def states(self, codes, n_units, dtype=None):
        """The joint states with integer codes ``codes``, one row each."""
        raise ValueError(f"{self.name} units cannot be enumerated.")

    # ------------------------------------------------------------------
    # Layer structure: units and their columns
    # ------------------------------------------------------------------
    # By default a unit is one column and the type holds no per-unit data,
    # as for {0,1} and Gaussian units. A type whose units span several
    # columns (a one-hot block per categorical unit) describes one layer
    # and overrides these.
    def n_units(self, n_columns):
        """Number of units in a layer of ``n_columns`` columns of this type."""
        return n_columns

    def columns(self, units):
        """Column indices of the units ``units`` (int array), in order."""
        return np.asarray(units, dtype=np.intp)

    def restrict(self, units):
        """The unit type of the layer made of the units ``units``."""
        return self

    def unit_graph(self, adjacency):
        """Which units are coupled, from a boolean column adjacency."""
        return np.asarray(adjacency, dtype=bool)
