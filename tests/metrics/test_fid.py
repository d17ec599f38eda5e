"""FID against closed forms and against the scipy-sqrtm formula of pytorch-fid."""

import math

import numpy as np
import pytest
import scipy.linalg

from ganforge.metrics.fid import (
    feature_statistics,
    frechet_distance,
    load_statistics,
    load_statistics_with_protocol,
    save_statistics,
)


def pytorch_fid_reference(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """pytorch-fid's calculate_frechet_distance, re-typed from its published formula."""
    diff = mu1 - mu2
    covmean = scipy.linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)


def random_spd(rng, d, scale=1.0):
    a = rng.standard_normal((d, d))
    return scale * (a @ a.T / d + 0.1 * np.eye(d))


def test_feature_statistics_is_mean_and_unbiased_covariance():
    x = np.random.default_rng(0).standard_normal((50, 4)) * [1, 2, 3, 4]
    mu, sigma = feature_statistics(x)
    centred = x - x.sum(axis=0) / 50
    assert mu.dtype == np.float64 and sigma.shape == (4, 4)
    assert np.allclose(mu, x.sum(axis=0) / 50, atol=1e-14)
    assert np.allclose(sigma, centred.T @ centred / 49, atol=1e-13)


def test_fid_of_a_set_with_itself_is_zero():
    x = np.random.default_rng(1).standard_normal((400, 64)) * 3 + 1
    mu, sigma = feature_statistics(x)
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-6


def test_fid_of_a_singular_set_with_itself_is_zero():
    # N < D: rank-deficient covariance (the eigh route; scipy sqrtm is unreliable here)
    x = np.random.default_rng(2).standard_normal((40, 120))
    mu, sigma = feature_statistics(x)
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-6


