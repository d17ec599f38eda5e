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
