"""The unit-type interface and the engines that run on it, against brute force.

The {0,1} unit type is checked against sums written out here. The engines
are checked to be generic: a {0,1} unit type that hides its logistic form
(so that AIS takes its generic kernel, which calls the interface only) must
give the same distribution as the exact sums.
"""

import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from brute_force import all_states, brute_distribution
from scipy.special import expit, logsumexp

from skbm import BernoulliRBM2, BoltzmannMachine, HiddenBoltzmannMachine
from skbm._ais import (
    AnnealingProblem,
    anneal,
    anneal_generic,
    forward_log_weights,
    machine_problem,
    per_row_log_partitions,
)
from skbm._bernoulli_units import BERNOULLI, BernoulliUnits
from skbm._bm_math import bm_log_partition
from skbm._exact import SplitSum
from skbm._units import UnitType


class OpaqueBernoulli(BernoulliUnits):
    """{0,1} units that do not announce their logistic form.

    The engines then use only the generic unit-type interface, as they will
    for categorical and Gaussian units.
    """

    logistic = False


OPAQUE = OpaqueBernoulli()


# ----------------------------------------------------------------------
# The {0,1} unit type against direct sums
# ----------------------------------------------------------------------
def test_bernoulli_cumulant_mean_and_states_against_direct_sums():
    field = np.array([[-800.0, -3.0, 0.0], [0.5, 40.0, 800.0]])
    direct = np.logaddexp(0.0, field)  # ln(e^0 + e^f), the sum over x in {0, 1}
    np.testing.assert_allclose(BERNOULLI.cumulant(field), direct, rtol=1e-15)
    assert np.all(np.isfinite(BERNOULLI.cumulant(np.array([1e308, -1e308]))))
    # The mean is the derivative of the cumulant.
    step = 1e-6
    inner = np.array([-3.0, 0.0, 0.5, 4.0])
    numeric = (BERNOULLI.cumulant(inner + step) - BERNOULLI.cumulant(inner - step)) / (
        2 * step
    )
    np.testing.assert_allclose(BERNOULLI.mean(inner), numeric, rtol=1e-8)
    # The mean (numpy's exp, not scipy's expit) is expit to rounding, also
    # where exp(-f) overflows, and keeps float32 fields float32.
    wide = np.concatenate([field.ravel(), np.linspace(-750, 750, 3001)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(BERNOULLI.mean(wide), expit(wide), rtol=5e-16)
        assert BERNOULLI.mean(np.float32([-200.0, 0.0])).tolist() == [0.0, 0.5]
        assert BERNOULLI.mean(np.float32([1.0])).dtype == np.float32
    # States in code order, bit i of the code is unit i.
    expected = [state[::-1] for state in itertools.product((0.0, 1.0), repeat=3)]
    np.testing.assert_array_equal(BERNOULLI.states(np.arange(8), 3), expected)
    assert BERNOULLI.n_joint_states(3) == 8 and BERNOULLI.state_bits(3) == 3


def test_bernoulli_sampler_and_base_field():
    rng = np.random.default_rng(0)
    field = np.tile([-2.0, 0.0, 1.5], (200000, 1))
    draws = BERNOULLI.sample(field, rng)
    assert set(np.unique(draws)) <= {0.0, 1.0}
    # Standard error of a mean of 200,000 draws is about 0.001.
    np.testing.assert_allclose(draws.mean(axis=0), expit(field[0]), atol=0.005)
    assert BERNOULLI.sample(field[:5].astype(np.float32), rng).dtype == np.float32
    means = np.array([0.0, 0.2, 0.5, 0.9, 1.0])
    np.testing.assert_allclose(
        BERNOULLI.mean(BERNOULLI.base_field(means)), [1e-3, 0.2, 0.5, 0.9, 1 - 1e-3]
    )


def test_bernoulli_input_policy_sums_duplicate_sparse_entries():
    # Two entries of 0.6 at the same place are the value 1.2.
    X = sp.csr_matrix(([0.6, 0.6], [0, 0], [0, 2]), shape=(1, 6))
    with pytest.warns(UserWarning, match="Values above 1"):
        checked = BERNOULLI.check_values(X, "test")
    np.testing.assert_array_equal(checked.toarray(), [[1, 0, 0, 0, 0, 0]])
    assert X.data.tolist() == [0.6, 0.6]  # the input is not modified
    with pytest.raises(ValueError, match="Negative values"):
        BERNOULLI.check_values(np.array([[0.5, -0.1]]), "test")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        BERNOULLI.check_values(np.array([[0.0, 0.5, 1.0]]), "test")


def test_unit_type_interface_is_abstract():
    with pytest.raises(TypeError):
        UnitType()

    class Continuous(BernoulliUnits):  # a unit type that lists no states
        n_joint_states = UnitType.n_joint_states

    with pytest.raises(ValueError, match="cannot be enumerated"):
        Continuous().n_joint_states(3)


# ----------------------------------------------------------------------
# The engines through the generic interface
# ----------------------------------------------------------------------
def tiny_machine(seed=0, n_units=5):
    rng = np.random.default_rng(seed)
    W = np.triu(rng.normal(0.0, 1.0, (n_units, n_units)), 1)
    return W + W.T, rng.normal(0.0, 1.0, n_units), rng.normal(0.0, 0.5, n_units)


def test_exact_sum_engine_uses_the_unit_type():
    W, b, _ = tiny_machine(seed=1)
    _, _, log_z = brute_distribution(W, b)
    empty = np.zeros((1, 0))
    # Units 3 and 4 are summed out, so they must not be coupled.
    W_split = W.copy()
    W_split[3, 4] = W_split[4, 3] = 0.0
    split = SplitSum(
        empty, W_split, b, np.arange(0), np.arange(3), np.arange(3, 5), OPAQUE
    )
    _, _, log_z_split = brute_distribution(W_split, b)
    assert split.log_sum()[0] == pytest.approx(log_z_split, abs=1e-12)
    assert bm_log_partition(W, b) == pytest.approx(log_z, abs=1e-12)


def test_generic_and_fused_kernels_estimate_the_same_log_partition():
    # An RBM problem (W_KK None) annealed slowly by both kernels.
    rng = np.random.default_rng(3)
    n_v, n_h = 5, 4
    W = rng.normal(0.0, 1.0, (n_h, n_v))
    b, c = rng.normal(0.0, 1.0, n_v), rng.normal(0.0, 1.0, n_h)
    full = np.zeros((n_v + n_h, n_v + n_h))
    full[:n_v, n_v:] = W.T
    full += full.T
    log_z = bm_log_partition(full, np.concatenate([b, c]))
    args = (None, W.T, b, c, np.zeros(n_v), np.zeros(n_h), (np.arange(n_v),))
    betas = np.linspace(0.0, 1.0, 200)
    for units in (BERNOULLI, OPAQUE):
        problem = AnnealingProblem(*args, units, units)
        log_w = forward_log_weights(problem, betas, 400, seed=4)
        estimate = logsumexp(log_w) - np.log(400) + problem.log_z_base()
        assert estimate == pytest.approx(log_z, abs=0.02)


def test_generic_kernel_per_row_problems_use_their_own_streams():
    # One problem per row, as for hidden units clamped to visible rows: each
    # row's estimate is that of the row alone, whatever the other rows.
    rng = np.random.default_rng(5)
    n_k, n_r = 3, 2
    W_KR = rng.normal(0.0, 1.0, (n_k, n_r))
    W_KK = np.zeros((n_k, n_k))
    W_KK[0, 1] = W_KK[1, 0] = 0.7
    rows = np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 0.0]])
    b_K, b_R = rows @ rng.normal(0, 1, (2, n_k)), rows @ rng.normal(0, 1, (2, n_r))

    def problem(index):
        return AnnealingProblem(
            W_KK,
            W_KR,
            b_K[index],
            b_R[index],
            np.zeros((len(index), n_k)),
            np.zeros((len(index), n_r)),
            ([0, 2], [1]),
            OPAQUE,
            OPAQUE,
        )

    betas = np.linspace(0.0, 1.0, 100)
    together = per_row_log_partitions(problem([0, 1, 2]), rows, 200, betas, seed=6)
    alone = per_row_log_partitions(problem([2]), rows[2:], 200, betas, seed=6)
    assert together[2] == alone[0]
    for index in range(3):
        full = np.zeros((n_k + n_r, n_k + n_r))
        full[:n_k, :n_k] = W_KK
        full[:n_k, n_k:] = W_KR
        full[n_k:, :n_k] = W_KR.T
        exact = bm_log_partition(full, np.concatenate([b_K[index], b_R[index]]))
        assert together[index] == pytest.approx(exact, abs=0.05)


