import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from ganforge.data.toy import TOYS, load_toy


def test_ring_centres_at_angles_2pi_i_over_8():
    ring = load_toy("ring8")
    c = ring.centers.numpy()
    angles = np.arctan2(c[:, 1], c[:, 0]) % (2 * math.pi)
    assert np.allclose(np.sort(angles), 2 * math.pi * np.arange(8) / 8, atol=1e-12)
    assert np.allclose(np.linalg.norm(ring.centers.numpy(), axis=1), 1.0)
    assert ring.std == 0.01


def test_grid_centres():
    grid = load_toy("grid25")
    assert grid.std == 0.05
    got = {tuple(c) for c in grid.centers.numpy().round(6)}
    assert got == {(a, b) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}


def test_mixture_log_prob_matches_scipy():
    mog = load_toy("mog1d")
    x = torch.linspace(-4, 4, 50, dtype=torch.float64).unsqueeze(1)
    expected = np.log(0.5 * stats.norm.pdf(x.numpy(), -2, 0.4) + 0.5 * stats.norm.pdf(x.numpy(), 2, 0.4))
    assert np.allclose(mog.log_prob(x).numpy(), expected.ravel(), atol=1e-10)


def test_2d_mixture_log_prob_matches_scipy():
    grid = load_toy("grid25")
    x = torch.tensor([[0.01, -0.02], [2.0, 2.1], [1.0, 1.0]], dtype=torch.float64)
    cov = 0.05**2 * np.eye(2)
    pdfs = [stats.multivariate_normal.pdf(x.numpy(), c, cov) for c in grid.centers.numpy()]
    expected = np.log(sum(pdfs) / 25)
    assert np.allclose(grid.log_prob(x).numpy(), expected, atol=1e-8)


@pytest.mark.parametrize("name", sorted(TOYS))
def test_samples_follow_the_density(name):
    """Mean log-density of samples ~= -entropy; far points have much lower density."""
    dist = load_toy(name)
    g = torch.Generator().manual_seed(0)
    x = dist.sample(4000, g)
    assert x.shape == (4000, dist.dim)
    lp = dist.log_prob(x)
    assert torch.isfinite(lp).all()
    far = x + 50.0
    assert (dist.log_prob(far) < lp.min()).all()
    again = dist.sample(4000, torch.Generator().manual_seed(0))
    assert torch.equal(x, again)


def test_spiral_density_integrates_to_one():
    s = load_toy("spiral")
    xs = np.linspace(-3.2, 3.2, 161)  # step 0.04 < std 0.05: trapezoid is exact enough
    xx, yy = np.meshgrid(xs, xs)
    pts = torch.tensor(np.stack([xx.ravel(), yy.ravel()], 1))
    p = s.log_prob(pts).exp().numpy().reshape(xx.shape)
    total = integrate.trapezoid(integrate.trapezoid(p, xs, axis=1), xs)
    assert abs(total - 1.0) < 0.02


def test_gauss1d_density_integrates_to_one():
    d = load_toy("gauss1d")
    xs = torch.linspace(0, 8, 4001, dtype=torch.float64).unsqueeze(1)
    total = integrate.trapezoid(d.log_prob(xs).exp().numpy(), xs.squeeze(1).numpy())
    assert abs(total - 1.0) < 1e-6
