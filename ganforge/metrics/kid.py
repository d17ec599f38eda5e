"""Kernel Inception Distance (Binkowski et al. 2018): an unbiased squared MMD estimate.

With the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3 on d-dimensional features and
subsets X = {x_1..x_m} (generated), Y = {y_1..y_m} (real) of equal size m,

    MMD^2_u = 1/(m(m-1)) sum_{i != j} [k(x_i, x_j) + k(y_i, y_j)] - 2/m^2 sum_{i,j} k(x_i, y_j),

an unbiased estimate of MMD^2 (the cross term may include i = j because X and Y are drawn
independently). KID is the mean of this estimate over `num_subsets` random subsets drawn
without replacement, as in the stylegan2-ada and torch-fidelity implementations; the
reported std is the standard deviation of the per-subset estimates (ddof = 0).
"""

from __future__ import annotations

import numpy as np


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (x.y / d + 1)^3 for all pairs of rows: an (len(x), len(y)) matrix."""
    d = x.shape[1]
    return (x @ y.T / d + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """The unbiased MMD^2_u of the module docstring for two equally sized (m, d) samples."""
    m = x.shape[0]
    if y.shape[0] != m or m < 2:
        raise ValueError(f"need two samples of equal size m >= 2, got {x.shape[0]} and {y.shape[0]}")
    k_xx = polynomial_kernel(x, x)
    k_yy = polynomial_kernel(y, y)
    k_xy = polynomial_kernel(x, y)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2.0 * k_xy.sum() / (m * m))


def kernel_inception_distance(
    real_features: np.ndarray,
    fake_features: np.ndarray,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """(mean, std) of MMD^2_u over `num_subsets` subsets of size min(subset_size, N_real, N_fake).

    Subsets are drawn without replacement, independently for real and generated features,
    from `np.random.default_rng(seed)`.
    """
    real = np.asarray(real_features, dtype=np.float64)
    fake = np.asarray(fake_features, dtype=np.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"features must be (N, d) arrays with the same d, got {real.shape} and {fake.shape}")
    if num_subsets < 1:
        raise ValueError(f"num_subsets must be >= 1, got {num_subsets}")
    m = min(subset_size, len(real), len(fake))
    if m < 2:
        raise ValueError(f"KID needs at least 2 samples per side, got subsets of size {m}")
    rng = np.random.default_rng(seed)
    estimates = np.empty(num_subsets)
    for s in range(num_subsets):
        x = fake[rng.choice(len(fake), m, replace=False)]
        y = real[rng.choice(len(real), m, replace=False)]
        estimates[s] = mmd2_unbiased(x, y)
    return float(estimates.mean()), float(estimates.std())