def test_fid_between_diagonal_gaussians_is_the_closed_form():
    # commuting covariances: Tr sqrt(S1 S2) = sum sqrt(a_i b_i)
    rng = np.random.default_rng(3)
    a, b = rng.uniform(0.1, 4, 10), rng.uniform(0.1, 4, 10)
    m1, m2 = rng.standard_normal(10), rng.standard_normal(10)
    expected = np.sum((m1 - m2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert abs(frechet_distance(m1, np.diag(a), m2, np.diag(b)) - expected) < 1e-10


def test_fid_between_non_commuting_2d_gaussians_is_the_closed_form():
    # for 2x2 M with eigenvalues l1, l2 >= 0: Tr sqrt(M) = sqrt(tr M + 2 sqrt(det M))
    s1 = np.array([[2.0, 0.3], [0.3, 0.5]])
    s2 = np.array([[1.0, -0.7], [-0.7, 3.0]])
    m1, m2 = np.array([0.0, 1.0]), np.array([2.0, -1.0])
    tr_sqrt = math.sqrt(np.trace(s1 @ s2) + 2 * math.sqrt(np.linalg.det(s1) * np.linalg.det(s2)))
    expected = 8.0 + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt
    assert abs(frechet_distance(m1, s1, m2, s2) - expected) < 1e-12


def test_fid_of_samples_approaches_the_closed_form():
    rng = np.random.default_rng(4)
    s1 = np.array([[2.0, 0.3], [0.3, 0.5]])
    s2 = np.array([[1.0, -0.7], [-0.7, 3.0]])
    x = rng.multivariate_normal([0, 1], s1, size=200_000)
    y = rng.multivariate_normal([2, -1], s2, size=200_000)
    tr_sqrt = math.sqrt(np.trace(s1 @ s2) + 2 * math.sqrt(np.linalg.det(s1) * np.linalg.det(s2)))
    expected = 8.0 + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt
    fid = frechet_distance(*feature_statistics(x), *feature_statistics(y))
    assert abs(fid - expected) < 0.05


def test_fid_matches_the_scipy_sqrtm_reference_on_random_statistics():
    # 256-d keeps scipy's sqrtm under a second; benchmarks/fid_speed.py checks 2048-d
    rng = np.random.default_rng(5)
    d = 256
    s1, s2 = random_spd(rng, d), random_spd(rng, d, scale=1.7)
    m1, m2 = rng.standard_normal(d), 0.5 * rng.standard_normal(d)
    ours = frechet_distance(m1, s1, m2, s2)
    reference = pytorch_fid_reference(m1, s1, m2, s2)
    assert abs(ours - reference) <= 1e-6 * abs(reference)


def test_fid_with_one_singular_covariance_matches_the_reference():
    # S1 of rank 30 < D: the Cholesky of S2 is used instead
    rng = np.random.default_rng(6)
    d = 64
    mu1, s1 = feature_statistics(rng.standard_normal((31, d)))
    s2 = random_spd(rng, d)
    ours = frechet_distance(mu1, s1, np.zeros(d), s2)
    reference = pytorch_fid_reference(mu1, s1, np.zeros(d), s2)
    assert abs(ours - reference) <= 1e-6 * abs(reference)


def test_fid_of_two_rank_deficient_sets_is_real_and_exact():
    # Both covariances singular (N < D). With A = Xc / sqrt(N-1), B = Yc / sqrt(M-1),
    # S1 S2 = A^T A B^T B has the nonzero eigenvalues of (A B^T)(A B^T)^T, so
    # Tr sqrt(S1 S2) = sum of the singular values of A B^T (a small N x M matrix).
    rng = np.random.default_rng(7)
    x = rng.standard_normal((30, 200))
    y = rng.standard_normal((25, 200)) * 1.5 + 0.2
    a = (x - x.mean(0)) / math.sqrt(29)
    b = (y - y.mean(0)) / math.sqrt(24)
    tr_sqrt = np.linalg.svd(a @ b.T, compute_uv=False).sum()
    diff = x.mean(0) - y.mean(0)
    expected = diff @ diff + np.sum(a * a) + np.sum(b * b) - 2 * tr_sqrt
    fid = frechet_distance(*feature_statistics(x), *feature_statistics(y))
    assert isinstance(fid, float)
    assert abs(fid - expected) <= 1e-9 * expected


def test_frechet_distance_rejects_mismatched_statistics():
    with pytest.raises(ValueError, match="different dimensions"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(ValueError, match="sigma"):
        frechet_distance(np.zeros(3), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(np.full(2, np.nan), np.eye(2), np.zeros(2), np.eye(2))


def test_statistics_files_use_pytorch_fid_keys(tmp_path):
    rng = np.random.default_rng(8)
    mu, sigma = feature_statistics(rng.standard_normal((20, 5)))
    path = save_statistics(tmp_path / "stats.npz", mu, sigma, protocol={"features": "raw"})
    with np.load(path) as data:  # what pytorch-fid reads
        assert np.array_equal(data["mu"], mu) and np.array_equal(data["sigma"], sigma)
    mu2, sigma2, protocol = load_statistics_with_protocol(path)
    assert np.array_equal(mu2, mu) and np.array_equal(sigma2, sigma)
    assert protocol == {"features": "raw"}
    # a file written by other tools (only mu and sigma) loads too
    np.savez(tmp_path / "other.npz", mu=mu.astype(np.float32), sigma=sigma.astype(np.float32))
    mu3, sigma3 = load_statistics(tmp_path / "other.npz")
    assert mu3.dtype == np.float64 and np.allclose(sigma3, sigma, atol=1e-6)


def test_statistics_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_statistics(tmp_path / "missing.npz")
    np.savez(tmp_path / "bad.npz", mean=np.zeros(2))
    with pytest.raises(ValueError, match="mu"):
        load_statistics(tmp_path / "bad.npz")
    with pytest.raises(ValueError, match=".npz"):
        save_statistics(tmp_path / "stats.txt", np.zeros(2), np.eye(2))


def test_statistics_files_must_hold_a_covariance_matrix(tmp_path):
    """FID assumes a symmetric positive semi-definite sigma; others gave negative distances."""
    rng = np.random.default_rng(3)
    mu, sigma = feature_statistics(rng.standard_normal((10, 4)))  # rank 4 of 4
    skew = sigma.copy()
    skew[0, 1] += 1e-3 * np.abs(sigma).max()
    np.savez(tmp_path / "skew.npz", mu=mu, sigma=skew)
    with pytest.raises(ValueError, match="skew.npz: sigma is not symmetric"):
        load_statistics(tmp_path / "skew.npz")
    np.savez(tmp_path / "indefinite.npz", mu=np.zeros(2), sigma=np.diag([1.0, -0.5]))
    with pytest.raises(ValueError, match="indefinite.npz: sigma is not positive semi-definite"):
        load_statistics(tmp_path / "indefinite.npz")
    with pytest.raises(ValueError, match="not positive semi-definite"):
        save_statistics(tmp_path / "out.npz", np.zeros(2), np.diag([1.0, -0.5]))
    # round-off within the tolerances loads: a singular covariance and float32 storage
    mu, singular = feature_statistics(rng.standard_normal((3, 6)))
    np.savez(tmp_path / "singular.npz", mu=mu.astype(np.float32), sigma=singular.astype(np.float32))
    assert load_statistics(tmp_path / "singular.npz")[1].shape == (6, 6)


def test_a_file_that_is_not_an_npz_archive_is_named(tmp_path):
    (tmp_path / "text.npz").write_text("mu 0\n")
    with pytest.raises(ValueError, match="text.npz is not a NumPy .npz archive"):
        load_statistics(tmp_path / "text.npz")
    np.save(tmp_path / "bare.npy", np.eye(2))
    (tmp_path / "bare.npy").rename(tmp_path / "bare.npz")
    with pytest.raises(ValueError, match="bare.npz is not a NumPy .npz archive"):
        load_statistics(tmp_path / "bare.npz")
