"""How close the FID Inception runs to this CPU's fp32 ceiling: the network's multiply-adds per
image, counted from its ONNX graph, against the machine's fp32 matrix-multiply throughput.

    python benchmarks/inception_ceiling.py [--threads 2] [--size 4096] [--repeats 7]
                                           [--onnx FILE] [--speed RESULTS.json] [--out FILE.json]

A convolution is a matrix product (im2col), so no fp32 route can run it faster than the
machine multiplies large matrices: images/s <= GEMM FLOP/s / FLOP per image. The GEMM is an
n x n by n x n product (--size), timed --repeats times after two warm-ups, by torch (MKL) and by
onnxruntime (MLAS, the library the `onnxruntime` backend convolves with); the median counts.
--speed names a result of benchmarks/inception_speed.py: each backend's images/s there is
turned into FLOP/s and a share of the ceiling, with the share that 3x its `torchscript` figure
would need. --onnx defaults to the cached graph of the installed Inception weights.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import torch
from onnx import TensorProto, helper, shape_inference

from ganforge.train.checkpoint import atomic_write

ROOT = Path(__file__).resolve().parent.parent


def multiply_adds(model: onnx.ModelProto) -> int:
    """Multiply-adds of one forward pass of a batch of one: for each Conv, output elements x
    (input channels per group x kernel area); for each Gemm/MatMul with a constant right-hand
    side, output elements x its inner size. Other operators (pooling, ReLU, batch norm folded
    into the convolutions by onnxruntime) are left out: they cost memory, not multiply-adds."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    for value in model.graph.input:
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].dim_value:
            dims[0].dim_value = 1
    model = shape_inference.infer_shapes(model)
    shapes = {value.name: [d.dim_value for d in value.type.tensor_type.shape.dim]
              for value in [*model.graph.value_info, *model.graph.output]}
    weights = {tensor.name: list(tensor.dims) for tensor in model.graph.initializer}
    total = 0
    for node in model.graph.node:
        if node.op_type == "Conv":
            total += int(np.prod(shapes[node.output[0]])) * int(np.prod(weights[node.input[1]][1:]))
        elif node.op_type in ("Gemm", "MatMul") and node.input[1] in weights:
            transposed = node.op_type == "Gemm" and any(
                a.name == "transB" and a.i for a in node.attribute)
            inner = weights[node.input[1]][1 if transposed else 0]
            total += int(np.prod(shapes[node.output[0]])) * inner
    return total


def median_seconds(run, repeats: int) -> float:
    for _ in range(2):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def torch_gemm_flops(size: int, repeats: int) -> float:
    """FLOP/s (2 n^3 per product) of torch's fp32 n x n matrix product, median of repeats."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    return 2 * size ** 3 / median_seconds(lambda: a @ b, repeats)


def onnxruntime_gemm_flops(size: int, repeats: int, threads: int) -> float:
    """FLOP/s of onnxruntime's fp32 MatMul of n x n matrices (the right one a constant, as a
    convolution's weights are), with the session settings of the `onnxruntime` backend."""
    rng = np.random.default_rng(0)
    weight = helper.make_tensor("B", TensorProto.FLOAT, [size, size],
                                rng.standard_normal((size, size), dtype=np.float32).tobytes(),
                                raw=True)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["A", "B"], ["C"])], "gemm",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, [size, size])],
        [helper.make_tensor_value_info("C", TensorProto.FLOAT, [size, size])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(model.SerializeToString(), options,
                                           providers=["CPUExecutionProvider"])
    a = rng.standard_normal((size, size), dtype=np.float32)
    return 2 * size ** 3 / median_seconds(lambda: session.run(None, {"A": a}), repeats)


def default_onnx_path() -> Path:
    """The cached ONNX graph of the installed FID Inception weights (exported on first use)."""
    from ganforge.metrics.evaluation import DEFAULT_CACHE_DIR
    from ganforge.metrics.features import InceptionExtractor
    from ganforge.metrics.inception_onnx import onnx_cache_path

    extractor = InceptionExtractor(backend="onnxruntime")
    return onnx_cache_path(extractor.sha1, DEFAULT_CACHE_DIR)


def backend_shares(speed: dict, flop_per_image: float, ceiling_flops: float) -> dict:
    """Each backend's images/s of an inception_speed result as FLOP/s and share of the ceiling,
    and the share 3x the torchscript figure needs."""
    rows = {name: {"images_per_second": row["images_per_second"],
                   "gflops": row["images_per_second"] * flop_per_image / 1e9,
                   "share_of_ceiling": row["images_per_second"] * flop_per_image / ceiling_flops}
            for name, row in speed["backends"].items()}
    if "torchscript" in rows:
        rows["3x torchscript"] = {
            "images_per_second": 3 * rows["torchscript"]["images_per_second"],
            "gflops": 3 * rows["torchscript"]["gflops"],
            "share_of_ceiling": 3 * rows["torchscript"]["share_of_ceiling"]}
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--onnx", type=Path, help="ONNX graph (default: the cached FID Inception)")
    p.add_argument("--speed", type=Path, help="a result file of benchmarks/inception_speed.py")
    p.add_argument("--out", type=Path,
                   default=ROOT / "benchmarks" / "results" / "inception_ceiling.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    path = args.onnx or default_onnx_path()
    macs = multiply_adds(onnx.load(str(path)))
    flop_per_image = 2 * macs
    gemm = {"torch": torch_gemm_flops(args.size, args.repeats),
            "onnxruntime": onnxruntime_gemm_flops(args.size, args.repeats, args.threads)}
    ceiling = max(gemm.values())
    result = {
        "command": "python benchmarks/inception_ceiling.py " + " ".join(
            f"--{k} {v}" for k, v in vars(args).items() if v is not None and k != "out"),
        "graph": path.name, "threads": args.threads, "gemm_size": args.size,
        "multiply_adds_per_image": macs,
        "gemm_gflops": {k: v / 1e9 for k, v in gemm.items()},
        "ceiling_images_per_second": ceiling / flop_per_image,
        "load_average_after": list(os.getloadavg()),
    }
    print(f"{macs / 1e9:.3f} G multiply-adds per image; fp32 GEMM: torch "
          f"{gemm['torch'] / 1e9:.1f} GFLOP/s, onnxruntime {gemm['onnxruntime'] / 1e9:.1f} "
          f"GFLOP/s; ceiling {result['ceiling_images_per_second']:.2f} images/s")
    if args.speed:
        result["speed_file"] = str(args.speed)
        result["backends"] = backend_shares(json.loads(args.speed.read_text()),
                                            flop_per_image, ceiling)
        for name, row in result["backends"].items():
            print(f"{name:28s} {row['images_per_second']:7.2f} images/s {row['gflops']:7.1f} "
                  f"GFLOP/s {100 * row['share_of_ceiling']:5.1f} % of the ceiling")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(args.out, lambda tmp: tmp.write_text(json.dumps(result, indent=1) + "\n"))


if __name__ == "__main__":
    main()
