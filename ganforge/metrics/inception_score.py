"""Inception Score (Salimans et al. 2016) from a classifier's class probabilities.

    IS = exp( E_x KL( p(y|x) || p(y) ) ),   p(y) = E_x p(y|x),

computed on `num_splits` consecutive, equally sized splits of the samples (the last
N mod num_splits samples are left out, as in the original code); the result is the mean and
standard deviation (ddof = 0) of the per-split scores. Terms with p(y|x) = 0 contribute 0
(the limit of p log p), so no epsilon is added.
"""

from __future__ import annotations

import numpy as np


def _check_probabilities(probs: np.ndarray) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"probabilities must be an (N, K) array with K >= 2, got {p.shape}")
    if np.any(p < 0) or np.any(np.abs(p.sum(axis=1) - 1.0) > 1e-3):
        raise ValueError("each row of probabilities must be non-negative and sum to 1 (softmax)")
    return p


def split_score(probs: np.ndarray) -> float:
    """exp( (1/N) sum_x sum_y p(y|x) [log p(y|x) - log p(y)] ) for one split."""
    p = _check_probabilities(probs)
    marginal = p.mean(axis=0, keepdims=True)
    positive = p > 0  # where p(y|x) > 0, p(y) > 0 too
    log_ratio = np.log(np.where(positive, p, 1.0)) - np.log(np.where(positive, marginal, 1.0))
    terms = np.where(positive, p * log_ratio, 0.0)
    return float(np.exp(terms.sum(axis=1).mean()))


def inception_score(probs: np.ndarray, num_splits: int = 10) -> tuple[float, float]:
    """(mean, std) of split_score over `num_splits` consecutive splits of the rows of `probs`."""
    p = _check_probabilities(probs)
    if not 1 <= num_splits <= len(p):
        raise ValueError(f"num_splits must be between 1 and N = {len(p)}, got {num_splits}")
    size = len(p) // num_splits
    scores = np.array([split_score(p[i * size : (i + 1) * size]) for i in range(num_splits)])
    return float(scores.mean()), float(scores.std())
