"""Frechet Inception Distance (Heusel et al. 2017) between two Gaussians fitted to features.

    FID = ||mu_1 - mu_2||^2 + Tr(S_1) + Tr(S_2) - 2 Tr((S_1 S_2)^{1/2})

The trace of the matrix square root is computed without `scipy.linalg.sqrtm`. With any
factor S_1 = A A^T (Cholesky), S_1 S_2 = A (A^T S_2) has the eigenvalues of the symmetric
positive semi-definite M = A^T S_2 A (AB and BA share their eigenvalues), so with the
eigenvalues l_i >= 0 of M

    Tr((S_1 S_2)^{1/2}) = sum_i sqrt(l_i).

A Cholesky factorisation and one symmetric eigenvalue solve (`eigvalsh`) replace the
Schur-based `sqrtm`: many times faster on 2048-d statistics and real by construction
(round-off eigenvalues below zero are clipped to zero instead of producing complex parts).
Singular covariances (fewer samples than dimensions) take an SVD route that keeps exact
zeros at zero; see `trace_sqrt_product`.

Statistics files use pytorch-fid's `.npz` format: arrays `mu` (D,) and `sigma` (D, D); ganforge
may add a `protocol` entry (a JSON string), which pytorch-fid ignores. A file's sigma must be a
covariance matrix, symmetric and positive semi-definite up to round-off (see check_covariance).
"""

from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch
from scipy.linalg import blas

from ganforge.train.checkpoint import atomic_write

#: How far a covariance read from a file may stray from symmetric positive semi-definite:
#: max |S - S^T| <= SYMMETRY_TOLERANCE * max |S| and smallest eigenvalue >= -EIGENVALUE_TOLERANCE
#: * largest. Round-off (float32 storage, sums in another order) stays far inside both.
SYMMETRY_TOLERANCE = 1e-6
EIGENVALUE_TOLERANCE = 1e-6

STATISTICS_CONTENT = "a statistics file holds arrays 'mu' and 'sigma'"


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean mu = (1/N) sum_i x_i and unbiased covariance S = (1/(N-1)) sum_i (x_i-mu)(x_i-mu)^T.

    `features` is (N, D) with N >= 2; both results are float64 (as pytorch-fid: `np.cov`,
    ddof=1).
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"features must be an (N, D) array with N >= 2, got shape {x.shape}")
    mu = x.mean(axis=0)
    sigma = np.atleast_2d(np.cov(x, rowvar=False))
    return mu, sigma


def _check_statistics(mu: np.ndarray, sigma: np.ndarray, which: str) -> tuple[np.ndarray, ...]:
    mu = np.atleast_1d(np.asarray(mu, dtype=np.float64))
    sigma = np.atleast_2d(np.asarray(sigma, dtype=np.float64))
    if mu.ndim != 1 or mu.shape[0] == 0 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise ValueError(f"statistics {which}: mu must be (D,) and sigma (D, D) with D >= 1, "
                         f"got {mu.shape} and {sigma.shape}")
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sigma))):
        raise ValueError(f"statistics {which} contain NaN or infinite values")
    return mu, 0.5 * (sigma + sigma.T)  # symmetric up to round-off; make it exactly so


def check_covariance(sigma: np.ndarray, which: str) -> None:
    """Refuse a sigma (D, D) that is not symmetric, or has an eigenvalue below zero, beyond
    round-off. The distance assumes a covariance matrix: anything else (a transposed or garbled
    array, another tool's format) gives meaningless FIDs, negative ones included."""
    sigma = np.atleast_2d(np.asarray(sigma, dtype=np.float64))
    scale = float(np.abs(sigma).max())
    asymmetry = float(np.abs(sigma - sigma.T).max())
    if asymmetry > SYMMETRY_TOLERANCE * scale:
        raise ValueError(
            f"statistics {which}: sigma is not symmetric: max |sigma - sigma^T| is {asymmetry:.3g} "
            f"where max |sigma| is {scale:.3g} (accepted: at most {SYMMETRY_TOLERANCE:g} times it)")
    eigenvalues = np.linalg.eigvalsh(sigma)
    smallest, largest = float(eigenvalues[0]), float(eigenvalues[-1])
    if smallest < -EIGENVALUE_TOLERANCE * max(largest, 0.0):
        raise ValueError(
            f"statistics {which}: sigma is not positive semi-definite: its smallest eigenvalue is "
            f"{smallest:.3g} and its largest {largest:.3g} (accepted: at least "
            f"-{EIGENVALUE_TOLERANCE:g} times the largest)")


def psd_factor(sigma: torch.Tensor) -> torch.Tensor:
    """F (D, r) with F F^T = S, from eigh: the eigenvectors of the r numerically nonzero
    eigenvalues w (w > D * eps * max w) scaled by sqrt(w)."""
    w, v = torch.linalg.eigh(sigma)
    tolerance = sigma.shape[0] * torch.finfo(sigma.dtype).eps * w.abs().max()
    keep = w > tolerance
    return v[:, keep] * w[keep].sqrt()


