"""What the page draws, computed from the nets of a running game.

2-D data: real samples, G's samples G(z) for fixed z, G's manifold (the image of a grid of z),
D's output over the view as a heat map, and for every fake sample the direction in which
G's loss moves it, -grad_x L_G (L_G = the objective's g_loss; the arrows are what the G step
pushes its samples along).

1-D data, the paper's Figure 1 live: p_data, p_g (the push-forward density of z through G by
quadrature over z; exact up to the bin width, whatever G is), D(x), and the optimal D* for
this p_g where the objective has one:
  minimax, ns, fgan-gan, lsgan   D*(x) = p_data / (p_data + p_g)   (Goodfellow et al. Prop. 1;
                                 LSGAN with a=0, b=1: (b p_data + a p_g) / (p_data + p_g))
  fgan-<f>                       T*(x) = f'(p_data / p_g)           (Nowozin et al. eq. 5)
  hinge                          D*(x) = sign(p_data - p_g)
  wasserstein, wgan-gp           D*(x) = int^x sign(F_g - F_data) dt  (1-D Kantorovich
                                 potential, shifted to D's mean over the view)
D is drawn in the same units as D*: sigmoid(v), g_f(v) for the f-GANs, or the raw v.

Curves: D's and G's losses, the grid JSD and KL(p_g||p_data) (``grid``) and, for the mixtures,
the mode metrics of ``ganforge.metrics.modes``.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from ganforge.data.toy import GaussianMixture, Spiral
from ganforge.explore.grid import (
    divergences,
    log_mixture_partition,
    pushforward_cells,
    pushforward_segments,
    z_quadrature,
)
from ganforge.metrics.modes import mixture_mode_stats
from ganforge.objectives import F_DIVERGENCES

SHOWN = 240  # G's samples drawn on the page; divisible by every PacGAN pack 1..4 (and 5, 6, 8)
REAL_SHOWN = 480
HEAT = 32  # D's heat map: HEAT x HEAT points over the view (the page smooths it)
MANIFOLD = 15  # G's manifold: the image of a MANIFOLD x MANIFOLD grid of z on [-2.5, 2.5]^2
BINS = {1: 400, 2: 40}  # grid cells per axis for the exact JSD / KL (GAN Lab: 30 x 30)
Z_NODES = {1: 2001, 2: 96}  # quadrature nodes per axis of z, on [-Z_HALF_WIDTH, Z_HALF_WIDTH]
Z_HALF_WIDTH = {1: 5.0, 2: 4.0}
MODE_SAMPLES = 2000


def mixture_of(dist) -> tuple[Tensor, float]:
    """(centres (K, d), std) of a toy density as an equal-weight isotropic mixture."""
    if isinstance(dist, GaussianMixture):
        return dist.centers, dist.std
    if isinstance(dist, Spiral):  # its density is the mixture over nodes of the curve
        nodes = 1000
        t = dist.t0 + (dist.t1 - dist.t0) * (torch.arange(nodes, dtype=torch.float64) + 0.5) / nodes
        return dist.curve(t), dist.std
    raise ValueError(f"no mixture form for {type(dist).__name__}")


def rounded(t: Tensor, digits: int = 4) -> list:
    """A flat JSON list; NaN and infinities become null."""
    values = np.round(t.detach().double().reshape(-1).cpu().numpy(), digits)
    return [v if math.isfinite(v) else None for v in values.tolist()]


def mode_matters(net) -> bool:
    """Whether eval() changes what `net` computes or updates: batch norm, dropout, or a
    parametrisation (spectral norm's power iteration runs in training mode only)."""
    return any(isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.Dropout))
               or parametrize.is_parametrized(m) for m in net.modules())


@contextlib.contextmanager
def evaluating(*nets):
    """Nets in eval mode for drawing where that matters (see mode_matters): spectral norm's
    power iteration must not advance (the game then runs exactly as `ganforge train` would),
    nor batch statistics change. Switching modes walks every module, so the others stay."""
    switched = [net for net in nets if net.training and _mode_matters(net)]
    for net in switched:
        net.eval()
    try:
        yield
    finally:
        for net in switched:
            net.train(True)


def _mode_matters(net) -> bool:
    cached = getattr(net, "_explore_mode_matters", None)
    if cached is None:
        cached = mode_matters(net)
        net._explore_mode_matters = cached  # a net's layers never change after it is built
    return cached


