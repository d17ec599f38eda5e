"""Speed and agreement of ganforge's Frechet distance against pytorch-fid's formula, and the
speed of Inception feature extraction.

    python benchmarks/fid_speed.py [--dim 2048] [--repeats 3] [--images 16] [--device cpu] [--json]

1. Frechet distance on random D-dimensional statistics (D = 2048, Inception's pool size): the
   covariances are sample covariances of 2D correlated Gaussian vectors (full rank, like real
   Inception statistics of more than D images). ganforge.metrics.fid.frechet_distance (Cholesky
   + symmetric eigenvalues) is timed against pytorch-fid's `calculate_frechet_distance`
   (scipy.linalg.sqrtm of S_1 S_2), re-typed below because pytorch-fid needs torchvision.
   Both run in the same process on the same statistics; the median of --repeats runs each.
2. Inception feature extraction: images per second of the FID Inception-v3 (its default
   backend on --device, named in the output) on --images mnist5k digits (28x28 grayscale,
   resized to 299x299), after one warm-up batch. benchmarks/inception_speed.py compares the
   backends.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings

import numpy as np
import scipy.linalg
import torch

from ganforge.metrics.fid import frechet_distance


def pytorch_fid_calculate_frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """pytorch-fid 0.3's calculate_frechet_distance (scipy sqrtm), re-typed from its formula."""
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    diff = mu1 - mu2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # scipy >= 1.16 deprecates disp
        covmean, _ = scipy.linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"imaginary component {np.max(np.abs(covmean.imag))}")
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def random_statistics(dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """mu and the sample covariance of 2*dim correlated Gaussian vectors (full rank)."""
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((dim, dim)) / np.sqrt(dim) + np.eye(dim)
    samples = rng.standard_normal((2 * dim, dim)) @ mixing + rng.standard_normal(dim)
    return samples.mean(axis=0), np.cov(samples, rowvar=False)


def median_time(fn, repeats: int) -> tuple[float, float]:
    """(median seconds, last value) of `repeats` calls."""
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def fid_benchmark(dim: int, repeats: int, device: str) -> dict:
    mu1, sigma1 = random_statistics(dim, seed=0)
    mu2, sigma2 = random_statistics(dim, seed=1)
    ours_s, ours = median_time(lambda: frechet_distance(mu1, sigma1, mu2, sigma2, device), repeats)
    ref_s, ref = median_time(
        lambda: pytorch_fid_calculate_frechet_distance(mu1, sigma1, mu2, sigma2), repeats
    )
    return {
        "dim": dim,
        "repeats": repeats,
        "ganforge_seconds": ours_s,
        "pytorch_fid_seconds": ref_s,
        "speedup": ref_s / ours_s,
        "ganforge_fid": ours,
        "pytorch_fid_fid": ref,
        "relative_difference": abs(ours - ref) / abs(ref),
    }


def inception_benchmark(num_images: int, batch_size: int, device: str) -> dict:
    from ganforge.data.images import load_image_set
    from ganforge.metrics.features import InceptionExtractor, extract_features

    extractor = InceptionExtractor(device=device)
    images = load_image_set("mnist5k", split="test").images[: num_images + batch_size]
    extract_features(extractor, images[:batch_size], batch_size, device)  # warm-up
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    extract_features(extractor, images[batch_size:], batch_size, device)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {
        "images": num_images,
        "batch_size": batch_size,
        "input": "mnist5k 28x28 grayscale -> 3x299x299",
        "seconds": seconds,
        "images_per_second": num_images / seconds,
        "torch_threads": torch.get_num_threads(),
        "backend": extractor.protocol()["backend"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--images", type=int, default=16, help="0 skips the Inception timing")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    args = parser.parse_args()
    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "device": args.device,
            "torch": torch.__version__,
            "scipy": scipy.__version__,
            "numpy": np.__version__,
        },
        "frechet_distance": fid_benchmark(args.dim, args.repeats, args.device),
    }
    if args.images > 0:
        result["inception"] = inception_benchmark(args.images, args.batch_size, args.device)
    if args.json:
        print(json.dumps(result))
        return
    fd = result["frechet_distance"]
    print(f"Frechet distance, {fd['dim']}-d statistics, median of {fd['repeats']}:")
    print(f"  ganforge    {fd['ganforge_seconds']:8.3f} s   FID {fd['ganforge_fid']:.10g}")
    print(f"  pytorch-fid {fd['pytorch_fid_seconds']:8.3f} s   FID {fd['pytorch_fid_fid']:.10g}")
    print(f"  speed-up {fd['speedup']:.1f}x, relative difference {fd['relative_difference']:.2e}")
    if "inception" in result:
        inc = result["inception"]
        print(
            f"Inception features: {inc['images_per_second']:.2f} images/s "
            f"({inc['images']} images, batch {inc['batch_size']}, {args.device}, "
            f"{inc['torch_threads']} threads, {inc['backend']})"
        )


if __name__ == "__main__":
    main()
