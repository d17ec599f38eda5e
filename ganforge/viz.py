"""Pictures: sample grids, 2-D scatter plots, 1-D panels and loss curves (PNG)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def image_pixels(images: torch.Tensor) -> np.ndarray:
    """N,C,H,W in [-1, 1] -> N,H,W,C uint8 (values outside [-1, 1] are clipped)."""
    pixels = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).numpy()


def grid_size(n: int, image_shape: tuple[int, ...], nrow: int | None = None,
              pad: int = 2) -> tuple[int, int]:
    """(height, width) in pixels of image_grid's picture of n images of shape (C, H, W)."""
    h, w = image_shape[-2:]
    nrow = nrow or math.ceil(math.sqrt(n))
    return math.ceil(n / nrow) * (h + pad) + pad, nrow * (w + pad) + pad


def image_grid(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """N,C,H,W in [-1, 1] -> an H',W',C uint8 array of `nrow` images per row."""
    if images.dim() != 4:
        raise ValueError(f"image_grid takes N,C,H,W images, got shape {tuple(images.shape)}")
    n, c, h, w = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    grid = np.full((*grid_size(n, (c, h, w), nrow, pad), c), 255, dtype=np.uint8)
    pixels = image_pixels(images)
    for i in range(n):
        r, col = divmod(i, nrow)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        grid[y : y + h, x : x + w] = pixels[i]
    return grid


def save_png(pixels: np.ndarray, path: Path | str) -> None:
    """An H,W,C uint8 array (C = 1 or 3) as a PNG, whatever the name's suffix."""
    mode = "L" if pixels.shape[2] == 1 else "RGB"
    Image.fromarray(pixels.squeeze(2) if mode == "L" else pixels, mode).save(path, format="PNG")


def save_image_grid(images: torch.Tensor, path: Path | str, nrow: int | None = None) -> None:
    grid = image_grid(images, nrow)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_png(grid, path)


#: colours of the fast scatter: data points blue, G's samples red, the frame grey
SCATTER_COLOURS = {"data": (31, 119, 180), "G": (214, 39, 40), "frame": (160, 160, 160)}


def scatter_pixels(points: np.ndarray, lo: np.ndarray, hi: np.ndarray, size: int,
                   margin: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of 2-D points in a size x size picture of the box [lo, hi]^2 drawn inside
    a `margin`-pixel border: x grows to the right, y upwards; points outside are dropped."""
    inner = size - 2 * margin - 1
    scale = inner / np.maximum(hi - lo, 1e-12)
    cols = np.round(margin + (points[:, 0] - lo[0]) * scale[0]).astype(np.int64)
    rows = np.round(margin + (hi[1] - points[:, 1]) * scale[1]).astype(np.int64)
    inside = (cols >= margin) & (cols <= size - 1 - margin) & (rows >= margin) & \
        (rows <= size - 1 - margin)
    return rows[inside], cols[inside]


def render_scatter(fake: np.ndarray, real: np.ndarray | None = None, size: int = 400,
                   margin: int = 10) -> np.ndarray:
    """A (size, size, 3) uint8 scatter of 2-D samples (red) over data (blue), each point a
    2 x 2 square, on one box with equal scales that holds the data and, clipped to three
    times the data's extent, the samples. Written with numpy alone: drawing it every snapshot
    costs about a millisecond, where a matplotlib figure costs 0.2 s, a sizeable share of a
    small 2-D GAN's training time."""
    both = fake if real is None else np.concatenate([real, fake])
    reference = both if real is None else real
    centre = (reference.min(0) + reference.max(0)) / 2
    half = max(float((reference.max(0) - reference.min(0)).max()) / 2, 1e-6) * 1.1
    half = min(max(half, float(np.abs(both - centre).max()) * 1.02), 3 * half)
    lo, hi = centre - half, centre + half
    picture = np.full((size, size, 3), 255, dtype=np.uint8)
    picture[[margin - 1, size - margin], margin - 1 : size - margin + 1] = SCATTER_COLOURS["frame"]
    picture[margin - 1 : size - margin + 1, [margin - 1, size - margin]] = SCATTER_COLOURS["frame"]
    for name, points in (("data", real), ("G", fake)):
        if points is None:
            continue
        rows, cols = scatter_pixels(points, lo, hi, size, margin)
        for dr in (0, 1):
            for dc in (0, 1):
                picture[np.minimum(rows + dr, size - 1), np.minimum(cols + dc, size - 1)] = \
                    SCATTER_COLOURS[name]
    return picture


def save_scatter(fake: torch.Tensor, path: Path | str, real: torch.Tensor | None = None) -> None:
    """The fast 2-D scatter (render_scatter) as a PNG: the training loop's toy snapshots."""
    fake_np = fake.detach().float().cpu().numpy()
    real_np = None if real is None else real.detach().float().cpu().numpy()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(render_scatter(fake_np, real_np), "RGB").save(path)


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_points(fake: torch.Tensor, path: Path | str, real: torch.Tensor | None = None,
                title: str = "") -> None:
    """A scatter of 2-D samples (over real ones), or a histogram for 1-D samples, as a PNG
    whatever the name's suffix."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    fake = fake.detach().float().cpu().numpy()
    if fake.shape[1] == 1:
        if real is not None:
            ax.hist(real.numpy().ravel(), bins=80, density=True, alpha=0.5, label="data")
        ax.hist(fake.ravel(), bins=80, density=True, alpha=0.5, label="G")
        ax.legend()
    else:
        if real is not None:
            r = real.numpy()
            ax.scatter(r[:, 0], r[:, 1], s=2, c="tab:blue", alpha=0.3, label="data")
        ax.scatter(fake[:, 0], fake[:, 1], s=2, c="tab:red", alpha=0.6, label="G")
        ax.set_aspect("equal")
        ax.legend(loc="upper right", fontsize=7)
    ax.set_title(title)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    plt.close(fig)


def save_loss_curves(metrics_jsonl: Path | str, path: Path | str) -> None:
    """Plot every logged loss of RUN/metrics.jsonl against the step."""
    rows = [json.loads(line) for line in Path(metrics_jsonl).read_text().splitlines() if line]
    keys = sorted({k for r in rows for k in r if k.startswith("loss")})
    plt = _figure()
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    for k in keys:
        pts = [(r["step"], r[k]) for r in rows if k in r]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=k)
    ax.set_xlabel("step")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
