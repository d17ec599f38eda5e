"""Objectives, f-divergence table, penalties and tricks against hand-worked values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from ganforge import objectives
from ganforge.objectives import (
    F_DIVERGENCES,
    OBJECTIVES,
    add_instance_noise,
    clip_weights_,
    cycle_consistency_loss,
    flip_labels,
    get_f_divergence,
    get_objective,
    gradient_penalty,
    identity_loss,
    instance_noise_std,
    l1_loss,
    r1_penalty,
)

REAL = [2.0, -1.0]
FAKE = [0.5, -3.0]


def t(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def softplus(v: float) -> float:
    return math.log(1.0 + math.exp(v))


def close(a, b, tol: float = 1e-9) -> bool:
    a, b = (x.detach() if isinstance(x, torch.Tensor) else x for x in (a, b))
    return abs(float(a) - float(b)) <= tol


# ---------------------------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------------------------


def test_registry_holds_exactly_the_documented_objectives():
    expected = {
        "minimax", "ns", "lsgan", "hinge", "wasserstein", "wgan-gp",
        "fgan-kl", "fgan-reverse-kl", "fgan-pearson", "fgan-hellinger", "fgan-js", "fgan-gan",
    }  # fmt: skip
    assert set(OBJECTIVES) == expected
    assert set(F_DIVERGENCES) == {"kl", "reverse-kl", "pearson", "hellinger", "js", "gan"}
    for name in expected:
        assert get_objective(name).name == name


def test_unknown_objective_lists_valid_names():
    with pytest.raises(KeyError) as excinfo:
        get_objective("wgan-gpp")
    message = str(excinfo.value)
    assert "wgan-gpp" in message
    for name in ("minimax", "ns", "hinge", "wgan-gp", "fgan-kl", "fgan-gan"):
        assert name in message


def test_unknown_f_divergence_lists_valid_names():
    with pytest.raises(KeyError) as excinfo:
        get_f_divergence("total-variation")
    assert "reverse-kl" in str(excinfo.value) and "hellinger" in str(excinfo.value)


def test_flags():
    critics = {name for name, o in OBJECTIVES.items() if o.critic}
    probabilistic = {name for name, o in OBJECTIVES.items() if o.probabilistic}
    smoothable = {name for name, o in OBJECTIVES.items() if o.accepts_real_target}
    assert critics == {"wasserstein", "wgan-gp"}
    assert probabilistic == {"minimax", "ns", "fgan-gan"}
    assert smoothable == {"minimax", "ns", "fgan-gan", "lsgan"}


# ---------------------------------------------------------------------------------------------
# values on hand-worked logits
# ---------------------------------------------------------------------------------------------


def test_minimax_and_ns_values():
    # -log sigmoid(v) = log(1 + e^-v), -log(1 - sigmoid(v)) = log(1 + e^v)
    d_expected = mean(math.log(1 + math.exp(-r)) for r in REAL) + mean(
        math.log(1 + math.exp(f)) for f in FAKE
    )
    for name in ("minimax", "ns"):
        assert close(get_objective(name).d_loss(t(REAL), t(FAKE)), d_expected)
    # minimax G: E[log(1 - D(G(z)))]
    g_minimax = mean(math.log(1 - 1 / (1 + math.exp(-f))) for f in FAKE)
    assert close(get_objective("minimax").g_loss(t(FAKE)), g_minimax)
    # ns G: -E[log D(G(z))]
    g_ns = mean(-math.log(1 / (1 + math.exp(-f))) for f in FAKE)
    assert close(get_objective("ns").g_loss(t(FAKE)), g_ns)


def test_one_sided_label_smoothing_in_bce():
    target = 0.9
    sig = [1 / (1 + math.exp(-r)) for r in REAL]
    real_term = mean(-(target * math.log(s) + (1 - target) * math.log(1 - s)) for s in sig)
    fake_term = mean(-math.log(1 - 1 / (1 + math.exp(-f))) for f in FAKE)
    for name in ("minimax", "ns", "fgan-gan"):
        value = get_objective(name).d_loss(t(REAL), t(FAKE), real_target=target)
        assert close(value, real_term + fake_term)


def test_lsgan_values():
    d_expected = 0.5 * mean((r - 1) ** 2 for r in REAL) + 0.5 * mean(f**2 for f in FAKE)
    g_expected = 0.5 * mean((f - 1) ** 2 for f in FAKE)
    lsgan = get_objective("lsgan")
    assert close(lsgan.d_loss(t(REAL), t(FAKE)), d_expected)
    assert close(lsgan.g_loss(t(FAKE)), g_expected)
    smoothed = 0.5 * mean((r - 0.9) ** 2 for r in REAL) + 0.5 * mean(f**2 for f in FAKE)
    assert close(lsgan.d_loss(t(REAL), t(FAKE), real_target=0.9), smoothed)


def test_hinge_values():
    # real 2 -> max(0, -1) = 0; real -1 -> 2;  fake 0.5 -> 1.5; fake -3 -> 0
    hinge = get_objective("hinge")
    assert close(hinge.d_loss(t(REAL), t(FAKE)), (0 + 2) / 2 + (1.5 + 0) / 2)
    assert close(hinge.g_loss(t(FAKE)), -(0.5 - 3.0) / 2)


def test_wasserstein_values():
    for name in ("wasserstein", "wgan-gp"):
        objective = get_objective(name)
        assert close(objective.d_loss(t(REAL), t(FAKE)), (0.5 - 3.0) / 2 - (2.0 - 1.0) / 2)
        assert close(objective.g_loss(t(FAKE)), 1.25)


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


def test_losses_stay_finite_on_extreme_logits():
    extreme = torch.tensor([-100.0, 100.0])  # float32: exp(100) overflows
    for name in ("minimax", "ns", "fgan-gan", "fgan-js", "hinge", "lsgan"):
        objective = get_objective(name)
        assert torch.isfinite(objective.d_loss(extreme, extreme))
        assert torch.isfinite(objective.g_loss(extreme))
    # f*(g_f(v)) for reverse KL is v - 1 even where -exp(-v) overflows to -inf
    reverse_kl = get_f_divergence("reverse-kl")
    assert close(reverse_kl.conjugate_of_activation(torch.tensor(-100.0)), -101.0)
    # softplus form: d_loss of a confident correct D is ~0, of a confident wrong D ~100
    ns = get_objective("ns")
    assert close(ns.d_loss(torch.tensor([100.0]), torch.tensor([-100.0])), 0.0, 1e-6)
    assert close(ns.d_loss(torch.tensor([-100.0]), torch.tensor([-100.0])), 100.0, 1e-4)


def test_label_smoothing_refused_where_meaningless():
    for name in ("hinge", "wasserstein", "wgan-gp", "fgan-kl", "fgan-pearson"):
        with pytest.raises(ValueError, match="label smoothing .* applies to"):
            get_objective(name).d_loss(t(REAL), t(FAKE), real_target=0.9)
        # the default target is accepted
        get_objective(name).d_loss(t(REAL), t(FAKE), real_target=1.0)
    with pytest.raises(ValueError, match="real_target"):
        get_objective("ns").d_loss(t(REAL), t(FAKE), real_target=1.5)


def test_outputs_must_be_one_dimensional():
    with pytest.raises(ValueError, match=r"shape \(N,\)"):
        get_objective("ns").d_loss(torch.zeros(4, 1), torch.zeros(4))


# ---------------------------------------------------------------------------------------------
# saturation
# ---------------------------------------------------------------------------------------------


def test_minimax_generator_saturates_where_ns_does_not():
    def grad_of_g_loss(name: str, logit: float) -> float:
        v = torch.tensor([logit], requires_grad=True)
        get_objective(name).g_loss(v).backward()
        return float(v.grad[0])

    # D confidently rejects the fake (v = -10): d/dv log(1 - sigmoid v) = -sigmoid(v) ~ -4.5e-5
    assert abs(grad_of_g_loss("minimax", -10.0)) < 1e-4
    # d/dv -log sigmoid(v) = -(1 - sigmoid(v)) ~ -1
    assert close(grad_of_g_loss("ns", -10.0), -1.0, 1e-4)
    # both point the same way where D is fooled (v = 0): -1/2
    assert close(grad_of_g_loss("minimax", 0.0), -0.5, 1e-6)
    assert close(grad_of_g_loss("ns", 0.0), -0.5, 1e-6)


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


# ---------------------------------------------------------------------------------------------
# image-to-image
# ---------------------------------------------------------------------------------------------


def test_l1_cycle_and_identity_losses():
    a = t([[1.0, -2.0], [0.5, 0.0]])
    b = t([[0.0, -1.0], [0.5, 2.0]])
    # |1| + |-1| + 0 + |-2| = 4 over 4 elements
    assert close(l1_loss(a, b), 1.0)
    assert close(cycle_consistency_loss(a, b), 1.0)
    assert close(identity_loss(a, b), 1.0)
    with pytest.raises(ValueError, match="equal shapes"):
        l1_loss(a, b[0])


def test_top_k_count_anneals_linearly_to_its_floor():
    # m = 64, nu = 0.5, anneal over 100 steps: 64 at step 0, 48 at step 50, 32 from step 100 on
    assert objectives.top_k_count(0, 64, 0.5, 100) == 64
    assert objectives.top_k_count(50, 64, 0.5, 100) == 48
    assert objectives.top_k_count(100, 64, 0.5, 100) == 32
    assert objectives.top_k_count(10_000, 64, 0.5, 100) == 32
    assert objectives.top_k_count(10_000, 3, 0.1, 100) == 1  # never an empty loss
    with pytest.raises(ValueError, match=r"loss.top_k must be a fraction in \(0, 1\]"):
        objectives.top_k_count(0, 64, 1.5, 100)


def test_top_k_outputs_keeps_the_samples_d_rates_most_real():
    out = torch.tensor([0.3, -2.0, 5.0, 1.0, -0.5])
    kept = objectives.top_k_outputs(out, 2)
    assert sorted(kept.tolist()) == [1.0, 5.0]
    assert objectives.top_k_outputs(out, 5) is out
    # the G loss then only sees those two: ns loss = mean softplus(-v) over {5, 1}
    expected = (math.log1p(math.exp(-5.0)) + math.log1p(math.exp(-1.0))) / 2
    got = objectives.get_objective("ns").g_loss(kept).item()
    assert abs(got - expected) < 1e-6
