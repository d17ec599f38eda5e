"""Minibatch streams for the training loop.

`build_data(cfg, kind)` turns the data section of a config into a `Data`: an endless,
seeded, resumable stream of minibatches (dicts of tensors) plus what the models
need to know about the data (shape, classes, the toy density, test sets). `kind` is what
the model family trains on: "samples" (toy points or images), "paired" or "unpaired".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ganforge.data.toy import TOYS, load_toy

IMAGE_SETS = ("mnist5k", "digits", "faces", "folder", "mnist")
PAIRED_TASKS = ("edges", "denoise", "inpaint", "superres", "colorize", "folder")
UNPAIRED_TASKS = ("strokes", "folder")


class ToyStream:
    """Fresh samples from a known distribution at every step (the data are infinite).

    Every process draws the global batch (batch_size * world) from the same seeded
    generator and keeps its slice rank, rank + world, ...: W processes with batch m
    see exactly the samples one process with batch W*m would.
    """

    def __init__(self, dist, batch_size: int, seed: int, rank: int = 0, world: int = 1):
        self.dist, self.batch_size, self.rank, self.world = dist, batch_size, rank, world
        self.generator = torch.Generator().manual_seed(seed)

    def next(self) -> dict[str, torch.Tensor]:
        x = self.dist.sample(self.batch_size * self.world, self.generator).float()
        return {"x": x[self.rank :: self.world]}

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


@dataclass
class Data:
    stream: Any  # .next() -> dict of tensors; .state_dict(); .load_state_dict()
    kind: str  # "toy", "images", "paired", "unpaired"
    shape: tuple[int, ...]  # one sample's shape: (d,) or (C, H, W); for translation, B's shape
    num_classes: int = 0
    toy: Any = None  # the toy distribution (known density) when kind == "toy"
    in_shape: tuple[int, ...] = ()  # translation: A's shape
    test: dict[str, torch.Tensor] = field(default_factory=dict)  # held-out tensors
    label_prior: torch.Tensor | None = None  # data.clusters: each cluster's share of the data
    tokens: Any = None  # token sequences: vocabulary, held-out set, oracle (data.tokens.TokenSet)
    captions: Any = None  # captioned digits: vocabulary, cut points (data.captions)


def _spec(cfg_data) -> str:
    if cfg_data.name in ("folder", "mnist"):
        if not cfg_data.path:
            raise ValueError(f"data.name={cfg_data.name} needs data.path=PATH (a folder of images)")
        return f"{cfg_data.name}:{cfg_data.path}"
    return cfg_data.name


def _semi_supervised_labels(labels: torch.Tensor, per_class: int, seed: int) -> torch.Tensor:
    """Keep `per_class` labels of each class (chosen with `seed`); the rest become -1."""
    kept = torch.full_like(labels, -1)
    g = torch.Generator().manual_seed(seed)
    for c in labels.unique():
        idx = (labels == c).nonzero().squeeze(1)
        chosen = idx[torch.randperm(len(idx), generator=g)[:per_class]]
        kept[chosen] = c
    return kept


def image_keys(name: str, kind: str) -> tuple[str, ...]:
    """The data.* keys (besides name and batch_size) that loading data set `name` reads."""
    if kind == "tokens":  # the sequence families read their data keys themselves
        return ()
    with_path = ("data.path",) if name in ("folder", "mnist", "points") else ()
    if kind == "samples":
        return ("data.image_size", "data.channels", *with_path)
    return ("data.image_size", *with_path)


def build_data(cfg, kind: str = "samples", rank: int = 0, world: int = 1) -> Data:
    """The minibatch stream and data facts for `cfg` (a ganforge Config), for a family that
    trains on `kind`: "samples", "paired" or "unpaired"."""
    d = cfg.data
    if kind in ("paired", "unpaired"):
        return _build_translation(cfg, kind, rank, world)
    if kind == "tokens":
        from ganforge.data.tokens import load_tokens

        tokens = load_tokens(cfg)
        stream = TensorStream({"x": tokens.train}, d.batch_size, cfg.seed, rank, world)
        return Data(stream, "tokens", (tokens.length,), test={"x": tokens.test}, tokens=tokens)
    if d.name in TOYS:
        dist = load_toy(d.name)
        return Data(ToyStream(dist, d.batch_size, cfg.seed, rank, world), "toy", (dist.dim,), toy=dist)
    if d.name == "captioned-digits":  # mnist5k with captions of their measured attributes
        from ganforge.data.captions import captioned_tensors

        tensors, test, train = captioned_tensors(d)
        stream = TensorStream(tensors, d.batch_size, cfg.seed, rank, world)
        return Data(stream, "images", (1, 28, 28), 10, test=test, captions=train)
    if d.name == "stacked":  # three mnist5k digits as R, G, B, stacked afresh every batch
        from ganforge.data.stacked import StackedStream, check_stacked, load_digits

        check_stacked(d)
        digits = load_digits("train", d.image_size)[0]
        stream = StackedStream(digits, d.batch_size, cfg.seed, rank, world)
        return Data(stream, "images", (3, *digits.shape[2:]))
    if d.name == "points":  # your own point cloud, data.path=FILE.csv (ganforge.data.points)
        from ganforge.data.points import load_points

        dist = load_points(d.path)
        return Data(ToyStream(dist, d.batch_size, cfg.seed, rank, world), "toy", (dist.dim,),
                    toy=dist)
    if d.name not in IMAGE_SETS:
        raise ValueError(
            f"unknown data.name {d.name!r} for a {cfg.train.family} model; valid: "
            f"{', '.join(sorted(TOYS))}, points (toy), "
            f"{', '.join(IMAGE_SETS)}, stacked, captioned-digits (images)"
        )
    from ganforge.data.images import load_image_set

    train = load_image_set(_spec(d), "train", d.image_size, d.channels, labels=d.labels)
    tensors = {"x": train.images}
    num_classes, prior = 0, None
    if d.clusters:
        from ganforge.data.clusters import kmeans_labels

        tensors["y"], prior = kmeans_labels(train.images, d.clusters, cfg.seed)
        num_classes = d.clusters
    elif d.labels:
        if train.labels is None:
            raise ValueError(f"data.labels=true but {d.name} has no class labels")
        labels = train.labels
        if d.labelled_per_class > 0:
            labels = _semi_supervised_labels(labels, d.labelled_per_class, cfg.seed)
        tensors["y"] = labels
        num_classes = int(train.labels.max()) + 1
    stream = TensorStream(tensors, d.batch_size, cfg.seed, rank, world)
    return Data(stream, "images", tuple(train.images.shape[1:]), num_classes, label_prior=prior)


def _build_translation(cfg, kind: str, rank: int, world: int) -> Data:
    from ganforge.data.paired import load_paired, load_unpaired

    d = cfg.data
    valid = PAIRED_TASKS if kind == "paired" else UNPAIRED_TASKS
    if d.name not in valid:
        raise ValueError(
            f"unknown data.name {d.name!r} for {cfg.train.family}; valid: {', '.join(valid)}"
        )
    if kind == "paired":
        train = load_paired(_spec(d), "train", d.image_size, draws=d.input_draws)
        test = load_paired(_spec(d), "test", d.image_size)
        tensors = {"a": train.a, "b": train.b}
        num_classes = 0
        if train.labels is not None:  # the digit tasks: classes for model.head=acgan
            tensors["y"] = train.labels
            num_classes = int(train.labels.max()) + 1
        stream = TensorStream(tensors, d.batch_size, cfg.seed, rank, world)
        return Data(stream, "paired", tuple(train.b.shape[1:]), num_classes,
                    in_shape=tuple(train.a.shape[1:]), test={"a": test.a, "b": test.b})
    data = load_unpaired(_spec(d), "train", d.image_size)
    streams = {
        "a": TensorStream({"x": data.a}, d.batch_size, cfg.seed, rank, world),
        "b": TensorStream({"x": data.b}, d.batch_size, cfg.seed + 1, rank, world),
    }
    return Data(ZipStream(streams), "unpaired", tuple(data.b.shape[1:]),
                in_shape=tuple(data.a.shape[1:]), test={"a": data.test_a, "b": data.test_b_true})
