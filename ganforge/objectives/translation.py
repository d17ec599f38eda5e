"""Reconstruction losses of image-to-image translation (pix2pix, CycleGAN), added by the
translation families to the adversarial objective."""

from __future__ import annotations

from torch import Tensor


def l1_loss(a: Tensor, b: Tensor) -> Tensor:
    """Mean absolute error E[|a - b|] (the pix2pix L1 term, Isola et al. 2017)."""
    if a.shape != b.shape:
        raise ValueError(f"l1_loss needs equal shapes, got {tuple(a.shape)} and {tuple(b.shape)}")
    return (a - b).abs().mean()


def cycle_consistency_loss(x: Tensor, x_reconstructed: Tensor) -> Tensor:
    """CycleGAN cycle loss (Zhu et al. 2017, eq. 2), one direction: E_x[||F(G(x)) - x||_1].

    Averaged per element, as the reference implementation does; the caller adds both directions
    and multiplies by lambda (10 in the paper).
    """
    return l1_loss(x_reconstructed, x)


def identity_loss(y: Tensor, g_of_y: Tensor) -> Tensor:
    """CycleGAN identity loss (Zhu et al. 2017, sec. 5.2): E_y[||G(y) - y||_1], per element."""
    return l1_loss(g_of_y, y)
