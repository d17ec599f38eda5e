"""CycleGAN generator (Zhu et al. 2017): the residual image-transformation network of
Johnson et al. 2016. The discriminators are PatchGANs (`ganforge.nets.pix2pix`).

With c7s1-k = 7x7 conv stride 1 (reflection padding 3), norm, ReLU; dk = 3x3 conv stride 2,
norm, ReLU; Rk = residual block x + Norm(Conv3(ReLU(Norm(Conv3(x))))) with reflection
padding 1; uk = 3x3 fractionally-strided conv stride 1/2, norm, ReLU, the 256 px network is

    c7s1-64, d128, d256, R256 x 9, u128, u64, c7s1-3 (then tanh)

and the 128 px one has 6 residual blocks. `n_downsampling` (2 in the paper) sets the number
of d/u layers; images need sides divisible by 2^n_downsampling (28 px digits: 2 -> 7x7
bottleneck, fine; 3 would need multiples of 8).
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.nets.pix2pix import check_norm, init_weights, make_norm


class ResidualBlock(nn.Module):
    """x + F(x), F = Norm(Conv3x3(Dropout(ReLU(Norm(Conv3x3(x)))))) with reflection padding."""

    def __init__(self, channels: int, norm: str, dropout: float = 0.0):
        super().__init__()
        bias = norm != "batch"
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            make_norm(norm, channels),
            nn.ReLU(),
        ]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            make_norm(norm, channels),
        ]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResNetTranslator(nn.Module):
    """G: X -> Y for CycleGAN (see the module docstring for the layer list).

    Channel widths: `width` * 2^i after the i-th downsampling (64, 128, 256 at the defaults).
    The network is fully convolutional; any H, W divisible by 2^n_downsampling works and the
    output has the input's spatial size.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        width: int = 64,
        n_blocks: int = 9,
        norm: str = "instance",
        n_downsampling: int = 2,
        dropout: float = 0.0,
    ):
        super().__init__()
        check_norm(norm)
        if n_blocks < 0 or n_downsampling < 0:
            raise ValueError(f"n_blocks and n_downsampling must be >= 0, got {n_blocks} "
                             f"and {n_downsampling}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.n_downsampling = n_downsampling
        bias = norm != "batch"
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, width, 7, bias=bias),
            make_norm(norm, width),
            nn.ReLU(),
        ]
        channels = width
        for _ in range(n_downsampling):
            layers += [
                nn.Conv2d(channels, 2 * channels, 3, stride=2, padding=1, bias=bias),
                make_norm(norm, 2 * channels),
                nn.ReLU(),
            ]
            channels *= 2
        layers += [ResidualBlock(channels, norm, dropout) for _ in range(n_blocks)]
        for _ in range(n_downsampling):
            layers += [
                nn.ConvTranspose2d(channels, channels // 2, 3, stride=2, padding=1,
                                   output_padding=1, bias=bias),
                make_norm(norm, channels // 2),
                nn.ReLU(),
            ]
            channels //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(channels, out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        factor = 2**self.n_downsampling
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"ResNetTranslator expects (N, {self.in_channels}, H, W) images, "
                             f"got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        if h % factor or w % factor:
            raise ValueError(
                f"ResNetTranslator with n_downsampling={self.n_downsampling} needs image sides "
                f"divisible by {factor}, got {h}x{w}; pick n_downsampling so that "
                f"2^n_downsampling divides the size"
            )
        return self.net(x)
