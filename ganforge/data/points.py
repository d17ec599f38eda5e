"""A point cloud of your own as a toy density: data.name=points with data.path=FILE.csv.

Every row of the file, x0[,x1] (1-D or 2-D), is the centre c_k of a Gaussian of std s = 0.05,

    p(x) = 1/K sum_k N(x; c_k, s^2 I),

so the density is known exactly, as for the other toys (mode metrics, the explorer's grid
JSD). A first line that is not numbers (the header x0,x1 that `ganforge sample --out
FILE.csv` writes) is skipped. `ganforge explore` saves a drawn distribution this way.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from ganforge.data.toy import GaussianMixture
from ganforge.train.checkpoint import atomic_write

POINT_STD = 0.05
MAX_POINTS = 100_000


def _numbers(line: str) -> list[float] | None:
    try:
        return [float(v) for v in line.split(",")]
    except ValueError:
        return None


def load_points(path: str | Path) -> GaussianMixture:
    """The mixture of N(c_k, POINT_STD^2 I) over the points of a CSV file (see the module)."""
    if not str(path):
        raise ValueError("data.name=points needs data.path=FILE.csv (one point x0,x1 a line)")
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise ValueError(f"data.path={path}: data.name=points reads a .csv file of points, one "
                         "x0,x1 (or x0) a line")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"data.path={path} cannot be read as text ({err})") from None
    numbered = [(i + 1, line) for i, line in enumerate(text.splitlines()) if line.strip()]
    if numbered and _numbers(numbered[0][1]) is None:  # a header
        numbered = numbered[1:]
    rows: list[list[float]] = []
    for number, line in numbered:
        values = _numbers(line)
        if values is None or (rows and len(values) != len(rows[0])):
            raise ValueError(f"data.path={path}: line {number} is not "
                             f"{len(rows[0]) if rows else 'one or two'} numbers separated by "
                             "commas")
        rows.append(values)
    if not 3 <= len(rows) <= MAX_POINTS or len(rows[0]) not in (1, 2):
        raise ValueError(f"data.path={path}: data.name=points needs 3 to {MAX_POINTS} points "
                         f"of 1 or 2 coordinates, got {len(rows)} of {len(rows[0]) if rows else 0}")
    if not all(math.isfinite(v) for r in rows for v in r):
        raise ValueError(f"data.path={path}: every coordinate must be a finite number")
    return GaussianMixture(torch.tensor(rows, dtype=torch.float64), POINT_STD, "points")


def save_points(points: torch.Tensor, path: Path) -> None:
    """Points (K, d) as the CSV load_points reads, every float64 exactly (repr round-trips)."""
    header = ",".join(f"x{i}" for i in range(points.shape[1]))
    rows = (",".join(repr(float(v)) for v in row) for row in points.tolist())
    text = header + "\n" + "\n".join(rows) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text))
