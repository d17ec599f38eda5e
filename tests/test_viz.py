"""The pictures: the fast 2-D scatter of the training snapshots."""

import numpy as np
import torch
from PIL import Image

from ganforge.viz import SCATTER_COLOURS, render_scatter, save_scatter, scatter_pixels


def test_scatter_pixels_maps_the_box_corners_to_the_frame_corners():
    lo, hi = np.array([-1.0, -2.0]), np.array([3.0, 2.0])
    corners = np.array([[-1.0, -2.0], [3.0, 2.0], [1.0, 0.0], [5.0, 0.0]])  # last one outside
    rows, cols = scatter_pixels(corners, lo, hi, size=101, margin=0)
    # y grows upwards: the lower-left corner is the last row, first column
    assert rows.tolist() == [100, 0, 50] and cols.tolist() == [0, 100, 50]


def test_render_scatter_draws_samples_over_data_at_their_places():
    real = np.array([[0.0, 0.0], [1.0, 1.0]])
    fake = np.array([[0.0, 1.0]])
    picture = render_scatter(fake, real, size=100, margin=10)
    assert picture.shape == (100, 100, 3) and picture.dtype == np.uint8

    def colour_near(rows, cols):
        return {tuple(picture[r, c]) for r in rows for c in cols}

    # the box is centred on the data, half-width 0.55: x=0 lands at column 10 + 0.05/1.1 * 79
    near_low, near_high = 14, 85  # round(10 + 79 * 0.05 / 1.1) and round(10 + 79 * 1.05 / 1.1)
    assert SCATTER_COLOURS["data"] in colour_near([near_high], [near_low])  # (0, 0): bottom left
    assert SCATTER_COLOURS["data"] in colour_near([near_low], [near_high])  # (1, 1): top right
    assert SCATTER_COLOURS["G"] in colour_near([near_low], [near_low])  # (0, 1): top left
    assert tuple(picture[50, 50]) == (255, 255, 255)  # empty middle


def test_save_scatter_writes_an_rgb_png_with_far_samples_clipped(tmp_path):
    real = torch.randn(500, 2) * 0.1
    fake = torch.cat([torch.randn(500, 2) * 0.1, torch.tensor([[1e6, 1e6]])])  # one far outlier
    save_scatter(fake, tmp_path / "s.png", real)
    picture = np.asarray(Image.open(tmp_path / "s.png"))
    assert picture.shape == (400, 400, 3)
    red = (picture == np.array(SCATTER_COLOURS["G"], dtype=np.uint8)).all(axis=2)
    assert red.sum() > 100  # the outlier did not squash the cloud into one pixel
