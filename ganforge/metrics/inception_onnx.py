"""The FID Inception-v3 run by onnxruntime: the TorchScript module's own graph and weights,
exported to ONNX once, cached, and run on the CPU.

Why: on this project's 2-core CPUs, scoring samples with Inception took longer than training
them. onnxruntime runs the unchanged graph at 2.5-2.8x the images/s of TorchScript (channels-
last TorchScript: 1.1-1.2x), with features within ~2e-6 of the largest feature and FIDs within
4e-7 relative (benchmarks/inception_speed.py; the table is in benchmarks/README.md).

Export: torch.onnx's TorchScript exporter (`dynamo=False`), because it takes the ScriptModule as
it is, with a free batch dimension, offline, in a few seconds; the torch.export-based exporter
refuses ScriptModules. Before the graph is kept, its features of two fixed noise images are
compared with the TorchScript module's (EXPORT_TOLERANCE), so an exporter that changed the
numbers makes the extractor fall back to TorchScript instead of silently moving every FID.

Cache: <cache_dir>/inception/<weights sha1>-opset<N>.onnx, written atomically (temporary file,
fsync, rename). Keyed by the weights' SHA-1, a different weights file never reuses another's
graph; a cached file onnxruntime cannot open is exported again after a one-line warning.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ganforge.train.checkpoint import atomic_write

ONNX_OPSET = 17
EXPORT_TOLERANCE = 1e-4  # max |onnx - torchscript| / max |torchscript| over the check images
IMAGE_SIZE = 299
# Images per onnxruntime call. Measured on 2 shared cores: throughput is flat (within the
# noise of ~5 %) from 4 to 64 images per call, while the activations take ~25 MB per image;
# 16 keeps one call near 0.4 GB whatever batch size the caller hands over.
SESSION_BATCH = 16
INSTALL = "pip install onnxruntime (or the project's `onnx` extra)"


class InceptionExportError(RuntimeError):
    """The TorchScript module could not be made into an ONNX graph with the same features."""


def onnxruntime_version() -> str | None:
    """The installed onnxruntime's version; None when it is not installed."""
    if importlib.util.find_spec("onnxruntime") is None:
        return None
    import onnxruntime

    return onnxruntime.__version__


def one_line(error: BaseException) -> str:
    """The first line of an error's message (exporter errors can run to pages), or its type."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def onnx_cache_path(weights_sha1: str, cache_dir: str | Path) -> Path:
    """Where the ONNX graph of the weights file with this SHA-1 is cached."""
    return Path(cache_dir).expanduser() / "inception" / f"{weights_sha1}-opset{ONNX_OPSET}.onnx"


def max_relative_difference(features: np.ndarray, reference: np.ndarray) -> float:
    """max |features - reference| / max |reference|: the gap measured against the features'
    scale, not element by element (pooled ReLU features have many values near zero)."""
    reference = np.asarray(reference, np.float64)
    return float(np.abs(np.asarray(features, np.float64) - reference).max() / np.abs(reference).max())


def open_session(path: Path, threads: int):
    """An onnxruntime CPU session of the graph at `path` using `threads` intra-op threads.

    Idle threads sleep: onnxruntime's default, spinning, ran 13 % slower on a shared 2-core
    machine while another job held a core (benchmarks/README.md)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: the optimiser's notes are not the user's business
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_session(session, images: np.ndarray) -> np.ndarray:
    """(N, 2048) float32 features of prepared images (N, 3, 299, 299), SESSION_BATCH at a time."""
    images = np.ascontiguousarray(images, dtype=np.float32)
    name = session.get_inputs()[0].name
    starts = range(0, len(images), SESSION_BATCH)
    return np.concatenate([session.run(None, {name: images[i : i + SESSION_BATCH]})[0] for i in starts])


def export_onnx(module: torch.jit.ScriptModule, path: Path) -> None:
    """Write the TorchScript Inception `module` to `path` as ONNX, batch dimension free."""
    example = torch.zeros(1, 3, IMAGE_SIZE, IMAGE_SIZE)
    with warnings.catch_warnings():
        # The exporter's notice that it is the older of torch's two exporters, and its note
        # that a ScriptModule's forward has no Python signature: both expected here.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (example,),
            str(path),
            dynamo=False,
            opset_version=ONNX_OPSET,
            input_names=["images"],
            output_names=["features"],
            dynamic_axes={"images": {0: "batch"}, "features": {0: "batch"}},
        )


def check_export(session, module: torch.jit.ScriptModule) -> None:
    """Raise InceptionExportError unless the graph's features of two fixed noise images match
    the TorchScript module's within EXPORT_TOLERANCE."""
    images = torch.rand(2, 3, IMAGE_SIZE, IMAGE_SIZE, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.inference_mode():
        expected = module(images).numpy()
    difference = max_relative_difference(run_session(session, images.numpy()), expected)
    if not difference <= EXPORT_TOLERANCE:
        raise InceptionExportError(
            f"the exported ONNX graph's features differ from the TorchScript module's by "
            f"{difference:.2e} of the largest feature (tolerance {EXPORT_TOLERANCE:.0e})"
        )


def inception_session(
    weights_sha1: str,
    load_module: Callable[[], torch.jit.ScriptModule],
    cache_dir: str | Path,
    threads: int,
):
    """An onnxruntime session of the FID Inception whose TorchScript file has `weights_sha1`:
    the cached graph when it opens, else a fresh export of `load_module()` (a CPU module),
    checked against it and then cached. Raises InceptionExportError when the graph cannot be
    made: the export fails, onnxruntime cannot open it, it changes the features, or the cache
    cannot be written."""
    path = onnx_cache_path(weights_sha1, cache_dir)
    if path.is_file():
        try:
            return open_session(path, threads)
        except Exception as error:  # onnxruntime's errors derive from Exception only
            print(f"ganforge: warning: rebuilding the cached Inception ONNX graph {path}: "
                  f"onnxruntime cannot open it ({one_line(error)})", file=sys.stderr)
    session = None

    def export_and_check(tmp: Path) -> None:
        nonlocal session
        module = load_module()
        try:
            export_onnx(module, tmp)
        except Exception as error:  # whatever the exporter of this torch version raises
            message = f"torch.onnx could not export the Inception module: {one_line(error)}"
            raise InceptionExportError(message) from error
        try:
            session = open_session(tmp, threads)
        except Exception as error:
            message = f"onnxruntime cannot open the exported graph: {one_line(error)}"
            raise InceptionExportError(message) from error
        check_export(session, module)

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, export_and_check)
    except OSError as error:
        message = f"cannot write the ONNX graph to {path}: {one_line(error)}"
        raise InceptionExportError(message) from error
    return session
