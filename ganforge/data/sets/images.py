"""Image sets (ganforge.data.images): the bundled mnist5k, digits and faces, an image folder
(data.name=folder) and MNIST's IDX files (data.name=mnist), each optionally labelled with its
classes (data.labels, data.labelled_per_class for a semi-supervised D) or with k-means
clusters (data.clusters)."""

from __future__ import annotations

from pathlib import Path

import torch

from ganforge.data.sets.base import Data, DataSet, needs_path
from ganforge.data.streams import TensorStream


def semi_supervised_labels(labels: torch.Tensor, per_class: int, seed: int) -> torch.Tensor:
    """Keep `per_class` labels of each class (chosen with `seed`); the rest become -1."""
    kept = torch.full_like(labels, -1)
    g = torch.Generator().manual_seed(seed)
    for c in labels.unique():
        idx = (labels == c).nonzero().squeeze(1)
        chosen = idx[torch.randperm(len(idx), generator=g)[:per_class]]
        kept[chosen] = c
    return kept


class ImageData(DataSet):
    """A bundled image set: data.name is its spec for ganforge.data.images.load_image_set."""

    kind = "samples"

    def __init__(self, name: str, scoring: str = "images"):
        self.name, self.scoring = name, scoring

    def spec(self, cfg) -> str:
        return self.name

    def reads(self, cfg) -> set[str]:
        return {"data.image_size", "data.channels"}

    def image_set(self, cfg, split: str, labels: bool = True):
        from ganforge.data.images import load_image_set

        d = cfg.data
        return load_image_set(self.spec(cfg), split, d.image_size, d.channels, labels=labels)

    def build(self, cfg, rank: int = 0, world: int = 1) -> Data:
        d = cfg.data
        train = self.image_set(cfg, "train", labels=d.labels)
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
                labels = semi_supervised_labels(labels, d.labelled_per_class, cfg.seed)
            tensors["y"] = labels
            num_classes = int(train.labels.max()) + 1
        stream = TensorStream(tensors, d.batch_size, cfg.seed, rank, world)
        return Data(stream, "images", tuple(train.images.shape[1:]), num_classes,
                    label_prior=prior)

    def reference_images(self, cfg) -> torch.Tensor:
        return self.image_set(cfg, "all", labels=False).images

    def held_out_images(self, cfg) -> torch.Tensor:
        return self.image_set(cfg, "test", labels=False).images


class PathImageData(ImageData):
    """Images under data.path: a folder of image files, or MNIST's IDX files."""

    def __init__(self, name: str, what: str, scoring: str = "images"):
        super().__init__(name, scoring)
        self.what = what

    def spec(self, cfg) -> str:
        return f"{self.name}:{cfg.data.path}"

    def reads(self, cfg) -> set[str]:
        return {*super().reads(cfg), "data.path"}

    def check(self, cfg) -> None:
        needs_path(cfg, self.what)

    def files(self, cfg) -> list[Path]:
        return [Path(cfg.data.path).expanduser()]

    def protocol(self, cfg) -> str:
        return self.spec(cfg)


class ImageFolder(PathImageData):
    def __init__(self):
        super().__init__("folder", "PATH (a folder of images)")

    def held_out_images(self, cfg) -> torch.Tensor:
        raise ValueError("a data.name=folder run has no held-out images to encode (an image "
                         "folder has no test split)")


def data_sets() -> list[DataSet]:
    return [ImageData("mnist5k", "digits"), ImageData("digits", "digits"), ImageData("faces"),
            ImageFolder(),
            PathImageData("mnist", "PATH (a folder of MNIST's IDX files)", "digits")]
