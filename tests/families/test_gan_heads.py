"""Heads with a classifier: ACGAN's auxiliary loss by hand; InfoGAN's categorical code
(model.latent_code): its loss terms, its refusals, and Q learning to read c back."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F

from ganforge.config import load_config
from ganforge.families import build_family, load_data
from ganforge.run import build

TINY = {"data.clusters": 0, "model.num_classes": 0, "model.head": "plain",
        "data.batch_size": 16, "model.g_width": 8, "model.d_width": 8, "model.latent_code": 4,
        "train.progress": False}


def _family(**overrides):
    cfg = load_config("digits-dcgan", dict(TINY, **overrides))
    data = load_data(cfg)
    return cfg, data, build_family(cfg, data, torch.device("cpu"))


def test_the_code_conditions_g_and_q_has_k_logits():
    _, _, family = _family()
    assert family.conditional_g and family.num_classes == 4
    z = torch.randn(3, family.z_dim)
    with torch.no_grad():
        family.G.eval()
        a = family.G(z, torch.tensor([0, 0, 0]))
        b = family.G(z, torch.tensor([1, 2, 3]))
    assert not torch.allclose(a, b)  # same z, other code: another image
    adv, code_logits = family.discriminate(a, None)
    assert adv.shape == (3,) and code_logits.shape == (3, 4)


def test_info_terms_are_the_cross_entropy_of_q_on_fakes_only():
    """D's loss = adversarial + lambda * CE(Q(G(z, c)), c); G's adds the same CE (-L_I + H(c)).
    Real digits carry no code, so nothing in either loss reads real labels."""
    cfg, data, family = _family(**{"loss.aux_weight": 0.5, "data.labels": False})
    batch = data.stream.next()
    assert "y" not in batch
    torch.manual_seed(3)
    loss, logs = family.d_loss(batch, step=0)
    torch.manual_seed(3)  # the same z and c again, by hand
    n = batch["x"].shape[0]
    y_fake = family.fake_labels(n)
    with torch.no_grad():
        fake = family.G(family.noise(n), y_fake)
    real_out, _ = family.discriminate(batch["x"], None)
    fake_out, fake_logits = family.discriminate(fake, None)
    adv = F.softplus(-real_out).mean() + F.softplus(fake_out).mean()
    info = F.cross_entropy(fake_logits, y_fake)
    assert abs(logs["loss_info"].item() - info.item()) < 1e-5
    assert abs(loss.item() - (adv + 0.5 * info).item()) < 1e-5

    torch.manual_seed(4)
    g_loss, _ = family.g_loss(batch, family.D)
    torch.manual_seed(4)
    y_fake = family.fake_labels(n)
    fake_out, fake_logits = family.discriminate(family.G(family.noise(n), y_fake), None)
    expected = F.softplus(-fake_out).mean() + 0.5 * F.cross_entropy(fake_logits, y_fake)
    assert abs(g_loss.item() - expected.item()) < 1e-5


@pytest.mark.parametrize("on_fakes", [True, False])
def test_acgan_d_loss_adds_the_class_cross_entropy_of_reals_and_optionally_fakes(on_fakes):
    """L_C for D = CE(C(x), y) [+ CE(C(G(z, c)), c) as in Odena et al.; off: real labels only]."""
    cfg = load_config("digits-acgan", {"data.batch_size": 16, "model.g_width": 8,
                                       "model.d_width": 8, "loss.aux_on_fakes": on_fakes})
    data = load_data(cfg)
    family = build_family(cfg, data, torch.device("cpu"))
    batch = data.stream.next()
    torch.manual_seed(5)
    loss, logs = family.d_loss(batch, step=0)
    torch.manual_seed(5)
    n = batch["x"].shape[0]
    y_fake = family.fake_labels(n)
    with torch.no_grad():
        fake = family.G(family.noise(n), y_fake)
    real_out, real_logits = family.D(batch["x"])
    fake_out, fake_logits = family.D(fake)
    adv = F.softplus(-real_out).mean() + F.softplus(fake_out).mean()
    aux = F.cross_entropy(real_logits, batch["y"])
    if on_fakes:
        aux = aux + F.cross_entropy(fake_logits, y_fake)
    assert abs(logs["loss_aux"].item() - aux.item()) < 1e-5
    assert abs(loss.item() - (adv + aux).item()) < 1e-5


@pytest.mark.parametrize("overrides, message", [
    ({"model.num_classes": 10, "data.labels": True}, "model.num_classes=0"),
    ({"model.head": "projection", "data.labels": True}, "model.head=plain"),
    ({"model.latent_code": -1}, "must be >= 0"),
    ({"model.arch": "began", "train.family": "began"}, "model.latent_code=0"),
])
def test_inconsistent_code_settings_are_refused(overrides, message):
    cfg = load_config("digits-dcgan", dict(TINY, **overrides))
    with pytest.raises(ValueError, match=message):
        build(cfg)


def test_q_learns_to_read_the_code_back():
    """Maximising L_I: after 300 steps Q names the code of fresh samples far above chance."""
    cfg, data, family = _family(**{"train.steps": 300})
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for step in range(300):
            batch = data.stream.next()
            family.d_step(batch, step)
            family.g_step(batch, step)
    c = torch.arange(400) % 4
    with torch.no_grad():
        family.G.eval(), family.D.eval()
        _, logits = family.discriminate(family.G(torch.randn(400, family.z_dim), c), None)
    accuracy = (logits.argmax(1) == c).float().mean().item()
    assert accuracy > 0.9, accuracy  # chance: 0.25
