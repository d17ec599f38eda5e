"""Multilayer perceptrons for the toy problems: G: z -> x and D: x -> logit."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ganforge.nets.layers import check_generator_labels

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
    """G(z; theta_g): R^z_dim -> R^out_dim, no output squashing (toy data is unbounded).

    With ``num_classes > 0`` G is conditional, G(z, y): the one-hot label joins z at the input
    (Mirza & Osindero's cGAN), so each class may be drawn by its own region of the net and no
    path through z need cross from one class's samples to another's.
    """

    def __init__(self, z_dim: int, out_dim: int, width: int = 128, depth: int = 3,
                 activation: str = "relu", norm: str = "none", num_classes: int = 0):
        super().__init__()
        self.z_dim, self.num_classes = z_dim, num_classes
        self.net = mlp(z_dim + num_classes, out_dim, width, depth, activation, norm)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        check_generator_labels(y, self.num_classes, z.shape[0])
        if self.num_classes > 0:
            z = torch.cat([z, F.one_hot(y, self.num_classes).to(z.dtype)], dim=1)
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """D(x; theta_d): R^in_dim -> R, a logit (D(x) = sigmoid(logit)) or a critic value.

    With `pack` > 1 (PacGAN), D scores `pack` samples concatenated into one input and
    returns N / pack outputs. With `minibatch_std`, the last hidden features get one more:
    their standard deviation over groups of 4 samples (as in ProGAN), so D can see a
    batch whose samples are too alike.

    ``num_classes`` and ``head`` pick the last layer as for the image discriminators
    (``ganforge.nets.layers.DiscriminatorHead``): "plain" (the default with no classes),
    "projection" (the default with classes: ``psi(h) + embed(y) . h``), "acgan" or
    "classifier". Packing is only offered with the "plain" head.
    """

    def __init__(self, in_dim: int, width: int = 128, depth: int = 3,
                 activation: str = "leaky_relu", norm: str = "none",
                 spectral_norm: bool = False, pack: int = 1, minibatch_std: bool = False,
                 num_classes: int = 0, head: str | None = None):
        super().__init__()
        from ganforge.nets.layers import DiscriminatorHead, MinibatchStdDev, apply_spectral_norm_

        self.pack = pack
        body = mlp(in_dim * pack, 1, width, depth, activation, norm, sn=spectral_norm)
        self.body = nn.Sequential(*list(body)[:-1])
        self.mbstd = MinibatchStdDev(4) if minibatch_std else nn.Identity()
        self.head = DiscriminatorHead(width + int(minibatch_std), num_classes, head)
        if pack > 1 and self.head.head != "plain":
            raise ValueError(f"pack={pack} is only supported with the 'plain' head, "
                             f"not {self.head.head!r}")
        if spectral_norm:
            apply_spectral_norm_(self.head)
        self.register_load_state_dict_pre_hook(_plain_head_keys)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None):
        n = x.shape[0]
        if n % self.pack:
            raise ValueError(f"PacGAN with pack={self.pack} needs a batch divisible by it, got {n}")
        return self.head(self.mbstd(self.body(x.reshape(n // self.pack, -1))), y)


def _plain_head_keys(module, state_dict, prefix, *args) -> None:
    """Runs saved while D's last layer was a bare Linear (`head.weight`, ...) load into the
    DiscriminatorHead, whose real/fake layer is `head.linear`."""
    old = prefix + "head."
    new = ("linear.", "embed.", "classes.")
    for key in [k for k in state_dict if k.startswith(old) and not k[len(old):].startswith(new)]:
        state_dict[old + "linear." + key[len(old):]] = state_dict.pop(key)
