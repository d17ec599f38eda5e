"""load_image_set's arguments and image folders: sizes, channels, class sub-folders, bad files."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.data.images import ImageSetWarning, load_image_set

# ----------------------------------------------------------------------------- arguments


def test_labels_false_drops_labels():
    part = load_image_set("faces", "test", labels=False)
    assert part.labels is None and part.class_names == []


def test_unknown_spec_lists_valid_specs():
    with pytest.raises(ValueError) as error:
        load_image_set("cifar10")
    for name in ("mnist5k", "digits", "faces", "folder:PATH", "mnist:PATH"):
        assert name in str(error.value)


def test_bad_split_and_channels():
    with pytest.raises(ValueError, match="valid splits: train, test, all"):
        load_image_set("faces", "validation")
    with pytest.raises(ValueError, match="channels must be 1"):
        load_image_set("faces", channels=2)


# ----------------------------------------------------------------------------- folders


def save(path: Path, array: np.ndarray, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kwargs)
    return path


def rgb(h: int, w: int, color=(0, 0, 0)) -> np.ndarray:
    return np.broadcast_to(np.array(color, dtype=np.uint8), (h, w, 3)).copy()


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def test_folder_with_class_subfolders(tmp_path):
    save(tmp_path / "zebra" / "1.png", rgb(20, 20, (255, 255, 255)))
    save(tmp_path / "apple" / "1.png", rgb(20, 20))
    save(tmp_path / "apple" / "deeper" / "2.jpg", rgb(30, 20), quality=95)
    save(tmp_path / "zebra" / "3.bmp", rgb(20, 20))
    (tmp_path / "notes.txt").write_text("not an image")
    save(tmp_path / ".hidden" / "x.png", rgb(20, 20))
    loaded = load_image_set(f"folder:{tmp_path}", image_size=16)
    assert loaded.class_names == ["apple", "zebra"]
    assert loaded.images.shape == (4, 3, 16, 16)
    # sorted paths: apple/1.png, apple/deeper/2.jpg, zebra/1.png, zebra/3.bmp
    assert loaded.labels.tolist() == [0, 0, 1, 1]
    assert torch.allclose(loaded.images[2], torch.ones(3, 16, 16))
    assert torch.allclose(loaded.images[0], -torch.ones(3, 16, 16))
    unlabelled = load_image_set(f"folder:{tmp_path}", image_size=16, labels=False)
    assert unlabelled.labels is None and unlabelled.class_names == []


def test_folder_resize_keeps_aspect_and_crops_the_centre(tmp_path):
    # 64 wide, 32 high: left half black, right half white.
    image = rgb(32, 64)
    image[:, 32:] = 255
    save(tmp_path / "wide.png", image)
    loaded = load_image_set(f"folder:{tmp_path}", image_size=16)
    # Scaled to 32 x 16, the centre 16 columns are resized columns 8..23: black left, white right.
    out = loaded.images[0, 0]
    assert out.shape == (16, 16)
    assert torch.allclose(out[:, :6], torch.full((16, 6), -1.0), atol=1e-6)
    assert torch.allclose(out[:, -6:], torch.full((16, 6), 1.0), atol=1e-6)
    assert loaded.labels is None  # no sub-folders -> unlabelled


def test_folder_grayscale_and_transparency(tmp_path):
    save(tmp_path / "red.png", rgb(8, 8, (255, 0, 0)))
    clear = np.zeros((8, 8, 4), dtype=np.uint8)  # fully transparent -> white
    save(tmp_path / "transparent.png", clear)
    gray = load_image_set(f"folder:{tmp_path}", channels=1)
    assert gray.images.shape == (2, 1, 8, 8)
    luma = round(255 * 299 / 1000)  # ITU-R 601 luma of pure red, as PIL's "L" mode
    assert abs(gray.images[0, 0, 0, 0].item() - (luma / 127.5 - 1)) <= 1 / 127.5
    assert torch.allclose(gray.images[1], torch.ones(1, 8, 8))
    colour = load_image_set(f"folder:{tmp_path}", channels=3)
    assert colour.images[0, :, 0, 0].tolist() == [1.0, -1.0, -1.0]


def test_folder_native_size_needs_equal_sizes(tmp_path):
    save(tmp_path / "a.png", rgb(8, 8))
    save(tmp_path / "b.png", rgb(8, 12))
    with pytest.raises(ValueError, match="different sizes.*pass image_size"):
        load_image_set(f"folder:{tmp_path}")


def test_folder_missing_path_and_file_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_image_set(f"folder:{tmp_path / 'nowhere'}")
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(ValueError, match="is a file"):
        load_image_set(f"folder:{tmp_path / 'file.png'}")


def test_folder_empty_says_which_extensions(tmp_path):
    with pytest.raises(ValueError, match=r"no images in .*\.png, \.jpg, \.jpeg, \.webp, \.bmp"):
        load_image_set(f"folder:{tmp_path}")
    (tmp_path / "readme.txt").write_text("hello")
    with pytest.raises(ValueError, match="1 other files"):
        load_image_set(f"folder:{tmp_path}")


def test_folder_corrupt_and_truncated_files_are_skipped_and_reported(tmp_path):
    save(tmp_path / "good.png", rgb(8, 8))
    (tmp_path / "garbage.png").write_bytes(b"this is not a png")
    whole = png_bytes(np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8))
    (tmp_path / "truncated.png").write_bytes(whole[: len(whole) // 2])
    with pytest.warns(ImageSetWarning, match="skipped 2 of 3 .*garbage.png.*truncated.png"):
        loaded = load_image_set(f"folder:{tmp_path}", image_size=8)
    assert len(loaded) == 1
    assert loaded.skipped == ["garbage.png", "truncated.png"]


def test_folder_truncated_png_is_detected(tmp_path):
    whole = png_bytes(np.random.default_rng(1).integers(0, 255, (32, 32, 3), dtype=np.uint8))
    (tmp_path / "cut.png").write_bytes(whole[:-40])
    with pytest.raises(ValueError, match="none of the 1 image files.*cut.png"):
        load_image_set(f"folder:{tmp_path}", image_size=8)


def test_folder_all_corrupt_fails(tmp_path):
    for i in range(3):
        (tmp_path / f"bad{i}.jpg").write_bytes(b"\xff\xd8 broken")
    with pytest.raises(ValueError, match="none of the 3 image files"):
        load_image_set(f"folder:{tmp_path}", image_size=8)


def test_folder_too_small_images_warn_and_upscale(tmp_path):
    save(tmp_path / "big.png", rgb(32, 32))
    save(tmp_path / "small.png", rgb(10, 12, (255, 255, 255)))
    with pytest.warns(ImageSetWarning, match=r"1 of 2 images .* smaller than image_size 16.*"
                                              r"small.png \(12x10\)"):
        loaded = load_image_set(f"folder:{tmp_path}", image_size=16)
    assert loaded.images.shape == (2, 3, 16, 16)
    assert loaded.too_small == ["small.png"]
    assert torch.allclose(loaded.images[1], torch.ones(3, 16, 16))


def test_folder_loose_files_beside_class_folders(tmp_path):
    save(tmp_path / "a" / "1.png", rgb(8, 8))
    save(tmp_path / "loose.png", rgb(8, 8))
    with pytest.raises(ValueError, match="loose.png.*labels=False"):
        load_image_set(f"folder:{tmp_path}")
    assert len(load_image_set(f"folder:{tmp_path}", labels=False)) == 2


def test_folder_has_no_test_split(tmp_path):
    save(tmp_path / "a.png", rgb(8, 8))
    assert len(load_image_set(f"folder:{tmp_path}", "all")) == 1
    with pytest.raises(ValueError, match="no test split"):
        load_image_set(f"folder:{tmp_path}", "test")
