"""The explorer's grid numbers against independent computations: scipy's normal CDF, mpmath
in the far tails, and the exact divergences of ganforge.theory."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import torch
from scipy.stats import norm

from ganforge.explore.grid import (
    divergences,
    log_interval_mass,
    log_mixture_outside,
    log_mixture_partition,
    pushforward_cells,
    pushforward_segments,
    z_quadrature,
)
from ganforge.theory.gaussians import jsd_gaussians, kl_gaussians


def test_mixture_cell_masses_match_the_normal_cdf():
    centers = torch.tensor([[0.3, -0.2], [-1.0, 0.8], [0.9, 0.9]], dtype=torch.float64)
    std = 0.4
    edges = [torch.linspace(-2, 2, 9, dtype=torch.float64), torch.linspace(-1.5, 2.5, 5,
                                                                           dtype=torch.float64)]
    log_p = log_mixture_partition(centers, std, edges)
    ex, ey = (e.numpy() for e in edges)
    expected = np.zeros((8, 4))
    for cx, cy in centers.numpy():  # P(cell) = mean_k prod_i (Phi(b_i) - Phi(a_i)), by scipy
        mx = norm.cdf(ex[1:], cx, std) - norm.cdf(ex[:-1], cx, std)
        my = norm.cdf(ey[1:], cy, std) - norm.cdf(ey[:-1], cy, std)
        expected += np.outer(mx, my) / 3
    assert np.abs(log_p[:-1].exp().numpy() - expected.reshape(-1)).max() < 1e-12
    assert abs(float(log_p[-1].exp()) - (1 - expected.sum())) < 1e-12
    assert abs(float(torch.logsumexp(log_p, 0))) < 1e-12


def test_far_tail_masses_stay_finite_and_exact():
    # a cell 40 to 41 standard deviations out: float64 Phi differences are exactly 0 there
    log_mass = float(log_interval_mass(torch.tensor([40.0, 41.0], dtype=torch.float64),
                                       torch.zeros(1, dtype=torch.float64), 1.0))
    mpmath.mp.dps = 50
    exact = mpmath.log(mpmath.ncdf(-40) - mpmath.ncdf(-41))
    assert abs(log_mass - float(exact)) < 1e-9
    # outside a box 50 std wide on each side of one centre: P = 4 Phi(-50) to first order
    edges = [torch.tensor([-50.0, 50.0], dtype=torch.float64)] * 2
    log_out = log_mixture_outside(torch.zeros(1, 2, dtype=torch.float64), 1.0, edges)
    assert abs(log_out - float(mpmath.log(4 * mpmath.ncdf(-50)))) < 1e-9


def test_pushforward_of_the_identity_is_the_normal_law():
    z, w = z_quadrature(1, 40001, 6.0)
    edges = [torch.linspace(-3, 3, 61, dtype=torch.float64)]
    q = pushforward_cells(z, w, edges).numpy()
    e = edges[0].numpy()
    assert np.abs(q[:-1] - (norm.cdf(e[1:]) - norm.cdf(e[:-1]))).max() < 2e-4
    assert abs(q[-1] - 2 * norm.cdf(-3)) < 2e-4


def test_grid_jsd_and_kl_of_gaussians_match_the_theory():
    p, g = (4.0, 0.5), (3.0, 1.0)  # p_data = N(4, 0.5^2); an affine G: p_g = N(3, 1)
    edges = [torch.linspace(-4.0, 10.0, 2801, dtype=torch.float64)]
    log_p = log_mixture_partition(torch.tensor([[p[0]]], dtype=torch.float64), p[1], edges)
    z, w = z_quadrature(1, 2001, 7.0)
    q = pushforward_segments(g[0] + g[1] * z, w, edges[0])
    assert (q >= 0).all()  # masses, however the differences of sums round on this CPU
    got = divergences(log_p, q)
    assert abs(got["jsd"] - jsd_gaussians(p, g)) < 1e-4
    assert abs(got["kl"] - kl_gaussians(g, p)) < 1e-3  # KL(p_g || p_data)


def test_divergences_of_hand_made_distributions():
    log_p = torch.log(torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64))
    q = torch.tensor([0.25, 0.25, 0.5], dtype=torch.float64)
    m = np.array([0.375, 0.375, 0.25])
    jsd = 0.5 * (2 * 0.5 * math.log(0.5 / 0.375)) + 0.5 * (
        2 * 0.25 * math.log(0.25 / 0.375) + 0.5 * math.log(0.5 / m[2]))
    got = divergences(log_p, q)
    assert abs(got["jsd"] - jsd) < 1e-12
    assert got["kl"] == math.inf  # q has mass where p has none
    same = divergences(torch.log(q), q)
    assert abs(same["jsd"]) < 1e-15 and abs(same["kl"]) < 1e-15


def test_segment_pushforward_is_exact_for_an_affine_map_with_few_nodes():
    z, w = z_quadrature(1, 401, 6.0)  # nodes 0.03 apart, bins 0.025 wide: counting would alias
    edges = torch.linspace(-2.0, 8.0, 401, dtype=torch.float64)
    q = pushforward_segments(3.0 + 0.5 * z, w, edges).numpy()
    e = edges.numpy()
    expected = norm.cdf(e[1:], 3.0, 0.5) - norm.cdf(e[:-1], 3.0, 0.5)
    assert np.abs(q[:-1] - expected).max() < 2e-5
    assert abs(q.sum() - 1) < 1e-12
    # a non-monotone G: z^2 folds N(0, 1) onto the chi-square law with one degree of freedom
    from scipy.stats import chi2

    z, w = z_quadrature(1, 2001, 6.0)
    edges = torch.linspace(0.5, 4.0, 36, dtype=torch.float64)
    q = pushforward_segments(z.pow(2), w, edges).numpy()
    e = edges.numpy()
    assert np.abs(q[:-1] - (chi2.cdf(e[1:], 1) - chi2.cdf(e[:-1], 1))).max() < 1e-4
