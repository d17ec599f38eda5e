"""Features of real data cached on disk, so that each real image set is run through an
extractor once (the expensive part with Inception: ~5 images/s on 2 CPU cores).

A cache file is `cache_dir`/features/<key>.npz, the key a SHA-1 of the extractor's protocol
and of the real images' bytes, so a different extractor, resize or image set never reuses a
stale file. `cache_dir=None` turns the cache off.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch

from ganforge.train.checkpoint import atomic_write

from .features import extract_features, get_extractor
from .fid import read_npz, write_npz


def data_digest(x: torch.Tensor) -> str:
    """SHA-1 of a tensor's shape, dtype and bytes: identifies a real image set in cache keys."""
    t = x.detach().to("cpu").contiguous()
    digest = hashlib.sha1(f"{tuple(t.shape)} {t.dtype}".encode())
    digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def cached_features(
    extractor: str,
    images: torch.Tensor,
    cache_dir: str | Path | None,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
    progress: bool = False,
) -> np.ndarray:
    """extract_features, read from / written to cache_dir/features/<key>.npz when cache_dir is
    set and the extractor is not `raw` (raw features cost nothing).

    A cache file is written atomically. One that cannot be read back as these features (cut
    short, overwritten, from another tool) is reported in one warning line on stderr, deleted
    and rebuilt: a cache is never a reason to fail."""
    model = get_extractor(extractor, device)
    if cache_dir is None or model.name == "raw":
        return extract_features(model, images, batch_size, device, progress)
    key_text = json.dumps({"features": model.protocol(), "data": data_digest(images)}, sort_keys=True)
    key = hashlib.sha1(key_text.encode()).hexdigest()
    path = Path(cache_dir).expanduser() / "features" / f"{key}.npz"
    if path.is_file():
        try:
            return _read_cached_features(path, key_text, len(images))
        except ValueError as err:
            print(f"ganforge: warning: rebuilding a damaged feature cache file: {err}",
                  file=sys.stderr)
            path.unlink(missing_ok=True)
    features = extract_features(model, images, batch_size, device, progress)
    as32 = features.astype(np.float32)
    stored = as32 if np.array_equal(as32.astype(np.float64), features) else features  # lossless
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"features": stored, "protocol": np.array(key_text)}
    atomic_write(path, lambda tmp: write_npz(tmp, arrays))
    return features


def _read_cached_features(path: Path, key_text: str, num_images: int) -> np.ndarray:
    """The (num_images, D) features of a cache file written for `key_text`; a ValueError that
    says what is wrong otherwise."""
    content = "a feature cache file holds arrays 'features' and 'protocol'"
    arrays = read_npz(path, ("features", "protocol"), content)
    features = arrays["features"]
    if str(arrays["protocol"]) != key_text:
        raise ValueError(f"{path} was written for other features or images")
    if features.ndim != 2 or len(features) != num_images or not np.isfinite(features).all():
        raise ValueError(f"{path} holds features of shape {features.shape}, not the "
                         f"({num_images}, D) finite values of these images")
    return features.astype(np.float64)
