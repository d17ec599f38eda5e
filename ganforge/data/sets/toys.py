"""Toy distributions whose densities are known (ganforge.data.toy), and point clouds of one's
own (data.name=points, data.path=FILE.csv; ganforge.data.points): fresh samples every step.

With data.clusters=K each sample is labelled with the nearest of K k-means centres, found on
CLUSTER_FIT_POINTS samples of the distribution: nothing of its mixture components is told to
the model, and K need not be their number."""

from __future__ import annotations

from pathlib import Path

from ganforge.data.sets.base import Data, DataSet, check_cluster_labels_only, needs_path
from ganforge.data.streams import ToyStream

POINTS_FILE = "FILE.csv (one point x0,x1 a line)"
#: samples that data.clusters' k-means is fitted on (under a second for K = 50 in 2-D)
CLUSTER_FIT_POINTS = 10_000


class ToyData(DataSet):
    """One of ganforge.data.toy's distributions: ring8, grid25, mog1d, gauss1d, spiral."""

    kind, points, scoring = "samples", True, "toy"

    def __init__(self, name: str):
        self.name = name

    def check(self, cfg) -> None:
        check_cluster_labels_only(cfg, "samples", CLUSTER_FIT_POINTS, "samples")

    def distribution(self, cfg):
        from ganforge.data.toy import load_toy

        return load_toy(self.name)

    def build(self, cfg, rank: int = 0, world: int = 1) -> Data:
        dist = self.distribution(cfg)
        centres, prior = None, None
        if cfg.data.clusters:
            import torch

            from ganforge.data.clusters import kmeans_fit

            fit_on = dist.sample(CLUSTER_FIT_POINTS, torch.Generator().manual_seed(cfg.seed))
            _, prior, centres = kmeans_fit(fit_on, cfg.data.clusters, cfg.seed)
        stream = ToyStream(dist, cfg.data.batch_size, cfg.seed, rank, world, centres)
        return Data(stream, "toy", (dist.dim,), cfg.data.clusters, toy=dist, label_prior=prior)


class PointCloud(ToyData):
    """data.name=points: each point of a CSV file the centre of N(c_k, 0.05^2 I)."""

    def __init__(self):
        super().__init__("points")

    def reads(self, cfg) -> set[str]:
        return {"data.path"}

    def check(self, cfg) -> None:
        needs_path(cfg, POINTS_FILE)
        super().check(cfg)

    def distribution(self, cfg):
        from ganforge.data.points import load_points

        return load_points(cfg.data.path)

    def files(self, cfg) -> list[Path]:
        return [Path(cfg.data.path).expanduser()]

    def protocol(self, cfg) -> str:
        return f"points:{cfg.data.path}"


def data_sets() -> list[DataSet]:
    from ganforge.data.toy import TOYS

    return [*(ToyData(name) for name in TOYS), PointCloud()]
