"""Parzen-window log-likelihood, the protocol of the original GAN paper (Goodfellow et al. 2014,
after Breuleux et al. 2011).

A Gaussian kernel density with isotropic bandwidth sigma is fitted to n generated samples
s_1..s_n in d dimensions:

    log p(x) = logsumexp_i( -||x - s_i||^2 / (2 sigma^2) ) - log n - (d/2) log(2 pi sigma^2).

sigma is the value of a log-spaced grid (np.logspace(-1, 0, 10) in the paper, for pixels in
[0, 1]) that maximises the mean log-likelihood of a validation set; the score is the mean
log-likelihood of a separate test set and its standard error std / sqrt(m) (ddof = 1).
The double sum runs in torch in blocks, with a running logsumexp over blocks of samples.
"""

from __future__ import annotations

import math

import numpy as np
import torch

DEFAULT_SIGMAS = tuple(float(s) for s in np.logspace(-1.0, 0.0, 10))


def _as_rows(x: np.ndarray | torch.Tensor, device: str | torch.device) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x)
    t = t.reshape(t.shape[0], -1) if t.ndim != 1 else t[:, None]
    return t.to(device=device, dtype=torch.float64)


def parzen_log_likelihoods(
    samples: np.ndarray | torch.Tensor,
    points: np.ndarray | torch.Tensor,
    sigma: float,
    batch_size: int = 256,
    sample_batch_size: int = 8192,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """log p(x) of the module docstring for each of the m `points`: an (m,) float64 array.

    Rows are flattened, so images (N, C, H, W) and points (N, d) are both accepted.
    """
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    s = _as_rows(samples, device)
    x = _as_rows(points, device)
    if s.shape[1] != x.shape[1]:
        raise ValueError(f"samples and points differ in dimension: {s.shape[1]} vs {x.shape[1]}")
    n, d = s.shape
    log_norm = -math.log(n) - 0.5 * d * math.log(2 * math.pi * sigma**2)
    s_sq = (s * s).sum(dim=1)
    out = torch.empty(x.shape[0], dtype=torch.float64, device=device)
    for start in range(0, x.shape[0], batch_size):
        xb = x[start : start + batch_size]
        xb_sq = (xb * xb).sum(dim=1, keepdim=True)
        running = torch.full((xb.shape[0],), -math.inf, dtype=torch.float64, device=device)
        for s_start in range(0, n, sample_batch_size):
            block = slice(s_start, s_start + sample_batch_size)
            sq_dist = (xb_sq + s_sq[None, block] - 2.0 * xb @ s[block].T).clamp(min=0)
            block_lse = torch.logsumexp(-sq_dist / (2.0 * sigma**2), dim=1)
            running = torch.logaddexp(running, block_lse)
        out[start : start + batch_size] = running + log_norm
    return out.cpu().numpy()


def select_sigma(
    samples: np.ndarray | torch.Tensor,
    validation: np.ndarray | torch.Tensor,
    sigmas: tuple[float, ...] = DEFAULT_SIGMAS,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
) -> tuple[float, dict[float, float]]:
    """The sigma of the grid with the highest mean validation log-likelihood, and all means."""
    if len(sigmas) == 0:
        raise ValueError("the sigma grid is empty")
    means = {
        float(sigma): float(
            parzen_log_likelihoods(samples, validation, sigma, batch_size, device=device).mean()
        )
        for sigma in sigmas
    }
    best = max(means, key=means.__getitem__)
    return best, means


def parzen_window_log_likelihood(
    samples: np.ndarray | torch.Tensor,
    validation: np.ndarray | torch.Tensor,
    test: np.ndarray | torch.Tensor,
    sigmas: tuple[float, ...] = DEFAULT_SIGMAS,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
) -> dict[str, float]:
    """{"log_likelihood": mean test log p, "standard_error": std/sqrt(m), "sigma": chosen}."""
    sigma, _ = select_sigma(samples, validation, sigmas, batch_size, device)
    ll = parzen_log_likelihoods(samples, test, sigma, batch_size, device=device)
    if len(ll) < 2:
        raise ValueError("the test set needs at least 2 points for a standard error")
    return {
        "log_likelihood": float(ll.mean()),
        "standard_error": float(ll.std(ddof=1) / math.sqrt(len(ll))),
        "sigma": sigma,
    }
