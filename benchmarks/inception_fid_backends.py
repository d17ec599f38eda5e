"""FID of a run's samples against the mnist5k test digits, by each Inception backend.

    python benchmarks/inception_fid_backends.py RUN [--samples 2000] [--threads 2]
                                                [--out benchmarks/results/inception_fid_backends.json]

Draws --samples images from RUN's EMA generator (seed 0), embeds them and the 1,000 mnist5k
test digits (the first --real of them) with the onnxruntime and the TorchScript Inception (one
after the other, batches of --batch-size 64, preparation included in the timing) and reports
each backend's FID, its images/s and the relative difference of the two FIDs. The ONNX graph is
exported once into --cache-dir (default ~/.cache/ganforge).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from ganforge.api import sample
from ganforge.data.images import load_image_set
from ganforge.metrics.evaluation import DEFAULT_CACHE_DIR
from ganforge.metrics.features import InceptionExtractor, extract_features
from ganforge.metrics.fid import feature_statistics, frechet_distance

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run")
    p.add_argument("--samples", type=int, default=2000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--real", type=int, default=1000, help="mnist5k test digits embedded (of 1,000)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR, help="where the ONNX graph is cached")
    p.add_argument("--out", type=Path,
                   default=ROOT / "benchmarks" / "results" / "inception_fid_backends.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    fake = sample(args.run, n=args.samples, seed=0)
    real = load_image_set("mnist5k", "test").images[:args.real]
    result = {"run": str(args.run), "samples": args.samples, "threads": args.threads,
              "real": f"mnist5k test digits ({len(real)})"}
    for backend in ("onnxruntime", "torchscript"):
        extractor = InceptionExtractor(backend=backend, onnx_cache_dir=args.cache_dir)
        start = time.perf_counter()
        stats = [feature_statistics(extract_features(extractor, x, batch_size=args.batch_size))
                 for x in (fake, real)]
        seconds = time.perf_counter() - start
        result[backend] = {"fid": float(frechet_distance(*stats[0], *stats[1])), "seconds": seconds,
                           "images_per_second": (len(fake) + len(real)) / seconds,
                           "protocol_backend": extractor.backend_stamp()}
        print(backend, result[backend], flush=True)
    fids = result["onnxruntime"]["fid"], result["torchscript"]["fid"]
    result["relative_difference"] = abs(fids[0] - fids[1]) / fids[1]
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
