"""Trained variational estimates of divergences between 1-D Gaussians against exact values."""

from __future__ import annotations

import pytest
import torch

from ganforge.objectives import F_DIVERGENCES
from ganforge.theory.divergences import DEFAULT_P, DEFAULT_Q, estimate_f_divergence, estimate_w1
from ganforge.theory.gaussians import exact_f_divergence, exact_w1

# a smaller training budget than the defaults (800 steps, batch 512) keeps this file fast
FAST = {"steps": 400, "batch_size": 256}


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


def test_infinite_divergence_is_refused():
    with pytest.raises(ValueError, match="infinite"):
        estimate_f_divergence("pearson", (0.0, 1.0), (0.0, 0.7), steps=1)


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
