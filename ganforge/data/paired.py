"""Data for image-to-image translation: aligned pairs (pix2pix) and two unpaired domains
(CycleGAN), from user folders or from bundled tasks whose ground truth is known.

``load_paired(spec, split, image_size)`` specs:

- ``edges``: digit outline -> digit. The outline is the external morphological gradient of the
  [0, 1] digit with the 4-neighbour cross, thresholded: ``dilate(x) - x > 0.5``, drawn as +1
  on -1; it lies just outside the strokes, so input and target hardly overlap.
- ``denoise``: noisy -> clean digit. ``a = clip(b + 0.5 n, -1, 1)``, n ~ N(0, 1) per pixel
  (std 0.5 in [-1, 1] units), drawn from a generator seeded by (task, split), so every call
  gives the same noise.
- ``inpaint``: masked -> whole digit. One square hole per image, side round(10 S / 28) (10 px
  at S = 28), set to 0 (mid-grey, unlike the -1 background, so the hole is visible); its
  top-left corner is uniform over positions at least round(4 S / 28) px from the border (the
  digit box of MNIST), seeded by (task, split).
- denoise and inpaint take ``draws`` (``data.input_draws``): each digit then appears with that
  many independent noises or holes, the first as above, the i-th seeded by (task, split, i);
  more views of each digit for training, while the test split keeps one.
- ``superres``: low -> full resolution. ``a`` is ``b`` averaged over 2x2 blocks (14 x 14 at
  S = 28) and shown again at S x S by nearest-neighbour repetition, so a and b have the same
  shape (an identity map is defined and U-Nets apply). S must be even.
- ``colorize``: grey -> colour crops of the bundled photos (scikit-image astronaut, chelsea,
  coffee, rocket, immunohistochemistry; scikit-learn china, flower). Each photo is resized
  (bilinear, antialiased) so its shorter side is 4 S (S = image_size, 32 by default), then cut
  into S x S crops with stride S / 4. The split is by position: "train" crops lie in the left
  3/4 of each photo, "test" crops in the right 1/4, never overlapping. ``a`` is the ITU-R
  BT.601 luma Y = 0.299 R + 0.587 G + 0.114 B repeated over 3 channels (so a has b's shape).
- ``folder:PATH``: a user folder (see below).

The digit tasks use mnist5k's fixed per-class split (400 train / 100 test digits per class) at
28 x 28, or ``image_size`` when given (resized by ``load_image_set`` before the transform).
Their ``PairedSet.labels`` hold the digit classes, for classifier checks of translated digits.

``load_unpaired(spec, split, image_size)`` specs:

- ``strokes``: thin -> thick digits. mnist5k's training digits are split per class into two
  disjoint halves (a seeded permutation of each class); domain A is the first half as is
  (thin strokes), domain B is the OTHER half thickened by a 3x3 grey dilation of the [0, 1]
  image, so no digit appears in both domains. The test digits (never trained on) give
  ``test_a`` and ``test_b_true = thicken(test_a)``, the known translation.
- ``folder:PATH``: ``trainA/`` and ``trainB/`` (and optionally ``testA/``, ``testB/``).

``split`` picks which images fill ``a`` and ``b`` ("train" or "test"); the unpaired set's
``test_a``/``test_b_true`` always come from the test split.

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

import functools
import importlib.util
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import ndimage

from ganforge.data.images import (
    _READ_ERRORS,
    ImageSetWarning,
    _strict_truncation,
    list_image_files,
    load_image_set,
    read_image,
    resize_and_crop,
)
from ganforge.registry import Registry

SPLITS = ("train", "test")
LAYOUTS = ("auto", "a_b", "ab")
SHOW_UNMATCHED = 10

DIGIT_SET = "mnist5k"
DENOISE_STD = 0.5
HOLE_SIDE_AT_28 = 10
HOLE_MARGIN_AT_28 = 4
PHOTO_SIZE_IN_CROPS = 4  # a photo's shorter side, in crop sides
CROP_STRIDE_DIVISOR = 4  # crops start every image_size / 4 pixels
TEST_SHARE_OF_WIDTH = 0.25
COLORIZE_SIZE = 32
BT601_LUMA = (0.299, 0.587, 0.114)
#: (package, file inside it): the photos the colorize task crops, read straight from the
#: installed packages (scikit-image's data.astronaut(), chelsea(), coffee(), rocket(),
#: immunohistochemistry(); scikit-learn's load_sample_image china and flower)
PHOTOS = (
    ("skimage", "data/astronaut.png"),
    ("skimage", "data/chelsea.png"),
    ("skimage", "data/coffee.png"),
    ("skimage", "data/rocket.jpg"),
    ("skimage", "data/ihc.png"),
    ("sklearn", "datasets/images/china.jpg"),
    ("sklearn", "datasets/images/flower.jpg"),
)
#: seeds of the random parts of the bundled tasks; a split adds its index to the entropy
TASK_SEEDS = {"denoise": 1, "inpaint": 2, "strokes": 3}
#: the paired tasks whose inputs are drawn at random, so that a digit can have several
RANDOM_TASKS = ("denoise", "inpaint")


@dataclass
class PairedSet:
    """Aligned pairs: ``a[i]`` translates to ``b[i]``; float32 (N, C, H, W) in [-1, 1].

    ``labels``: int64 (N,) digit classes for the digit tasks, else None; ``skipped``: files
    that could not be read (their pairs are dropped)."""

    a: torch.Tensor
    b: torch.Tensor
    name: str
    skipped: list[str] = field(default_factory=list)
    labels: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.a.shape[0]


@dataclass
class UnpairedSet:
    """Two domains with no correspondence (``a``: domain A, ``b``: domain B, any counts), plus
    test images of A with their true translations (``test_b_true[i]`` is ``test_a[i]`` in
    domain B; None when a folder has no such ground truth). ``test_labels``: digit classes of
    ``test_a`` for the digit task, else None."""

    a: torch.Tensor
    b: torch.Tensor
    test_a: torch.Tensor
    test_b_true: torch.Tensor | None
    name: str
    skipped: list[str] = field(default_factory=list)
    test_labels: torch.Tensor | None = None


PAIRED_TASKS: Registry = Registry("paired task")
UNPAIRED_TASKS: Registry = Registry("unpaired task")


def load_paired(spec: str, split: str = "train", image_size: int | None = None,
                layout: str = "auto", channels: int | None = None,
                draws: int = 1) -> PairedSet:
    """Aligned (a, b) pairs named by ``spec`` (see the module docstring). ``layout`` and
    ``channels`` (1 or 3; 3 by default) apply to folders only. ``draws`` (the tasks with a
    random corruption: denoise, inpaint) repeats every digit with that many independently
    drawn inputs; draw 0 is the single draw's input, so draws=1 is the task as published."""
    _check_split(split)
    if draws < 1:
        raise ValueError(f"data.input_draws must be >= 1, got {draws}")
    if draws > 1 and spec not in RANDOM_TASKS:
        raise ValueError(f"data.input_draws={draws} needs a task whose inputs are drawn at "
                         f"random ({', '.join(RANDOM_TASKS)}), not {spec!r}; set it to 1")
    kind, _, path = spec.partition(":")
    if kind == "folder" and path:
        return _load_paired_folder(Path(path).expanduser(), spec, split, image_size, layout,
                                   channels or 3)
    if spec not in PAIRED_TASKS:
        raise ValueError(f"unknown paired data {spec!r}; valid: {', '.join(sorted(PAIRED_TASKS))}"
                         f", folder:PATH")
    if spec in RANDOM_TASKS:
        return PAIRED_TASKS[spec](split, image_size, draws)
    return PAIRED_TASKS[spec](split, image_size)


