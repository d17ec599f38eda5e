"""Paired image metrics for image-to-image translation: L1, PSNR and SSIM.

Inputs are batches (N, C, H, W) (or one image (C, H, W)) of generated images and their
targets, by default in [-1, 1] (data_range = 2). Each metric is computed per image and
averaged over the batch.

    L1   = mean |x - y|
    PSNR = 10 log10( L^2 / MSE ),  L the data range, MSE = mean (x - y)^2
    SSIM = mean over pixels and channels of
               (2 mu_x mu_y + C_1)(2 sigma_xy + C_2)
           -------------------------------------------------
           (mu_x^2 + mu_y^2 + C_1)(sigma_x^2 + sigma_y^2 + C_2)

with local statistics from a Gaussian window (11 x 11, sigma = 1.5), C_1 = (K_1 L)^2,
C_2 = (K_2 L)^2, K_1 = 0.01, K_2 = 0.03 (Wang et al. 2004). As in scikit-image (and Wang et
al.'s code) only windows fully inside the image count: the map is cropped by 5 pixels on every
side, and the (co)variances use the window's weights without a sample correction
(skimage's `gaussian_weights=True, use_sample_covariance=False`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def _pair(x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, ...]:
    a = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x).to(torch.float64)
    b = torch.as_tensor(np.asarray(y) if not torch.is_tensor(y) else y).to(torch.float64)
    b = b.to(a.device)
    if a.shape != b.shape:
        raise ValueError(f"images must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.ndim == 3:
        a, b = a[None], b[None]
    if a.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W) or (C, H, W), got {tuple(a.shape)}")
    return a, b


def l1(x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor) -> float:
    """Mean absolute difference over all pixels, channels and images."""
    a, b = _pair(x, y)
    return float((a - b).abs().mean())


def psnr(x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor, data_range: float = 2.0) -> float:
    """Mean over images of 10 log10(L^2 / MSE); inf when some image pair is identical."""
    a, b = _pair(x, y)
    mse = ((a - b) ** 2).flatten(1).mean(dim=1)
    with np.errstate(divide="ignore"):
        per_image = 10.0 * np.log10(data_range**2 / mse.cpu().numpy())
    return float(per_image.mean())


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> torch.Tensor:
    """Normalised 1-D Gaussian weights exp(-t^2 / (2 sigma^2)), t = -(size//2)..size//2."""
    t = torch.arange(size, dtype=torch.float64) - size // 2
    w = torch.exp(-(t**2) / (2 * sigma**2))
    return w / w.sum()


def _filter_valid(x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter per channel, only where the window fits ('valid')."""
    channels = x.shape[1]
    kh = window.to(x)[None, None, :, None].expand(channels, 1, -1, 1)
    kw = window.to(x)[None, None, None, :].expand(channels, 1, 1, -1)
    return F.conv2d(F.conv2d(x, kh, groups=channels), kw, groups=channels)


def ssim_map(
    x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor, data_range: float = 2.0
) -> torch.Tensor:
    """The SSIM map (N, C, H - 10, W - 10) of the module docstring."""
    a, b = _pair(x, y)
    if min(a.shape[-2:]) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels")
    window = gaussian_window()
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    mu_a, mu_b = _filter_valid(a, window), _filter_valid(b, window)
    var_a = _filter_valid(a * a, window) - mu_a**2
    var_b = _filter_valid(b * b, window) - mu_b**2
    cov = _filter_valid(a * b, window) - mu_a * mu_b
    numerator = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    denominator = (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    return numerator / denominator


def ssim(x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor, data_range: float = 2.0) -> float:
    """Mean over images of the mean SSIM map (over pixels and channels)."""
    per_image = ssim_map(x, y, data_range).flatten(1).mean(dim=1)
    return float(per_image.mean())
