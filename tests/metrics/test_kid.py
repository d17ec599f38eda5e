"""KID: the estimator against a direct double loop, and its unbiasedness."""

import numpy as np
import pytest

from ganforge.metrics.kid import kernel_inception_distance, mmd2_unbiased


def kernel(a, b):
    return (float(np.dot(a, b)) / len(a) + 1.0) ** 3


def mmd2_by_loops(x, y):
    m = len(x)
    xx = sum(kernel(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    yy = sum(kernel(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    xy = sum(kernel(x[i], y[j]) for i in range(m) for j in range(m))
    return (xx + yy) / (m * (m - 1)) - 2 * xy / m**2


def test_mmd2_matches_the_double_loop():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((7, 3)), rng.standard_normal((7, 3)) + 0.5
    assert abs(mmd2_unbiased(x, y) - mmd2_by_loops(x, y)) < 1e-12


def test_kid_with_full_subsets_is_the_mmd_of_the_whole_sets():
    rng = np.random.default_rng(1)
    real, fake = rng.standard_normal((9, 4)), rng.standard_normal((9, 4)) * 2
    mean, std = kernel_inception_distance(real, fake, num_subsets=3, subset_size=1000)
    # every subset is a permutation of all samples; MMD^2_u does not depend on the order
    assert abs(mean - mmd2_by_loops(fake, real)) < 1e-12
    assert std < 1e-12


def test_kid_is_unbiased_for_equal_distributions():
    rng = np.random.default_rng(2)
    estimates, biased = [], []
    for _ in range(300):
        x, y = rng.standard_normal((20, 8)), rng.standard_normal((20, 8))
        estimates.append(mmd2_unbiased(x, y))
        kxx, kyy, kxy = ((a @ b.T / 8 + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
        biased.append(kxx.mean() + kyy.mean() - 2 * kxy.mean())  # V-statistic, biased up
    estimates, biased = np.array(estimates), np.array(biased)
    standard_error = estimates.std(ddof=1) / np.sqrt(len(estimates))
    assert abs(estimates.mean()) < 3 * standard_error
    # the test has power: the biased estimator's mean is many standard errors above 0
    assert biased.mean() > 10 * biased.std(ddof=1) / np.sqrt(len(biased))


def test_kid_separates_different_distributions():
    rng = np.random.default_rng(3)
    real = rng.standard_normal((300, 8))
    same = rng.standard_normal((300, 8))
    shifted = rng.standard_normal((300, 8)) + 0.5
    kid_same, _ = kernel_inception_distance(real, same, num_subsets=20, subset_size=100)
    kid_shift, std_shift = kernel_inception_distance(real, shifted, num_subsets=20, subset_size=100)
    assert kid_shift > 10 * abs(kid_same)
    assert kid_shift > 3 * std_shift


def test_kid_rejects_bad_input():
    with pytest.raises(ValueError, match="same d"):
        kernel_inception_distance(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="at least 2"):
        kernel_inception_distance(np.zeros((1, 2)), np.zeros((5, 2)))
