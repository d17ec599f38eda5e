"""Mode counting for Gaussian mixtures and for stacked digits (Metz et al. 2017; Srivastava
et al. 2017, VEEGAN; Lin et al. 2018, PacGAN).

Mixtures: a sample is *high quality* (HQ) when its distance to the nearest centre is at most
n_std * std (three standard deviations by default). A mode is *captured* when at least
`min_count` HQ samples (one by default) have it as nearest centre.
Samples of the mixture itself are HQ with probability P(chi^2_d <= n_std^2), 98.89 % in 2-D
(1 - exp(-9/2)): a generator above that is narrower than the data, not closer to it.

Stacked digits: three digits stacked as the three channels of one image; each channel is
labelled by a digit classifier, and the label triple (d_0, d_1, d_2) names one of 1000
modes, 100 d_0 + 10 d_1 + d_2. A mode is captured when at least `min_count` samples land in it.

In both cases mode_kl = KL(q || u) = sum_m q_m log(q_m K), q the histogram of (HQ) samples
over the K modes normalised to sum 1 and u the uniform distribution 1/K. Empty modes
(q_m = 0) contribute exactly 0, the limit of q log q, so no epsilon enters the value; when no
sample is HQ, q is undefined and mode_kl is NaN.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def kl_to_uniform(counts: np.ndarray) -> float:
    """KL(q || u) = sum_m q_m log(K q_m), q = counts / sum(counts), with 0 log 0 = 0.

    Returns NaN when all counts are zero (q undefined).
    """
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        return math.nan
    q = counts / total
    nonzero = q > 0
    return float(np.sum(q[nonzero] * np.log(len(q) * q[nonzero])))


def nearest_centres(points: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest centre and the distance to it, for every point."""
    p = torch.as_tensor(np.asarray(points, dtype=np.float64))
    c = torch.as_tensor(np.asarray(centers, dtype=np.float64))
    if p.ndim == 1:
        p = p[:, None]
    if c.ndim == 1:
        c = c[:, None]
    if p.ndim != 2 or c.ndim != 2 or p.shape[1] != c.shape[1]:
        raise ValueError(
            f"points (N, d) and centers (K, d) must share d, got {tuple(p.shape)} and {tuple(c.shape)}"
        )
    dist = torch.cdist(p, c, compute_mode="donot_use_mm_for_euclid_dist")
    nearest = dist.min(dim=1)
    return nearest.indices.numpy(), nearest.values.numpy()


def mixture_mode_stats(
    points: np.ndarray,
    centers: np.ndarray,
    std: float,
    n_std: float = 3.0,
    min_count: int = 1,
) -> dict[str, float]:
    """{"modes": captured modes, "hq_fraction": share of HQ samples, "mode_kl": KL(q || u)}.

    See the module docstring for the rules; `centers` is (K, d), `std` the per-axis standard
    deviation of each mixture component.
    """
    if std <= 0 or n_std <= 0:
        raise ValueError(f"std and n_std must be positive, got {std} and {n_std}")
    index, distance = nearest_centres(points, centers)
    num_modes = len(np.atleast_1d(np.asarray(centers)))
    high_quality = distance <= n_std * std
    counts = np.bincount(index[high_quality], minlength=num_modes)
    return {
        "modes": int((counts >= min_count).sum()),
        "hq_fraction": float(high_quality.mean()),
        "mode_kl": kl_to_uniform(counts),
    }


def stacked_mode_stats(class_predictions: np.ndarray, min_count: int = 1) -> dict[str, float]:
    """{"modes": captured of 1000, "mode_kl": KL(q || u_1000), "channel_kl"} from (N, 3) digit
    labels. KL(q || u_1000) = sum_c KL(q_c || u_10) + KL(q || q_R q_G q_B): `channel_kl`, the
    first sum, is what each channel's digit histogram alone costs; the rest is the dependence
    between the channels (both >= 0)."""
    labels = np.asarray(class_predictions)
    if labels.ndim != 2 or labels.shape[1] != 3:
        raise ValueError(f"class_predictions must be (N, 3) digit labels, got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() > 9:
        raise ValueError("class_predictions must be integer digit labels in 0..9")
    mode_ids = labels[:, 0] * 100 + labels[:, 1] * 10 + labels[:, 2]
    counts = np.bincount(mode_ids, minlength=1000)
    channel_kl = sum(kl_to_uniform(np.bincount(labels[:, c], minlength=10)) for c in range(3))
    return {"modes": int((counts >= min_count).sum()), "mode_kl": kl_to_uniform(counts),
            "channel_kl": float(channel_kl)}


def class_recognisability(probs: np.ndarray, threshold: float = 0.9) -> dict[str, float]:
    """How recognisable generated images are to a classifier giving p(y|x) (N, K):

    confident = share of samples with max_y p(y|x) > threshold;
    class_kl  = KL(q || u) of the histogram q of argmax_y p(y|x) over the K classes to uniform
                (0 when every class is predicted equally often; log K when one class takes all).
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or len(probs) == 0:
        raise ValueError(f"probs must be (N, K) class probabilities with N >= 1, got {probs.shape}")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    predicted = probs.argmax(axis=1)
    counts = np.bincount(predicted, minlength=probs.shape[1])
    return {"confident": float((probs.max(axis=1) > threshold).mean()),
            "class_kl": kl_to_uniform(counts)}
