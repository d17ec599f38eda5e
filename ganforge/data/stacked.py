"""Stacked MNIST (Metz et al. 2017; VEEGAN, PacGAN): three digits as the R, G and B channels of
one image, so 10^3 = 1,000 modes, one per triple (d_R, d_G, d_B).

Built on the fly from the bundled mnist5k digits (`data.name=stacked`, data.channels=3): each
training image stacks three digits drawn uniformly and independently (with replacement) from
mnist5k's train split, a fresh triple every time, from a generator seeded with `seed`. The
stream's state is that generator's, so a resumed run draws what an unbroken one would. Held-out
sets (`stacked_images(split="test")`) stack mnist5k's test digits the same way.

Every process draws the whole global batch and keeps rows rank, rank + world, ...: W processes
see exactly the images of one process with W times the batch.
"""

from __future__ import annotations

from typing import Any

import torch

#: the digits stacked into the channels
SOURCE = "mnist5k"
#: the digits of one stacked image
DEPTH = 3


def load_digits(split: str, image_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (N, 1, S, S) in [-1, 1], labels (N,)) of mnist5k's `split`."""
    from ganforge.data.images import load_image_set

    digits = load_image_set(SOURCE, split, image_size, 1, labels=True)
    return digits.images, digits.labels


def check_stacked(cfg_data) -> None:
    """Refuse data settings that stacked digits cannot honour."""
    if cfg_data.channels != DEPTH:
        raise ValueError(f"data.name=stacked stacks three digits as R, G, B: set "
                         f"data.channels=3 (got {cfg_data.channels})")
    if cfg_data.labels or cfg_data.clusters or cfg_data.labelled_per_class:
        raise ValueError("data.name=stacked carries no class labels or clusters: set "
                         "data.labels=false, data.clusters=0 and data.labelled_per_class=0")


def stack(digits: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """digits (N, 1, S, S), index (M, 3) -> (M, 3, S, S): channel c is digits[index[:, c]]."""
    return digits[index].squeeze(2)


def stacked_images(n: int, seed: int, split: str = "train",
                   image_size: int = 28) -> tuple[torch.Tensor, torch.Tensor]:
    """(n stacked images, their modes 100 d_R + 10 d_G + d_B) of mnist5k's `split`, seeded."""
    digits, labels = load_digits(split, image_size)
    g = torch.Generator().manual_seed(seed)
    index = torch.randint(len(digits), (n, DEPTH), generator=g)
    modes = labels[index] @ torch.tensor([100, 10, 1])
    return stack(digits, index), modes


class StackedStream:
    """Endless minibatches {"x": (B, 3, S, S)} of freshly stacked training digits."""

    def __init__(self, digits: torch.Tensor, batch_size: int, seed: int, rank: int = 0,
                 world: int = 1):
        self.digits, self.batch_size, self.rank, self.world = digits, batch_size, rank, world
        self.generator = torch.Generator().manual_seed(seed)

    def next(self) -> dict[str, torch.Tensor]:
        index = torch.randint(len(self.digits), (self.batch_size * self.world, DEPTH),
                              generator=self.generator)
        return {"x": stack(self.digits, index[self.rank :: self.world].to(self.digits.device))}

    def to_(self, device: torch.device) -> None:
        """Hold the digits on `device`: batches are then stacked there."""
        self.digits = self.digits.to(device)

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])
