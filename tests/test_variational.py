"""Divergences between 1-D Gaussians: exact values against closed forms, trained estimates
against exact values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from ganforge.objectives import F_DIVERGENCES
from ganforge.variational import (
    DEFAULT_P,
    DEFAULT_Q,
    closed_form_f_divergence,
    estimate_f_divergence,
    estimate_w1,
    exact_f_divergence,
    exact_w1,
)

# a smaller training budget than the defaults (800 steps, batch 512) keeps this file fast
FAST = {"steps": 400, "batch_size": 256}


def kl_by_hand(p, q) -> float:
    (m1, s1), (m2, s2) = p, q
    return math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5


def grid_integral(values: np.ndarray, x: np.ndarray) -> float:
    return float(np.sum((values[1:] + values[:-1]) * np.diff(x)) / 2)


PAIRS = [((0.0, 1.0), (1.0, 1.5)), ((0.5, 2.0), (-1.0, 1.7)), ((0.0, 1.0), (0.3, 1.0))]


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
    assert abs(exact_f_divergence("js", p, q) - 2 * jsd) < 1e-7
    assert abs(exact_f_divergence("gan", p, q) - (2 * jsd - math.log(4))) < 1e-7


def test_identical_distributions_have_zero_divergence():
    for name in F_DIVERGENCES:
        expected = -math.log(4) if name == "gan" else 0.0
        assert abs(exact_f_divergence(name, (0.3, 1.2), (0.3, 1.2)) - expected) < 1e-9


def test_pearson_is_infinite_when_q_is_too_narrow():
    # integral p^2/q diverges unless 2 sigma_q^2 > sigma_p^2
    assert exact_f_divergence("pearson", (0.0, 1.0), (0.0, 0.7)) == math.inf
    assert closed_form_f_divergence("pearson", (0.0, 1.0), (0.0, 0.7)) == math.inf
    assert math.isfinite(exact_f_divergence("pearson", (0.0, 1.0), (0.0, 0.75)))
    with pytest.raises(ValueError, match="infinite"):
        estimate_f_divergence("pearson", (0.0, 1.0), (0.0, 0.7), steps=1)


def test_closed_form_refuses_js_and_bad_arguments():
    with pytest.raises(ValueError, match="no closed form"):
        closed_form_f_divergence("js", DEFAULT_P, DEFAULT_Q)
    with pytest.raises(KeyError, match="reverse-kl"):
        exact_f_divergence("total-variation", DEFAULT_P, DEFAULT_Q)
    with pytest.raises(ValueError, match="sigma > 0"):
        exact_f_divergence("kl", (0.0, -1.0), DEFAULT_Q)


def test_exact_w1():
    # equal widths: W1 is the shift of the means
    assert abs(exact_w1((0.0, 1.3), (2.5, 1.3)) - 2.5) < 1e-8
    # general: W1 = integral_0^1 |F_P^-1(u) - F_Q^-1(u)| du (quantile coupling)
    for p, q in PAIRS:
        u = (np.arange(400_000) + 0.5) / 400_000
        by_quantiles = float(np.mean(np.abs(stats.norm.ppf(u, *p) - stats.norm.ppf(u, *q))))
        assert abs(exact_w1(p, q) - by_quantiles) < 1e-4


@pytest.mark.parametrize("name", list(F_DIVERGENCES))
def test_trained_bound_is_below_and_close_to_the_divergence(name):
    result = estimate_f_divergence(name, DEFAULT_P, DEFAULT_Q, seed=0, **FAST)
    exact = exact_f_divergence(name, DEFAULT_P, DEFAULT_Q)
    assert result["exact"] == exact
    assert result["bound"] <= exact + 1e-6
    assert abs(result["bound"] - exact) <= 0.10 * abs(exact)
    assert abs(result["rel_error"] - abs(result["bound"] - exact) / abs(exact)) < 1e-12
    # the sample estimate of the same bound agrees with its integral
    assert abs(result["bound_mc"] - result["bound"]) <= 0.03 * abs(exact)


def test_wgan_gp_critic_estimates_w1():
    result = estimate_w1(DEFAULT_P, DEFAULT_Q, seed=1, **FAST)
    exact = exact_w1(DEFAULT_P, DEFAULT_Q)
    assert result["exact"] == exact
    assert abs(result["estimate"] - exact) <= 0.10 * exact
    assert abs(result["estimate_grid"] - result["estimate"]) <= 0.02 * exact


def test_estimates_leave_global_torch_state_alone():
    threads = torch.get_num_threads()
    rng_state = torch.get_rng_state()
    estimate_f_divergence("kl", DEFAULT_P, DEFAULT_Q, steps=2, eval_samples=1000, num_threads=1)
    estimate_w1(DEFAULT_P, DEFAULT_Q, steps=2, eval_samples=1000, num_threads=1)
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.get_rng_state(), rng_state)


def test_estimates_are_reproducible():
    first = estimate_f_divergence("js", DEFAULT_P, DEFAULT_Q, steps=20, seed=5, eval_samples=1000)
    second = estimate_f_divergence("js", DEFAULT_P, DEFAULT_Q, steps=20, seed=5, eval_samples=1000)
    assert first["bound"] == second["bound"]
