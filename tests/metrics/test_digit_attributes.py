"""Digit attributes on hand-drawn images whose thickness, slant and size are known."""

from __future__ import annotations

import numpy as np
import torch

from ganforge.metrics.digit_attributes import (
    AttributeCuts,
    bin_attributes,
    measure,
    size,
    slant,
    thickness,
)


def stroke(top: tuple[float, float], bottom: tuple[float, float], width: float,
           side: int = 28) -> torch.Tensor:
    """(1, 1, side, side) in [-1, 1]: ink (1) within width / 2 of the segment top-bottom,
    points given as (row, column)."""
    rows, cols = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    p = np.stack([rows, cols], -1).astype(float)
    a, b = np.array(top, float), np.array(bottom, float)
    t = np.clip(((p - a) @ (b - a)) / ((b - a) @ (b - a)), 0, 1)
    dist = np.linalg.norm(p - (a + t[..., None] * (b - a)), axis=-1)
    return torch.from_numpy(np.where(dist <= width / 2, 1.0, -1.0)).float()[None, None]


def test_thickness_of_bars_is_twice_their_mass_over_their_outline():
    # a bar of w columns and l = 24 rows: mass l w; outline 2 (l + w), less 2 - sqrt 2 where the
    # forward differences meet in the lower right corner (one diagonal step instead of two)
    bars = -torch.ones(5, 1, 28, 28)
    for w in range(1, 6):
        bars[w - 1, 0, 2:26, 12:12 + w] = 1
    t = thickness(bars)
    for w in range(1, 6):
        expected = 2 * 24 * w / (2 * (24 + w) - 2 + np.sqrt(2))
        assert abs(t[w - 1] - expected) < 1e-9, (w, t)
        assert abs(t[w - 1] - w * 24 / (24 + w)) < 0.02 * w  # ~ w l / (l + w)


def test_thickness_grows_smoothly_as_a_stroke_widens_by_fractions_of_a_pixel():
    # a 3-wide bar with a fourth column of ink a: the reading rises in even steps with a (no
    # plateaus or jumps as when a skeleton gains a pixel)
    inks = np.linspace(0, 1, 11)
    bars = -torch.ones(len(inks), 1, 28, 28)
    bars[:, 0, 2:26, 12:15] = 1
    bars[:, 0, 2:26, 15] = torch.from_numpy(2 * inks - 1)[:, None]
    steps = np.diff(thickness(bars))
    assert (steps > 0).all()
    assert abs(steps.max() / steps.min() - 1) < 0.2, steps  # 0.081 down to 0.072 px


def test_slant_of_sheared_lines_is_their_shear():
    right = stroke((4, 19), (24, 9), 1.5)  # top 10 columns right of the bottom over 20 rows
    left = stroke((4, 9), (24, 19), 1.5)
    upright = stroke((4, 14), (24, 14), 1.5)
    s = slant(torch.cat([right, left, upright]))
    assert abs(s[0] - 0.5) < 0.05 and abs(s[1] + 0.5) < 0.05
    assert abs(s[2]) < 1e-9


def test_size_is_the_bounding_box_and_an_empty_image_scores_zero():
    box = -torch.ones(1, 1, 28, 28)
    box[0, 0, 3:10, 5:10] = 1  # 7 rows x 5 columns
    empty = -torch.ones(1, 1, 28, 28)
    both = torch.cat([box, empty])
    assert size(both).tolist() == [35.0, 0.0]
    assert thickness(empty)[0] == 0 and slant(empty)[0] == 0


def test_bins_count_the_cut_points_at_or_below_a_value():
    cuts = AttributeCuts(thickness=(2.0, 3.0), slant=(0.0, 0.25), size=(300.0,))
    values = {"thickness": np.array([1.5, 2.0, 3.5]), "slant": np.array([-0.1, 0.1, 0.3]),
              "size": np.array([299.0, 300.0, 10.0])}
    assert bin_attributes(values, cuts).tolist() == [[0, 0, 0], [1, 1, 1], [2, 2, 0]]


def test_hand_drawn_strokes_land_in_the_classes_a_caption_would_name():
    from ganforge.data.captions import load_captioned_digits

    cuts = load_captioned_digits("train").cuts
    images = torch.cat([stroke((4, 14), (23, 14), 1), stroke((4, 14), (23, 14), 5),
                        stroke((4, 19), (24, 9), 2), stroke((4, 9), (24, 19), 2)])
    bins = bin_attributes(measure(images), cuts)
    assert bins[0, 0] == 0 and bins[1, 0] == 2  # thin bar, thick bar
    assert bins[2, 1] == 2 and bins[3, 1] == 0  # leaning right, leaning left
