"""The L1, cycle-consistency and identity losses of image-to-image translation."""

from __future__ import annotations

import pytest
import torch

from ganforge.objectives import cycle_consistency_loss, identity_loss, l1_loss


def t(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def close(a, b, tol: float = 1e-9) -> bool:
    a, b = (x.detach() if isinstance(x, torch.Tensor) else x for x in (a, b))
    return abs(float(a) - float(b)) <= tol


def test_l1_cycle_and_identity_losses():
    a = t([[1.0, -2.0], [0.5, 0.0]])
    b = t([[0.0, -1.0], [0.5, 2.0]])
    # |1| + |-1| + 0 + |-2| = 4 over 4 elements
    assert close(l1_loss(a, b), 1.0)
    assert close(cycle_consistency_loss(a, b), 1.0)
    assert close(identity_loss(a, b), 1.0)
    with pytest.raises(ValueError, match="equal shapes"):
        l1_loss(a, b[0])
