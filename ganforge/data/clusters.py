"""Labels without annotation: k-means clusters of the training images (`data.clusters`).

A G conditioned on the class draws digits that a classifier names with confidence, while the
same nets unconditioned blend digit shapes (benchmarks/README.md). Conditioning on clusters
found without labels keeps much of that gain (Sage et al. 2018, Logo-GAN; Liu et al. 2020,
self-conditioned GANs, who cluster D's features instead): each cluster is a smaller, closer to
unimodal target. G draws its cluster c from the clusters' shares of the training set, so
p_g(c) = p_data(c) and the model stays a model of the whole data. Here the clusters are found
once, on the pixels, with scikit-learn's k-means.
"""

from __future__ import annotations

import numpy as np
import torch


def kmeans_labels(images: torch.Tensor, k: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(cluster of each image (N,) int64, share of the images in each cluster (k,) float32).

    k-means on the flattened images (k-means++ start, best of 3 starts, fixed seed), so every
    process of a distributed run and every later `load_run` finds the same clusters.
    """
    labels, shares, _ = kmeans_fit(images, k, seed)
    return labels, shares


def kmeans_fit(images: torch.Tensor, k: int,
               seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """kmeans_labels and the k centres (k, C, H, W) float32, for labelling unseen images."""
    from sklearn.cluster import KMeans

    n = images.shape[0]
    if not 2 <= k <= n:
        raise ValueError(f"data.clusters must be between 2 and the number of training images "
                         f"({n}), got {k}")
    points = images.reshape(n, -1).to(torch.float64).numpy()
    fit = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(points)
    shares = np.bincount(fit.labels_, minlength=k) / n
    centres = torch.as_tensor(fit.cluster_centers_, dtype=torch.float32).reshape(k, *images.shape[1:])
    return (torch.as_tensor(fit.labels_, dtype=torch.long),
            torch.as_tensor(shares, dtype=torch.float32), centres)


def nearest_centre(images: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """(N,) int64: the centre (k, ...) nearest each image (N, ...) in squared Euclidean
    distance, the rule k-means assigns its own points by: ||x||^2 - 2 x.c + ||c||^2, whose
    first term is the same for every centre."""
    x, c = images.flatten(1), centres.flatten(1).to(images.device, images.dtype)
    return ((c * c).sum(1) - 2 * x @ c.T).argmin(1)
