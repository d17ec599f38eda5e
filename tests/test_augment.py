"""DiffAugment: each augmentation against its definition, and its use in the GAN family."""

import pytest
import torch

from ganforge.augment import (
    AdaptiveAugment,
    ada_adjust,
    cutout_mask,
    diff_augment,
    parse_policy,
    translate,
    translation,
)
from ganforge.config import load_config
from ganforge.families import GANFamily, load_data
from ganforge.run import build


def test_parse_policy_accepts_subsets_and_refuses_unknown_names():
    assert parse_policy("") == ()
    assert parse_policy("translation, cutout") == ("translation", "cutout")
    with pytest.raises(ValueError, match="unknown policy flip; valid: .*color, translation, cutout"):
        parse_policy("color,flip")


def test_translate_moves_each_image_by_its_own_shift_with_zeros_coming_in():
    x = torch.arange(2 * 16, dtype=torch.float32).reshape(2, 1, 4, 4) + 1
    out = translate(x, torch.tensor([[1, 0], [0, -2]]))
    expected0 = torch.zeros(4, 4)
    expected0[1:] = x[0, 0, :-1]  # one row down
    expected1 = torch.zeros(4, 4)
    expected1[:, :2] = x[1, 0, :, 2:]  # two columns left
    assert torch.equal(out[0, 0], expected0) and torch.equal(out[1, 0], expected1)


def test_translation_shifts_at_most_an_eighth_of_the_side():
    rng = torch.Generator().manual_seed(0)
    x = torch.zeros(200, 1, 16, 16)
    x[:, :, 8, 8] = 1.0  # one bright pixel; find where it went
    out = translation(x, rng)
    where = out.flatten(1).argmax(dim=1)
    rows, cols = where // 16, where % 16
    assert (rows - 8).abs().max() == 2 and (cols - 8).abs().max() == 2  # 16 / 8 = 2, reached
    assert out.sum() == 200  # nothing left the picture at this shift range


def test_cutout_zeroes_one_square_of_half_the_side_clipped_by_the_border():
    mask = cutout_mask(500, 16, 16, torch.Generator().manual_seed(0))
    assert mask.shape == (500, 1, 16, 16)
    holes = (mask == 0).sum(dim=(1, 2, 3))
    assert holes.max() == 64 and holes.min() >= 16  # 8 x 8 at most; a corner keeps 4 x 4
    for m in mask[:50, 0]:  # every hole is one axis-aligned rectangle
        rows, cols = (m == 0).nonzero(as_tuple=True)
        assert len(rows) == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)


def test_diff_augment_is_differentiable_and_reproducible():
    x = torch.randn(4, 3, 8, 8, requires_grad=True)
    policy = ("color", "translation", "cutout")
    a = diff_augment(x, policy, torch.Generator().manual_seed(3))
    b = diff_augment(x, policy, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    a.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="augments images"):
        diff_augment(torch.randn(4, 2), policy, torch.Generator())


def test_gan_family_shows_d_only_augmented_images_and_refuses_points():
    cfg = load_config("digits-dcgan", {"data.name": "digits", "data.image_size": 8,
                                       "data.clusters": 0, "model.num_classes": 0,
                                       "model.head": "plain",
                                       "model.g_width": 4, "model.d_width": 4,
                                       "loss.diffaugment": "cutout", "train.progress": False})
    torch.manual_seed(0)
    family = GANFamily(cfg, load_data(cfg), torch.device("cpu"))
    seen = []
    family.D.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach()))
    batch = {"x": torch.full((6, 1, 8, 8), 0.5)}
    family.d_step(batch, 0)
    family.g_step(batch, 0)
    # the real batch is all 0.5: augmented, each real image has a 4 x 4 square of zeros
    real_seen = seen[0]
    assert ((real_seen == 0).sum(dim=(1, 2, 3)) >= 4).all()
    assert len(seen) == 3  # real, fake (D step), fake (G step): all through T
    toy = load_config("toy-ring", {"loss.diffaugment": "translation"})
    with pytest.raises(ValueError, match="augments images"):
        build(toy)


