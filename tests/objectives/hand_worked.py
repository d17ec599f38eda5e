"""The logits and small float64 helpers that the hand-worked loss tests share."""

from __future__ import annotations

import torch

#: D's logits on two real and two generated samples, chosen so that every loss is worked by hand
REAL = [2.0, -1.0]
FAKE = [0.5, -3.0]


def t(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def close(a, b, tol: float = 1e-9) -> bool:
    a, b = (x.detach() if isinstance(x, torch.Tensor) else x for x in (a, b))
    return abs(float(a) - float(b)) <= tol
