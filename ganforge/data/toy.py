"""1-D and 2-D distributions whose densities are known exactly.

Each distribution draws samples, `sample(n, generator)`, and evaluates its log
density, `log_prob(x)`, so the theory of the original paper (optimal D, JSD) can be
checked numerically and generated samples can be scored against the true modes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ganforge.registry import Registry

TOYS: Registry = Registry("toy data set")


@dataclass
class GaussianMixture:
    """p(x) = sum_k w_k N(x; c_k, std^2 I) with equal weights w_k = 1/K.

    `centers` is (K, d). Used for the 1-D mixture, the ring of 8 and the grid of 25.
    """

    centers: torch.Tensor
    std: float
    name: str

    @property
    def dim(self) -> int:
        return self.centers.shape[1]

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        k = torch.randint(len(self.centers), (n,), generator=generator)
        noise = torch.randn(n, self.dim, generator=generator)
        return self.centers[k] + self.std * noise

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(len(x), self.dim).to(self.centers.dtype)
        sq = torch.cdist(x, self.centers).pow(2)  # (n, K)
        log_norm = -0.5 * self.dim * math.log(2 * math.pi * self.std**2)
        return torch.logsumexp(-0.5 * sq / self.std**2, dim=1) + log_norm - math.log(len(self.centers))


@TOYS.register("gauss1d")
def gauss1d() -> GaussianMixture:
    """N(4, 0.5^2): the data distribution of the 1-D theory checks."""
    return GaussianMixture(torch.tensor([[4.0]], dtype=torch.float64), 0.5, "gauss1d")


@TOYS.register("mog1d")
def mog1d() -> GaussianMixture:
    """Equal mixture of N(-2, 0.4^2) and N(2, 0.4^2)."""
    return GaussianMixture(torch.tensor([[-2.0], [2.0]], dtype=torch.float64), 0.4, "mog1d")


@TOYS.register("ring8")
def ring8() -> GaussianMixture:
    """8 Gaussians of std 0.01 on the unit circle at angles 2*pi*i/8, i = 0..7."""
    angles = 2 * math.pi * torch.arange(8, dtype=torch.float64) / 8
    centers = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return GaussianMixture(centers, 0.01, "ring8")


@TOYS.register("grid25")
def grid25() -> GaussianMixture:
    """25 Gaussians of std 0.05 centred on {-4, -2, 0, 2, 4}^2."""
    axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0], dtype=torch.float64)
    centers = torch.cartesian_prod(axis, axis)
    return GaussianMixture(centers, 0.05, "grid25")


@dataclass
class Spiral:
    """A 2-D spiral (swiss roll) with a known density.

    t ~ U(t0, t1); x = (t cos t, t sin t) / scale + N(0, std^2 I). The density is the
    convolution of the curve's pushforward measure with the Gaussian,
    p(x) = E_t[N(x; s(t), std^2 I)], evaluated by quadrature over t.
    """

    t0: float = 1.5 * math.pi
    t1: float = 4.5 * math.pi
    scale: float = 5.0
    std: float = 0.05
    name: str = "spiral"
    dim: int = 2

    def curve(self, t: torch.Tensor) -> torch.Tensor:
        return torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=-1) / self.scale

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        t = self.t0 + (self.t1 - self.t0) * torch.rand(n, generator=generator, dtype=torch.float64)
        return self.curve(t) + self.std * torch.randn(n, 2, generator=generator, dtype=torch.float64)

    def log_prob(self, x: torch.Tensor, nodes: int = 4000) -> torch.Tensor:
        # Midpoint rule in t: nodes are ~0.003 rad apart, far finer than std / curve speed.
        t = self.t0 + (self.t1 - self.t0) * (torch.arange(nodes, dtype=torch.float64) + 0.5) / nodes
        points = self.curve(t)
        log_norm = -math.log(2 * math.pi * self.std**2) - math.log(nodes)
        out = []
        for chunk in x.reshape(-1, 2).double().split(2048):  # bounded memory: 2048 x nodes
            sq = torch.cdist(chunk, points).pow(2)
            out.append(torch.logsumexp(-0.5 * sq / self.std**2, dim=1) + log_norm)
        return torch.cat(out)


@TOYS.register("spiral")
def spiral() -> Spiral:
    return Spiral()


def load_toy(name: str):
    """The toy distribution called `name` (see TOYS for the names)."""
    return TOYS.get(name)()