def load_unpaired(spec: str, split: str = "train", image_size: int | None = None,
                  channels: int | None = None) -> UnpairedSet:
    """Two unpaired domains named by ``spec`` (see the module docstring); ``channels`` (1 or
    3; 3 by default) applies to folders only."""
    _check_split(split)
    kind, _, path = spec.partition(":")
    if kind == "folder" and path:
        return _load_unpaired_folder(Path(path).expanduser(), spec, split, image_size,
                                     channels or 3)
    if spec not in UNPAIRED_TASKS:
        raise ValueError(f"unknown unpaired data {spec!r}; valid: "
                         f"{', '.join(sorted(UNPAIRED_TASKS))}, folder:PATH")
    return UNPAIRED_TASKS[spec](split, image_size)


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")


# ----------------------------------------------------------------------------- transforms
# Pure functions of (N, C, H, W) tensors in [-1, 1], so they can be checked and reused.


def _to_unit(x: torch.Tensor) -> np.ndarray:
    return ((x.detach().cpu().numpy() + 1.0) / 2.0).astype(np.float32)


def _from_unit(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x * 2.0 - 1.0, dtype=np.float32))


def digit_outline(x: torch.Tensor) -> torch.Tensor:
    """Binary outline just outside the strokes: ``dilate_+(u) - u > 0.5`` with u = (x + 1) / 2
    and dilate_+ the grey dilation by the 3x3 cross; +1 on the outline, -1 elsewhere."""
    u = _to_unit(x)
    cross = ndimage.generate_binary_structure(2, 1)[None, None]  # no mixing over N or C
    outline = ndimage.grey_dilation(u, footprint=cross) - u > 0.5
    return _from_unit(outline.astype(np.float32))


