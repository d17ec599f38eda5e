"""What every source of translation data returns: ``PairedSet`` (aligned pairs, pix2pix) or
``UnpairedSet`` (two domains, CycleGAN), and the split names they share.

Kept apart from ``ganforge.data.paired``, which dispatches a spec to a bundled task or to
``ganforge.data.paired_folders``, so that the folder loaders build these records without
importing their dispatcher.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

SPLITS = ("train", "test")


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