class Scene:
    """Fixed inputs and grids of one game (data set, z_dim, view), made at each reset."""

    def __init__(self, dist, view: tuple[float, float], z_dim: int, mode_metrics: bool,
                 seed: int):
        self.dist, self.dim, self.view, self.z_dim = dist, dist.dim, view, z_dim
        gen = torch.Generator().manual_seed(seed + 4242)  # never the game's own RNG streams
        self.real = dist.sample(REAL_SHOWN, gen).float()
        self.z = torch.randn(SHOWN, z_dim, generator=gen)
        self.z_modes = torch.randn(MODE_SAMPLES, z_dim, generator=gen)
        self.centers, self.std = mixture_of(dist)
        self.mode_metrics = mode_metrics
        self.edges = [torch.linspace(view[0], view[1], BINS[self.dim] + 1, dtype=torch.float64)
                      for _ in range(self.dim)]
        self.log_p = log_mixture_partition(self.centers, self.std, self.edges)
        self.zq, self.wq = z_quadrature(z_dim, Z_NODES[z_dim], Z_HALF_WIDTH[z_dim])
        self.zq = self.zq.float()
        if self.dim == 1:
            e = self.edges[0]
            self.x = (0.5 * (e[1:] + e[:-1])).float().unsqueeze(1)
            self.width = float(e[1] - e[0])
            self.p_data = dist.log_prob(self.x.double()).exp()
        else:
            axis = torch.linspace(view[0], view[1], 2 * HEAT + 1)[1::2]  # cell centres
            gx, gy = torch.meshgrid(axis, axis, indexing="xy")  # row-major over y, then x
            self.x = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)
            za = torch.linspace(-2.5, 2.5, MANIFOLD)
            self.z_manifold = torch.cartesian_prod(za, za) if z_dim == 2 else za.unsqueeze(1)

    def static(self) -> dict:
        """What stays put for a whole game: the view, the real samples, p_data (1-D)."""
        out = {"dim": self.dim, "view": list(self.view), "real": rounded(self.real),
               "modes_total": len(self.centers) if self.mode_metrics else 0}
        if self.dim == 1:
            out["x"] = rounded(self.x)
            out["p_data"] = rounded(self.p_data)
        else:
            out["heat_size"], out["manifold_size"] = HEAT, MANIFOLD
        return out

    # -- the numbers -----------------------------------------------------------------------
    def cells_of_g(self, G) -> Tensor:
        """p_g's mass per cell, "outside" last (``grid``: segments in 1-D, nodes in 2-D)."""
        with torch.no_grad():
            x = G(self.zq)
        if self.dim == 1:
            return pushforward_segments(x, self.wq, self.edges[0])
        return pushforward_cells(x, self.wq, self.edges)

    def measure(self, G) -> dict[str, float]:
        """Grid JSD and KL(p_g||p_data) (``grid.divergences``) and the mode metrics."""
        with evaluating(G):
            out = divergences(self.log_p, self.cells_of_g(G))
            if self.mode_metrics:
                with torch.no_grad():
                    points = G(self.z_modes).double().numpy()
                stats = mixture_mode_stats(points, self.centers.numpy(), self.std)
                out.update(modes=stats["modes"], hq=stats["hq_fraction"])
        return out

    def frame(self, family, objective) -> dict:
        """G's samples, the arrows, D over the view (and in 1-D: p_g, D*) as tensors."""
        G, D = family.G, family.D
        pack = getattr(D, "pack", 1)
        out: dict = {}
        with evaluating(G, D, family.G_ema):
            with torch.no_grad():
                fake = G(self.z)
                v = D(self.x.repeat_interleave(pack, dim=0))  # a pack of copies per point
                if family.cfg.train.ema > 0:
                    out["ema"] = family.G_ema(self.z)
                if self.dim == 2:
                    out["manifold"] = G(self.z_manifold)
            out["fake"] = fake
            out["arrows"] = self._arrows(fake, D, objective)
        shown = self.shown_d(v, objective)
        if self.dim == 2:
            out["heat"] = shown
            finite = shown[torch.isfinite(shown)]
            lo, hi = (0.0, 1.0) if objective.probabilistic or not len(finite) else (
                float(finite.min()), float(finite.max()))
            out["heat_range"] = [lo, hi]
            return out
        with evaluating(G):
            q = self.cells_of_g(G)
        p_g = q[:-1] / self.width
        out["p_g"] = p_g
        out["d"] = shown
        d_star = self.optimal_d(objective, p_g, shown)
        if d_star is not None:
            out["d_star"] = d_star
        out.update(divergences(self.log_p, q))
        return out

    @staticmethod
    def _arrows(fake: Tensor, D, objective) -> Tensor:
        """-grad_x of G's loss at each fake x, times N (the loss is a mean over N samples)."""
        x = fake.detach().requires_grad_(True)
        with torch.enable_grad():
            loss = objective.g_loss(D(x))
            (grad,) = torch.autograd.grad(loss, x)
        return -grad * len(x)

    @staticmethod
    def shown_d(v: Tensor, objective) -> Tensor:
        """D in the units of D*: sigmoid(v), g_f(v) for the f-GANs, else the raw v."""
        if objective.probabilistic:
            return torch.sigmoid(v)
        if objective.name.startswith("fgan-"):
            return F_DIVERGENCES.get(objective.name[len("fgan-"):]).activation(v)
        return v

    def optimal_d(self, objective, p_g: Tensor, shown: Tensor) -> Tensor | None:
        """D* (1-D) for this p_g, in the units of ``shown_d``; see the module docstring."""
        p, q = self.p_data, p_g
        name = objective.name
        if objective.probabilistic or name == "lsgan":
            return p / (p + q)
        if name.startswith("fgan-"):
            f = F_DIVERGENCES.get(name[len("fgan-"):]).f
            u = (p / q).requires_grad_(True)
            with torch.enable_grad():
                (df,) = torch.autograd.grad(f(u).sum(), u)
            return df.detach()
        if name == "hinge":
            return torch.sign(p - q)
        if objective.lipschitz != "none":
            slope = torch.sign(torch.cumsum(q - p, dim=0) * self.width)
            potential = torch.cumsum(slope, dim=0) * self.width
            return potential - potential.mean() + shown.double().mean()
        return None
