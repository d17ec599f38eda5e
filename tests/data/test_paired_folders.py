"""Paired (A/B or side-by-side) and unpaired (trainA/trainB) user folders of translation data."""

import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.data.paired import load_paired, load_unpaired


def save(path, value, size=(8, 8), mode="L"):
    """An image whose pixels all equal `value` (grey) or `(value, 0, 255 - value)` (RGB)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = value if mode == "L" else (value, 0, 255 - value)
    Image.new(mode, size, colour).save(path)


def as_unit(value):
    return value / 127.5 - 1.0


def test_a_b_folders_pair_by_name(tmp_path):
    for i, name in enumerate(["x", "y", "sub/z"]):
        save(tmp_path / "A" / f"{name}.png", 10 * i)
        save(tmp_path / "B" / f"{name}.bmp", 200 - 10 * i)
    pairs = load_paired(f"folder:{tmp_path}")
    assert pairs.a.shape == pairs.b.shape == (3, 3, 8, 8)
    # sorted by name: sub/z (i = 2), x (0), y (1)
    assert pairs.a[:, 0, 0, 0].tolist() == pytest.approx([as_unit(20), as_unit(0), as_unit(10)])
    assert pairs.b[:, 0, 0, 0].tolist() == pytest.approx([as_unit(180), as_unit(200),
                                                          as_unit(190)])
    assert load_paired(f"folder:{tmp_path}", channels=1, image_size=4).a.shape == (3, 1, 4, 4)


def test_unmatched_names_are_listed(tmp_path):
    save(tmp_path / "A" / "common.png", 1)
    save(tmp_path / "B" / "common.png", 2)
    for i in range(7):
        save(tmp_path / "A" / f"onlya{i}.png", 3)
        save(tmp_path / "B" / f"onlyb{i}.png", 3)
    with pytest.raises(ValueError) as error:
        load_paired(f"folder:{tmp_path}")
    message = str(error.value)
    assert "14 images" in message and "and 4 more" in message
    assert "A/onlya0 (no B/onlya0.*)" in message and "B/onlyb2 (no A/onlyb2.*)" in message
    assert "onlyb3" not in message  # only the first 10 are named
    assert "common" not in message


def test_side_by_side_images_split_into_halves(tmp_path):
    for i in range(3):
        image = np.zeros((6, 13), dtype=np.uint8)  # odd width: the middle column is dropped
        image[:, :6] = 40 + i
        image[:, 6] = 255
        image[:, 7:] = 90 + i
        Image.fromarray(image).save(tmp_path / f"{i}.png")
    pairs = load_paired(f"folder:{tmp_path}", channels=1)
    assert pairs.a.shape == pairs.b.shape == (3, 1, 6, 6)
    assert torch.allclose(pairs.a[:, 0, 0, 0], torch.tensor([as_unit(40 + i) for i in range(3)]))
    assert torch.allclose(pairs.b.amax((1, 2, 3)), torch.tensor([as_unit(90 + i)
                                                                for i in range(3)]))
    assert torch.allclose(pairs.b.amin((1, 2, 3)), pairs.b.amax((1, 2, 3)))


def test_square_images_are_not_taken_for_side_by_side_pairs(tmp_path):
    save(tmp_path / "0.png", 1, size=(8, 8))
    with pytest.raises(ValueError, match="not a side-by-side AB image"):
        load_paired(f"folder:{tmp_path}")
    assert load_paired(f"folder:{tmp_path}", layout="ab").a.shape == (1, 3, 4, 4)


def test_train_and_test_sub_folders(tmp_path):
    for split, n in (("train", 4), ("test", 2)):
        for i in range(n):
            save(tmp_path / split / "A" / f"{i}.png", i)
            save(tmp_path / split / "B" / f"{i}.png", i)
    assert len(load_paired(f"folder:{tmp_path}", "train")) == 4
    assert len(load_paired(f"folder:{tmp_path}", "test")) == 2
    flat = tmp_path / "flat"
    save(flat / "A" / "0.png", 0)
    save(flat / "B" / "0.png", 0)
    with pytest.raises(FileNotFoundError, match="no test/ sub-folder"):
        load_paired(f"folder:{flat}", "test")


def test_missing_empty_and_half_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_paired(f"folder:{tmp_path / 'nowhere'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        load_paired(f"folder:{tmp_path / 'empty'}")
    save(tmp_path / "half" / "A" / "0.png", 0)
    with pytest.raises(FileNotFoundError, match="no B/ sub-folder"):
        load_paired(f"folder:{tmp_path / 'half'}")
    (tmp_path / "noimg" / "A").mkdir(parents=True)
    (tmp_path / "noimg" / "B").mkdir()
    with pytest.raises(ValueError, match="no images"):
        load_paired(f"folder:{tmp_path / 'noimg'}")


def test_unreadable_file_drops_its_pair(tmp_path):
    for i in range(3):
        save(tmp_path / "A" / f"{i}.png", i)
        save(tmp_path / "B" / f"{i}.png", 100 + i)
    (tmp_path / "B" / "1.png").write_bytes(b"not a png")
    with pytest.warns(UserWarning, match="skipped 1 of 6"):
        pairs = load_paired(f"folder:{tmp_path}", channels=1)
    assert len(pairs) == 2 and pairs.skipped[0].startswith("B/1.png")
    assert torch.allclose(pairs.b[:, 0, 0, 0], torch.tensor([as_unit(100), as_unit(102)]))


def test_sizes_must_agree_without_image_size(tmp_path):
    save(tmp_path / "A" / "0.png", 0, size=(8, 8))
    save(tmp_path / "A" / "1.png", 0, size=(10, 10))
    save(tmp_path / "B" / "0.png", 0, size=(8, 8))
    save(tmp_path / "B" / "1.png", 0, size=(8, 8))
    with pytest.raises(ValueError, match="different sizes"):
        load_paired(f"folder:{tmp_path}")
    assert load_paired(f"folder:{tmp_path}", image_size=6).a.shape == (2, 3, 6, 6)


def test_unpaired_folders(tmp_path):
    for i in range(3):
        save(tmp_path / "trainA" / f"a{i}.png", i, mode="RGB")
    for i in range(5):
        save(tmp_path / "trainB" / f"b{i}.png", 50 + i, mode="RGB")
    for name, value in (("q", 7), ("p", 9)):
        save(tmp_path / "testA" / f"{name}.png", value, mode="RGB")
        save(tmp_path / "testB" / f"{name}.jpg", value + 100, mode="RGB")
    data = load_unpaired(f"folder:{tmp_path}")
    assert data.a.shape == (3, 3, 8, 8) and data.b.shape == (5, 3, 8, 8)
    assert data.test_a.shape == (2, 3, 8, 8)
    # aligned by name (p, q): red channel of testB = testA's + 100, up to JPEG rounding
    red_a, red_b = data.test_a[:, 0, 0, 0], data.test_b_true[:, 0, 0, 0]
    assert torch.allclose(red_b - red_a, torch.full((2,), 100 / 127.5), atol=3 / 127.5)
    assert red_a.tolist() == pytest.approx([as_unit(9), as_unit(7)])
    save(tmp_path / "testB" / "other.png", 0, mode="RGB")
    assert load_unpaired(f"folder:{tmp_path}").test_b_true is None  # no one-to-one names
    with pytest.raises(FileNotFoundError, match="no trainB/"):
        save(tmp_path / "lonely" / "trainA" / "0.png", 0)
        load_unpaired(f"folder:{tmp_path / 'lonely'}")


def test_unpaired_folder_without_test_images(tmp_path):
    save(tmp_path / "trainA" / "0.png", 0)
    save(tmp_path / "trainB" / "0.png", 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_unpaired(f"folder:{tmp_path}", channels=1)
    assert data.test_a.shape == (0, 1, 8, 8) and data.test_b_true is None
