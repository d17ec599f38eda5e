"""DCGAN (Radford, Metz & Chintala 2016) for any image size s * 2**k, s in 4..7, k >= 1.

Generator: z -> s x s map (a transposed conv with an s x s kernel on the 1 x 1 latent), then k
stride-2 transposed convolutions (kernel 4) that double the size, batch norm and ReLU between
them, tanh at the end. Channels halve at every doubling and the last hidden layer has ``width``
channels: 64 x 64 with width 64 gives 512 -> 256 -> 128 -> 64 -> channels, as in the paper;
28 x 28 starts at 7 x 7 with 128 channels.

Discriminator: the mirror image, stride-2 convolutions (kernel 4) with LeakyReLU(0.2), no pooling,
no normalisation on the first layer, down to the s x s map; the head acts on the flattened map.

Weights are initialised from N(0, 0.02) and batch-norm gains from N(1, 0.02), as in the paper.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.nets.layers import (
    ConditionalBatchNorm2d,
    DiscriminatorHead,
    MinibatchStdDev,
    apply_spectral_norm_,
    check_generator_labels,
    latent_as_vector,
    pack_samples,
    upsampling_plan,
)

NORMS = ("batch", "none", "layer", "instance")


def dcgan_plan(image_size: int) -> tuple[int, int]:
    """(start size s, doublings k) with image_size = s * 2**k, s in 4..7, k >= 1."""
    return upsampling_plan(image_size, min_start=4, max_start=7, min_doublings=1, family="DCGAN")


def _check_channels(channels: int) -> None:
    if channels < 1:
        raise ValueError(f"channels must be >= 1 (1 for grayscale, 3 for RGB), got {channels}")


class DCGANGenerator(nn.Module):
    """G(z) or G(z, y): (N, z_dim) latents -> (N, channels, image_size, image_size) in [-1, 1].

    With ``num_classes > 0`` G is class-conditional twice over: the one-hot label joins z at the
    input (as in Mirza & Osindero's cGAN, so the class steers G from the first step) and every
    batch norm is a ``ConditionalBatchNorm2d``; forward then needs the labels y (int64, shape
    (N,)). With ``num_classes == 0`` passing y is an error.
    """

    def __init__(self, z_dim: int, image_size: int, channels: int, width: int = 64,
                 num_classes: int = 0):
        super().__init__()
        _check_channels(channels)
        start, doublings = dcgan_plan(image_size)
        self.z_dim = z_dim
        self.image_size = image_size
        self.channels = channels
        self.num_classes = num_classes
        widths = [width * 2 ** (doublings - 1 - i) for i in range(doublings)]  # e.g. 512..64
        self.project = nn.ConvTranspose2d(z_dim + num_classes, widths[0], start, 1, 0, bias=False)
        self.norms = nn.ModuleList([self._norm(widths[0])])
        self.ups = nn.ModuleList()
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            self.ups.append(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False))
            self.norms.append(self._norm(c_out))
        self.to_image = nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1)
        dcgan_init_(self)

    def _norm(self, c: int) -> nn.Module:
        if self.num_classes > 0:
            return ConditionalBatchNorm2d(c, self.num_classes)
        return nn.BatchNorm2d(c)

    def _apply_norm(self, i: int, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        norm = self.norms[i]
        return torch.relu(norm(h, y) if self.num_classes > 0 else norm(h))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        z = latent_as_vector(z, self.z_dim)
        check_generator_labels(y, self.num_classes, z.shape[0])
        if self.num_classes > 0:
            z = torch.cat([z, F.one_hot(y, self.num_classes).to(z.dtype)], dim=1)
        h = self._apply_norm(0, self.project(z[:, :, None, None]), y)
        for i, up in enumerate(self.ups, start=1):
            h = self._apply_norm(i, up(h), y)
        return torch.tanh(self.to_image(h))


class DCGANDiscriminator(nn.Module):
    """D(x) or D(x, y) on (N, channels, image_size, image_size) images.

    Outputs by ``head`` (see ``ganforge.nets.layers.DiscriminatorHead``):

    - ``"plain"`` (num_classes = 0): logits (N,); no labels.
    - ``"projection"``: logits (N,), needs labels y: ``psi(phi(x)) + embed(y) . phi(x)``.
    - ``"acgan"``: tuple (adversarial logits (N,), class logits (N, K)); no labels.
    - ``"classifier"`` (semi-supervised GAN, Salimans et al. 2016): class logits (N, K) only, no
      labels. D is a (K+1)-way classifier with the fake-class logit fixed at 0; the training step
      derives the real-vs-fake logit as ``logsumexp(class_logits, dim=1)``.

    ``head=None`` means "plain" when num_classes == 0 and "projection" otherwise.

    ``norm`` is the normalisation after every conv but the first: "batch", "none", "layer"
    (GroupNorm with one group: normalises over C, H, W per sample, fit for WGAN-GP) or "instance".
    ``spectral_norm=True`` reparametrises every conv, linear and embedding weight as W / sigma(W).
    ``minibatch_std=True`` appends the minibatch standard deviation (groups of 4 consecutive
    samples, so the batch size must be a multiple of 4 or below 4) as an extra channel of the
    last feature map.

    ``pack > 1`` (PacGAN, Lin et al. 2018): forward takes N samples (N a multiple of pack), packs
    each ``pack`` consecutive samples into one input of ``channels * pack`` channels and returns
    N / pack logits. Packing is only offered with the "plain" head.
    """

    def __init__(self, image_size: int, channels: int, width: int = 64,
                 spectral_norm: bool = False, norm: str = "batch", num_classes: int = 0,
                 head: str | None = None, minibatch_std: bool = False, pack: int = 1):
        super().__init__()
        _check_channels(channels)
        if norm not in NORMS:
            raise ValueError(f"unknown norm {norm!r}; valid norms: {', '.join(NORMS)}")
        if pack < 1:
            raise ValueError(f"pack must be >= 1, got {pack}")
        start, doublings = dcgan_plan(image_size)
        self.image_size = image_size
        self.channels = channels
        self.num_classes = num_classes
        self.pack = pack
        widths = [width * 2**i for i in range(doublings)]  # e.g. 64, 128, 256, 512
        layers: list[nn.Module] = [
            nn.Conv2d(channels * pack, widths[0], 4, 2, 1),
            nn.LeakyReLU(0.2),
        ]
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            layers.append(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=norm == "none"))
            layers.append(_feature_norm(norm, c_out))
            layers.append(nn.LeakyReLU(0.2))
        self.body = nn.Sequential(*layers)
        self.minibatch_std = MinibatchStdDev(group_size=4) if minibatch_std else None
        features = (widths[-1] + int(minibatch_std)) * start * start
        self.head = DiscriminatorHead(features, num_classes, head)
        if pack > 1 and self.head.head != "plain":
            raise ValueError(f"pack={pack} is only supported with the 'plain' head, "
                             f"not {self.head.head!r}")
        dcgan_init_(self)
        if spectral_norm:
            apply_spectral_norm_(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """phi(x): the flattened last feature map, (N / pack, F); used for feature matching."""
        expected = (self.channels, self.image_size, self.image_size)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"DCGANDiscriminator expects images of shape (N, {expected[0]}, "
                             f"{expected[1]}, {expected[2]}), got {tuple(x.shape)}")
        h = self.body(pack_samples(x, self.pack))
        if self.minibatch_std is not None:
            h = self.minibatch_std(h)
        return h.flatten(1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None):
        return self.head(self.features(x), y)


def _feature_norm(norm: str, c: int) -> nn.Module:
    if norm == "batch":
        return nn.BatchNorm2d(c)
    if norm == "layer":
        return nn.GroupNorm(1, c)
    if norm == "instance":
        return nn.InstanceNorm2d(c, affine=True)
    return nn.Identity()


def dcgan_init_(model: nn.Module) -> None:
    """DCGAN initialisation: conv/linear weights ~ N(0, 0.02), biases 0, norm gains ~ N(1, 0.02).

    Embeddings (conditional batch norm, projection) keep their own init. Call before
    ``apply_spectral_norm_``.
    """
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(module.weight, 0.0, 0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d)):
            if module.weight is not None:
                nn.init.normal_(module.weight, 1.0, 0.02)
                nn.init.zeros_(module.bias)
