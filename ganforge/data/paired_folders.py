"""User folders of translation data: ``load_paired("folder:PATH")`` reads aligned pairs,
``load_unpaired("folder:PATH")`` two unpaired domains (see ``ganforge.data.paired``).

Paired folders. ``folder:PATH`` with optional ``train/`` and ``test/`` sub-folders (without
them the folder itself is the "train" split and "test" is refused). Inside a split, either

- ``A/`` and ``B/``: ``A/name.ext`` pairs with ``B/name.ext2``; files pair by their path
  relative to A or B without the extension. Names without a partner are an error listing the
  first 10 and the count; or
- side-by-side images (``layout="ab"``): each file holds A in its left half and B in its right
  half (an odd middle column is dropped), as in the pix2pix data sets.

``layout="auto"`` picks A/B when both sub-folders exist, else side-by-side, and then requires
every image to be wider than tall (to catch a folder of ordinary images). Images are read and
resized as in ``ganforge.data.images`` (shorter side to image_size, centre crop; channels 3 by
default); an unreadable file drops its pair and is listed in ``skipped``.

Unpaired folders read ``trainA``/``trainB`` (split "train") or ``testA``/``testB`` (split
"test"). ``test_a`` is testA (empty when absent); ``test_b_true`` is testB aligned to testA
when their file names match one to one (a folder with ground truth), else None.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganforge.data.images import (
    _READ_ERRORS,
    ImageSetWarning,
    _strict_truncation,
    list_image_files,
    load_image_set,
    read_image,
    resize_and_crop,
)
from ganforge.data.translation_sets import SPLITS, PairedSet, UnpairedSet

LAYOUTS = ("auto", "a_b", "ab")
SHOW_UNMATCHED = 10


def _split_folder(root: Path, spec: str, split: str) -> Path:
    """root/split when root has train/ or test/ sub-folders, else root itself for "train"."""
    if not root.exists():
        raise FileNotFoundError(f"folder {str(root)!r} ({spec}) does not exist")
    if not root.is_dir():
        raise ValueError(f"{str(root)!r} is a file; {spec.split(':')[0]}:PATH needs a folder")
    if (root / split).is_dir():
        return root / split
    present = [s for s in SPLITS if (root / s).is_dir()]
    if present:
        raise FileNotFoundError(f"{root} has no {split}/ sub-folder (it has "
                                f"{', '.join(p + '/' for p in present)})")
    if split == "test":
        raise FileNotFoundError(f"{root} has no test/ sub-folder; without train/ and test/ "
                                f"sub-folders the whole folder is the train split")
    return root


def _pair_key(path: Path, root: Path) -> str:
    return path.relative_to(root).with_suffix("").as_posix()


def _keyed_files(root: Path) -> dict[str, Path]:
    keyed: dict[str, Path] = {}
    for path in list_image_files(root):
        key = _pair_key(path, root)
        if key in keyed:
            raise ValueError(f"{root} holds two images named {key!r} "
                             f"({keyed[key].name} and {path.name}); pairs match by name "
                             f"without extension, so names must be unique")
        keyed[key] = path
    return keyed


def _unmatched_message(root: Path, only_a: list[str], only_b: list[str]) -> str:
    missing = [f"A/{k} (no B/{k}.*)" for k in only_a] + [f"B/{k} (no A/{k}.*)" for k in only_b]
    shown = ", ".join(missing[:SHOW_UNMATCHED])
    more = f" and {len(missing) - SHOW_UNMATCHED} more" if len(missing) > SHOW_UNMATCHED else ""
    return (f"{len(missing)} images in {root} have no partner (A/ and B/ files pair by name "
            f"without extension): {shown}{more}")


class _Fitter:
    """Resizes images to image_size (shorter side, centre crop); without image_size, checks that
    every image has the first one's size and crops the centre square of its shorter side."""

    def __init__(self, root: Path, image_size: int | None):
        self.root, self.image_size = root, image_size
        self.first: tuple[str, tuple[int, int]] | None = None

    def __call__(self, image: Image.Image, name: str) -> np.ndarray:
        if self.image_size is not None:
            return np.asarray(resize_and_crop(image, self.image_size))
        self.first = self.first or (name, image.size)
        first_name, first_size = self.first
        if image.size != first_size:
            raise ValueError(
                f"images in {self.root} have different sizes ({first_name}: {first_size[0]}x"
                f"{first_size[1]}, {name}: {image.size[0]}x{image.size[1]}); pass image_size "
                f"to resize them all (shorter side to image_size, then a centre crop)"
            )
        return np.asarray(resize_and_crop(image, min(image.size)))


