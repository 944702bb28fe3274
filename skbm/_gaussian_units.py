"""The Gaussian unit type: real values, a quadratic self-energy, a closed-form integral.

A Gaussian unit with standard deviation sigma and field f (the coefficient
of x in -Phi) contributes f x - x**2 / (2 sigma**2) to -Phi, so

- its cumulant is ln of the Gaussian integral,
  ln int exp(f x - x**2 / (2 sigma**2)) dx = sigma**2 f**2 / 2 + ln(sigma sqrt(2 pi)),
- its mean is E[x | f] = sigma**2 f (the derivative of the cumulant) and
  its variance sigma**2, so that x | f ~ N(sigma**2 f, sigma**2),
- its second moment, the statistic of sigma in the gradient, is
  E[x**2 | f] = (sigma**2 f)**2 + sigma**2,
- and the independent unit of mean m has the field m / sigma**2.

Its values cannot be listed, so sums over a Gaussian layer are always
integrals in closed form (the cumulant), never enumerations. Its input
policy accepts any finite real value.
"""

import numpy as np
import scipy.sparse as sp

from ._units import UnitType

HALF_LOG_TWO_PI = 0.5 * np.log(2 * np.pi)


class GaussianUnits(UnitType):
    """A layer of real-valued units with standard deviations ``sigma``.

    Parameters
    ----------
    sigma : array-like of shape (n_units,) or None, default=None
        Standard deviation of each unit given its field; ``None`` for a
        unit type that only validates data (before a fit).

    Examples
    --------
    >>> import numpy as np
    >>> from skbm._gaussian_units import GaussianUnits
    >>> units = GaussianUnits([1.0, 2.0])
    >>> units.mean(np.array([[1.0, 1.0]])).tolist()  # sigma**2 f
    [[1.0, 4.0]]
    >>> units.cumulant(np.zeros((1, 2))).round(6).tolist()  # ln(sigma sqrt(2 pi))
    [[0.918939, 1.612086]]
    """

    name = "Gaussian"
    expected_values = "real numbers"

    def __init__(self, sigma=None):
        self.sigma = None if sigma is None else np.asarray(sigma, dtype=np.float64)
        if self.sigma is not None:
            self.variance = self.sigma**2

    def __repr__(self):
        return f"GaussianUnits(sigma={self.sigma})"

    def check_values(self, X, whom):
        """Any finite real value (finiteness is checked before); dense."""
        return X.toarray() if sp.issparse(X) else X

    def self_energy(self, x):
        return 0.5 * np.einsum("ij,ij,j->i", x, x, 1.0 / self.variance)

    def cumulant(self, field, out=None):
        field = np.asarray(field, dtype=np.float64)
        value = np.square(field, out=out if out is not None else None)
        value *= 0.5 * self.variance
        value += np.log(self.sigma) + HALF_LOG_TWO_PI
        return value

    def mean(self, field):
        return np.asarray(field, dtype=np.float64) * self.variance

    def square_mean(self, field):
        return np.square(self.mean(field)) + self.variance

    def sample(self, field, rng):
        """Draws of N(sigma**2 f, sigma**2), in the dtype of ``field``."""
        dtype = field.dtype if field.dtype in (np.float32, np.float64) else np.float64
        noise = rng.standard_normal(field.shape, dtype=dtype)
        return (field * self.variance + noise * self.sigma).astype(dtype, copy=False)

    def base_field(self, mean):
        return np.asarray(mean, dtype=np.float64) / self.variance

    def restrict(self, units):
        return GaussianUnits(self.sigma[np.asarray(units, dtype=np.intp)])