def _congruence(lower: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """L^T B L for lower-triangular L. On CPU two BLAS triangular products (dtrmm, n^3 flops
    each) replace two general ones (2 n^3 each)."""
    if lower.device.type != "cpu":
        return lower.T @ b @ lower
    factor = np.asfortranarray(lower.numpy())
    left = blas.dtrmm(1.0, factor, np.asfortranarray(b.numpy()), side=0, lower=1, trans_a=1)
    return torch.from_numpy(blas.dtrmm(1.0, factor, left, side=1, lower=1, overwrite_b=1))


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray, device: str | torch.device = "cpu") -> float:
    """Tr((S_1 S_2)^{1/2}) for symmetric PSD S_1, S_2, as a sum of square-rooted eigenvalues.

    Fast path: with the Cholesky factor S_1 = L L^T (S_1 positive definite), S_1 S_2 is similar
    to L^T S_2 L, symmetric PSD, so one `eigvalsh` gives its eigenvalues l_i and the trace is
    sum_i sqrt(max(l_i, 0)). If neither S_1 nor S_2 (the roles are symmetric) is numerically
    positive definite, both are factored as S_k = F_k F_k^T over their numerical range
    (F_k of size D x r_k, from `eigh`); then S_1 S_2 shares its nonzero eigenvalues with
    (F_2^T F_1)^T (F_2^T F_1), and the trace is the sum of the singular values of the
    r_2 x r_1 matrix F_2^T F_1. Singular values carry no square-root amplification of
    round-off, so exact zeros (N <= D samples) stay zero. Computed in float64 with torch
    (LAPACK on CPU, cuSOLVER on `device="cuda"`).
    """
    s1 = torch.as_tensor(sigma1, dtype=torch.float64, device=device)
    s2 = torch.as_tensor(sigma2, dtype=torch.float64, device=device)
    for a, b in ((s1, s2), (s2, s1)):
        lower, info = torch.linalg.cholesky_ex(a)
        if int(info) == 0:
            m = _congruence(lower, b)
            eigenvalues = torch.linalg.eigvalsh(0.5 * (m + m.T))
            return float(eigenvalues.clamp(min=0).sqrt().sum())
    cross = psd_factor(s2).T @ psd_factor(s1)
    return float(torch.linalg.svdvals(cross).sum())


def frechet_distance(
    mu1: np.ndarray,
    sigma1: np.ndarray,
    mu2: np.ndarray,
    sigma2: np.ndarray,
    device: str | torch.device = "cpu",
) -> float:
    """||mu_1 - mu_2||^2 + Tr(S_1) + Tr(S_2) - 2 Tr((S_1 S_2)^{1/2}), in float64.

    The squared Frechet (2-Wasserstein) distance between N(mu_1, S_1) and N(mu_2, S_2). It is
    returned as computed: for identical statistics it is zero up to round-off (~1e-12 relative
    to Tr(S)), which can be a tiny negative number.
    """
    mu1, sigma1 = _check_statistics(mu1, sigma1, "1")
    mu2, sigma2 = _check_statistics(mu2, sigma2, "2")
    if mu1.shape != mu2.shape:
        raise ValueError(f"statistics have different dimensions: {mu1.shape[0]} and {mu2.shape[0]}")
    diff = mu1 - mu2
    trace_sqrt = trace_sqrt_product(sigma1, sigma2, device)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt)


def fid_from_features(features1: np.ndarray, features2: np.ndarray) -> float:
    """FID between two (N, D) feature sets: frechet_distance of their feature_statistics."""
    return frechet_distance(*feature_statistics(features1), *feature_statistics(features2))


def save_statistics(
    path: str | Path, mu: np.ndarray, sigma: np.ndarray, protocol: dict | None = None
) -> Path:
    """Write mu and sigma to `path` (.npz, pytorch-fid's keys), plus the protocol as JSON text;
    atomically, so that a reader never finds half a file."""
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"statistics files end in .npz, got {path.name!r}")
    checked_mu, checked_sigma = _check_statistics(mu, sigma, str(path))
    check_covariance(sigma, str(path))
    arrays = {"mu": checked_mu, "sigma": checked_sigma}
    if protocol is not None:
        arrays["protocol"] = np.array(json.dumps(protocol, sort_keys=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: write_npz(tmp, arrays))
    return path


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez to exactly `path` (np.savez appends .npz to a name without it, such as the
    temporary names of atomic_write)."""
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def read_npz(path: Path, required: tuple[str, ...], content: str,
             optional: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """The arrays `required`, and those of `optional` present, of the .npz archive at `path`
    (no pickles). A ValueError that names the file when it is not an .npz archive (text, a
    bare .npy, an empty or truncated file), cannot be read, or lacks a required array;
    `content` says what the file should hold."""
    not_archive = f"{path} is not a NumPy .npz archive (a zip of .npy arrays, as numpy.savez " \
        f"writes); {content}"
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, zipfile.BadZipFile):
        raise ValueError(not_archive) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(not_archive)
    with archive:
        missing = [key for key in required if key not in archive.files]
        if missing:
            raise ValueError(f"{path} lacks {missing}; {content} (found {sorted(archive.files)})")
        try:
            return {key: archive[key] for key in (*required, *optional) if key in archive.files}
        except (ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
            raise ValueError(f"{path} is a damaged .npz archive ({err}); {content}") from None


def load_statistics(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read `mu` (D,) and `sigma` (D, D) from a pytorch-fid style .npz file (no pickles)."""
    mu, sigma, _ = load_statistics_with_protocol(path)
    return mu, sigma


def load_statistics_with_protocol(path: str | Path) -> tuple[np.ndarray, np.ndarray, dict | None]:
    """Like load_statistics, also returning the stored protocol dict (None when absent).
    A file that is no .npz archive, lacks mu or sigma, or whose sigma is no covariance matrix
    is refused with a ValueError naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no statistics file at {path}")
    arrays = read_npz(path, ("mu", "sigma"), STATISTICS_CONTENT, optional=("protocol",))
    mu, sigma = _check_statistics(arrays["mu"], arrays["sigma"], str(path))
    check_covariance(arrays["sigma"], str(path))
    if "protocol" not in arrays:
        return mu, sigma, None
    try:
        return mu, sigma, json.loads(str(arrays["protocol"]))
    except ValueError:
        raise ValueError(f"{path}: its 'protocol' entry is not JSON text (where ganforge "
                         "writes it, it holds the settings that computed the statistics)") from None
