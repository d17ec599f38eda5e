"""Feature extractors by name: `inception` (FID; `inception-torchscript` pins its TorchScript
backend), `digits` (a small MNIST CNN) and `raw`.

Every extractor maps a batch of images (N, C, H, W) in [-1, 1] (or points (N, d) for `raw`)
to features (N, D) and describes what it does in `protocol()`, a JSON-ready dict that metric
results carry. `extract_features` runs an extractor over many images in batches and gives the
same numbers whatever the batch size; `class_probabilities` does the same for classifiers.

inception
    The Inception-v3 of FID with the 2015-12-05 TensorFlow weights (2048-d pool features):
    its weights, input scaling and backends are described in ganforge/metrics/inception.py.
digits
    DigitsCNN (ganforge/metrics/digits_classifier.py), trained on the bundled MNIST digits;
    128-d penultimate-layer features, softmax class probabilities over 10 digits. Images of
    another size are resized to 28 x 28 (bilinear, antialiased); RGB images are averaged to
    grayscale (for stacked digits, see `stacked_digit_labels`).
raw
    The flattened input, x.reshape(N, -1): pixels for images, coordinates for 2-D points.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganforge.registry import Registry

from .digits_classifier import IMAGE_SIZE as DIGITS_SIZE
from .digits_classifier import WEIGHTS_PATH as DIGITS_WEIGHTS_PATH
from .digits_classifier import load_digits_classifier
from .extractor_common import as_image_batch, file_sha1
from .inception import InceptionExtractor

FEATURES: Registry = Registry("feature extractor")

ImageBatches = torch.Tensor | np.ndarray | Iterable[torch.Tensor | np.ndarray]


class DigitsExtractor:
    """128-d penultimate features and 10-way softmax of DigitsCNN (see the module docstring)."""

    name = "digits"
    dim = 128

    def __init__(self, path: str | Path | None = None, device: str | torch.device = "cpu"):
        self.path = Path(path) if path is not None else DIGITS_WEIGHTS_PATH
        self.device = torch.device(device)
        self.model = load_digits_classifier(self.path, self.device)
        self.sha1 = file_sha1(self.path)

    def protocol(self) -> dict:
        return {
            "name": self.name,
            "dim": self.dim,
            "weights": "ganforge DigitsCNN trained on mnist5k train (digits_cnn.safetensors)",
            "weights_sha1": self.sha1,
            "resize": f"bilinear, antialiased, to {DIGITS_SIZE}x{DIGITS_SIZE} if the size differs",
            "rgb": "averaged to grayscale",
        }

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """[-1, 1] images (N, C, H, W) -> (N, 1, 28, 28)."""
        x = as_image_batch(images, self.name)
        if x.shape[1] != 1:
            x = x.mean(dim=1, keepdim=True)
        if tuple(x.shape[-2:]) != (DIGITS_SIZE, DIGITS_SIZE):
            x = F.interpolate(
                x,
                size=(DIGITS_SIZE, DIGITS_SIZE),
                mode="bilinear",
                align_corners=False,
                antialias=True,
            )
        return x

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.model.features(self.prepare(images.to(self.device)))

    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(self.prepare(images.to(self.device))).double(), dim=1)


class RawExtractor:
    """The flattened input: x.reshape(N, -1)."""

    name = "raw"
    dim = None  # the input's size

    def __init__(self, device: str | torch.device = "cpu"):
        self.device = torch.device(device)

    def protocol(self) -> dict:
        return {"name": self.name, "features": "flattened pixels or point coordinates"}

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return images.reshape(images.shape[0], -1).to(self.device)

    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        raise ValueError("the raw extractor is not a classifier; use `digits`")


FeatureExtractor = InceptionExtractor | DigitsExtractor | RawExtractor

FEATURES.register("inception")(InceptionExtractor)
FEATURES.register("inception-torchscript")(functools.partial(InceptionExtractor, backend="torchscript"))
FEATURES.register("digits")(DigitsExtractor)
FEATURES.register("raw")(RawExtractor)


@functools.lru_cache(maxsize=8)
def _cached_extractor(name: str, device: str) -> FeatureExtractor:
    return FEATURES.get(name)(device=device)


def get_extractor(extractor: str | FeatureExtractor, device: str | torch.device = "cpu") -> FeatureExtractor:
    """An extractor by registry name (loaded once per name and device), or the one given."""
    if isinstance(extractor, str):
        return _cached_extractor(extractor, str(torch.device(device)))
    return extractor


def _batches(images: ImageBatches, batch_size: int) -> Iterator[torch.Tensor]:
    """Split an array into batches of `batch_size`; re-split each batch of an iterable."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    chunks = [images] if isinstance(images, torch.Tensor | np.ndarray) else images
    for chunk in chunks:
        chunk = torch.as_tensor(chunk)
        for start in range(0, chunk.shape[0], batch_size):
            yield chunk[start : start + batch_size]


def _run(
    fn_name: str,
    extractor: str | FeatureExtractor,
    images: ImageBatches,
    batch_size: int,
    device: str | torch.device,
    progress: bool,
) -> np.ndarray:
    model = get_extractor(extractor, device)
    total = len(images) if isinstance(images, torch.Tensor | np.ndarray) else None
    outputs = []
    with torch.inference_mode():
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=total, desc=f"{model.name} {fn_name}", unit="img")
        for batch in _batches(images, batch_size):
            outputs.append(getattr(model, fn_name)(batch).to("cpu", torch.float64))
            if bar is not None:
                bar.update(batch.shape[0])
        if bar is not None:
            bar.close()
    if not outputs:
        raise ValueError("no images were given")
    return torch.cat(outputs).numpy()


def extract_features(
    extractor: str | FeatureExtractor,
    images: ImageBatches,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
    progress: bool = False,
) -> np.ndarray:
    """(N, D) float64 features of `images`: one array (N, C, H, W) / (N, d), or an iterable of
    such batches (e.g. batches drawn from a generator). The result does not depend on
    batch_size; a tqdm bar shows progress when `progress` is true."""
    return _run("features", extractor, images, batch_size, device, progress)


def class_probabilities(
    extractor: str | FeatureExtractor,
    images: ImageBatches,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
    progress: bool = False,
) -> np.ndarray:
    """(N, K) float64 softmax class probabilities p(y|x) from a classifier extractor."""
    return _run("probabilities", extractor, images, batch_size, device, progress)


def stacked_digit_labels(
    images: ImageBatches,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
    progress: bool = False,
) -> np.ndarray:
    """(N, 3) digit labels of stacked-MNIST images (N, 3, H, W): the `digits` classifier's
    arg-max on each channel separately (channel c holds digit c of the triple)."""

    def channel_batches() -> Iterator[torch.Tensor]:
        for batch in _batches(images, batch_size):
            if batch.ndim != 4 or batch.shape[1] != 3:
                raise ValueError(f"stacked digits are (N, 3, H, W) images, got {tuple(batch.shape)}")
            yield batch.reshape(-1, 1, *batch.shape[-2:])  # rows 3i, 3i+1, 3i+2: image i

    probs = class_probabilities("digits", channel_batches(), 3 * batch_size, device, progress)
    return probs.argmax(axis=1).reshape(-1, 3)
