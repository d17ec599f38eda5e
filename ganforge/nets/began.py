"""BEGAN: Boundary Equilibrium GAN (Berthelot, Schumm & Metz 2017).

The discriminator is an auto-encoder and ``L(v) = E|v - D(v)|`` is its pixel-wise L1
reconstruction loss. The objectives (paper, eq. 4):

    L_D = L(x) - k_t L(G(z_D))
    L_G = L(G(z_G))
    k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z_G))), 0, 1)

and the convergence measure ``M_global = L(x) + |gamma L(x) - L(G(z_G))|``.

Architecture (paper, Figure 1), for image sizes s * 2**k with s in 8..15 (8 x 8 start as in the
paper, e.g. 32 = 8 * 2**2, 28 = 14 * 2, 64 = 8 * 2**3):

- decoder (also the generator): dense -> s x s x n, then k + 1 stages of two conv3x3 + ELU,
  nearest-neighbour upsampling x2 between stages, then conv3x3 -> channels;
- encoder: conv3x3 + ELU, then k + 1 stages of two conv3x3 + ELU with channels n, 2n, 3n, ...,
  a stride-2 conv3x3 + ELU (sub-sampling) between stages, then dense -> hidden (the embedding h).

The generator ends in tanh (images live in [-1, 1]); the discriminator's decoder has a linear
output, as in the paper.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.nets.layers import latent_as_vector, upsampling_plan


def began_plan(image_size: int) -> tuple[int, int]:
    """(start size s, doublings k) with image_size = s * 2**k, s in 8..15, k >= 0."""
    return upsampling_plan(image_size, min_start=8, max_start=15, min_doublings=0, family="BEGAN")


def _conv_elu(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride, 1), nn.ELU()]


class BEGANDecoder(nn.Module):
    """(N, input_dim) -> (N, channels, image_size, image_size), linear output."""

    def __init__(self, input_dim: int, image_size: int, channels: int, width: int = 64):
        super().__init__()
        start, doublings = began_plan(image_size)
        self.input_dim = input_dim
        self.width = width
        self.start = start
        self.dense = nn.Linear(input_dim, start * start * width)
        layers: list[nn.Module] = []
        for stage in range(doublings + 1):
            layers += _conv_elu(width, width) + _conv_elu(width, width)
            if stage < doublings:
                layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
        layers.append(nn.Conv2d(width, channels, 3, 1, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.body(self.dense(h).view(-1, self.width, self.start, self.start))


class BEGANEncoder(nn.Module):
    """(N, channels, image_size, image_size) -> embedding (N, hidden)."""

    def __init__(self, image_size: int, channels: int, width: int = 64, hidden: int = 64):
        super().__init__()
        start, doublings = began_plan(image_size)
        layers: list[nn.Module] = _conv_elu(channels, width)
        for stage in range(doublings + 1):
            c = (stage + 1) * width
            layers += _conv_elu(c, c) + _conv_elu(c, c)
            if stage < doublings:
                layers += _conv_elu(c, c + width, stride=2)
        self.body = nn.Sequential(*layers)
        self.dense = nn.Linear(start * start * (doublings + 1) * width, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(self.body(x).flatten(1))


class BEGANGenerator(nn.Module):
    """G(z) = tanh(decoder(z)): (N, z_dim) -> (N, channels, image_size, image_size) in [-1, 1].

    The generator has the discriminator decoder's architecture (not its weights), fed by z."""

    def __init__(self, z_dim: int, image_size: int, channels: int, width: int = 64):
        super().__init__()
        self.z_dim = z_dim
        self.image_size = image_size
        self.channels = channels
        self.decoder = BEGANDecoder(z_dim, image_size, channels, width)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.decoder(latent_as_vector(z, self.z_dim)))


class BEGANDiscriminator(nn.Module):
    """D(x) = decoder(encoder(x)): the reconstruction of x, same shape (N, C, H, W)."""

    def __init__(self, image_size: int, channels: int, width: int = 64, hidden: int = 64):
        super().__init__()
        self.image_size = image_size
        self.channels = channels
        self.encoder = BEGANEncoder(image_size, channels, width, hidden)
        self.decoder = BEGANDecoder(hidden, image_size, channels, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        expected = (self.channels, self.image_size, self.image_size)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"BEGANDiscriminator expects images of shape (N, {expected[0]}, "
                             f"{expected[1]}, {expected[2]}), got {tuple(x.shape)}")
        return self.decoder(self.encoder(x))


def reconstruction_loss(v: torch.Tensor, v_recon: torch.Tensor) -> torch.Tensor:
    """L(v) = E|v - D(v)|: the mean absolute pixel error of the auto-encoder."""
    return (v - v_recon).abs().mean()


def began_losses(
    real: torch.Tensor,
    real_recon: torch.Tensor,
    fake: torch.Tensor,
    fake_recon: torch.Tensor,
    k: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(L_D, L_G, L(x), L(G(z))) with L_D = L(x) - k_t L(G(z)) and L_G = L(G(z)).

    The caller decides the gradient paths: detach ``fake`` for the D update (z_D), keep it
    attached for the G update (z_G).
    """
    loss_real = reconstruction_loss(real, real_recon)
    loss_fake = reconstruction_loss(fake, fake_recon)
    return loss_real - k * loss_fake, loss_fake, loss_real, loss_fake


def began_update_k(
    k: float, gamma: float, loss_real: float, loss_fake: float, lambda_k: float = 0.001
) -> float:
    """k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z_G))), 0, 1)."""
    k_next = float(k) + lambda_k * (gamma * float(loss_real) - float(loss_fake))
    return min(max(k_next, 0.0), 1.0)


def began_convergence(loss_real: float, loss_fake: float, gamma: float) -> float:
    """M_global = L(x) + |gamma L(x) - L(G(z_G))|."""
    return float(loss_real) + abs(gamma * float(loss_real) - float(loss_fake))
