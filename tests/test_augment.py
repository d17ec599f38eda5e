"""DiffAugment: each augmentation against its definition, and its use in the GAN family."""

import pytest
import torch

from ganforge.augment import (
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