def test_with_probability_p_each_image_is_augmented_that_often():
    x = torch.ones(4000, 1, 8, 8)  # cutout always zeroes 16..64 pixels of an image of ones
    untouched = diff_augment(x, ("cutout",), torch.Generator().manual_seed(0), p=0.0)
    assert torch.equal(untouched, x)
    out = diff_augment(x, ("cutout",), torch.Generator().manual_seed(0), p=0.3)
    share = (out != 1).any(dim=(1, 2, 3)).float().mean().item()
    # Binomial(4000, 0.3): standard deviation sqrt(0.3 * 0.7 / 4000) = 0.0072; 5 of them
    assert abs(share - 0.3) < 0.036


def test_ada_moves_p_by_images_over_kimg_towards_the_target_and_stays_in_0_1():
    # 256 images against 100 kimg: a step of 256 / 100,000 = 0.00256
    assert abs(ada_adjust(0.1, 0.8, 0.6, 256, 100) - 0.10256) < 1e-12
    assert abs(ada_adjust(0.1, 0.5, 0.6, 256, 100) - 0.09744) < 1e-12
    assert ada_adjust(0.1, 0.6, 0.6, 256, 100) == 0.1  # on target: sign(0) = 0
    assert ada_adjust(0.001, -1.0, 0.6, 256, 100) == 0.0
    assert ada_adjust(0.999, 1.0, 0.6, 256, 100) == 1.0


def test_ada_controller_adjusts_every_interval_from_the_signs_of_real_logits():
    ada = AdaptiveAugment(target=0.6, kimg=0.01, interval=2)  # 8 images move p by 0.8
    ada.observe(torch.tensor([2.0, -1.0, 3.0, 4.0]))
    ada.step()
    assert ada.p == 0.0  # one D step of two: no adjustment yet
    ada.observe(torch.tensor([1.0, 1.0, 1.0, 1.0]))
    ada.step()
    assert ada.sign_mean == 0.75 and abs(ada.p - 0.8) < 1e-12  # r_t = 6 / 8 > 0.6
    for _ in range(2):
        ada.observe(torch.tensor([-1.0, -2.0, 0.5, -0.5]))
        ada.step()
    assert ada.sign_mean == -0.5 and ada.p == 0.0  # 0.8 - 0.8, r_t below the target
    saved = AdaptiveAugment(target=0.6, kimg=0.01, interval=2)
    ada.observe(torch.tensor([1.0]))
    saved.load_state(ada.state())
    assert saved.state().tolist() == ada.state().tolist()  # mid-interval sums survive a resume


def test_ada_reads_d_on_real_images_raises_p_and_keeps_the_target_apart_from_plain_diffaugment():
    over = {"data.name": "digits", "data.image_size": 8, "data.clusters": 0,
            "model.num_classes": 0, "model.head": "plain", "model.g_width": 4,
            "model.d_width": 4, "loss.diffaugment": "cutout", "loss.ada_target": 0.6,
            "loss.ada_kimg": 0.01, "loss.ada_interval": 1, "train.progress": False}
    cfg = load_config("digits-dcgan", over)
    family = GANFamily(cfg, load_data(cfg), torch.device("cpu"))
    with torch.no_grad():  # D sure of every real image: logit +5 whatever it sees
        family.D.head.linear.weight.zero_()
        family.D.head.linear.bias.fill_(5.0)
    batch = {"x": torch.full((6, 1, 8, 8), 0.5)}
    logs = family.d_step(batch, 0)
    # r_t = 1 > 0.6 after one step of 6 images: p = 6 / 10 = 0.6
    assert abs(float(logs["ada_p"]) - 0.6) < 1e-6  # logged in float32
    assert float(logs["ada_rt"]) == 1.0
    assert abs(float(family.extra_state()["ada"][0]) - 0.6) < 1e-9
    with pytest.raises(ValueError, match="loss.ada_target=0.6 adapts how often"):
        build(load_config("digits-dcgan", {**over, "loss.diffaugment": ""}))
    with pytest.raises(ValueError, match="loss.name=wgan-gp has no logit"):
        build(load_config("digits-dcgan", {**over, "loss.name": "wgan-gp"}))
