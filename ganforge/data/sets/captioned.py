"""Captioned digits (ganforge.data.captions): the mnist5k digits, each with captions of its
measured attributes, for text-to-image."""

from __future__ import annotations

import torch

from ganforge.data.sets.base import Data, DataSet
from ganforge.data.streams import TensorStream

#: the images the captions describe
IMAGES = "mnist5k"


class CaptionedDigits(DataSet):
    kind, scoring, captioned = "samples", "digits", True

    def __init__(self):
        from ganforge.data.captions import NAME

        self.name = NAME

    def reads(self, cfg) -> set[str]:
        return {"data.image_size", "data.channels"}

    def check(self, cfg) -> None:
        d = cfg.data
        if d.image_size != 28 or d.channels != 1:
            raise ValueError(f"data.name={self.name} holds 28 x 28 grayscale digits (their "
                             f"attributes are measured at that size): set data.image_size=28 "
                             f"and data.channels=1, got {d.image_size} and {d.channels}")

    def build(self, cfg, rank: int = 0, world: int = 1) -> Data:
        from ganforge.data.captions import load_captioned_digits

        train, test = load_captioned_digits("train"), load_captioned_digits("test")
        tensors = {"x": train.images, "y": train.labels, "tokens": train.tokens,
                   "bins": train.bins}
        held = {"x": test.images, "y": test.labels, "tokens": test.tokens, "bins": test.bins,
                "held_out_tokens": test.held_out_tokens}
        stream = TensorStream(tensors, cfg.data.batch_size, cfg.seed, rank, world)
        return Data(stream, "images", (1, 28, 28), 10, test=held, captions=train)

    def image_set(self, cfg, split: str, labels: bool = True):
        from ganforge.data.images import load_image_set

        return load_image_set(IMAGES, split, cfg.data.image_size, cfg.data.channels, labels)

    def reference_images(self, cfg) -> torch.Tensor:
        return self.image_set(cfg, "all", labels=False).images

    def held_out_images(self, cfg) -> torch.Tensor:
        return self.image_set(cfg, "test", labels=False).images


def data_sets() -> list[DataSet]:
    return [CaptionedDigits()]
