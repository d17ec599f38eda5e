"""Exact divergences between 1-D Gaussians: quadrature against closed forms and fine grids."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from ganforge.objectives import F_DIVERGENCES
from ganforge.theory.gaussians import (
    closed_form_f_divergence,
    density,
    exact_f_divergence,
    exact_w1,
    jsd_gaussians,
    sample,
)


def kl_by_hand(p, q) -> float:
    (m1, s1), (m2, s2) = p, q
    return math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5


def grid_integral(values: np.ndarray, x: np.ndarray) -> float:
    return float(np.sum((values[1:] + values[:-1]) * np.diff(x)) / 2)


PAIRS = [((0.0, 1.0), (1.0, 1.5)), ((0.5, 2.0), (-1.0, 1.7)), ((0.0, 1.0), (0.3, 1.0))]


def test_density_and_samples():
    x = np.linspace(-5, 7, 101)
    assert np.abs(density(x, (1.0, 1.5)) - stats.norm.pdf(x, 1.0, 1.5)).max() < 1e-15
    draws = sample((1.0, 1.5), 100_000, torch.Generator().manual_seed(0))
    assert draws.shape == (100_000,)
    assert abs(float(draws.mean()) - 1.0) < 0.02 and abs(float(draws.std()) - 1.5) < 0.02


@pytest.mark.parametrize("p, q", PAIRS)
def test_exact_integrals_match_closed_forms(p, q):
    assert abs(exact_f_divergence("kl", p, q) - kl_by_hand(p, q)) < 1e-8
    assert abs(exact_f_divergence("reverse-kl", p, q) - kl_by_hand(q, p)) < 1e-8
    x = np.linspace(-30, 30, 300_001)
    density_p, density_q = stats.norm.pdf(x, *p), stats.norm.pdf(x, *q)
    pearson = grid_integral((density_p - density_q) ** 2 / density_q, x)
    hellinger = grid_integral((np.sqrt(density_p) - np.sqrt(density_q)) ** 2, x)
    for name, by_grid in (("pearson", pearson), ("hellinger", hellinger)):
        exact = exact_f_divergence(name, p, q)
        assert abs(exact - by_grid) < 1e-7
        assert abs(exact - closed_form_f_divergence(name, p, q)) < 1e-8
    assert abs(closed_form_f_divergence("kl", p, q) - kl_by_hand(p, q)) < 1e-12


@pytest.mark.parametrize("p, q", PAIRS)
def test_jensen_shannon_and_gan_divergences(p, q):
    x = np.linspace(-30, 30, 300_001)
    density_p, density_q = stats.norm.pdf(x, *p), stats.norm.pdf(x, *q)
    mixture = (density_p + density_q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.nan_to_num(density_p * np.log(density_p / mixture)) + np.nan_to_num(
            density_q * np.log(density_q / mixture)
        )
    jsd = grid_integral(terms, x) / 2
    assert abs(jsd_gaussians(p, q) - jsd) < 1e-7
    assert abs(exact_f_divergence("js", p, q) - 2 * jsd) < 1e-7
    assert abs(exact_f_divergence("gan", p, q) - (2 * jsd - math.log(4))) < 1e-7


def test_jsd_bounds_and_far_apart_limit():
    assert abs(jsd_gaussians((0, 1), (40, 1)) - math.log(2)) < 1e-6
    j = jsd_gaussians((0, 1), (1, 1))
    assert 0 < j < math.log(2)


def test_identical_distributions_have_zero_divergence():
    for name in F_DIVERGENCES:
        expected = -math.log(4) if name == "gan" else 0.0
        assert abs(exact_f_divergence(name, (0.3, 1.2), (0.3, 1.2)) - expected) < 1e-9


def test_pearson_is_infinite_when_q_is_too_narrow():
    # integral p^2/q diverges unless 2 sigma_q^2 > sigma_p^2
    assert exact_f_divergence("pearson", (0.0, 1.0), (0.0, 0.7)) == math.inf
    assert closed_form_f_divergence("pearson", (0.0, 1.0), (0.0, 0.7)) == math.inf
    assert math.isfinite(exact_f_divergence("pearson", (0.0, 1.0), (0.0, 0.75)))


def test_closed_form_refuses_js_and_bad_arguments():
    with pytest.raises(ValueError, match="no closed form"):
        closed_form_f_divergence("js", (0.0, 1.0), (1.0, 1.2))
    with pytest.raises(KeyError, match="reverse-kl"):
        exact_f_divergence("total-variation", (0.0, 1.0), (1.0, 1.2))
    with pytest.raises(ValueError, match="sigma > 0"):
        exact_f_divergence("kl", (0.0, -1.0), (1.0, 1.2))


def test_exact_w1():
    # equal widths: W1 is the shift of the means
    assert abs(exact_w1((0.0, 1.3), (2.5, 1.3)) - 2.5) < 1e-8
    # general: W1 = integral_0^1 |F_P^-1(u) - F_Q^-1(u)| du (quantile coupling)
    for p, q in PAIRS:
        u = (np.arange(400_000) + 0.5) / 400_000
        by_quantiles = float(np.mean(np.abs(stats.norm.ppf(u, *p) - stats.norm.ppf(u, *q))))
        assert abs(exact_w1(p, q) - by_quantiles) < 1e-4