def thicken_strokes(x: torch.Tensor, size: int = 3) -> torch.Tensor:
    """Grey dilation of u = (x + 1) / 2 by a size x size square: u'(p) = max_{|q - p| <= r} u(q),
    mapped back to [-1, 1]."""
    footprint = np.ones((1, 1, size, size), dtype=bool)
    return _from_unit(ndimage.grey_dilation(_to_unit(x), footprint=footprint))


def add_noise(x: torch.Tensor, std: float, seed: tuple[int, ...]) -> torch.Tensor:
    """clip(x + std * n, -1, 1), n ~ N(0, I) from ``np.random.default_rng(seed)``."""
    noise = np.random.default_rng(seed).standard_normal(tuple(x.shape), dtype=np.float32)
    return (x + std * torch.from_numpy(noise)).clamp(-1.0, 1.0)


def cut_holes(x: torch.Tensor, side: int, margin: int, seed: tuple[int, ...],
              fill: float = 0.0) -> torch.Tensor:
    """x with one side x side square per image set to ``fill``; the top-left corner (r, c) is
    uniform on [margin, S - side - margin]^2, from ``np.random.default_rng(seed)``."""
    n, _, h, w = x.shape
    rng = np.random.default_rng(seed)
    high = min(h, w) - side - margin
    if high < margin:
        raise ValueError(f"a {side} px hole with a {margin} px margin does not fit {h}x{w} images")
    corners = torch.from_numpy(rng.integers(margin, high + 1, size=(n, 2)))
    rows = torch.arange(h)[None, :, None]
    cols = torch.arange(w)[None, None, :]
    top, left = corners[:, 0, None, None], corners[:, 1, None, None]
    inside = (rows >= top) & (rows < top + side) & (cols >= left) & (cols < left + side)
    return x.masked_fill(inside[:, None], fill)


