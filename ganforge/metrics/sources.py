"""FID between two sources: image folders or arrays (features extracted, real features cached)
and .npz statistics files (mu, sigma), each with the protocol that produced it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .evaluation import DEFAULT_CACHE_DIR, cached_features
from .features import get_extractor
from .fid import feature_statistics, frechet_distance, load_statistics_with_protocol

StatisticsSource = str | Path | np.ndarray | torch.Tensor | tuple[np.ndarray, np.ndarray]


def source_statistics(
    source: StatisticsSource,
    features: str = "inception",
    device: str = "cpu",
    batch_size: int = 64,
    cache_dir: str | Path | None = DEFAULT_CACHE_DIR,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """(mu, sigma, description) of one FID source:

    - a path to a .npz statistics file (pytorch-fid format: mu, sigma);
    - a path to an image folder (read with ganforge.data.images, spec "folder:PATH");
    - images (N, C, H, W) in [-1, 1] as an array or tensor;
    - precomputed features (N, D) as an array or tensor (from the same extractor);
    - a (mu, sigma) pair.
    """
    if isinstance(source, tuple):
        mu, sigma = source
        return np.asarray(mu, np.float64), np.asarray(sigma, np.float64), {"kind": "statistics"}
    if isinstance(source, str | Path):
        path = Path(source).expanduser()
        if path.suffix == ".npz":
            mu, sigma, stored = load_statistics_with_protocol(path)
            return (
                mu,
                sigma,
                {"kind": "statistics file", "path": str(path), "stored_protocol": stored},
            )
        if path.is_dir():
            from ganforge.data.images import load_image_set

            image_set = load_image_set(f"folder:{path}", split="all", labels=False)
            images = image_set.images
            description = {
                "kind": "image folder",
                "path": str(path),
                "num": len(images),
                "shape": list(images.shape[1:]),
                "skipped": len(image_set.skipped),
            }
        elif path.exists():
            raise ValueError(f"{path} is neither a .npz statistics file nor an image folder")
        else:
            raise FileNotFoundError(f"no statistics file or image folder at {path}")
    else:
        images = torch.as_tensor(source)
        if images.ndim == 2:
            mu, sigma = feature_statistics(images.double().cpu().numpy())
            return mu, sigma, {"kind": "features", "num": len(images)}
        description = {"kind": "images", "num": len(images), "shape": list(images.shape[1:])}
    feats = cached_features(features, images, cache_dir, batch_size, device, progress)
    mu, sigma = feature_statistics(feats)
    return mu, sigma, description


def fid_from_sources(
    a: StatisticsSource,
    b: StatisticsSource,
    features: str = "inception",
    device: str = "cpu",
    batch_size: int = 64,
    cache_dir: str | Path | None = DEFAULT_CACHE_DIR,
    progress: bool = False,
) -> dict:
    """{"protocol": {...}, "metrics": {"fid": ...}} between two sources (see source_statistics).

    Statistics files carry whatever protocol computed them; their stored protocol (when
    ganforge wrote them) is reported under protocol["a"] / protocol["b"].
    """
    mu_a, sigma_a, desc_a = source_statistics(a, features, device, batch_size, cache_dir, progress)
    mu_b, sigma_b, desc_b = source_statistics(b, features, device, batch_size, cache_dir, progress)
    protocol = {"a": desc_a, "b": desc_b}
    if any(d["kind"] in ("images", "image folder") for d in (desc_a, desc_b)):
        protocol["features"] = get_extractor(features, device).protocol()
    fid = frechet_distance(mu_a, sigma_a, mu_b, sigma_b)
    return {"protocol": protocol, "metrics": {"fid": fid}}
