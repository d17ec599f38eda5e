"""Attributes of a handwritten digit measured on its pixels: stroke thickness, slant and size.

Images are (N, 1, H, W) in [-1, 1] (white ink on black, as mnist5k). p(r, c) = (x + 1) / 2 in
[0, 1] is the ink of a pixel (weighing mass, outline and moments); for the bounding box a pixel
is ink when p > 1/2.

    thickness  = 2 M / P                      ink mass M = sum p over half the length P of its
                                              outline, P = sum |grad p| (the total variation
                                              of p, forward differences): a bar of width w and
                                              length l reads w l / (l + w), ~ w for l >> w.
                                              Both sums move smoothly with the pixels (a
                                              blurred edge keeps its mass and its outline), so
                                              a stroke widened by a fraction of a pixel reads a
                                              fraction wider: no steps as in ink area over
                                              skeleton length, which moves by ~0.1 px whenever
                                              the skeleton gains or loses a pixel
    slant      = -mu_11 / mu_02               the shear of the ink about its centroid, from the
                                              second central moments mu_pq = sum p (c - c_bar)^p
                                              (r - r_bar)^q (rows r grow downwards): dx per unit
                                              of height, > 0 when the top leans right
    size       = bbox height x bbox width     of the ink, in pixels

An image without ink scores 0 on all three. `bin_attributes` turns the values into the classes
of the captions with cut points measured on the training split (`attribute_cuts`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

ATTRIBUTES = ("thickness", "slant", "size")


def _pixels(images: torch.Tensor | np.ndarray) -> np.ndarray:
    x = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if x.ndim != 4 or x.shape[1] != 1:
        raise ValueError(f"digit attributes need grayscale images (N, 1, H, W), got shape "
                         f"{tuple(x.shape)}")
    return x[:, 0].astype(np.float64)


def _ink(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """(N, H, W) p = (x + 1) / 2 clipped to [0, 1]."""
    return np.clip((_pixels(images) + 1) / 2, 0, 1)


def thickness(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """(N,) 2 M / P: ink mass over half the outline's length, in pixels."""
    p = np.pad(_ink(images), ((0, 0), (1, 1), (1, 1)))  # the outline closes at the border
    d_rows = np.diff(p, axis=1)[:, :, :-1]
    d_cols = np.diff(p, axis=2)[:, :-1, :]
    outline = np.sqrt(d_rows ** 2 + d_cols ** 2).sum(axis=(1, 2))
    mass = p.sum(axis=(1, 2))
    return np.where(outline > 1e-12, 2 * mass / np.maximum(outline, 1e-12), 0.0)


def slant(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """(N,) -mu_11 / mu_02: horizontal shift per pixel of height (> 0: leaning right)."""
    p = _ink(images)
    rows, cols = np.meshgrid(np.arange(p.shape[1]), np.arange(p.shape[2]), indexing="ij")
    mass = p.sum(axis=(1, 2))
    safe = np.maximum(mass, 1e-12)
    r_bar = (p * rows).sum(axis=(1, 2)) / safe
    c_bar = (p * cols).sum(axis=(1, 2)) / safe
    dr = rows[None] - r_bar[:, None, None]
    dc = cols[None] - c_bar[:, None, None]
    mu11 = (p * dr * dc).sum(axis=(1, 2))
    mu02 = (p * dr * dr).sum(axis=(1, 2))
    return np.where(mu02 > 1e-12, -mu11 / np.maximum(mu02, 1e-12), 0.0)


def size(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """(N,) height x width of the ink's bounding box, in pixels."""
    ink = _pixels(images) > 0
    rows, cols = ink.any(axis=2), ink.any(axis=1)
    return (_extent(rows) * _extent(cols)).astype(np.float64)


def _extent(mask: np.ndarray) -> np.ndarray:
    """Last minus first True index + 1 along axis 1 (0 for rows without any)."""
    n = mask.shape[1]
    first = np.argmax(mask, axis=1)
    last = n - 1 - np.argmax(mask[:, ::-1], axis=1)
    return np.where(mask.any(axis=1), last - first + 1, 0)


def measure(images: torch.Tensor | np.ndarray) -> dict[str, np.ndarray]:
    """{"thickness", "slant", "size"}: (N,) each."""
    return {"thickness": thickness(images), "slant": slant(images), "size": size(images)}


@dataclass(frozen=True)
class AttributeCuts:
    """Cut points of each attribute's classes: thickness and slant in thirds (thin / regular /
    thick, leaning left / upright / leaning right), size in halves (small / large)."""

    thickness: tuple[float, float]
    slant: tuple[float, float]
    size: tuple[float]


def attribute_cuts(values: dict[str, np.ndarray]) -> AttributeCuts:
    """Tertiles (thickness, slant) and the median (size) of measured training values."""
    third = lambda v: tuple(float(q) for q in np.quantile(v, [1 / 3, 2 / 3]))  # noqa: E731
    return AttributeCuts(third(values["thickness"]), third(values["slant"]),
                         (float(np.median(values["size"])),))


def bin_attributes(values: dict[str, np.ndarray], cuts: AttributeCuts) -> np.ndarray:
    """(N, 3) int64 classes (thickness 0..2, slant 0..2, size 0..1): value v falls in class
    #{cuts <= v}."""
    return np.stack([np.searchsorted(np.asarray(getattr(cuts, name)), values[name], side="right")
                     for name in ATTRIBUTES], axis=1).astype(np.int64)
