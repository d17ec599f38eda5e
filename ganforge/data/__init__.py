"""The data a model trains on: one module per data set (ganforge.data.sets), minibatch streams
(ganforge.data.streams) and the loaders they share (images, paired, tokens, ...).

`build_data(cfg, kind)` turns the data section of a config into a `Data`: an endless, seeded,
resumable stream of minibatches (dicts of tensors) plus what the models need to know about
the data (shape, classes, the toy density, test sets), the data set it came from and the
fingerprint of the files it read. `kind` is what the model family trains on: "samples" (toy
points or images), "paired", "unpaired" or "tokens".
"""

from __future__ import annotations

from ganforge.data.fingerprint import fingerprint
from ganforge.data.sets import Data, DataSet, find_data_set, register_data_set
from ganforge.data.streams import StackedStream, TensorStream, ToyStream, ZipStream

__all__ = ["Data", "DataSet", "StackedStream", "TensorStream", "ToyStream", "ZipStream",
           "build_data", "data_set_of", "find_data_set", "register_data_set"]


def data_set_of(cfg, kind: str = "samples") -> DataSet:
    """The data set that `cfg`'s data.name names for a family that trains on `kind` (a run's:
    `data_set_of(run.cfg, run.family.data_kind)`)."""
    return find_data_set(cfg.data.name, kind, cfg.train.family)


def build_data(cfg, kind: str = "samples", rank: int = 0, world: int = 1) -> Data:
    """The minibatch stream and data facts for `cfg` (a ganforge Config), for a family that
    trains on `kind`: this process's slice of every global batch."""
    source = data_set_of(cfg, kind)
    data = source.build(cfg, rank, world)
    data.fingerprint = fingerprint(source.files(cfg))
    return data
