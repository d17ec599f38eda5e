"""Minibatch streams: endless, seeded, sharded across processes and exact to resume.

Every stream has `next() -> dict of tensors`, `to_(device)`, `state_dict()` and
`load_state_dict(state)`. Resuming from a state gives exactly the batches that the stopped run
would have drawn next, on any number of processes (W processes with batch m see what one
process with batch W*m sees):

    ToyStream      fresh samples of a known distribution (toys, point clouds)
    TensorStream   epochs over in-memory tensors, reshuffled each epoch
    ZipStream      independent streams side by side (unpaired domains A and B)
    StackedStream  three digits stacked as R, G, B, drawn afresh every batch (and their
                   nearest k-means centre, for data.clusters)
"""

from __future__ import annotations

from typing import Any

import torch

from ganforge.data.clusters import nearest_centre
from ganforge.data.stacked import DEPTH, stack


class ToyStream:
    """Fresh samples from a known distribution at every step (the data are infinite), and with
    `centres` (data.clusters) {"y": (B,)}, the k-means centre nearest each sample.

    Every process draws the global batch (batch_size * world) from the same seeded
    generator and keeps its slice rank, rank + world, ...: W processes with batch m
    see exactly the samples one process with batch W*m would.
    """

    def __init__(self, dist, batch_size: int, seed: int, rank: int = 0, world: int = 1,
                 centres: torch.Tensor | None = None):
        self.dist, self.batch_size, self.rank, self.world = dist, batch_size, rank, world
        self.centres = centres
        self.generator = torch.Generator().manual_seed(seed)

    def next(self) -> dict[str, torch.Tensor]:
        x = self.dist.sample(self.batch_size * self.world, self.generator).float()
        x = x[self.rank :: self.world]
        if self.centres is None:
            return {"x": x}
        return {"x": x, "y": nearest_centre(x, self.centres)}

    def to_(self, device: torch.device) -> None:
        """Samples are drawn on the CPU from a CPU generator: nothing to move."""

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])


class TensorStream:
    """Epochs over in-memory tensors, reshuffled each epoch, sharded across processes.

    Epoch e's order is `randperm(N)` drawn from a generator seeded with (seed, e), the
    same on every process; process r takes positions r, r + W, ... of it. So the
    stream's whole state is (epoch, position): exact to resume, on any world size.
    """

    def __init__(self, tensors: dict[str, torch.Tensor], batch_size: int, seed: int,
                 rank: int = 0, world: int = 1):
        n = len(next(iter(tensors.values())))
        if n // world < batch_size:
            raise ValueError(
                f"the data set has {n} examples, fewer than one batch of {batch_size} per process "
                f"({world} processes); lower data.batch_size"
            )
        self.tensors, self.batch_size, self.seed = tensors, batch_size, seed
        self.rank, self.world, self.n = rank, world, n
        self.epoch, self.pos = 0, 0
        self._order = self._shard(0)

    def _shard(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        return torch.randperm(self.n, generator=g)[self.rank :: self.world]

    def next(self) -> dict[str, torch.Tensor]:
        if self.pos + self.batch_size > len(self._order):  # drop the ragged end of an epoch
            self.epoch, self.pos = self.epoch + 1, 0
            self._order = self._shard(self.epoch)
        idx = self._order[self.pos : self.pos + self.batch_size]
        self.pos += self.batch_size
        return {k: v[idx] for k, v in self.tensors.items()}

    def to_(self, device: torch.device) -> None:
        """Hold the tensors on `device`: batches are then gathered there, with no copy."""
        self.tensors = {k: v.to(device) for k, v in self.tensors.items()}

    def state_dict(self) -> dict[str, Any]:
        # the position in the epoch's whole order (every process's rows so far), so that a
        # run saved by W processes resumes on any other number
        return {"epoch": self.epoch, "pos": self.pos * self.world}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        epoch, pos = int(state["epoch"]), int(state["pos"])
        if pos % self.world:
            raise ValueError(f"the data stream stopped {pos} examples into epoch {epoch}, which "
                             f"does not split over {self.world} processes; resume on a number "
                             f"of processes that divides {pos}")
        self.epoch, self.pos = epoch, pos // self.world
        self._order = self._shard(self.epoch)


class ZipStream:
    """Independent streams side by side (unpaired domains A and B)."""

    def __init__(self, streams: dict[str, TensorStream]):
        self.streams = streams

    def next(self) -> dict[str, torch.Tensor]:
        return {k: s.next()["x"] for k, s in self.streams.items()}

    def to_(self, device: torch.device) -> None:
        for stream in self.streams.values():
            stream.to_(device)

    def state_dict(self) -> dict[str, Any]:
        return {k: s.state_dict() for k, s in self.streams.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for k, s in self.streams.items():
            s.load_state_dict(state[k])


class StackedStream:
    """Endless minibatches {"x": (B, 3, S, S)} of freshly stacked training digits, and with
    `centres` (data.clusters) {"y": (B,)}, the k-means centre nearest each image."""

    def __init__(self, digits: torch.Tensor, batch_size: int, seed: int, rank: int = 0,
                 world: int = 1, centres: torch.Tensor | None = None):
        self.digits, self.batch_size, self.rank, self.world = digits, batch_size, rank, world
        self.centres = centres
        self.generator = torch.Generator().manual_seed(seed)

    def next(self) -> dict[str, torch.Tensor]:
        index = torch.randint(len(self.digits), (self.batch_size * self.world, DEPTH),
                              generator=self.generator)
        x = stack(self.digits, index[self.rank :: self.world].to(self.digits.device))
        if self.centres is None:
            return {"x": x}
        return {"x": x, "y": nearest_centre(x, self.centres)}

    def to_(self, device: torch.device) -> None:
        """Hold the digits on `device`: batches are then stacked (and labelled) there."""
        self.digits = self.digits.to(device)
        if self.centres is not None:
            self.centres = self.centres.to(device)

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])
