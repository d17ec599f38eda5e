"""The paper's theory on 1-D Gaussians: Prop. 1, Thm. 1 and Algorithm 1's fixed point."""

import math

import numpy as np
from scipy import stats

from ganforge.theory import game
from ganforge.theory.gaussians import jsd_gaussians


def test_optimal_discriminator_closed_form():
    x = np.array([3.0, 4.0, 5.0])
    pd = lambda v: stats.norm.pdf(v, 4, 0.5)  # noqa: E731
    pg = lambda v: stats.norm.pdf(v, 3, 1.0)  # noqa: E731
    d = game.optimal_discriminator(x, pd, pg)
    # at x = 4: p_data = 0.7979, p_g = 0.2420 -> D* = 0.7673
    assert abs(d[1] - 0.797885 / (0.797885 + 0.241971)) < 1e-5
    assert abs(game.optimal_discriminator(x, pd, pd) - 0.5).max() < 1e-12


def test_value_identity_theorem1():
    out = game.check_value_identity()
    assert out["value_identity_abs_error"] < 1e-6
    assert out["value_at_optimum"] > -math.log(4)  # -log 4 only when p_g = p_data


def test_value_at_equal_densities_is_minus_log4():
    assert abs(game.value_at_optimum((4, 0.5), (4, 0.5)) + math.log(4)) < 1e-9
    assert abs(jsd_gaussians((4, 0.5), (4, 0.5))) < 1e-12


def test_trained_d_reaches_d_star():
    out = game.check_optimal_discriminator(steps=1200, quadrature=True)
    assert out["d_star_max_abs_error"] < 0.03


def test_trained_d_from_minibatches_approaches_d_star():
    out = game.check_optimal_discriminator(steps=400, batch=512)
    assert out["d_star_mean_abs_error"] < 0.03


def test_game_drives_jsd_down_and_d_to_half():
    result = game.train_game(steps=600, snapshot_steps=(0,))
    first, last = result.snapshots[0], result.final
    assert first.jsd > 0.5  # G starts at N(0, 1), far from N(4, 0.5^2)
    assert last.jsd < 0.005
    assert abs(last.d_mean - 0.5) < 0.05
    mean, std = last.g_params
    assert abs(mean - 4.0) < 0.15 and abs(std - 0.5) < 0.15
