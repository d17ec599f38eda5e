"""Choosing which items of a data set to show or score."""

from __future__ import annotations

import torch


def evenly_spaced(total: int, n: int) -> torch.Tensor:
    """min(n, total) indices floor(i total / n), i = 0 .. n - 1: every (total / n)-th item."""
    n = min(n, total)
    return torch.arange(n) * total // n
