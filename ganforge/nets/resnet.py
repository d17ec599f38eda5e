"""SNGAN-style ResNets (Miyato et al. 2018, appendix B, the CIFAR-10 configuration).

Generator (32 x 32, width 256): z -> dense -> 4 x 4 x 256 -> 3 up-blocks (BN, ReLU, nearest x2,
conv3x3, BN, ReLU, conv3x3; shortcut nearest x2 then conv1x1) -> BN, ReLU, conv3x3 -> tanh.
With ``num_classes > 0`` the batch norms inside the blocks are conditional (Miyato & Koyama 2018).

Discriminator (32 x 32, width 128): optimised first block (conv3x3, ReLU, conv3x3, avg-pool;
shortcut avg-pool then conv1x1), one down-block, two blocks without resampling, ReLU, global sum
pooling, dense -> 1; spectral norm on every layer. With ``num_classes > 0`` a projection head.

Other sizes s * 2**k (s in 4..7, k >= 1): G starts at s x s and uses k up-blocks; D downsamples
k - 1 times (the optimised block plus k - 2 down-blocks) and ends with two blocks at 2s x 2s,
so that 32 -> 8 x 8 as in the paper, 64 -> 8 x 8, 28 -> 14 x 14.

Weights are Xavier-uniform (gain sqrt(2) in residual branches, 1 in shortcuts and dense layers),
as in the authors' code.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.nets.layers import (
    ConditionalBatchNorm2d,
    DiscriminatorHead,
    apply_spectral_norm_,
    check_generator_labels,
    latent_as_vector,
    upsampling_plan,
)


def resnet_plan(image_size: int) -> tuple[int, int]:
    """(start size s, doublings k) with image_size = s * 2**k, s in 4..7, k >= 1."""
    return upsampling_plan(image_size, min_start=4, max_start=7, min_doublings=1,
                           family="ResNet (SNGAN)")


def _conv(c_in: int, c_out: int, kernel: int, gain: float) -> nn.Conv2d:
    conv = nn.Conv2d(c_in, c_out, kernel, 1, kernel // 2)
    nn.init.xavier_uniform_(conv.weight, gain=gain)
    nn.init.zeros_(conv.bias)
    return conv


def _batch_norm(c: int, num_classes: int) -> nn.Module:
    return ConditionalBatchNorm2d(c, num_classes) if num_classes > 0 else nn.BatchNorm2d(c)


class GeneratorBlock(nn.Module):
    """x + F(x) with upsampling: F = conv3x3(ReLU(BN(conv3x3(up(ReLU(BN(x))))))),
    shortcut = conv1x1(up(x)); BN is conditional on y when num_classes > 0."""

    def __init__(self, c_in: int, c_out: int, num_classes: int = 0):
        super().__init__()
        self.conditional = num_classes > 0
        self.bn1 = _batch_norm(c_in, num_classes)
        self.bn2 = _batch_norm(c_out, num_classes)
        self.conv1 = _conv(c_in, c_out, 3, math.sqrt(2))
        self.conv2 = _conv(c_out, c_out, 3, math.sqrt(2))
        self.shortcut = _conv(c_in, c_out, 1, 1.0)

    def _bn(self, bn: nn.Module, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return bn(h, y) if self.conditional else bn(h)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = F.interpolate(torch.relu(self._bn(self.bn1, x, y)), scale_factor=2, mode="nearest")
        h = self.conv2(torch.relu(self._bn(self.bn2, self.conv1(h), y)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class DiscriminatorBlock(nn.Module):
    """x + F(x): F = [avgpool](conv3x3(ReLU(conv3x3(ReLU(x))))); the shortcut is conv1x1 then
    [avgpool] when the channels change or the block downsamples, the identity otherwise.

    The optimised first block (``first=True``) has no ReLU before its first conv and its shortcut
    pools before the 1x1 conv."""

    def __init__(self, c_in: int, c_out: int, downsample: bool, first: bool = False):
        super().__init__()
        self.downsample = downsample
        self.first = first
        self.conv1 = _conv(c_in, c_out, 3, math.sqrt(2))
        self.conv2 = _conv(c_out, c_out, 3, math.sqrt(2))
        learnable = first or downsample or c_in != c_out
        self.shortcut = _conv(c_in, c_out, 1, 1.0) if learnable else None

    def _pool(self, h: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(h, 2) if self.downsample else h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else torch.relu(x)
        h = self._pool(self.conv2(torch.relu(self.conv1(h))))
        if self.shortcut is None:
            skip = x
        elif self.first:
            skip = self.shortcut(self._pool(x))
        else:
            skip = self._pool(self.shortcut(x))
        return h + skip


class ResNetGenerator(nn.Module):
    """G(z) or G(z, y): (N, z_dim) -> (N, channels, image_size, image_size) in [-1, 1].

    With ``num_classes > 0`` forward needs labels y (int64, shape (N,)); otherwise y must be None.
    """

    def __init__(self, z_dim: int, image_size: int, channels: int, width: int = 256,
                 num_classes: int = 0):
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels must be >= 1 (1 for grayscale, 3 for RGB), got {channels}")
        if num_classes < 0:
            raise ValueError(f"num_classes must be >= 0, got {num_classes}")
        start, doublings = resnet_plan(image_size)
        self.z_dim = z_dim
        self.image_size = image_size
        self.channels = channels
        self.width = width
        self.num_classes = num_classes
        self.start = start
        self.dense = nn.Linear(z_dim, start * start * width)
        nn.init.xavier_uniform_(self.dense.weight)
        nn.init.zeros_(self.dense.bias)
        self.blocks = nn.ModuleList(
            GeneratorBlock(width, width, num_classes) for _ in range(doublings)
        )
        self.bn = nn.BatchNorm2d(width)
        self.to_image = _conv(width, channels, 3, 1.0)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        z = latent_as_vector(z, self.z_dim)
        check_generator_labels(y, self.num_classes, z.shape[0])
        h = self.dense(z).view(-1, self.width, self.start, self.start)
        for block in self.blocks:
            h = block(h, y)
        return torch.tanh(self.to_image(torch.relu(self.bn(h))))


class ResNetDiscriminator(nn.Module):
    """D(x) or D(x, y) on (N, channels, image_size, image_size) images.

    ``phi(x)`` = global sum pooling of ReLU(last block), shape (N, width). Head outputs as in
    ``ganforge.nets.layers.DiscriminatorHead``: "plain" -> logits (N,); "projection" (the default
    when num_classes > 0) -> logits (N,), needs y; "acgan" -> (logits (N,), class logits (N, K));
    "classifier" -> class logits (N, K), the real-vs-fake logit being logsumexp over them.
    ``spectral_norm=True`` (default) normalises every conv, dense and embedding weight.
    """

    def __init__(self, image_size: int, channels: int, width: int = 128, num_classes: int = 0,
                 spectral_norm: bool = True, head: str | None = None):
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels must be >= 1 (1 for grayscale, 3 for RGB), got {channels}")
        _, doublings = resnet_plan(image_size)
        self.image_size = image_size
        self.channels = channels
        self.num_classes = num_classes
        downs = doublings - 1
        blocks = [DiscriminatorBlock(channels, width, downsample=downs >= 1, first=True)]
        blocks += [DiscriminatorBlock(width, width, downsample=True) for _ in range(downs - 1)]
        blocks += [DiscriminatorBlock(width, width, downsample=False) for _ in range(2)]
        self.blocks = nn.Sequential(*blocks)
        self.head = DiscriminatorHead(width, num_classes, head)
        for linear in (getattr(self.head, "linear", None), getattr(self.head, "classes", None)):
            if linear is not None:
                nn.init.xavier_uniform_(linear.weight)
                nn.init.zeros_(linear.bias)
        if spectral_norm:
            apply_spectral_norm_(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """phi(x) = sum over H, W of ReLU(blocks(x)), shape (N, width)."""
        expected = (self.channels, self.image_size, self.image_size)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"ResNetDiscriminator expects images of shape (N, {expected[0]}, "
                             f"{expected[1]}, {expected[2]}), got {tuple(x.shape)}")
        return torch.relu(self.blocks(x)).sum(dim=(2, 3))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None):
        return self.head(self.features(x), y)