def test_anneal_dispatches_on_the_unit_types():
    W, b, a = tiny_machine(seed=7)
    problem = machine_problem(W, b, a, OPAQUE)
    betas = np.linspace(0.0, 1.0, 10)
    start = problem.sample_base(8, np.random.default_rng(0))

    class Streams:  # one stream for all chains, as PagedUniforms holds it
        rngs, rows = [np.random.default_rng(1)], 8

    generic = anneal(problem, start, betas, Streams)
    reference = anneal_generic(problem, start, betas, np.random.default_rng(1))
    np.testing.assert_array_equal(generic[0], reference[0])


# ----------------------------------------------------------------------
# One Gibbs sampler and one sampling rule for every model family
# ----------------------------------------------------------------------
def total_variation(samples, log_p):
    weights = 1 << np.arange(samples.shape[1])
    counts = np.bincount(samples.astype(int) @ weights, minlength=len(log_p))
    counts = counts / len(samples)
    order = all_states(samples.shape[1]).astype(int) @ weights
    expected = np.zeros(len(log_p))
    expected[order] = np.exp(log_p)
    return 0.5 * np.abs(counts - expected).sum()


@pytest.mark.parametrize(
    "make",
    [
        lambda: BernoulliRBM2(n_components=3, n_iter=3, random_state=0),
        lambda: BoltzmannMachine(solver="exact", random_state=0),
        lambda: HiddenBoltzmannMachine(n_components=2, n_iter=3, random_state=0),
    ],
    ids=["RBM", "BM", "HBM"],
)
def test_every_family_samples_by_one_rule(make):
    rng = np.random.default_rng(8)
    X = (rng.random((200, 4)) < np.array([0.2, 0.5, 0.7, 0.4])).astype(float)
    X[:, 1] = X[:, 0]  # a dependency to learn
    model = make().fit(X)
    family = model._model()
    log_p = model.score_samples(all_states(4))
    assert family.can_sample_exactly()
    _, start = family.target_sampler(family.annealing_problem())
    assert start == "exact"
    exact = family.sample(20000, np.random.default_rng(9))
    # The Gibbs chains of the same family, burned in from the base model,
    # draw from the same distribution. Sampling error is about 0.01 here.
    gibbs = family.gibbs_sample(20000, np.random.default_rng(10))[:, :4]
    assert total_variation(exact, log_p) < 0.03
    assert total_variation(gibbs, log_p) < 0.03
