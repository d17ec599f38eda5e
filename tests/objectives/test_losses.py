"""The fixed-form losses (minimax, ns, lsgan, hinge, Wasserstein) against hand-worked values."""

from __future__ import annotations

import math

import pytest
import torch
from hand_worked import FAKE, REAL, close, mean, t

from ganforge.objectives import get_f_divergence, get_objective

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
