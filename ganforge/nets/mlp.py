"""Multilayer perceptrons for the toy problems: G: z -> x and D: x -> logit."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "silu": nn.SiLU,
}
NORMS = {
    "none": lambda width: nn.Identity(),
    "batch": nn.BatchNorm1d,
    "layer": nn.LayerNorm,
}


def _make(table: dict, name: str, what: str):
    if name not in table:
        raise ValueError(f"unknown MLP {what} {name!r}; valid: {', '.join(table)}")
    return table[name]


def mlp(
    in_dim: int,
    out_dim: int,
    width: int,
    depth: int,
    activation: str,
    norm: str = "none",
    sn: bool = False,
) -> nn.Sequential:
    """`depth` hidden layers of `width` units: Linear -> norm -> activation, then a Linear out."""
    act = _make(ACTIVATIONS, activation, "activation")
    make_norm = _make(NORMS, norm, "norm")
    wrap = spectral_norm if sn else (lambda m: m)
    layers: list[nn.Module] = []
    dims = [in_dim] + [width] * depth
    for a, b in zip(dims[:-1], dims[1:]):
        layers += [wrap(nn.Linear(a, b)), make_norm(b), act()]
    layers.append(wrap(nn.Linear(dims[-1], out_dim)))
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """G(z; theta_g): R^z_dim -> R^out_dim, no output squashing (toy data is unbounded)."""

    def __init__(self, z_dim: int, out_dim: int, width: int = 128, depth: int = 3,
                 activation: str = "relu", norm: str = "none"):
        super().__init__()
        self.z_dim = z_dim
        self.net = mlp(z_dim, out_dim, width, depth, activation, norm)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """D(x; theta_d): R^in_dim -> R, a logit (D(x) = sigmoid(logit)) or a critic value.

    With `pack` > 1 (PacGAN), D scores `pack` samples concatenated into one input and
    returns N / pack outputs. With `minibatch_std`, the last hidden features get one more:
    their standard deviation over groups of 4 samples (as in ProGAN), so D can see a
    batch whose samples are too alike.
    """

    def __init__(self, in_dim: int, width: int = 128, depth: int = 3,
                 activation: str = "leaky_relu", norm: str = "none",
                 spectral_norm: bool = False, pack: int = 1, minibatch_std: bool = False):
        super().__init__()
        from ganforge.nets.layers import MinibatchStdDev, spectral_norm_if

        self.pack = pack
        body = mlp(in_dim * pack, 1, width, depth, activation, norm, sn=spectral_norm)
        self.body = nn.Sequential(*list(body)[:-1])
        self.mbstd = MinibatchStdDev(4) if minibatch_std else nn.Identity()
        self.head = spectral_norm_if(nn.Linear(width + int(minibatch_std), 1), spectral_norm)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        n = x.shape[0]
        if n % self.pack:
            raise ValueError(f"PacGAN with pack={self.pack} needs a batch divisible by it, got {n}")
        return self.head(self.mbstd(self.body(x.reshape(n // self.pack, -1)))).squeeze(1)
