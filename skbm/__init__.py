"""skbm: Boltzmann machines for scikit-learn, scored by their real log-likelihood."""

from ._bm import BoltzmannMachine
from ._categorical_bm import CategoricalBoltzmannMachine
from ._categorical_rbm import CategoricalRBM
from ._gaussian_rbm import GaussianBernoulliRBM
from ._hbm import HiddenBoltzmannMachine
from ._log_partition import AISWarning, LikelihoodBracket, LogPartition
from ._persistence import InconsistentVersionWarning
from ._rbm import BernoulliRBM2
from ._sequence_weights import sequence_weights

__version__ = "0.1.0.dev0"

__all__ = [
    "AISWarning",
    "BernoulliRBM2",
    "BoltzmannMachine",
    "CategoricalBoltzmannMachine",
    "CategoricalRBM",
    "GaussianBernoulliRBM",
    "HiddenBoltzmannMachine",
    "InconsistentVersionWarning",
    "LikelihoodBracket",
    "LogPartition",
    "sequence_weights",
]
