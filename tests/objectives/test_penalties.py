"""Penalties and tricks: gradient penalty, R1, weight clipping, label flipping, instance noise, top-k."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from ganforge import objectives
from ganforge.objectives import (
    add_instance_noise,
    clip_weights_,
    flip_labels,
    gradient_penalty,
    instance_noise_std,
    penalties,
    r1_penalty,
)


def close(a, b, tol: float = 1e-9) -> bool:
    a, b = (x.detach() if isinstance(x, torch.Tensor) else x for x in (a, b))
    return abs(float(a) - float(b)) <= tol


# ---------------------------------------------------------------------------------------------
# penalties
# ---------------------------------------------------------------------------------------------


class LinearCritic(nn.Module):
    """D(x) = w . flatten(x): grad_x D = w everywhere."""

    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.w = nn.Parameter(w.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.w


def test_gradient_penalty_on_a_linear_critic():
    w = torch.tensor([0.5, -1.0, 2.0, 0.25, 1.5, -0.75, 0.0, 1.0, 0.5, -0.5, 0.25, 2.0])
    critic = LinearCritic(w)
    real, fake = torch.randn(5, 3, 2, 2), torch.randn(5, 3, 2, 2)  # images N, C, H, W
    norm = math.sqrt(sum(float(x) ** 2 for x in w))
    penalty = gradient_penalty(critic, real, fake)
    assert close(penalty, (norm - 1) ** 2, 1e-4)
    assert close(gradient_penalty(critic, real, fake, target=2.0), (norm - 2) ** 2, 1e-4)
    # create_graph: the penalty back-propagates into D, d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w/||w||
    penalty.backward()
    expected = 2 * (norm - 1) * w / norm
    assert float((critic.w.grad - expected).abs().max()) < 1e-4


def test_gradient_penalty_uses_per_sample_interpolates():
    # D(x) = 1/2 ||x||^2 has grad_x D = x, so the penalty is E[(||x_hat|| - 1)^2]
    def critic(x):
        return 0.5 * x.flatten(1).pow(2).sum(dim=1)

    real, fake = torch.randn(6, 4, dtype=torch.float64), torch.randn(6, 4, dtype=torch.float64)
    penalty = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(3))
    eps = torch.rand(6, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    x_hat = eps[:, None] * real + (1 - eps[:, None]) * fake
    expected = np.mean((np.linalg.norm(x_hat.numpy(), axis=1) - 1.0) ** 2)
    assert close(penalty, expected, 1e-9)
    # eps is drawn per sample, not once per batch: the penalty differs from both end points
    assert not close(penalty, gradient_penalty(critic, real, real), 1e-3)


def test_gradient_penalty_rejects_mismatched_batches():
    with pytest.raises(ValueError, match="same shape"):
        gradient_penalty(LinearCritic(torch.ones(4)), torch.zeros(3, 4), torch.zeros(2, 4))


def test_r1_penalty():
    w = torch.tensor([3.0, -4.0])
    critic = LinearCritic(w)
    x = torch.randn(7, 2, requires_grad=True)
    assert close(r1_penalty(critic(x), x), 25.0, 1e-4)  # ||w||^2 = 9 + 16

    x = torch.tensor([[1.0, 2.0], [0.0, 3.0]], requires_grad=True)
    out = 0.5 * x.pow(2).sum(dim=1)  # grad = x: squared norms 5 and 9
    penalty = r1_penalty(out, x)
    assert close(penalty, 7.0, 1e-6)
    penalty.backward()  # graph kept: d/dx mean ||x||^2 = x
    assert float((x.grad - x.detach()).abs().max()) < 1e-6

    with pytest.raises(ValueError, match="requires_grad"):
        r1_penalty(critic(torch.randn(3, 2)), torch.randn(3, 2))


def test_weight_clipping_keeps_every_weight_in_range():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Conv1d(1, 3, 3), nn.BatchNorm1d(3))
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.mul_(10.0).add_(0.3)
    before = [parameter.detach().clone() for parameter in net.parameters()]
    clip_weights_(net, 0.01)
    for old, parameter in zip(before, net.parameters()):
        assert float(parameter.detach().abs().max()) <= 0.01
        inside = old.abs() <= 0.01
        assert torch.equal(parameter[inside], old[inside])
    with pytest.raises(ValueError, match="positive"):
        clip_weights_(net, 0.0)


# ---------------------------------------------------------------------------------------------
# tricks
# ---------------------------------------------------------------------------------------------


def test_flip_labels():
    real, fake = torch.arange(10_000.0), -torch.arange(10_000.0) - 1
    same_real, same_fake = flip_labels(real, fake, 0.0)
    assert torch.equal(same_real, real) and torch.equal(same_fake, fake)
    swapped_real, swapped_fake = flip_labels(real, fake, 1.0)
    assert torch.equal(swapped_real, fake) and torch.equal(swapped_fake, real)

    new_real, new_fake = flip_labels(real, fake, 0.25, generator=torch.Generator().manual_seed(1))
    flipped = new_real < 0
    assert torch.equal(new_real[flipped], fake[flipped])
    assert torch.equal(new_fake[flipped], real[flipped])
    assert torch.equal(new_real[~flipped], real[~flipped])
    assert abs(float(flipped.double().mean()) - 0.25) < 0.02  # 4.6 standard errors
    again, _ = flip_labels(real, fake, 0.25, generator=torch.Generator().manual_seed(1))
    assert torch.equal(again, new_real)

    images_real, images_fake = torch.zeros(4, 1, 2, 2), torch.ones(4, 1, 2, 2)
    out_real, _ = flip_labels(images_real, images_fake, 1.0)
    assert torch.equal(out_real, images_fake)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        flip_labels(real, fake, 1.5)


def test_instance_noise_schedule():
    assert instance_noise_std(0, 0.1, 1000) == 0.1
    assert close(instance_noise_std(250, 0.1, 1000), 0.075, 1e-12)
    assert instance_noise_std(1000, 0.1, 1000) == 0.0
    assert instance_noise_std(5000, 0.1, 1000) == 0.0
    with pytest.raises(ValueError, match="anneal_steps"):
        instance_noise_std(0, 0.1, 0)


def test_add_instance_noise():
    x = torch.zeros(200_000)
    assert add_instance_noise(x, 0.0) is x
    noisy = add_instance_noise(x, 0.5, generator=torch.Generator().manual_seed(0))
    assert abs(float(noisy.std()) - 0.5) < 0.005


def test_top_k_count_anneals_linearly_to_its_floor():
    # m = 64, nu = 0.5, anneal over 100 steps: 64 at step 0, 48 at step 50, 32 from step 100 on
    assert penalties.top_k_count(0, 64, 0.5, 100) == 64
    assert penalties.top_k_count(50, 64, 0.5, 100) == 48
    assert penalties.top_k_count(100, 64, 0.5, 100) == 32
    assert penalties.top_k_count(10_000, 64, 0.5, 100) == 32
    assert penalties.top_k_count(10_000, 3, 0.1, 100) == 1  # never an empty loss
    with pytest.raises(ValueError, match=r"loss.top_k must be a fraction in \(0, 1\]"):
        penalties.top_k_count(0, 64, 1.5, 100)


def test_top_k_outputs_keeps_the_samples_d_rates_most_real():
    out = torch.tensor([0.3, -2.0, 5.0, 1.0, -0.5])
    kept = penalties.top_k_outputs(out, 2)
    assert sorted(kept.tolist()) == [1.0, 5.0]
    assert penalties.top_k_outputs(out, 5) is out
    # the G loss then only sees those two: ns loss = mean softplus(-v) over {5, 1}
    expected = (math.log1p(math.exp(-5.0)) + math.log1p(math.exp(-1.0))) / 2
    got = objectives.get_objective("ns").g_loss(kept).item()
    assert abs(got - expected) < 1e-6
