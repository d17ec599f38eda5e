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
    from sklearn.cluster import KMeans

    n = images.shape[0]
    if not 2 <= k <= n:
        raise ValueError(f"data.clusters must be between 2 and the number of training images "
                         f"({n}), got {k}")
    points = images.reshape(n, -1).to(torch.float64).numpy()
    labels = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(points)
    shares = np.bincount(labels, minlength=k) / n
    return torch.as_tensor(labels, dtype=torch.long), torch.as_tensor(shares, dtype=torch.float32)
