"""Stacked MNIST from mnist5k: each channel is one of the split's digits, the draw is seeded,
a resumed stream continues exactly, and W processes see one process's batch."""

from __future__ import annotations

import pytest
import torch

from ganforge.config import load_config
from ganforge.data.stacked import load_digits, stacked_images
from ganforge.data.streams import StackedStream
from ganforge.validate import validate


@pytest.fixture(scope="module")
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    return load_digits("test", 28)


def test_every_channel_is_a_digit_of_the_split_and_the_modes_are_its_labels(digits):
    images, labels = digits
    x, modes = stacked_images(50, seed=3, split="test")
    flat = images.flatten(1)
    for sample, mode in zip(x, modes):
        found = [int((flat == channel.flatten()).all(1).nonzero()[0]) for channel in sample]
        assert int(mode) == 100 * labels[found[0]] + 10 * labels[found[1]] + labels[found[2]]


def test_the_stream_is_seeded_and_resumes_exactly(digits):
    a, b = StackedStream(digits[0], 8, seed=1), StackedStream(digits[0], 8, seed=1)
    assert torch.equal(a.next()["x"], b.next()["x"])
    state = a.state_dict()
    ahead = a.next()["x"]
    resumed = StackedStream(digits[0], 8, seed=1)
    resumed.load_state_dict(state)
    assert torch.equal(resumed.next()["x"], ahead)
    assert not torch.equal(StackedStream(digits[0], 8, seed=2).next()["x"], b.next()["x"])


def test_two_processes_see_one_process_batch(digits):
    one = StackedStream(digits[0], 8, seed=0).next()["x"]
    ranks = [StackedStream(digits[0], 4, seed=0, rank=r, world=2).next()["x"] for r in (0, 1)]
    assert torch.equal(one[0::2], ranks[0]) and torch.equal(one[1::2], ranks[1])


def test_the_config_check_refuses_one_channel():
    cfg = load_config("stacked-dcgan", {"data.channels": 1})
    with pytest.raises(ValueError, match=r"data\.channels=3"):
        validate(cfg)
