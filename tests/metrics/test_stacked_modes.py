"""The stacked-MNIST mode reader (stacked_modes, stacked_kl) on hand-stacked real digits: every
one of the 1,000 triples stacked twice reads as ~1,000 modes near KL 0; three copies of one
digit read as one mode, KL log 1000."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganforge.data.stacked import load_digits
from ganforge.metrics import evaluate
from ganforge.metrics.modes import kl_to_uniform


def read(images: torch.Tensor) -> dict:
    return evaluate(["stacked_modes", "stacked_kl"], None, images, features="digits",
                    cache_dir=None, batch_size=500)["metrics"]


def test_all_triples_of_real_digits_read_as_1000_modes():
    """2,000 images: each triple (a, b, c) twice, every channel a random test digit of its class
    (uniform over the modes, as uniform draws are in expectation). The classifier misreads
    ~1 % of digits, so a few samples change mode; a mode empties only if both its samples do."""
    images, labels = load_digits("test", 28)
    g = torch.Generator().manual_seed(0)
    triples = torch.cartesian_prod(*[torch.arange(10)] * 3).repeat(2, 1)  # (2000, 3)
    by_class = [torch.nonzero(labels == c).squeeze(1) for c in range(10)]
    index = torch.stack([torch.stack([by_class[int(c)][torch.randint(len(by_class[int(c)]), (1,),
                                                                     generator=g)][0]
                                      for c in row]) for row in triples])
    metrics = read(images[index].squeeze(2))
    counts = np.full(1000, 2)
    assert metrics["stacked_modes"] >= 990
    assert abs(metrics["stacked_kl"] - kl_to_uniform(counts)) < 0.05  # 0 for the true labels


def test_one_digit_in_all_three_channels_is_one_mode():
    images, labels = load_digits("test", 28)
    seven = images[torch.nonzero(labels == 7)[0, 0]]
    metrics = read(seven.expand(40, 3, 28, 28).clone())
    assert metrics["stacked_modes"] == 1
    assert abs(metrics["stacked_kl"] - math.log(1000)) < 1e-9


def test_samples_of_one_channel_are_refused():
    with pytest.raises(ValueError, match=r"data\.name=stacked"):
        read(torch.zeros(4, 1, 28, 28))
