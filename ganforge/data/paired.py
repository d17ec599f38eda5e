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
- ``folder:PATH``: a user folder (see ``ganforge.data.paired_folders``).

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
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import ndimage

from ganforge.data.images import load_image_set
from ganforge.data.paired_folders import _load_paired_folder, _load_unpaired_folder
from ganforge.data.translation_sets import SPLITS, PairedSet, UnpairedSet
from ganforge.registry import Registry

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
