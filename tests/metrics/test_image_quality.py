"""L1, PSNR and SSIM against numpy and scikit-image."""

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ganforge.metrics.image_quality import l1, psnr, ssim


def pair(rng, shape):
    x = rng.uniform(-1, 1, shape)
    y = np.clip(x + 0.3 * rng.standard_normal(shape), -1, 1)
    return x, y


def skimage_ssim(x, y):
    return structural_similarity(
        x,
        y,
        data_range=2.0,
        channel_axis=0,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
    )


@pytest.mark.parametrize("shape", [(2, 1, 28, 28), (2, 3, 32, 24)])
def test_ssim_matches_skimage(shape):
    x, y = pair(np.random.default_rng(0), shape)
    expected = np.mean([skimage_ssim(x[i], y[i]) for i in range(shape[0])])
    assert abs(ssim(torch.from_numpy(x).float(), torch.from_numpy(y).float()) - expected) < 1e-4
    assert abs(ssim(x, y) - expected) < 1e-10  # float64 input: exact up to round-off


def test_ssim_of_an_image_with_itself_is_one():
    x = np.random.default_rng(1).uniform(-1, 1, (3, 16, 16))
    assert abs(ssim(x, x) - 1.0) < 1e-12


def test_psnr_and_l1_match_direct_formulas():
    x, y = pair(np.random.default_rng(2), (3, 3, 8, 8))
    expected_psnr = np.mean([peak_signal_noise_ratio(x[i], y[i], data_range=2.0) for i in range(3)])
    assert abs(psnr(x, y) - expected_psnr) < 1e-10
    assert abs(psnr(x / 2 + 0.5, y / 2 + 0.5, data_range=1.0) - expected_psnr) < 1e-10
    assert abs(l1(x, y) - np.abs(x - y).mean()) < 1e-12


def test_shape_errors():
    with pytest.raises(ValueError, match="same shape"):
        l1(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 4, 5)))
    with pytest.raises(ValueError, match="11x11"):
        ssim(np.zeros((1, 1, 8, 8)), np.zeros((1, 1, 8, 8)))
