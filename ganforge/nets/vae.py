"""The VAE's nets in the DCGAN shapes, so that a VAE and a GAN on the same data differ only in
their objective.

Encoder: the DCGAN discriminator's body (stride-2 convolutions, LeakyReLU(0.2), model.d_norm)
down to its s x s feature map, then one linear layer to (mu, log sigma^2) of q(z|x).
Decoder: the DCGAN generator itself, its pre-tanh outputs read as the logits of Bernoulli
pixels (ganforge.objectives.likelihood); `forward(z)` returns the image of the means in
[-1, 1], so the decoder samples like any G.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.nets.dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_plan
from ganforge.nets.layers import latent_as_vector


class VAEEncoder(nn.Module):
    """x (N, C, S, S) -> (mu, logvar), each (N, z_dim)."""

    def __init__(self, z_dim: int, image_size: int, channels: int, width: int = 64,
                 norm: str = "batch"):
        super().__init__()
        self.trunk = DCGANDiscriminator(image_size, channels, width, norm=norm)
        self.trunk.head = None  # the adversarial head is not part of an encoder
        start, doublings = dcgan_plan(image_size)
        features = width * 2 ** (doublings - 1) * start * start  # the last map, flattened
        self.to_posterior = nn.Linear(features, 2 * z_dim)
        nn.init.normal_(self.to_posterior.weight, 0.0, 0.02)  # sigma ~ 1: q starts at the prior
        nn.init.zeros_(self.to_posterior.bias)
        self.z_dim = z_dim

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.to_posterior(self.trunk.features(x)).chunk(2, dim=1)
        return mu, logvar


class VAEDecoder(nn.Module):
    """The DCGAN generator read as a Bernoulli decoder: its last layer's outputs a, before
    tanh, are half the pixels' logits, l = 2a, so that G(z) = tanh(a) = 2 sigmoid(l) - 1 is the
    image of the means E[b|z]; `forward(z)` returns that image, `logits(z)` returns l."""

    def __init__(self, z_dim: int, image_size: int, channels: int, width: int = 64):
        super().__init__()
        self.net = DCGANGenerator(z_dim, image_size, channels, width)
        self.z_dim = z_dim

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        """2a: DCGANGenerator.forward up to its last layer, before tanh, doubled."""
        net = self.net
        h = net._apply_norm(0, net.project(latent_as_vector(z, self.z_dim)[:, :, None, None]),
                            None)
        for i, up in enumerate(net.ups, start=1):
            h = net._apply_norm(i, up(h), None)
        return 2.0 * net.to_image(h)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def build_vae_nets(m, data) -> tuple[VAEEncoder, VAEDecoder]:
    """(encoder, decoder) for model section `m` (z_dim, g_width, d_width, d_norm) on images."""
    if data.kind != "images":
        raise ValueError("a VAE needs image data (mnist5k, digits, faces, folder, mnist, stacked)")
    channels, size, _ = data.shape
    return (VAEEncoder(m.z_dim, size, channels, m.d_width, m.d_norm),
            VAEDecoder(m.z_dim, size, channels, m.g_width))
