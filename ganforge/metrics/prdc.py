"""Precision and recall (Kynkaanniemi et al. 2019), density and coverage (Naeem et al. 2020).

Each sample set defines a manifold: the union of closed balls B(x, NND_k(x)) around its
points, NND_k(x) the distance from x to its k-th nearest neighbour in the same set (x
itself excluded). With real features X = {x_i} (N) and generated features Y = {y_j} (M):

    precision = (1/M) sum_j 1[ exists i: ||y_j - x_i|| <= NND_k(x_i) ]          (k = 3)
    recall    = (1/N) sum_i 1[ exists j: ||x_i - y_j|| <= NND_k(y_j) ]          (k = 3)
    density   = 1/(k M) sum_j sum_i 1[ ||y_j - x_i|| <= NND_k(x_i) ]            (k = 5)
    coverage  = (1/N) sum_i 1[ exists j: ||y_j - x_i|| <= NND_k(x_i) ]          (k = 5)

Distances are computed in torch, `batch_size` rows at a time against the whole other set, so
memory grows as batch_size * N rather than N * M.
"""

from __future__ import annotations

import numpy as np
import torch


def _as_tensor(features: np.ndarray | torch.Tensor, device: str | torch.device) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(features) if not torch.is_tensor(features) else features)
    if x.ndim != 2:
        raise ValueError(f"features must be an (N, D) array, got shape {tuple(x.shape)}")
    return x.to(device=device, dtype=torch.float64)


def _row_blocks(n: int, batch_size: int):
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))


def knn_radii(features: torch.Tensor, k: int, batch_size: int = 1024) -> torch.Tensor:
    """NND_k(x) for every row x: distance to its k-th nearest other row (self excluded)."""
    n = features.shape[0]
    if not 1 <= k < n:
        raise ValueError(f"k must be between 1 and N - 1 = {n - 1}, got {k}")
    radii = torch.empty(n, dtype=features.dtype, device=features.device)
    for rows in _row_blocks(n, batch_size):
        dist = torch.cdist(features[rows], features)
        # the smallest distance is the row to itself (0); the (k+1)-th smallest is NND_k
        radii[rows] = dist.kthvalue(k + 1, dim=1).values
    return radii


def ball_membership_counts(
    queries: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, batch_size: int = 1024
) -> tuple[torch.Tensor, torch.Tensor]:
    """For closed balls B(c_i, r_i): per query q_j the number of balls holding it,
    sum_i 1[||q_j - c_i|| <= r_i], and per ball whether it holds any query,
    max_j 1[||q_j - c_i|| <= r_i]."""
    counts = torch.zeros(queries.shape[0], dtype=torch.int64, device=queries.device)
    ball_hit = torch.zeros(centres.shape[0], dtype=torch.bool, device=queries.device)
    for rows in _row_blocks(queries.shape[0], batch_size):
        inside = torch.cdist(queries[rows], centres) <= radii[None, :]
        counts[rows] = inside.sum(dim=1)
        ball_hit |= inside.any(dim=0)
    return counts, ball_hit


def precision_recall(
    real_features: np.ndarray,
    fake_features: np.ndarray,
    k: int = 3,
    batch_size: int = 1024,
    device: str | torch.device = "cpu",
) -> dict[str, float]:
    """{"precision", "recall"} of the module docstring with k-NN radii (k = 3 by default)."""
    real = _as_tensor(real_features, device)
    fake = _as_tensor(fake_features, device)
    real_radii = knn_radii(real, k, batch_size)
    fake_radii = knn_radii(fake, k, batch_size)
    fake_counts, _ = ball_membership_counts(fake, real, real_radii, batch_size)
    real_counts, _ = ball_membership_counts(real, fake, fake_radii, batch_size)
    return {
        "precision": float((fake_counts > 0).double().mean()),
        "recall": float((real_counts > 0).double().mean()),
    }


def density_coverage(
    real_features: np.ndarray,
    fake_features: np.ndarray,
    k: int = 5,
    batch_size: int = 1024,
    device: str | torch.device = "cpu",
) -> dict[str, float]:
    """{"density", "coverage"} of the module docstring with real k-NN radii (k = 5 by default)."""
    real = _as_tensor(real_features, device)
    fake = _as_tensor(fake_features, device)
    real_radii = knn_radii(real, k, batch_size)
    fake_counts, real_ball_hit = ball_membership_counts(fake, real, real_radii, batch_size)
    return {
        "density": float(fake_counts.double().sum() / (k * fake.shape[0])),
        "coverage": float(real_ball_hit.double().mean()),
    }


def prdc(
    real_features: np.ndarray,
    fake_features: np.ndarray,
    k_precision_recall: int = 3,
    k_density_coverage: int = 5,
    batch_size: int = 1024,
    device: str | torch.device = "cpu",
) -> dict[str, float]:
    """Precision, recall (k = 3), density and coverage (k = 5) in one dict."""
    result = precision_recall(real_features, fake_features, k_precision_recall, batch_size, device)
    result.update(density_coverage(real_features, fake_features, k_density_coverage, batch_size, device))
    return result
