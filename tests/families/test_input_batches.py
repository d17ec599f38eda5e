"""Family.input_batches: inputs drawn slice by slice are exactly those fixed_inputs draws at once,
so that a run's samples do not depend on how many are written per batch."""

from __future__ import annotations

import pytest
import torch

from ganforge.config import load_config
from ganforge.families.base import batch_sizes
from ganforge.run import build

TINY = {"model.g_width": 8, "model.d_width": 8}


@pytest.fixture(scope="module")
def families() -> dict:
    """Untrained families: noise only (GAN, BEGAN), noise and class rows, noise and clusters."""
    settings = {
        "plain": ("toy-ring", {}),
        "began": ("digits-began", {"model.hidden": 8}),
        "classes": ("digits-cgan", {}),
        "clusters": ("digits-dcgan", {"data.clusters": 4, "model.num_classes": 4}),
    }
    return {name: build(load_config(preset, dict(TINY, **extra)))[1]
            for name, (preset, extra) in settings.items()}


@pytest.mark.parametrize("n, batch", [(1, 500), (15, 500), (1000, 500), (1001, 500), (1017, 16),
                                      (3000, 999), (5003, 64), (20_011, 500)])
def test_input_batches_concatenate_to_fixed_inputs(families, n, batch):
    for name, family in families.items():
        expected = family.fixed_inputs(n, seed=3)
        batches = list(family.input_batches(n, 3, batch))
        assert max(len(b["z"]) for b in batches) <= max(batch, 16) + 15, name
        for key, value in expected.items():
            assert torch.equal(torch.cat([b[key] for b in batches]), value), (name, key)


@pytest.mark.parametrize("n, batch", [(1, 500), (15, 500), (16, 16), (17, 16), (31, 16), (32, 16),
                                      (1001, 500), (1015, 500), (1016, 500)])
def test_batch_sizes_keep_slices_on_blocks_of_16_rows(n, batch):
    sizes = list(batch_sizes(n, batch))
    assert sum(sizes) == n
    assert all(size % 16 == 0 for size in sizes[:-1])
    assert sizes[-1] >= 16 or sizes == [n]
