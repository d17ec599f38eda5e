"""1-D Gaussians N(mu, sigma^2), given as (mu, sigma) pairs: densities, samples, and the exact
divergences between two of them (closed forms, or adaptive quadrature where there is none).

Every integral runs over the span min(mu) - 12 sigma_max .. max(mu) + 12 sigma_max, outside
which both densities hold less than 1e-30 of their mass.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from scipy import integrate, stats

from ganforge.objectives import get_f_divergence

Gaussian = tuple[float, float]  # (mu, sigma)

SPAN_SIGMAS = 12.0


def check_gaussian(label: str, g: Gaussian) -> Gaussian:
    """`g` as a (mu, sigma) pair of floats; raises unless mu is finite and sigma > 0."""
    if len(g) != 2:
        raise ValueError(f"{label} must be a (mu, sigma) pair, got {g!r}")
    mu, sigma = float(g[0]), float(g[1])
    if not (math.isfinite(mu) and math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"{label} must be (mu, sigma) with finite mu and sigma > 0, got {g!r}")
    return mu, sigma


def log_density(x: np.ndarray | float, g: Gaussian) -> np.ndarray | float:
    """log N(x; mu, sigma^2) = -(x - mu)^2 / (2 sigma^2) - log sigma - log(2 pi) / 2."""
    mu, sigma = g
    return -0.5 * ((x - mu) / sigma) ** 2 - math.log(sigma) - 0.5 * math.log(2.0 * math.pi)


def density(x: np.ndarray | float, g: Gaussian) -> np.ndarray | float:
    """N(x; mu, sigma^2) = exp(log_density(x, g))."""
    return np.exp(log_density(x, g))


def sample(g: Gaussian, n: int, generator: torch.Generator) -> torch.Tensor:
    """n samples mu + sigma z, z ~ N(0, 1) drawn with `generator` on its device, shape (n,)."""
    return g[0] + g[1] * torch.randn(n, generator=generator, device=generator.device)


def span(*gaussians: Gaussian) -> tuple[float, float]:
    """(min mu - 12 sigma_max, max mu + 12 sigma_max) over `gaussians`."""
    widest = max(sigma for _, sigma in gaussians)
    low = min(mu for mu, _ in gaussians) - SPAN_SIGMAS * widest
    high = max(mu for mu, _ in gaussians) + SPAN_SIGMAS * widest
    return low, high


def integrate_over_span(integrand: Callable[[float], float], *gaussians: Gaussian) -> float:
    """integral of integrand(x) dx over span(*gaussians) by adaptive quadrature
    (scipy.integrate.quad), with the means as breakpoints."""
    low, high = span(*gaussians)
    value, _ = integrate.quad(integrand, low, high, points=sorted({mu for mu, _ in gaussians}),
                              limit=400, epsabs=1e-12, epsrel=1e-10)
    return float(value)


def jsd_gaussians(p: Gaussian, q: Gaussian) -> float:
    """JSD(P||Q) = 1/2 KL(P||M) + 1/2 KL(Q||M), M = (P + Q) / 2, by quadrature (nats)."""

    def half_kl_to_mixture(a: Gaussian, b: Gaussian) -> float:
        def integrand(x: float) -> float:
            pa, pb = density(x, a), density(x, b)
            m = 0.5 * (pa + pb)
            return 0.5 * pa * math.log(pa / m) if pa > 0 else 0.0

        return integrate_over_span(integrand, p, q)

    return half_kl_to_mixture(p, q) + half_kl_to_mixture(q, p)


def kl_gaussians(p: Gaussian, q: Gaussian) -> float:
    """KL(P||Q) = log(sigma_q/sigma_p) + (sigma_p^2 + (mu_p - mu_q)^2) / (2 sigma_q^2) - 1/2."""
    (mu_p, sigma_p), (mu_q, sigma_q) = p, q
    return math.log(sigma_q / sigma_p) + (sigma_p**2 + (mu_p - mu_q) ** 2) / (2 * sigma_q**2) - 0.5


def renyi_gaussians(alpha: float, p: Gaussian, q: Gaussian) -> float:
    """Renyi divergence D_alpha(P||Q) = log(integral p^alpha q^(1-alpha)) / (alpha - 1).

    For 1-D Gaussians (Gil et al. 2013): with s^2 = alpha sigma_q^2 + (1 - alpha) sigma_p^2 > 0,
    D_alpha = log(sigma_q/sigma_p) + log(sigma_q^2 / s^2) / (2 (alpha - 1))
              + alpha (mu_p - mu_q)^2 / (2 s^2).
    """
    (mu_p, sigma_p), (mu_q, sigma_q) = p, q
    s2 = alpha * sigma_q**2 + (1.0 - alpha) * sigma_p**2
    return (
        math.log(sigma_q / sigma_p)
        + math.log(sigma_q**2 / s2) / (2.0 * (alpha - 1.0))
        + alpha * (mu_p - mu_q) ** 2 / (2.0 * s2)
    )


def exact_f_divergence(name: str, p: Gaussian, q: Gaussian) -> float:
    """D_f(P||Q) = integral q(x) f(p(x)/q(x)) dx by quadrature.

    ``name`` is an f-divergence of ``ganforge.objectives.F_DIVERGENCES`` (kl, reverse-kl,
    pearson, hellinger, js, gan).  Pearson chi^2 between Gaussians is infinite unless
    2 sigma_q^2 > sigma_p^2; then ``math.inf`` is returned.
    """
    divergence = get_f_divergence(name)
    p, q = check_gaussian("p", p), check_gaussian("q", q)
    if name == "pearson" and 2.0 * q[1] ** 2 <= p[1] ** 2:
        return math.inf

    def integrand(x: float) -> float:
        log_p, log_q = log_density(x, p), log_density(x, q)
        ratio = torch.tensor(math.exp(log_p - log_q), dtype=torch.float64)
        return math.exp(log_q) * float(divergence.f(ratio))

    return integrate_over_span(integrand, p, q)


def closed_form_f_divergence(name: str, p: Gaussian, q: Gaussian) -> float:
    """Closed forms between 1-D Gaussians, for cross-checking the integrals.

    kl: KL(P||Q); reverse-kl: KL(Q||P);
    pearson: chi^2(P||Q) = integral p^2/q - 1 = exp(D_2(P||Q)) - 1 (Renyi order 2; infinite
        unless 2 sigma_q^2 > sigma_p^2);
    hellinger: H^2 = integral (sqrt p - sqrt q)^2 = 2 - 2 BC, with the Bhattacharyya coefficient
        BC = sqrt(2 sigma_p sigma_q / (sigma_p^2 + sigma_q^2))
             exp(-(mu_p - mu_q)^2 / (4 (sigma_p^2 + sigma_q^2))).
    The Jensen-Shannon and GAN divergences have no closed form between Gaussians.
    """
    p, q = check_gaussian("p", p), check_gaussian("q", q)
    if name == "kl":
        return kl_gaussians(p, q)
    if name == "reverse-kl":
        return kl_gaussians(q, p)
    if name == "pearson":
        if 2.0 * q[1] ** 2 <= p[1] ** 2:
            return math.inf
        return math.expm1(renyi_gaussians(2.0, p, q))
    if name == "hellinger":
        (mu_p, sigma_p), (mu_q, sigma_q) = p, q
        variance_sum = sigma_p**2 + sigma_q**2
        bc = math.sqrt(2 * sigma_p * sigma_q / variance_sum) * math.exp(
            -((mu_p - mu_q) ** 2) / (4 * variance_sum)
        )
        return 2.0 - 2.0 * bc
    get_f_divergence(name)  # unknown names raise listing the valid ones
    raise ValueError(
        f"no closed form for the {name!r} divergence between Gaussians; closed forms exist for "
        "kl, reverse-kl, pearson, hellinger (use exact_f_divergence)"
    )


def exact_w1(p: Gaussian, q: Gaussian) -> float:
    """W1(P, Q) = integral |F_P(x) - F_Q(x)| dx, F the CDFs (1-D optimal transport)."""
    p, q = check_gaussian("p", p), check_gaussian("q", q)

    def integrand(x: float) -> float:
        return abs(stats.norm.cdf(x, p[0], p[1]) - stats.norm.cdf(x, q[0], q[1]))

    return integrate_over_span(integrand, p, q)
