"""Exact numbers on a grid of cells: p_data's and p_g's mass per cell and the divergences
between them (in the spirit of GAN Lab's 30x30 grid, finer here).

Every toy density the explorer offers is an equal-weight Gaussian mixture with isotropic std s
(the spiral too: its density is a mixture over nodes of the curve), so p_data's mass in a cell
[a_1, b_1] x ... x [a_d, b_d] is exact:

    P(cell) = 1/K sum_k prod_i (Phi((b_i - c_ki) / s) - Phi((a_i - c_ki) / s)),

kept in logs (log_ndtr) so that cells far from every centre keep a finite log mass.  p_g is the
push-forward of z ~ N(0, I) through G, integrated by a product midpoint rule over z:

    Q(cell) = sum_j w_j 1[G(z_j) in cell],   w_j = prod_i phi(z_ji) dz, normalised to sum 1.

Both distributions get one more cell, "outside the box", so what is compared are two
distributions on the same finite partition: by the data-processing inequality the grid's
JSD and KL never exceed those of the continuous densities, and approach them as cells shrink.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def log_interval_mass(edges: Tensor, centers: Tensor, std: float) -> Tensor:
    """log P(a_b < c_k + std * e < a_{b+1}), e ~ N(0, 1), for every centre k and bin b: (K, B).

    On the upper tail the interval is mirrored (Phi(b) - Phi(a) = Phi(-a) - Phi(-b)) so that
    log Phi(hi) - log Phi(lo) never cancels to log 0 where both are close to 1.
    """
    a = (edges[:-1].unsqueeze(0) - centers.unsqueeze(1)) / std
    b = (edges[1:].unsqueeze(0) - centers.unsqueeze(1)) / std
    upper = a > 0
    lo, hi = torch.where(upper, -b, a), torch.where(upper, -a, b)
    log_hi, log_lo = torch.special.log_ndtr(hi), torch.special.log_ndtr(lo)
    # log(Phi(hi) - Phi(lo)) = log Phi(hi) + log(1 - exp(log Phi(lo) - log Phi(hi)))
    return log_hi + torch.log(-torch.expm1(torch.clamp(log_lo - log_hi, max=-1e-300)))


def log_mixture_cells(centers: Tensor, std: float, edges: list[Tensor]) -> Tensor:
    """log P(cell) for an equal-weight isotropic mixture, cells = product of the 1-D bins in
    ``edges`` (one tensor of edges per dimension): shape (B_1, ..., B_d), float64."""
    centers = centers.double().reshape(len(centers), len(edges))
    per_dim = [log_interval_mass(e.double(), centers[:, i], std) for i, e in enumerate(edges)]
    if len(per_dim) == 1:
        log_cells = per_dim[0]
    else:
        log_cells = per_dim[0].unsqueeze(2) + per_dim[1].unsqueeze(1)  # (K, B_x, B_y)
    return torch.logsumexp(log_cells, dim=0) - math.log(len(centers))


def log_mixture_outside(centers: Tensor, std: float, edges: list[Tensor]) -> float:
    """log P(x outside the box spanned by ``edges``) for the same mixture, accurate far into
    the tails: per component 1 - prod_i (1 - t_i), t_i its mass beyond the box on axis i,
    which is sum_i t_i to first order where the product rounds to 1."""
    centers = centers.double().reshape(len(centers), len(edges))
    log_tails = []
    for i, e in enumerate(edges):
        below = torch.special.log_ndtr((float(e[0]) - centers[:, i]) / std)
        above = torch.special.log_ndtr((centers[:, i] - float(e[-1])) / std)
        log_tails.append(torch.logaddexp(below, above))
    log_t = torch.stack(log_tails, dim=1)  # (K, d)
    log_inside = torch.log1p(-log_t.exp()).sum(dim=1)
    exact = torch.log(-torch.expm1(torch.clamp(log_inside, max=-1e-300)))
    log_out = torch.where(log_inside < -1e-8, exact, torch.logsumexp(log_t, dim=1))
    return float(torch.logsumexp(log_out, dim=0)) - math.log(len(centers))


def log_mixture_partition(centers: Tensor, std: float, edges: list[Tensor]) -> Tensor:
    """The flat log masses of the mixture in every cell, then log P(outside the box) last."""
    log_cells = log_mixture_cells(centers, std, edges).reshape(-1)
    outside = log_mixture_outside(centers, std, edges)
    return torch.cat([log_cells, torch.tensor([outside], dtype=log_cells.dtype)])


def z_quadrature(z_dim: int, nodes: int, half_width: float = 5.0) -> tuple[Tensor, Tensor]:
    """Midpoint nodes z_j on [-half_width, half_width]^z_dim and weights w_j (sum 1) of N(0, I)."""
    if z_dim not in (1, 2):
        raise ValueError(f"the grid quadrature over z handles z_dim 1 or 2, got {z_dim}")
    step = 2 * half_width / nodes
    axis = -half_width + step * (torch.arange(nodes, dtype=torch.float64) + 0.5)
    z = axis.unsqueeze(1) if z_dim == 1 else torch.cartesian_prod(axis, axis)
    log_w = -0.5 * z.pow(2).sum(dim=1)
    w = torch.softmax(log_w, dim=0)
    return z, w


def pushforward_cells(x: Tensor, weights: Tensor, edges: list[Tensor]) -> Tensor:
    """The flat masses of G's push-forward in each cell plus "outside" last: x = G(z_j) (J, d)
    with quadrature weights w_j."""
    x = x.double().reshape(len(x), len(edges))
    inside = torch.ones(len(x), dtype=torch.bool)
    flat_index = torch.zeros(len(x), dtype=torch.long)
    for i, e in enumerate(edges):
        bins = len(e) - 1
        index = torch.bucketize(x[:, i].contiguous(), e.double()) - 1
        inside &= (index >= 0) & (index < bins)
        flat_index = flat_index * bins + index.clamp(0, bins - 1)
    cells = math.prod(len(e) - 1 for e in edges)
    masses = torch.zeros(cells + 1, dtype=torch.float64)
    masses.index_add_(0, torch.where(inside, flat_index, cells), weights.double())
    return masses / masses.sum()


def pushforward_segments(x: Tensor, weights: Tensor, edges: Tensor) -> Tensor:
    """1-D: the masses of G's push-forward per bin plus "outside" last, with G taken as
    piecewise linear between consecutive quadrature nodes (x = G(z_j), z_j increasing): the
    mass (w_j + w_{j+1}) / 2 between two nodes spreads evenly over [G(z_j), G(z_{j+1})].
    Exact for an affine G, and free of the aliasing of counting nodes per bin."""
    x = x.double().reshape(-1)
    mass = 0.5 * (weights[1:] + weights[:-1]).double()
    lo, hi = torch.minimum(x[1:], x[:-1]), torch.maximum(x[1:], x[:-1])
    e = edges.double().unsqueeze(1)  # (B + 1, 1) against segments (J - 1,)
    span = hi - lo
    ramp = torch.where(span > 0, (e - lo) / torch.where(span > 0, span, 1.0), (e >= lo).double())
    below = (ramp.clamp(0.0, 1.0) * mass).sum(dim=1)  # the push-forward's CDF at each edge
    cells = below[1:] - below[:-1]
    total = mass.sum()
    masses = torch.cat([cells, (total - cells.sum()).reshape(1)])
    # a difference of two sums of about equal size can round to -1e-17 on some CPUs; a mass
    # below 0 would make M = (P + Q) / 2 negative where P underflows, and log M NaN
    return masses.clamp_min(0.0) / total


def divergences(log_p: Tensor, q: Tensor) -> dict[str, float]:
    """On one partition, P given by log masses, Q by masses (both sum to 1):

    jsd = 1/2 KL(P||M) + 1/2 KL(Q||M), M = (P + Q) / 2;
    kl  = KL(Q||P) = sum_{q > 0} q (log q - log p), G's reverse KL (inf where Q has mass
          and P's mass underflows to 0), in nats.
    """
    p = log_p.exp()
    m = 0.5 * (p + q)
    log_m = torch.log(m)
    half_p = torch.where(p > 0, p * (log_p - log_m), 0.0).sum()
    log_q = torch.log(torch.where(q > 0, q, 1.0))
    half_q = torch.where(q > 0, q * (log_q - log_m), 0.0).sum()
    kl = torch.where(q > 0, q * (log_q - log_p), 0.0).sum()
    return {"jsd": float(0.5 * (half_p + half_q)), "kl": float(kl)}
