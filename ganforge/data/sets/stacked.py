"""Stacked MNIST (ganforge.data.stacked): three mnist5k digits as R, G and B, 1,000 modes,
stacked afresh every batch."""

from __future__ import annotations

import torch

from ganforge.data.sets.base import Data, DataSet
from ganforge.data.stacked import DEPTH, load_digits, stacked_images
from ganforge.data.streams import StackedStream

#: real triples that samples are compared with (of the train digits, seed 0)
REFERENCE_TRIPLES = 10_000
#: held-out triples (of the test digits, seed 0)
HELD_OUT_TRIPLES = 1_000


class StackedDigits(DataSet):
    name, kind, scoring = "stacked", "samples", "stacked"

    def reads(self, cfg) -> set[str]:
        return {"data.image_size", "data.channels"}

    def check(self, cfg) -> None:
        d = cfg.data
        if d.channels != DEPTH:
            raise ValueError(f"data.name=stacked stacks three digits as R, G, B: set "
                             f"data.channels=3 (got {d.channels})")
        if d.labels or d.clusters or d.labelled_per_class:
            raise ValueError("data.name=stacked carries no class labels or clusters: set "
                             "data.labels=false, data.clusters=0 and data.labelled_per_class=0")

    def build(self, cfg, rank: int = 0, world: int = 1) -> Data:
        digits = load_digits("train", cfg.data.image_size)[0]
        stream = StackedStream(digits, cfg.data.batch_size, cfg.seed, rank, world)
        return Data(stream, "images", (DEPTH, *digits.shape[2:]))

    def reference_images(self, cfg) -> torch.Tensor:
        return stacked_images(REFERENCE_TRIPLES, 0, "train", cfg.data.image_size)[0]

    def held_out_images(self, cfg) -> torch.Tensor:
        return stacked_images(HELD_OUT_TRIPLES, 0, "test", cfg.data.image_size)[0]


def data_sets() -> list[DataSet]:
    return [StackedDigits()]
