"""The f-GAN objectives and the f-divergence table against the paper and hand-worked values."""

from __future__ import annotations

import math

import pytest
import torch
from hand_worked import FAKE, REAL, close, mean, t

from ganforge.objectives import get_f_divergence, get_objective

# The f-GAN paper's table, written naively with math (output activation g_f, conjugate f*).
PAPER_TABLE = {
    "kl": (lambda v: v, lambda s: math.exp(s - 1)),
    "reverse-kl": (lambda v: -math.exp(-v), lambda s: -1 - math.log(-s)),
    "pearson": (lambda v: v, lambda s: s * s / 4 + s),
    "hellinger": (lambda v: 1 - math.exp(-v), lambda s: s / (1 - s)),
    "js": (
        lambda v: math.log(2) - math.log(1 + math.exp(-v)),
        lambda s: -math.log(2 - math.exp(s)),
    ),
    "gan": (lambda v: -math.log(1 + math.exp(-v)), lambda s: -math.log(1 - math.exp(s))),
}


@pytest.mark.parametrize("name", sorted(PAPER_TABLE))
def test_fgan_values_follow_the_paper_table(name):
    g_f, f_star = PAPER_TABLE[name]
    objective = get_objective(f"fgan-{name}")
    bound = mean(g_f(r) for r in REAL) - mean(f_star(g_f(f)) for f in FAKE)
    assert close(objective.d_loss(t(REAL), t(FAKE)), -bound, 1e-9)
    assert close(objective.g_loss(t(FAKE)), -mean(g_f(f) for f in FAKE), 1e-9)
    divergence = get_f_divergence(name)
    assert close(divergence.variational_bound(t(REAL), t(FAKE)), bound, 1e-9)


def test_fgan_gan_discriminator_is_the_minimax_discriminator_and_its_g_loss_is_ns():
    fgan = get_objective("fgan-gan")
    assert close(fgan.d_loss(t(REAL), t(FAKE)), get_objective("minimax").d_loss(t(REAL), t(FAKE)))
    g_ns = mean(math.log(1 + math.exp(-f)) for f in FAKE)
    assert close(fgan.g_loss(t(FAKE)), g_ns)


# ---------------------------------------------------------------------------------------------
# the f-divergence table
# ---------------------------------------------------------------------------------------------


# t values inside dom f* whose maximiser u* = (f')^{-1}(t) lies well inside the u grid below
CONJUGATE_POINTS = {
    "kl": [-1.0, 0.0, 1.0, 2.0],
    "reverse-kl": [-3.0, -1.0, -0.5],
    "pearson": [-1.5, 0.0, 1.0, 3.0],
    "hellinger": [-2.0, 0.0, 0.5],
    "js": [-2.0, 0.0, 0.5],
    "gan": [-3.0, -0.7, -0.2],
}


@pytest.mark.parametrize("name", sorted(CONJUGATE_POINTS))
def test_f_star_is_the_convex_conjugate_of_f(name):
    divergence = get_f_divergence(name)
    u = torch.logspace(-5, 3, 400_001, dtype=torch.float64)
    f_u = divergence.f(u)
    for point in CONJUGATE_POINTS[name]:
        supremum = float(torch.max(point * u - f_u))
        assert close(divergence.conjugate(torch.tensor(point, dtype=torch.float64)), supremum, 1e-6)


@pytest.mark.parametrize("name", sorted(CONJUGATE_POINTS))
def test_generator_is_convex_with_f_of_one_zero(name):
    divergence = get_f_divergence(name)
    # f(1) = 0 makes D_f(P||P) = 0; the GAN generator is shifted by -log 4 (2 JSD - log 4)
    f_of_one = -math.log(4.0) if name == "gan" else 0.0
    assert close(divergence.f(torch.tensor(1.0, dtype=torch.float64)), f_of_one, 1e-12)
    u = torch.linspace(0.01, 10.0, 2001, dtype=torch.float64)
    second_difference = divergence.f(u[2:]) - 2 * divergence.f(u[1:-1]) + divergence.f(u[:-2])
    assert float(second_difference.min()) >= -1e-12


@pytest.mark.parametrize("name", sorted(CONJUGATE_POINTS))
def test_activation_lands_in_the_conjugate_domain(name):
    divergence = get_f_divergence(name)
    v = torch.linspace(-8.0, 8.0, 161, dtype=torch.float64)
    s = divergence.activation(v)
    low, high = divergence.conjugate_domain
    assert bool(((s > low) & (s < high)).all())
    # the stable composition agrees with composing the two functions
    composed = divergence.conjugate(s)
    error = (divergence.conjugate_of_activation(v) - composed).abs() / (1.0 + composed.abs())
    assert float(error.max()) < 1e-8
