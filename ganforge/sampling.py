"""Many samples of a run, drawn and written batch by batch: memory bounded by the batch, not n.

`ganforge sample RUN -n N --out OUT` takes the form of its output from OUT:

  FILE.png   one picture of every sample: a grid of images (at most GRID_MAX_IMAGES, and
             GRID_MAX_SIDE pixels a side) or, for toy runs, a plot (at most PLOT_MAX_POINTS).
             Any other name that is none of the forms below gets .png appended.
  DIR/       image runs: one PNG per sample, DIR/000000.png on, into a new or empty folder
  FILE.npz   the raw samples as float32, one array "samples": (N, C, H, W) in [-1, 1] for
             images, (N, d) for points. Each batch is appended to the archive's .npy member
             as it is drawn (uncompressed, zip64), so no copy of all N is ever in memory or on
             disk besides the archive itself; np.load(FILE)["samples"] reads it.
  FILE.csv   toy runs: a header x0,x1,... and one point a line, with the 9 significant digits
             that read back the same float32

A picture is built whole in memory, hence its limits; the streamed forms hold one batch at a
time, show a tqdm bar on stderr, and whatever the batch are the samples of
ganforge.sample(run, N, seed) (see Family.input_batches). FILE.png, FILE.npz and FILE.csv
are written atomically: a reader finds the previous file or the complete new one, never half.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch

from ganforge.langevin import LangevinByD
from ganforge.train.checkpoint import atomic_write
from ganforge.viz import grid_size, image_pixels, save_png

SAMPLE_BATCH = 500
GRID_MAX_IMAGES = 10_000
GRID_MAX_SIDE = 8192
PLOT_MAX_POINTS = 100_000
STREAMED_FORMS = ("folder", "npz", "csv")


def output_form(out: str | Path, points: bool) -> tuple[str, Path]:
    """("picture", "folder", "npz" or "csv", the path) for --out OUT of a toy run (`points`)
    or an image run; a form that does not fit the run, or a folder that holds files, is
    refused before anything is drawn."""
    text = str(out)
    if text.endswith(("/", os.sep)):
        folder = Path(text)
        if points:
            raise ValueError(f"--out {text}: a folder takes one PNG per image; a toy run draws "
                             "points: --out FILE.npz, FILE.csv or FILE.png (a plot)")
        if folder.is_dir() and any(folder.iterdir()):
            raise ValueError(f"--out {text}: the folder is not empty; one PNG per sample goes "
                             "into a new or empty folder, so that no file of yours is replaced")
        return "folder", folder
    path = Path(text)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return "npz", path
    if suffix == ".csv":
        if not points:
            raise ValueError(f"--out {text}: CSV holds the points of toy runs; images go to "
                             "--out FILE.npz (float32 in [-1, 1]), DIR/ (one PNG each) or "
                             "FILE.png (a grid)")
        return "csv", path
    return "picture", path if suffix == ".png" else path.with_name(path.name + ".png")


def check_grid(n: int, image_shape: tuple[int, ...], nrow: int | None, walk: bool) -> None:
    """Refuse a grid too large for one PNG: it is built whole in memory, and few viewers open
    a picture many thousands of pixels wide. `walk`: a latent walk, drawn in one row."""
    height, width = grid_size(n, image_shape, nrow)
    if n <= GRID_MAX_IMAGES and max(height, width) <= GRID_MAX_SIDE:
        return
    instead = "--interpolate draws its steps in one row: take fewer" if walk else \
        "write one PNG per sample with --out DIR/ or an array with --out FILE.npz"
    raise ValueError(f"a grid of {n:,} images is {width} x {height} px, too large for one PNG "
                     f"(at most {GRID_MAX_IMAGES:,} images and {GRID_MAX_SIDE} px a side); "
                     f"{instead}")


def check_plot(n: int) -> None:
    """Refuse a plot of more points than a picture shows (and matplotlib draws in seconds)."""
    if n > PLOT_MAX_POINTS:
        raise ValueError(f"a plot of {n:,} points is too many for one picture (at most "
                         f"{PLOT_MAX_POINTS:,}); write the points with --out FILE.npz or "
                         "--out FILE.csv")


def sample_batches(run, n: int, seed: int = 0, cls: int | None = None,
                   batch: int = SAMPLE_BATCH, top_by_d: float | None = None,
                   langevin: LangevinByD | None = None) -> Iterator[torch.Tensor]:
    """The samples of ganforge.sample(run, n, seed), every label `cls` when given, drawn batch
    by batch (a run whose family draws noise: see Family.input_batches); `top_by_d`: the n
    that D ranks highest of n / top_by_d draws instead (ganforge.selection); `langevin`: a
    LangevinByD, the draws moved toward what D finds real (ganforge.langevin)."""
    if langevin is not None:
        from ganforge.langevin import langevin_batches

        yield from langevin_batches(run, n, seed, langevin, cls, batch)
        return
    if top_by_d is not None:
        from ganforge.selection import top_by_d_batches

        yield from top_by_d_batches(run, n, seed, top_by_d, cls, batch)
        return
    for inputs in run.family.input_batches(n, seed, batch):
        if cls is not None:
            inputs["y"] = torch.full((len(inputs["z"]),), cls, dtype=torch.long)
        yield run.family.snapshot(inputs)


def write_samples(form: str, path: Path, batches: Iterable[torch.Tensor], n: int) -> None:
    """Write the n samples that `batches` yields to `path` in one of STREAMED_FORMS, holding
    one batch at a time, with a progress bar on stderr."""
    from tqdm import tqdm

    with tqdm(total=n, unit="sample", desc=f"writing {path}", dynamic_ncols=True) as bar:
        counted = _counted(batches, bar)
        if form == "folder":
            _write_pngs(path, counted, n)
        elif form == "npz":
            atomic_write(path, lambda tmp: _write_npz(tmp, counted, n))
        else:
            atomic_write(path, lambda tmp: _write_csv(tmp, counted))


def _counted(batches: Iterable[torch.Tensor], bar) -> Iterator[torch.Tensor]:
    for batch in batches:
        yield batch
        bar.update(len(batch))


def _write_pngs(folder: Path, batches: Iterable[torch.Tensor], n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    digits = max(6, len(str(n - 1)))  # names sort in sample order
    index = 0
    for batch in batches:
        for pixels in image_pixels(batch):
            save_png(pixels, folder / f"{index:0{digits}d}.png")
            index += 1


def _write_npz(path: Path, batches: Iterable[torch.Tensor], n: int) -> None:
    """An .npz archive of one float32 array "samples" (n, ...), written as `batches` arrive:
    the .npy header announces all n rows, then each batch's bytes follow."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive, \
            archive.open("samples.npy", "w", force_zip64=True) as member:
        for index, batch in enumerate(batches):
            array = np.ascontiguousarray(batch.numpy(), dtype="<f4")
            if index == 0:
                header = {"descr": np.lib.format.dtype_to_descr(array.dtype),
                          "fortran_order": False, "shape": (n, *array.shape[1:])}
                np.lib.format.write_array_header_1_0(member, header)
            member.write(array.tobytes())


def _write_csv(path: Path, batches: Iterable[torch.Tensor]) -> None:
    with open(path, "w") as f:
        for index, batch in enumerate(batches):
            points = batch.numpy()
            if index == 0:
                f.write(",".join(f"x{j}" for j in range(points.shape[1])) + "\n")
            np.savetxt(f, points, delimiter=",", fmt="%.9g")