def low_resolution(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Average over factor x factor blocks, then repeat each value factor x factor times
    (nearest-neighbour upsampling): the low-resolution image at the original shape."""
    if x.shape[-1] % factor or x.shape[-2] % factor:
        raise ValueError(f"superres needs image sides divisible by {factor}, got "
                         f"{tuple(x.shape[-2:])}")
    small = F.avg_pool2d(x, factor)
    return F.interpolate(small, scale_factor=factor, mode="nearest")


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """BT.601 luma Y = 0.299 R + 0.587 G + 0.114 B of (N, 3, H, W), repeated over 3 channels."""
    weights = torch.tensor(BT601_LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * weights).sum(1, keepdim=True).expand(-1, 3, -1, -1).contiguous()


# ----------------------------------------------------------------------------- bundled tasks


def _split_index(split: str) -> int:
    return SPLITS.index(split)


@functools.lru_cache(maxsize=8)
def _digit_split(split: str, image_size: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    digits = load_image_set(DIGIT_SET, split=split, image_size=image_size, channels=1)
    return digits.images, digits.labels


def _digits(split: str, image_size: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """mnist5k's (images, labels) of one split; fresh copies of a cached load."""
    images, labels = _digit_split(split, image_size)
    return images.clone(), labels.clone()


def _scaled(value_at_28: int, size: int) -> int:
    return max(1, round(value_at_28 * size / 28))


@PAIRED_TASKS.register("edges")
def _edges(split: str, image_size: int | None) -> PairedSet:
    b, labels = _digits(split, image_size)
    return PairedSet(digit_outline(b), b, "edges", labels=labels)


def _draw_seeds(task: str, split: str, draws: int) -> list[tuple[int, ...]]:
    """Seeds of the ``draws`` random inputs of each digit: (task, split) for the first, as
    with one draw, then (task, split, i)."""
    first = (TASK_SEEDS[task], _split_index(split))
    return [first + ((i,) if i else ()) for i in range(draws)]


def _repeated(inputs: list[torch.Tensor], b: torch.Tensor, labels: torch.Tensor,
              name: str) -> PairedSet:
    """Pairs (inputs[i][j], b[j]) for every draw i, draw-major."""
    k = len(inputs)
    return PairedSet(torch.cat(inputs), b.repeat(k, 1, 1, 1), name, labels=labels.repeat(k))


@PAIRED_TASKS.register("denoise")
def _denoise(split: str, image_size: int | None, draws: int = 1) -> PairedSet:
    b, labels = _digits(split, image_size)
    inputs = [add_noise(b, DENOISE_STD, seed) for seed in _draw_seeds("denoise", split, draws)]
    return _repeated(inputs, b, labels, "denoise")


@PAIRED_TASKS.register("inpaint")
def _inpaint(split: str, image_size: int | None, draws: int = 1) -> PairedSet:
    b, labels = _digits(split, image_size)
    size = b.shape[-1]
    side, margin = _scaled(HOLE_SIDE_AT_28, size), _scaled(HOLE_MARGIN_AT_28, size)
    inputs = [cut_holes(b, side, margin, seed) for seed in _draw_seeds("inpaint", split, draws)]
    return _repeated(inputs, b, labels, "inpaint")


@PAIRED_TASKS.register("superres")
def _superres(split: str, image_size: int | None) -> PairedSet:
    b, labels = _digits(split, image_size)
    return PairedSet(low_resolution(b), b, "superres", labels=labels)


@PAIRED_TASKS.register("colorize")
def _colorize(split: str, image_size: int | None) -> PairedSet:
    b = photo_crops(split, image_size or COLORIZE_SIZE)
    return PairedSet(grayscale(b), b, "colorize")


@functools.cache
def _photo(package: str, relative: str) -> np.ndarray:
    """A bundled photo as uint8 (H, W, 3), decoded with PIL from the installed package
    (located without importing it, which takes seconds for scikit-learn)."""
    spec = importlib.util.find_spec(package)
    path = Path(spec.origin).parent / relative if spec and spec.origin else None
    if path is None or not path.is_file():
        raise FileNotFoundError(f"the colorize task needs {relative} from the installed "
                                f"{package} package, and it is not there")
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


@functools.cache
def _photo_crops_array(split: str, size: int) -> np.ndarray:
    stride = max(1, size // CROP_STRIDE_DIVISOR)
    crops = []
    for package, relative in PHOTOS:
        image = Image.fromarray(_photo(package, relative))
        scaled = resize_shorter_side(image, PHOTO_SIZE_IN_CROPS * size)
        pixels = np.asarray(scaled)
        height, width = pixels.shape[:2]
        boundary = round(width * (1.0 - TEST_SHARE_OF_WIDTH))
        lo, hi = (0, boundary) if split == "train" else (boundary, width)
        for top in range(0, height - size + 1, stride):
            for left in range(lo, hi - size + 1, stride):
                crops.append(pixels[top:top + size, left:left + size])
    stacked = np.stack(crops).transpose(0, 3, 1, 2).astype(np.float32)
    return stacked / 127.5 - 1.0


def resize_shorter_side(image: Image.Image, shorter_side: int) -> Image.Image:
    """Resize (bilinear, antialiased when shrinking) so the shorter side is ``shorter_side``,
    keeping the aspect ratio."""
    width, height = image.size
    scale = shorter_side / min(width, height)
    new = (max(shorter_side, round(width * scale)), max(shorter_side, round(height * scale)))
    return image.resize(new, Image.Resampling.BILINEAR)


def photo_crops(split: str, size: int = COLORIZE_SIZE) -> torch.Tensor:
    """The colour crops of the colorize task, (N, 3, size, size) in [-1, 1]."""
    _check_split(split)
    if size < 4:
        raise ValueError(f"colorize crops need image_size >= 4, got {size}")
    return torch.from_numpy(_photo_crops_array(split, size).copy())


def stroke_halves(labels: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Disjoint index sets (sorted) splitting every class in two: per class c, a permutation
    from ``np.random.default_rng((seed, c))``; its first floor(n_c / 2) go to the first set."""
    targets = labels.numpy()
    first, second = [], []
    for c in np.unique(targets):
        members = np.random.default_rng((seed, int(c))).permutation(np.flatnonzero(targets == c))
        half = len(members) // 2
        first.append(members[:half])
        second.append(members[half:])
    return (torch.from_numpy(np.sort(np.concatenate(first))),
            torch.from_numpy(np.sort(np.concatenate(second))))


@UNPAIRED_TASKS.register("strokes")
def _strokes(split: str, image_size: int | None) -> UnpairedSet:
    test_a, test_labels = _digits("test", image_size)
    test_b_true = thicken_strokes(test_a)
    if split == "train":
        digits, labels = _digits("train", image_size)
        half_a, half_b = stroke_halves(labels, TASK_SEEDS["strokes"])
        a, b = digits[half_a], thicken_strokes(digits[half_b])
    else:
        a, b = test_a, test_b_true
    return UnpairedSet(a, b, test_a, test_b_true, "strokes", test_labels=test_labels)


# ----------------------------------------------------------------------------- folders


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
