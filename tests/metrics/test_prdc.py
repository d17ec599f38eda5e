"""Precision, recall, density and coverage against a brute-force numpy computation."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from ganforge.metrics.prdc import density_coverage, knn_radii, prdc, precision_recall


def brute_force(real, fake, k_pr, k_dc):
    d_rr, d_ff, d_rf = cdist(real, real), cdist(fake, fake), cdist(real, fake)
    r_pr = np.sort(d_rr, axis=1)[:, k_pr]  # column 0 is the point itself
    f_pr = np.sort(d_ff, axis=1)[:, k_pr]
    r_dc = np.sort(d_rr, axis=1)[:, k_dc]
    precision = np.mean([(d_rf[:, j] <= r_pr).any() for j in range(len(fake))])
    recall = np.mean([(d_rf[i, :] <= f_pr).any() for i in range(len(real))])
    density = sum((d_rf[:, j] <= r_dc).sum() for j in range(len(fake))) / (k_dc * len(fake))
    coverage = np.mean([(d_rf[i, :] <= r_dc[i]).any() for i in range(len(real))])
    return {"precision": precision, "recall": recall, "density": density, "coverage": coverage}


def test_prdc_matches_brute_force_with_small_batches():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((60, 5))
    fake = rng.standard_normal((45, 5)) * 1.3 + 0.3
    ours = prdc(real, fake, 3, 5, batch_size=7)
    expected = brute_force(real, fake, 3, 5)
    for name, value in expected.items():
        assert abs(ours[name] - value) < 1e-12, name


def test_knn_radius_is_the_kth_other_point():
    import torch

    x = torch.tensor([[0.0], [1.0], [3.0], [7.0]], dtype=torch.float64)
    # distances to the others: from 0: 1, 3, 7; from 1: 1, 2, 6; from 3: 2, 3, 4; from 7: 4, 6, 7
    assert knn_radii(x, 2, batch_size=3).tolist() == [3.0, 2.0, 3.0, 6.0]


def test_identical_sets_have_full_precision_recall_and_coverage():
    x = np.random.default_rng(1).standard_normal((80, 4))
    result = prdc(x, x.copy())
    assert result["precision"] == 1.0 and result["recall"] == 1.0
    assert result["coverage"] == 1.0


def test_dropping_a_mode_lowers_recall_and_coverage_but_not_precision():
    rng = np.random.default_rng(2)

    def two_modes(n):
        centres = np.array([[-10.0, 0.0], [10.0, 0.0]])
        return centres[np.arange(n) % 2] + rng.standard_normal((n, 2))

    real = two_modes(400)
    both = two_modes(400)
    one = rng.standard_normal((400, 2)) + [-10.0, 0.0]
    full = precision_recall(real, both)
    dropped = precision_recall(real, one)
    assert full["recall"] > 0.9 and full["precision"] > 0.9
    assert 0.4 < dropped["recall"] < 0.6  # only the mode at -10 is recalled
    assert dropped["precision"] > 0.9
    assert 0.4 < density_coverage(real, one)["coverage"] < 0.6


def test_k_must_fit_the_sample_count():
    with pytest.raises(ValueError, match="k must be"):
        precision_recall(np.zeros((3, 2)), np.zeros((3, 2)), k=3)
