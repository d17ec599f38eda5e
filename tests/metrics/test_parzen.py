"""Parzen-window log-likelihood against scipy densities and the smoothed Gaussian."""

import math

import numpy as np
import pytest
from scipy.stats import gaussian_kde, multivariate_normal

from ganforge.metrics.parzen import (
    parzen_log_likelihoods,
    parzen_window_log_likelihood,
    select_sigma,
)


def test_one_sample_is_a_gaussian_density():
    s = np.array([[0.5, -1.0, 2.0]])
    x = np.random.default_rng(0).standard_normal((6, 3))
    expected = multivariate_normal(mean=s[0], cov=0.7**2 * np.eye(3)).logpdf(x)
    assert np.allclose(parzen_log_likelihoods(s, x, 0.7), expected, atol=1e-12)


def test_matches_scipy_kde_and_does_not_depend_on_batching():
    rng = np.random.default_rng(1)
    samples, points = rng.standard_normal(37), rng.standard_normal(11) * 2
    sigma = 0.4
    kde = gaussian_kde(samples, bw_method=sigma / samples.std(ddof=1))  # kernel std = sigma
    expected = kde.logpdf(points)
    small = parzen_log_likelihoods(samples, points, sigma, batch_size=3, sample_batch_size=5)
    assert np.allclose(small, expected, atol=1e-10)
    assert np.allclose(parzen_log_likelihoods(samples, points, sigma), small, atol=1e-12)


def test_large_sample_matches_the_smoothed_gaussian():
    # E_s N(x; s, sigma^2 I) with s ~ N(mu, t^2 I) is N(x; mu, (t^2 + sigma^2) I)
    rng = np.random.default_rng(2)
    mu, t, sigma = np.array([1.0, -2.0]), 0.5, 0.5
    samples = mu + t * rng.standard_normal((40_000, 2))
    test = mu + t * rng.standard_normal((400, 2))
    smoothed = multivariate_normal(mean=mu, cov=(t**2 + sigma**2) * np.eye(2)).logpdf(test)
    ll = parzen_log_likelihoods(samples, test, sigma)
    assert abs(ll.mean() - smoothed.mean()) < 0.02


def test_sigma_is_chosen_on_validation_and_scored_on_test():
    rng = np.random.default_rng(3)
    samples = rng.standard_normal((500, 2))
    validation = rng.standard_normal((100, 2))
    test = rng.standard_normal((80, 2))
    grid = (0.05, 0.3, 3.0)
    result = parzen_window_log_likelihood(samples, validation, test, grid)

    # independent check of the selection: direct logsumexp of scipy log-densities
    def direct_ll(points, sigma):
        logs = np.array([multivariate_normal(p, sigma**2 * np.eye(2)).logpdf(samples) for p in points])
        top = logs.max(axis=1, keepdims=True)
        return (top[:, 0] + np.log(np.exp(logs - top).sum(axis=1))) - math.log(len(samples))

    best = max(grid, key=lambda s: direct_ll(validation, s).mean())
    assert result["sigma"] == best
    test_ll = direct_ll(test, best)
    assert abs(result["log_likelihood"] - test_ll.mean()) < 1e-9
    assert abs(result["standard_error"] - test_ll.std(ddof=1) / math.sqrt(80)) < 1e-9
    chosen, means = select_sigma(samples, validation, grid)
    assert chosen == best and set(means) == set(grid)


def test_invalid_sigma_and_dimensions():
    with pytest.raises(ValueError, match="sigma"):
        parzen_log_likelihoods(np.zeros((3, 2)), np.zeros((2, 2)), 0.0)
    with pytest.raises(ValueError, match="dimension"):
        parzen_log_likelihoods(np.zeros((3, 2)), np.zeros((2, 3)), 1.0)
