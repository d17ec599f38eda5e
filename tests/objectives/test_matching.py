"""Text-to-image losses against values worked out by hand."""

from __future__ import annotations

import math

import torch

from ganforge.objectives.matching import (
    ca_kl,
    contrastive_loss,
    matching_d_loss,
    matching_g_loss,
    mode_seeking_loss,
)


def sp(v: float) -> float:
    return math.log1p(math.exp(v))


def test_matching_aware_d_loss_on_hand_worked_logits():
    s_r, s_w, s_f = torch.tensor([0.0, 2.0]), torch.tensor([1.0, -1.0]), torch.tensor([0.0, 0.0])
    # softplus(-0) = 0.693147, softplus(-2) = 0.126928; softplus(1) = 1.313262,
    # softplus(-1) = 0.313262; softplus(0) = 0.693147
    hand = (0.693147 + 0.126928) / 2 + 0.5 * ((1.313262 + 0.313262) / 2 + 0.693147)
    assert abs(float(matching_d_loss(s_r, s_w, s_f)) - hand) < 1e-5
    assert abs(hand - 1.163242) < 1e-6
    # a real image with the wrong text counts as fake: raising s_w raises the loss
    assert float(matching_d_loss(s_r, s_w + 1, s_f)) > float(matching_d_loss(s_r, s_w, s_f))
    assert abs(float(matching_g_loss(torch.tensor([0.0, 1.0]))) - (sp(0) + sp(-1)) / 2) < 1e-6


def test_conditioning_augmentation_kl_by_hand():
    mu = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(4.0)], [0.0, 0.0]])
    # row 1: 1/2 [(1 + 1 - 1 - 0) + (0 + 4 - 1 - ln 4)] = 1.306853; row 2: N(0, I) itself, 0
    assert abs(float(ca_kl(mu, logvar)) - 1.306853 / 2) < 1e-6


def test_contrastive_loss_by_hand():
    u = torch.eye(2)
    # logits I / 1: each row's softmax puts e / (e + 1) on its match
    assert abs(float(contrastive_loss(u, u, 1.0)) - sp(-1)) < 1e-6
    # both pairs positive: targets 1/2, -(log p1 + log p2) / 2 = (sp(-1) + sp(1)) / 2
    both = torch.ones(2, 2, dtype=torch.bool)
    assert abs(float(contrastive_loss(u, u, 1.0, both)) - (sp(-1) + sp(1)) / 2) < 1e-6
    # temperature 0.5 doubles the logits
    assert abs(float(contrastive_loss(u, u, 0.5)) - sp(-2)) < 1e-6


def test_mode_seeking_loss_by_hand():
    # images 0.5 apart in every pixel from noises 2 apart in every coordinate: ratio 1/4
    fake_a, fake_b = torch.zeros(2, 1, 2, 2), torch.full((2, 1, 2, 2), 0.5, requires_grad=True)
    z_a, z_b = torch.zeros(2, 4), torch.full((2, 4), 2.0)
    loss = mode_seeking_loss(fake_a, fake_b, z_a, z_b)
    assert abs(float(loss) - 1 / (0.25 + 1e-5)) < 1e-3
    # half the pixels 1.5 apart instead: d_I = (0.5 + 1.5) / 2 = 1, ratio 1/2
    far = fake_b.detach().clone()
    far[:, :, 0] = 1.5
    assert abs(float(mode_seeking_loss(fake_a, far, z_a, z_b)) - 1 / (0.5 + 1e-5)) < 1e-3
    # its gradient pushes the two images apart: -dL/dfake_b points along fake_b - fake_a
    loss.backward()
    assert (fake_b.grad < 0).all()
