"""What the feature extractors of ganforge.metrics.features share: the cache folder, the
digest that identifies a weights file in their protocols, and the check of their input."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

#: where real-data features and the exported Inception graph are cached
DEFAULT_CACHE_DIR = "~/.cache/ganforge"


def file_sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def as_image_batch(images: torch.Tensor, name: str) -> torch.Tensor:
    if images.ndim != 4:
        raise ValueError(f"the {name} extractor takes images (N, C, H, W), got {tuple(images.shape)}")
    return images.float()
