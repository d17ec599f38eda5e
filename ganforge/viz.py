"""Pictures: sample grids, 2-D scatter plots, 1-D panels and loss curves (PNG)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def image_grid(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """N,C,H,W in [-1, 1] -> an H',W',C uint8 array of `nrow` images per row."""
    if images.dim() != 4:
        raise ValueError(f"image_grid takes N,C,H,W images, got shape {tuple(images.shape)}")
    n, c, h, w = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    grid = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, c), 255, dtype=np.uint8)
    pixels = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    pixels = pixels.permute(0, 2, 3, 1).numpy()
    for i in range(n):
        r, col = divmod(i, nrow)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        grid[y : y + h, x : x + w] = pixels[i]
    return grid


def save_image_grid(images: torch.Tensor, path: Path | str, nrow: int | None = None) -> None:
    grid = image_grid(images, nrow)
    mode = "L" if grid.shape[2] == 1 else "RGB"
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid.squeeze(2) if mode == "L" else grid, mode).save(path)


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_points(fake: torch.Tensor, path: Path | str, real: torch.Tensor | None = None,
                title: str = "") -> None:
    """A scatter of 2-D samples (over real ones), or a histogram for 1-D samples."""
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
    fig.savefig(path)
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
