"""The VAE's objective: binarisation draws the grey level's probability, the ELBO of a tiny model
equals the value worked out by hand, and the IWAE bound climbs with k to a known log p(x)."""

from __future__ import annotations

import math

import torch

from ganforge.objectives.likelihood import (
    bernoulli_log_likelihood,
    binarise,
    feature_reconstruction_loss,
    iwae_bound,
    log_importance_weights,
    negative_elbo,
    reparameterise,
)


def sigmoid(a: float) -> float:
    return 1.0 / (1.0 + math.exp(-a))


def test_binarise_draws_each_pixel_with_its_grey_level_as_probability():
    x = torch.tensor([-1.0, 1.0, 0.5]).expand(20_000, 3)
    bits = binarise(x, torch.Generator().manual_seed(0))
    assert set(bits.unique().tolist()) <= {0.0, 1.0}
    assert bits[:, 0].sum() == 0 and bits[:, 1].sum() == len(bits)
    assert abs(float(bits[:, 2].mean()) - 0.75) < 0.01  # (0.5 + 1) / 2; SE 0.003


def test_elbo_of_a_tiny_model_equals_the_hand_computed_value():
    """Three binary pixels b = (0, 1, 1), a 1-D latent. Encoder: mu = 0.5 (b_0 + b_1 + b_2) - 1,
    log sigma^2 = -1; decoder logits l_j = v_j z + c_j; eps = 0.3."""
    bits = torch.tensor([[0.0, 1.0, 1.0]], dtype=torch.float64)
    v = torch.tensor([0.8, -0.4, 1.5], dtype=torch.float64)
    c = torch.tensor([-1.0, 0.2, 0.0], dtype=torch.float64)
    mu = 0.5 * bits.sum(1, keepdim=True) - 1.0
    logvar = torch.full_like(mu, -1.0)
    z = reparameterise(mu, logvar, torch.tensor([[0.3]], dtype=torch.float64))
    log_px = bernoulli_log_likelihood(bits.view(1, 1, 1, 3), (v * z + c).view(1, 1, 1, 3))
    loss, kl = negative_elbo(log_px, mu, logvar)

    # by hand: z = 0 + e^-0.5 * 0.3 = 0.18196..., logits 0.8z - 1, -0.4z + 0.2, 1.5z
    zz = 0.0 + math.exp(-0.5) * 0.3
    l0, l1, l2 = 0.8 * zz - 1.0, -0.4 * zz + 0.2, 1.5 * zz
    log_p = math.log(1 - sigmoid(l0)) + math.log(sigmoid(l1)) + math.log(sigmoid(l2))
    kl_hand = 0.5 * (0.0**2 + math.exp(-1.0) - 1.0 + 1.0)
    assert abs(float(kl) - kl_hand) < 1e-12
    assert abs(float(loss) - (kl_hand - log_p)) < 1e-12


def test_feature_reconstruction_loss_is_half_the_squared_distance():
    a = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    b = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    assert abs(float(feature_reconstruction_loss(a, b)) - (0.5 * 5 + 0.5 * 9) / 2) < 1e-12


def linear_gaussian(seed: int = 0):
    """p(z) = N(0, I_2), p(x|z) = N(W z + b, 0.5^2 I_4): log p(x) = log N(x; b, W W^T + 0.25 I)."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(4, 2, generator=g, dtype=torch.float64)
    b = torch.randn(4, generator=g, dtype=torch.float64)
    var = 0.25
    cov = w @ w.T + var * torch.eye(4, dtype=torch.float64)
    marginal = torch.distributions.MultivariateNormal(b, cov)
    x = marginal.sample((200,))
    # the exact posterior N(A (x - b), S), S = (I + W^T W / var)^-1, A = S W^T / var; q is it
    # with its mean shifted and its variance doubled, so that the ELBO has a clear gap
    post_cov = torch.linalg.inv(torch.eye(2, dtype=torch.float64) + w.T @ w / var)
    mu = (x - b) @ (post_cov @ w.T / var).T + 0.3
    logvar = torch.log(2 * torch.diagonal(post_cov)).expand(len(x), 2)

    def log_px_given_z(z):  # z (k, N, 2) -> (k, N)
        diff = x - (z @ w.T + b)
        return (-0.5 * (math.log(2 * math.pi * var) + diff.pow(2) / var)).sum(-1)

    return x, mu, logvar, log_px_given_z, marginal.log_prob(x)


def test_iwae_bound_increases_with_k_towards_the_closed_form_log_likelihood():
    x, mu, logvar, log_px_given_z, log_px = linear_gaussian()
    g = torch.Generator().manual_seed(1)
    bounds = {}
    for k in (1, 10, 100, 1000):
        z = reparameterise(mu, logvar, torch.randn(k, *mu.shape, generator=g, dtype=torch.float64))
        bounds[k] = float(iwae_bound(log_importance_weights(log_px_given_z(z), z, mu, logvar)).mean())
    truth = float(log_px.mean())
    gaps = [truth - bounds[k] for k in (1, 10, 100, 1000)]
    assert gaps[0] > 0.3, gaps  # the ELBO's gap for this q
    assert all(a > b for a, b in zip(gaps, gaps[1:])), gaps  # L_1 < L_10 < L_100 < L_1000
    assert abs(gaps[-1]) < 0.02, gaps  # L_1000 is within 0.02 nats of log p(x)