def _read_all(files: list[Path], root: Path, channels: int
              ) -> tuple[list[tuple[str, Image.Image | None]], list[str]]:
    """(relative name, decoded image or None) per file, and 'name (error)' for unreadable ones."""
    images: list[tuple[str, Image.Image | None]] = []
    skipped: list[str] = []
    with _strict_truncation():
        for path in files:
            name = path.relative_to(root).as_posix()
            try:
                images.append((name, read_image(path, channels)))
            except _READ_ERRORS as error:
                images.append((name, None))
                skipped.append(f"{name} ({error})")
    return images, skipped


def _stack(arrays: list[np.ndarray]) -> torch.Tensor:
    stacked = np.stack(arrays)
    if stacked.ndim == 3:
        stacked = stacked[..., None]
    return torch.from_numpy(stacked).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0).contiguous()


def _warn_skipped(skipped: list[str], total: int, root: Path) -> None:
    if skipped:
        shown = ", ".join(skipped[:SHOW_UNMATCHED])
        warnings.warn(f"skipped {len(skipped)} of {total} image files in {root} that could not "
                      f"be read, with their partners: {shown}", ImageSetWarning, stacklevel=4)


def _load_paired_folder(root: Path, spec: str, split: str, image_size: int | None,
                        layout: str, channels: int) -> PairedSet:
    if layout not in LAYOUTS:
        raise ValueError(f"unknown paired layout {layout!r}; valid layouts: {', '.join(LAYOUTS)}")
    base = _split_folder(root, spec, split)
    sides = [side for side in ("A", "B") if (base / side).is_dir()]
    if layout == "a_b" or (layout == "auto" and sides):
        return _load_a_b(base, spec, image_size, channels)
    return _load_side_by_side(base, spec, image_size, channels, check_wide=layout == "auto")


def _aligned_pairs(files_a: list[Path], files_b: list[Path], root: Path,
                   image_size: int | None, channels: int
                   ) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """Read files_a[i] and files_b[i] as a pair; a pair with an unreadable side is dropped."""
    read_a, skipped_a = _read_all(files_a, root, channels)
    read_b, skipped_b = _read_all(files_b, root, channels)
    fit_a, fit_b = _Fitter(root, image_size), _Fitter(root, image_size)
    a, b = [], []
    for (name_a, image_a), (name_b, image_b) in zip(read_a, read_b):
        if image_a is not None and image_b is not None:
            a.append(fit_a(image_a, name_a))
            b.append(fit_b(image_b, name_b))
    return a, b, skipped_a + skipped_b


def _load_a_b(base: Path, spec: str, image_size: int | None, channels: int) -> PairedSet:
    for side in ("A", "B"):
        if not (base / side).is_dir():
            raise FileNotFoundError(f"{base} has no {side}/ sub-folder; paired folders hold A/ "
                                    f"and B/ with matching file names, or side-by-side AB images")
    files_a, files_b = _keyed_files(base / "A"), _keyed_files(base / "B")
    only_a = sorted(set(files_a) - set(files_b))
    only_b = sorted(set(files_b) - set(files_a))
    if only_a or only_b:
        raise ValueError(_unmatched_message(base, only_a, only_b))
    keys = sorted(files_a)
    a, b, skipped = _aligned_pairs([files_a[k] for k in keys], [files_b[k] for k in keys], base,
                                   image_size, channels)
    if not a:
        raise ValueError(f"no pair in {base} could be read; first errors: "
                         f"{', '.join(skipped[:SHOW_UNMATCHED])}")
    _warn_skipped(skipped, 2 * len(keys), base)
    tensor_a, tensor_b = _stack(a), _stack(b)
    if tensor_a.shape[-2:] != tensor_b.shape[-2:]:
        raise ValueError(f"A/ images in {base} are {tuple(tensor_a.shape[-2:])} but B/ images "
                         f"{tuple(tensor_b.shape[-2:])}; pass image_size to resize both")
    return PairedSet(tensor_a, tensor_b, spec, skipped)


