"""FID between two sources: image folders, arrays, samples files (`ganforge sample --out
FILE.npz`) and statistics files (mu, sigma), each with the protocol that produced it.

Both sources are opened and checked (readable, same feature dimension, enough samples)
before any feature is computed: a bad second source is refused in seconds, not after the
minutes of the first one's Inception features.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .evaluation import DEFAULT_CACHE_DIR, cached_features
from .features import get_extractor
from .fid import feature_statistics, frechet_distance, load_statistics_with_protocol, read_npz

#: what an .npz source may hold
SOURCE_CONTENT = ("a statistics file holds arrays 'mu' and 'sigma', a samples file (ganforge "
                  "sample --out FILE.npz) an array 'samples' (N, C, H, W) in [-1, 1]")

StatisticsSource = str | Path | np.ndarray | torch.Tensor | tuple[np.ndarray, np.ndarray]


@dataclass
class OpenedSource:
    """A source read and checked, its features not yet computed: `statistics` (mu, sigma),
    or `values`, images (N, C, H, W) or (N, D) points / features used as they are."""

    name: str
    description: dict
    statistics: tuple[np.ndarray, np.ndarray] | None = None
    values: torch.Tensor | None = None

    def dim(self, features: str, device: str = "cpu") -> int:
        """The dimension D of the features its statistics have or will have."""
        if self.statistics is not None:
            return self.statistics[0].shape[0]
        if self.values.ndim == 2:
            return self.values.shape[1]
        return get_extractor(features, device).dim or math.prod(self.values.shape[1:])


def _samples(values, name: str, description: dict) -> OpenedSource:
    values = torch.as_tensor(values)
    if values.ndim not in (2, 4) or len(values) < 2:
        raise ValueError(f"{name}: samples must be images (N, C, H, W) or points (N, D) with "
                         f"N >= 2, got shape {tuple(values.shape)}")
    if not bool(torch.isfinite(values).all()):
        raise ValueError(f"{name}: the samples contain NaN or infinite values")
    description = {**description, "num": len(values), "shape": list(values.shape[1:])}
    return OpenedSource(name, description, values=values)


def open_source(source: StatisticsSource | OpenedSource, name: str = "source") -> OpenedSource:
    """Read and check one FID source (no features yet):

    - a path to a .npz file: statistics (pytorch-fid format: mu, sigma) or samples (an array
      'samples', as `ganforge sample -n N --out FILE.npz` writes it);
    - a path to an image folder (read with ganforge.data.images, spec "folder:PATH"), of at
      least two readable images;
    - images (N, C, H, W) in [-1, 1] as an array or tensor;
    - precomputed features (N, D) as an array or tensor (from the same extractor);
    - a (mu, sigma) pair.
    """
    if isinstance(source, OpenedSource):
        return source
    if isinstance(source, tuple):
        mu, sigma = source
        return OpenedSource(name, {"kind": "statistics"},
                            (np.asarray(mu, np.float64), np.asarray(sigma, np.float64)))
    if not isinstance(source, str | Path):
        values = torch.as_tensor(source)
        kind = "features" if values.ndim == 2 else "images"
        opened = _samples(values, name, {"kind": kind})
        return opened
    path = Path(source).expanduser()
    if path.suffix == ".npz" and path.is_file():
        arrays = read_npz(path, (), SOURCE_CONTENT, optional=("mu", "sigma", "samples"))
        if "samples" in arrays and not {"mu", "sigma"} & arrays.keys():
            return _samples(arrays["samples"], str(path), {"kind": "samples file",
                                                            "path": str(path)})
        if not {"mu", "sigma"} & arrays.keys():
            with np.load(path, allow_pickle=False) as archive:
                found = sorted(archive.files)
            raise ValueError(f"{path} lacks ['mu', 'sigma'] and ['samples']; {SOURCE_CONTENT} "
                             f"(found {found})")
        mu, sigma, stored = load_statistics_with_protocol(path)
        return OpenedSource(str(path), {"kind": "statistics file", "path": str(path),
                                        "stored_protocol": stored}, (mu, sigma))
    if path.is_dir():
        from ganforge.data.images import load_image_set

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            image_set = load_image_set(f"folder:{path}", split="all", labels=False)
        if len(image_set.images) < 2:
            unreadable = ", ".join(image_set.skipped[:10]) or "none"
            raise ValueError(f"{path}: only {len(image_set.images)} image could be read and FID "
                             f"needs at least 2 (unreadable: {unreadable})")
        for warning in caught:  # the skipped and upscaled files, now that the folder is used
            warnings.showwarning(warning.message, warning.category, warning.filename,
                                 warning.lineno)
        return _samples(image_set.images, str(path), {
            "kind": "image folder", "path": str(path), "skipped": len(image_set.skipped)})
    if path.suffix == ".npz" or not path.exists():
        raise FileNotFoundError(f"no statistics file, samples file or image folder at {path}")
    raise ValueError(f"{path} is neither a .npz file (statistics or samples) nor an image folder")


def check_sources(a: OpenedSource, b: OpenedSource, features: str = "inception",
                  device: str = "cpu", refuse_singular: bool = False) -> None:
    """Refuse two sources whose features would differ in dimension D; with `refuse_singular`,
    also a source of N <= D samples: their covariance (1/(N-1)) sum (x_i - mu)(x_i - mu)^T
    has rank at most N - 1 < D, and the FID of a singular covariance depends on N more than
    on the samples (it is computable, see fid.trace_sqrt_product, but compares with nothing)."""
    dims = [source.dim(features, device) for source in (a, b)]
    if dims[0] != dims[1]:
        raise ValueError(f"{a.name} gives {dims[0]}-d statistics and {b.name} {dims[1]}-d "
                         f"(features {features}): compute both with the same feature extractor")
    if not refuse_singular:
        return
    for source, dim in zip((a, b), dims):
        if source.values is not None and len(source.values) <= dim:
            fewer = ", or features of fewer dimensions (--features digits: 128-d, for digits)" \
                if dim > 128 else ""
            raise ValueError(
                f"{source.name}: {len(source.values)} samples for {dim}-d {features} features give "
                f"a singular covariance (rank at most {len(source.values) - 1}); FID needs more "
                f"samples than dimensions: give at least {dim + 1}{fewer}")


def source_statistics(
    source: StatisticsSource | OpenedSource,
    features: str = "inception",
    device: str = "cpu",
    batch_size: int = 64,
    cache_dir: str | Path | None = DEFAULT_CACHE_DIR,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """(mu, sigma, description) of one FID source (see open_source)."""
    opened = open_source(source)
    if opened.statistics is not None:
        return (*opened.statistics, opened.description)
    if opened.values.ndim == 2:
        mu, sigma = feature_statistics(opened.values.double().cpu().numpy())
        return mu, sigma, opened.description
    feats = cached_features(features, opened.values, cache_dir, batch_size, device, progress)
    mu, sigma = feature_statistics(feats)
    return mu, sigma, opened.description


def fid_from_sources(
    a: StatisticsSource | OpenedSource,
    b: StatisticsSource | OpenedSource,
    features: str = "inception",
    device: str = "cpu",
    batch_size: int = 64,
    cache_dir: str | Path | None = DEFAULT_CACHE_DIR,
    progress: bool = False,
    refuse_singular: bool = False,
) -> dict:
    """{"protocol": {...}, "metrics": {"fid": ...}} between two sources (see open_source),
    both opened and checked (check_sources) before any feature is computed.

    Statistics files carry whatever protocol computed them; their stored protocol (when
    ganforge wrote them) is reported under protocol["a"] / protocol["b"].
    """
    opened = open_source(a, "source a"), open_source(b, "source b")
    check_sources(*opened, features, device, refuse_singular)
    (mu_a, sigma_a, desc_a), (mu_b, sigma_b, desc_b) = (
        source_statistics(o, features, device, batch_size, cache_dir, progress) for o in opened)
    protocol = {"a": desc_a, "b": desc_b}
    if any(o.values is not None and o.values.ndim == 4 for o in opened):
        protocol["features"] = get_extractor(features, device).protocol()
    fid = frechet_distance(mu_a, sigma_a, mu_b, sigma_b)
    return {"protocol": protocol, "metrics": {"fid": fid}}
