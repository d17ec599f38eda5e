"""The history of generated images (Shrivastava et al. 2017) that CycleGAN's discriminators
train on, so D judges G's recent past rather than only its latest output, which damps
oscillation between G and D.

For each generated image x in a batch:
    while the pool holds fewer than `size` images:  store x, return x;
    once full: with probability 1/2 return a uniformly chosen stored image x_j and put x in
               its place; otherwise return x and leave the pool unchanged.
`size` = 0 disables the pool (images pass straight through).
"""

from __future__ import annotations

import torch


def _make_generator(generator: torch.Generator | int | None) -> torch.Generator:
    if isinstance(generator, torch.Generator):
        return generator
    seed = generator
    if seed is None:  # follow the global RNG, so torch.manual_seed makes runs repeatable
        seed = int(torch.randint(0, 2**62, (1,)).item())
    return torch.Generator().manual_seed(int(seed))


class ImagePool:
    """A buffer of up to `size` past generated images; see the module docstring.

    `generator` (a CPU torch.Generator, an int seed, or None to seed from the global torch
    RNG) drives the coin flips and the choice of stored image; `state_dict()` holds it with
    the stored images, so a resumed run draws exactly what the uninterrupted one would.
    The pool never tracks gradients: `query` returns detached images.
    """

    def __init__(self, size: int = 50, generator: torch.Generator | int | None = None):
        if size < 0:
            raise ValueError(f"ImagePool size must be >= 0 (0 disables it), got {size}")
        self.size = size
        self.generator = _make_generator(generator)
        self.images: torch.Tensor | None = None  # (size, C, H, W) once the first batch arrives
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """The batch D should see in place of `images` (N, C, H, W); same shape, detached."""
        images = images.detach()
        if self.size == 0:
            return images
        if self.images is None:
            self.images = images.new_empty((self.size, *images.shape[1:]))
        elif self.images.shape[1:] != images.shape[1:]:
            raise ValueError(f"ImagePool holds images of shape {tuple(self.images.shape[1:])}, "
                             f"got a batch of {tuple(images.shape[1:])}")
        if self.images.device != images.device or self.images.dtype != images.dtype:
            self.images = self.images.to(images.device, images.dtype)
        out = images.clone()
        for i in range(images.shape[0]):
            if self.count < self.size:
                self.images[self.count] = images[i]
                self.count += 1
                continue
            swap = torch.rand((), generator=self.generator).item() < 0.5
            if swap:
                j = int(torch.randint(0, self.size, (), generator=self.generator))
                out[i] = self.images[j]
                self.images[j] = images[i]
        return out

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Tensors only (safetensors-friendly): the stored images (count, C, H, W), the pool
        size, and the generator's state."""
        stored = self.images[: self.count] if self.images is not None else torch.empty(0)
        return {
            "images": stored.detach().clone().contiguous(),
            "size": torch.tensor(self.size, dtype=torch.int64),
            "rng_state": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        size = int(state["size"])
        if size != self.size:
            raise ValueError(f"the saved ImagePool has size {size}, this one {self.size}")
        stored = state["images"]
        count = stored.shape[0] if stored.dim() == 4 else 0
        if count > self.size:
            raise ValueError(f"the saved ImagePool holds {count} images, more than its size "
                             f"{self.size}")
        self.generator.set_state(state["rng_state"].to(torch.uint8).cpu())
        self.count = count
        if count == 0:
            self.images = None
            return
        self.images = stored.new_empty((self.size, *stored.shape[1:]))
        self.images[:count] = stored