def _load_side_by_side(base: Path, spec: str, image_size: int | None, channels: int,
                       check_wide: bool) -> PairedSet:
    files = list_image_files(base)
    read, skipped = _read_all(files, base, channels)
    fit_a, fit_b = _Fitter(base, image_size), _Fitter(base, image_size)
    a, b = [], []
    for name, image in read:
        if image is None:
            continue
        width, height = image.size
        if width < 2 or (check_wide and width <= height):
            raise ValueError(
                f"{base / name} is {width}x{height}, not a side-by-side AB image (wider than "
                f"tall); paired folders hold A/ and B/ sub-folders with matching file names, or "
                f"images with A in the left half and B in the right half (layout='ab')"
            )
        half = width // 2
        a.append(fit_a(image.crop((0, 0, half, height)), name))
        b.append(fit_b(image.crop((width - half, 0, width, height)), name))
    if not a:
        raise ValueError(f"none of the {len(files)} images in {base} could be read; first "
                         f"errors: {', '.join(skipped[:SHOW_UNMATCHED])}")
    _warn_skipped(skipped, len(files), base)
    return PairedSet(_stack(a), _stack(b), spec, skipped)


def _load_domain(folder: Path, image_size: int | None, channels: int):
    image_set = load_image_set(f"folder:{folder}", split="all", image_size=image_size,
                               channels=channels, labels=False)
    prefix = folder.name + "/"
    return image_set.images, [prefix + name for name in image_set.skipped]


def _load_unpaired_folder(root: Path, spec: str, split: str, image_size: int | None,
                          channels: int) -> UnpairedSet:
    if not root.exists():
        raise FileNotFoundError(f"folder {str(root)!r} ({spec}) does not exist")
    if not root.is_dir():
        raise ValueError(f"{str(root)!r} is a file; folder:PATH needs a folder")
    domains = {name: root / name for name in ("trainA", "trainB", "testA", "testB")}
    wanted = ("trainA", "trainB") if split == "train" else ("testA", "testB")
    missing = [name + "/" for name in wanted if not domains[name].is_dir()]
    if missing:
        raise FileNotFoundError(f"{root} has no {' or '.join(missing)}; unpaired folders hold "
                                f"trainA/ and trainB/ (and optionally testA/ and testB/)")
    a, skipped_a = _load_domain(domains[wanted[0]], image_size, channels)
    b, skipped_b = _load_domain(domains[wanted[1]], image_size, channels)
    skipped = skipped_a + skipped_b
    test_a, test_b_true = _folder_test_pairs(domains["testA"], domains["testB"], image_size,
                                             channels, skipped)
    if test_a is None:
        test_a = a.new_empty((0, *a.shape[1:]))
    return UnpairedSet(a, b, test_a, test_b_true, spec, skipped)


def _folder_test_pairs(folder_a: Path, folder_b: Path, image_size: int | None, channels: int,
                       skipped: list[str]) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """(testA, testB aligned to it or None); testB is ground truth only when names match."""
    if not folder_a.is_dir():
        return None, None
    files_a = _keyed_files(folder_a)
    files_b = _keyed_files(folder_b) if folder_b.is_dir() else {}
    if set(files_a) != set(files_b):
        test_a, skipped_a = _load_domain(folder_a, image_size, channels)
        skipped += skipped_a
        return test_a, None
    keys = sorted(files_a)
    a, b, skipped_ab = _aligned_pairs([files_a[k] for k in keys], [files_b[k] for k in keys],
                                      folder_a.parent, image_size, channels)
    skipped += skipped_ab
    _warn_skipped(skipped_ab, 2 * len(keys), folder_a.parent)
    if not a:
        raise ValueError(f"no testA/testB pair in {folder_a.parent} could be read; first "
                         f"errors: {', '.join(skipped_ab[:SHOW_UNMATCHED])}")
    return _stack(a), _stack(b)
