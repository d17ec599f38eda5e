"""Bundled translation tasks with known ground truth: the digit tasks, colorize and strokes."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from ganforge.config import load_config
from ganforge.data.images import load_image_set
from ganforge.data.paired import (
    PAIRED_TASKS,
    grayscale,
    load_paired,
    load_unpaired,
    photo_crops,
    stroke_halves,
)
from ganforge.families import load_data
from ganforge.validate import validate

DIGIT_TASKS = ("edges", "denoise", "inpaint", "superres")


def psnr(x, y):
    """PSNR in dB for images in [-1, 1] (peak-to-peak 2): 10 log10(2^2 / MSE)."""
    return 10 * math.log10(4.0 / float(((x - y) ** 2).mean()))


def unit_dilate(x, footprint):
    """Independent grey dilation of u = (x + 1) / 2 by a 3x3 footprint (shifted maxima)."""
    u = (x + 1) / 2
    padded = F.pad(u, (1, 1, 1, 1), mode="replicate")
    h, w = u.shape[-2:]
    shifts = [padded[..., 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
              for dy in (-1, 0, 1) for dx in (-1, 0, 1) if footprint[dy + 1][dx + 1]]
    return torch.stack(shifts).amax(0)


@pytest.fixture(scope="module")
def mnist():
    return {split: load_image_set("mnist5k", split=split, channels=1)
            for split in ("train", "test")}


# ----------------------------------------------------------------------------- bundled tasks


@pytest.mark.parametrize("task", DIGIT_TASKS)
def test_digit_tasks_shapes_ranges_and_targets(task, mnist):
    for split, n in (("train", 4000), ("test", 1000)):
        pairs = load_paired(task, split)
        assert pairs.a.shape == pairs.b.shape == (n, 1, 28, 28)
        assert pairs.a.dtype == torch.float32
        assert pairs.a.min() >= -1 and pairs.a.max() <= 1
        assert torch.equal(pairs.b, mnist[split].images)  # the target is the digit itself
        assert torch.equal(pairs.labels, mnist[split].labels)
        assert pairs.name == task and pairs.skipped == []


@pytest.mark.parametrize("task", DIGIT_TASKS + ("colorize",))
def test_bundled_tasks_are_deterministic_and_non_trivial(task):
    first, second = load_paired(task, "test"), load_paired(task, "test")
    assert torch.equal(first.a, second.a) and torch.equal(first.b, second.b)
    identity = psnr(first.a, first.b)  # the identity map as a translation
    assert math.isfinite(identity)
    assert 5.0 < identity < 21.0  # far from perfect (infinite) and from a near-copy (> 30 dB)


def test_edges_are_the_outline_just_outside_the_strokes():
    pairs = load_paired("edges", "test")
    cross = [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    expected = (unit_dilate(pairs.b, cross) - (pairs.b + 1) / 2) > 0.5
    assert set(pairs.a.unique().tolist()) == {-1.0, 1.0}
    assert torch.equal(pairs.a > 0, expected)
    assert not (pairs.a > 0)[pairs.b > 0.0].any()  # an outline pixel is never a bright stroke


def test_denoise_noise_statistics_and_split_seeds():
    train, test = load_paired("denoise", "train"), load_paired("denoise", "test")
    background = test.b == -1.0  # there a = clip(-1 + 0.5 n): half the pixels stay at -1
    lifted = test.a[background] > -1.0
    assert abs(lifted.float().mean().item() - 0.5) < 0.01
    # above -1, (a + 1) / 0.5 = |n| given n > 0, whose mean is sqrt(2 / pi) (clip at n = 4)
    half_normal_mean = ((test.a[background][lifted] + 1) / 0.5).mean().item()
    assert abs(half_normal_mean - math.sqrt(2 / math.pi)) < 0.01
    assert not torch.equal(train.a[:1000] - train.b[:1000], test.a - test.b)


@pytest.mark.parametrize("task", ["inpaint", "denoise"])
def test_input_draws_repeat_each_digit_with_fresh_corruptions(task):
    one, three = load_paired(task, "test"), load_paired(task, "test", draws=3)
    n = len(one)
    assert len(three) == 3 * n
    assert torch.equal(three.a[:n], one.a)  # draw 0 is the task as published
    for i in range(3):
        assert torch.equal(three.b[i * n:(i + 1) * n], one.b)
        assert torch.equal(three.labels[i * n:(i + 1) * n], one.labels)
    changed = (three.a[n:2 * n] != three.a[2 * n:]).flatten(1).any(1)
    assert changed.float().mean() > 0.9  # later draws differ from each other


def test_input_draws_are_refused_where_inputs_are_not_random():
    with pytest.raises(ValueError, match="denoise, inpaint"):
        load_paired("edges", "train", draws=2)
    with pytest.raises(ValueError, match=">= 1"):
        load_paired("inpaint", "train", draws=0)
    cfg = load_config("digits-dcgan", {"data.input_draws": 2})
    with pytest.raises(ValueError, match="data.input_draws=2: not used by train.family=gan"):
        validate(cfg)
    cfg = load_config("pix2pix-inpaint", {"data.input_draws": 2})
    assert len(load_data(cfg).stream.tensors["a"]) == 8000


def test_inpaint_holes_are_one_square_each_inside_the_margin():
    pairs = load_paired("inpaint", "test")
    hole = pairs.a == 0.0  # mnist values are k / 127.5 - 1, never exactly 0
    assert torch.equal(pairs.a[~hole], pairs.b[~hole])
    for image in hole[:, 0]:
        rows = torch.nonzero(image.any(1)).flatten()
        cols = torch.nonzero(image.any(0)).flatten()
        assert image.sum() == 100
        assert rows.max() - rows.min() == 9 and cols.max() - cols.min() == 9
        assert 4 <= rows.min() <= 14 and 4 <= cols.min() <= 14
    corners = torch.stack([torch.nonzero(h[0])[0] for h in hole[:200]])
    assert len({tuple(c.tolist()) for c in corners}) > 50  # holes move around


def test_superres_input_is_the_block_mean_repeated(mnist):
    pairs = load_paired("superres", "test")
    b = pairs.b.numpy()
    blocks = b.reshape(-1, 1, 14, 2, 14, 2).mean(axis=(3, 5))
    expected = np.repeat(np.repeat(blocks, 2, axis=2), 2, axis=3)
    assert np.allclose(pairs.a.numpy(), expected, atol=1e-6)


def test_colorize_gray_input_and_position_split():
    train, test = load_paired("colorize", "train"), load_paired("colorize", "test")
    assert train.a.shape[1:] == test.a.shape[1:] == (3, 32, 32)
    assert len(train) > 1000 and 150 < len(test) < len(train) / 3
    assert train.labels is None
    b = test.b.numpy()
    luma = 0.299 * b[:, 0] + 0.587 * b[:, 1] + 0.114 * b[:, 2]
    for c in range(3):
        assert np.allclose(test.a[:, c].numpy(), luma, atol=1e-6)
    # and it is what PIL's own RGB -> L conversion gives, up to its rounding to 8 bits
    crop = ((test.b[0].permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)
    pil_gray = np.asarray(Image.fromarray(crop).convert("L")).astype(np.float32) / 127.5 - 1
    assert np.abs(test.a[0, 0].numpy() - pil_gray).max() <= 1.5 / 127.5
    # no test crop appears among the training crops
    train_bytes = {row.numpy().tobytes() for row in train.b}
    assert not any(row.numpy().tobytes() in train_bytes for row in test.b)
    assert photo_crops("test", 16).shape[1:] == (3, 16, 16)


def test_grayscale_of_a_pure_colour():
    red = torch.zeros(1, 3, 2, 2)
    red[:, 0] = 1.0
    assert torch.allclose(grayscale(red), torch.full((1, 3, 2, 2), 0.299))


def test_image_size_is_honoured():
    assert load_paired("edges", "test", image_size=32).a.shape == (1000, 1, 32, 32)
    inpaint = load_paired("inpaint", "test", image_size=56)
    # a 20 px hole at 56 px (resized digits may hold exact zeros of their own)
    assert ((inpaint.a == 0.0).sum((1, 2, 3)) >= 400).all()
    assert ((inpaint.a != inpaint.b).sum((1, 2, 3)) <= 400).all()
    assert load_paired("colorize", "test", image_size=16).a.shape[1:] == (3, 16, 16)
    with pytest.raises(ValueError, match="divisible by 2"):
        load_paired("superres", "test", image_size=27)


def test_unknown_specs_and_splits_are_refused():
    with pytest.raises(ValueError, match="colorize, denoise, edges, inpaint, superres, folder"):
        load_paired("sketch")
    with pytest.raises(ValueError, match="strokes, folder:PATH"):
        load_unpaired("edges")
    with pytest.raises(ValueError, match="valid splits: train, test"):
        load_paired("edges", split="val")
    assert set(PAIRED_TASKS) == {"edges", "denoise", "inpaint", "superres", "colorize"}


def test_strokes_domains_are_disjoint_halves_with_known_test_translation(mnist):
    data = load_unpaired("strokes")
    digits, labels = mnist["train"].images, mnist["train"].labels
    half_a, half_b = stroke_halves(labels, seed=3)
    assert len(set(half_a.tolist()) & set(half_b.tolist())) == 0
    assert sorted(half_a.tolist() + half_b.tolist()) == list(range(4000))
    assert torch.bincount(labels[half_a]).tolist() == [200] * 10  # class-balanced halves
    square = [[1, 1, 1]] * 3
    assert torch.equal(data.a, digits[half_a])
    assert torch.allclose(data.b, unit_dilate(digits[half_b], square) * 2 - 1, atol=1e-6)
    # no digit of A shows up, thickened, in B: the domains share no pair
    thick_a = {row.numpy().tobytes() for row in unit_dilate(data.a, square) * 2 - 1}
    assert not any(row.numpy().tobytes() in thick_a for row in data.b)
    assert torch.equal(data.test_a, mnist["test"].images)
    assert torch.equal(data.test_labels, mnist["test"].labels)
    assert torch.allclose(data.test_b_true, unit_dilate(data.test_a, square) * 2 - 1, atol=1e-6)
    assert 8.0 < psnr(data.test_a, data.test_b_true) < 15.0  # identity is a poor translation
    test_split = load_unpaired("strokes", split="test")
    assert torch.equal(test_split.a, data.test_a) and torch.equal(test_split.b, data.test_b_true)
