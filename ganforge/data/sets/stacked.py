"""Stacked MNIST (ganforge.data.stacked): three mnist5k digits as R, G and B, 1,000 modes,
stacked afresh every batch.

With data.clusters=K each image is labelled with the nearest of K k-means centres (no digit
labels), found on CLUSTER_FIT_TRIPLES stacked training images: the whole image's pixels, so
nothing of the three-channel construction is told to the model. The centres are those images'
k-means clusters; a fresh image takes the cluster k-means would assign it."""

from __future__ import annotations

import torch

from ganforge.data.sets.base import Data, DataSet, check_cluster_labels_only
from ganforge.data.stacked import DEPTH, load_digits, stacked_images
from ganforge.data.streams import StackedStream

#: real triples that samples are compared with (of the train digits, seed 0)
REFERENCE_TRIPLES = 10_000
#: held-out triples (of the test digits, seed 0)
HELD_OUT_TRIPLES = 1_000
#: stacked training images that data.clusters' k-means is fitted on (~23 s on 2 cores for
#: K = 100, at each build: a training start and every load of the run)
CLUSTER_FIT_TRIPLES = 10_000


class StackedDigits(DataSet):
    name, kind, scoring = "stacked", "samples", "stacked"

    def reads(self, cfg) -> set[str]:
        return {"data.image_size", "data.channels"}

    def check(self, cfg) -> None:
        d = cfg.data
        if d.channels != DEPTH:
            raise ValueError(f"data.name=stacked stacks three digits as R, G, B: set "
                             f"data.channels=3 (got {d.channels})")
        check_cluster_labels_only(cfg, "images", CLUSTER_FIT_TRIPLES, "stacked images")

    def build(self, cfg, rank: int = 0, world: int = 1) -> Data:
        d = cfg.data
        digits = load_digits("train", d.image_size)[0]
        centres, prior = None, None
        if d.clusters:
            from ganforge.data.clusters import kmeans_fit

            fit_on = stacked_images(CLUSTER_FIT_TRIPLES, cfg.seed, "train", d.image_size)[0]
            _, prior, centres = kmeans_fit(fit_on, d.clusters, cfg.seed)
        stream = StackedStream(digits, d.batch_size, cfg.seed, rank, world, centres)
        return Data(stream, "images", (DEPTH, *digits.shape[2:]), d.clusters,
                    label_prior=prior)

    def reference_images(self, cfg) -> torch.Tensor:
        return stacked_images(REFERENCE_TRIPLES, 0, "train", cfg.data.image_size)[0]

    def held_out_images(self, cfg) -> torch.Tensor:
        return stacked_images(HELD_OUT_TRIPLES, 0, "test", cfg.data.image_size)[0]


def data_sets() -> list[DataSet]:
    return [StackedDigits()]
