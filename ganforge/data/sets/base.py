"""The interface every data set implements, and the record it builds.

A data set is one `data.name` for one kind of model family. It is the one place that knows
which `data.*` (and `seq.*`) keys it reads, what it refuses, how it becomes a minibatch stream,
which files it reads (fingerprinted in RUN/data.json), what it holds out for evaluation and
the name its results are stamped with. Nothing outside ganforge.data asks for a data set by
name; everything asks the data set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch

#: what a data set delivers, as a family's `data_kind` names it ("styles": sentences of two
#: styles, never paired)
KINDS = ("samples", "paired", "unpaired", "tokens", "styles")


@dataclass
class Data:
    """A built data set: its minibatch stream and what the models and evaluators need of it."""

    stream: Any  # .next() -> dict of tensors; .to_(device); .state_dict(); .load_state_dict()
    kind: str  # "toy", "images", "paired", "unpaired", "tokens"
    shape: tuple[int, ...]  # one sample's shape: (d,) or (C, H, W); for translation, B's shape
    num_classes: int = 0
    toy: Any = None  # the toy distribution (known density) when kind == "toy"
    in_shape: tuple[int, ...] = ()  # translation: A's shape
    #: held-out tensors: translation "a", "b" (and "labels", the digit class of each "a")
    test: dict[str, torch.Tensor] = field(default_factory=dict)
    label_prior: torch.Tensor | None = None  # data.clusters: each cluster's share of the data
    tokens: Any = None  # token sequences: vocabulary, held-out set, oracle (data.tokens.TokenSet)
    captions: Any = None  # captioned digits: vocabulary, cut points (data.captions)
    corpus: Any = None  # two-style text: the tokenised sentences (data.text_styles.StyleCorpus)
    #: of the files it read (data.fingerprint); none for data built by hand
    fingerprint: dict = field(default_factory=lambda: {"inputs": []})


class DataSet:
    """One data.name, for families whose `data_kind` is `kind`.

    Declared by each data set:
      name     its data.name
      kind     what it delivers: "samples", "paired", "unpaired", "tokens" or "styles"
      points   samples are points of a known density (toys), not images
      captioned  every image comes with captions (Data.captions; text-to-image)
      scoring  what `ganforge eval` scores by default (ganforge.eval.run.default_plan):
               "toy" (modes or precision/recall of points), "digits" (the bundled digits
               classifier's features), "stacked" (Stacked MNIST's 1,000 modes), "images"
               (Inception features), "translation" or "tokens"
    """

    name: ClassVar[str]
    kind: ClassVar[str]
    points: ClassVar[bool] = False
    captioned: ClassVar[bool] = False
    scoring: ClassVar[str] = "images"

    # -- configuration: asked by ganforge.validate before anything is made -------------------
    def reads(self, cfg) -> set[str]:
        """The data.* and seq.* keys it reads besides data.name and data.batch_size."""
        return set()

    def check(self, cfg) -> None:
        """Refuse settings it cannot honour: from the config alone, cheaply, before any run
        folder exists."""

    # -- building: asked once per process ------------------------------------------------------
    def build(self, cfg, rank: int = 0, world: int = 1) -> Data:
        """This process's minibatch stream (its slice of every global batch) and data facts."""
        raise NotImplementedError

    def files(self, cfg) -> list[Path]:
        """Every file or folder of the user's that it reads (RUN/data.json fingerprints them)."""
        return []

    def protocol(self, cfg) -> str:
        """The name that evaluation results are stamped with."""
        return self.name

    # -- held out: asked by the evaluators -----------------------------------------------------
    def reference_images(self, cfg) -> torch.Tensor:
        """The real images (N, C, S, S) in [-1, 1] that samples are compared with (FID, ...)."""
        raise ValueError(f"data.name={self.name} has no images to compare samples with")

    def held_out_images(self, cfg) -> torch.Tensor:
        """Images (N, C, S, S) in [-1, 1] that training never sees (likelihoods,
        reconstructions)."""
        raise ValueError(f"data.name={self.name} has no held-out images")

    def image_set(self, cfg, split: str, labels: bool = True):
        """The split ("train", "test", "all") as a ganforge.data.images.ImageSet, with its class
        labels when `labels` (semi-supervised accuracy)."""
        raise ValueError(f"data.name={self.name} has no labelled images")


def needs_path(cfg, what: str) -> Path:
    """cfg's data.path, refused in one line when it is not set or does not exist."""
    if not cfg.data.path:
        raise ValueError(f"data.name={cfg.data.name} needs data.path={what}")
    path = Path(cfg.data.path).expanduser()
    if not path.exists():
        raise ValueError(f"data.path={cfg.data.path} does not exist; data.name={cfg.data.name} "
                         f"needs {what}")
    return path


def check_cluster_labels_only(cfg, items: str, fit_count: int, fit_on: str) -> None:
    """For data without classes: refuse data.labels and data.labelled_per_class, and a
    data.clusters=K that k-means cannot fit on the `fit_count` `fit_on` (2 <= K <= fit_count)."""
    d = cfg.data
    if d.labels or d.labelled_per_class:
        raise ValueError(f"data.name={d.name} carries no class labels: set data.labels=false "
                         f"and data.labelled_per_class=0 (data.clusters=K labels its {items} "
                         f"with k-means clusters instead)")
    if d.clusters and not 2 <= d.clusters <= fit_count:
        raise ValueError(f"data.clusters must be between 2 and {fit_count:,} (the {fit_on} "
                         f"k-means is fitted on), or 0; got {d.clusters}")
