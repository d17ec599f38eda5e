"""Image-to-image translation data (ganforge.data.paired): aligned pairs for pix2pix (the
bundled tasks edges, denoise, inpaint, superres, colorize, or a folder) and two unpaired
domains for CycleGAN (the bundled strokes task, or a folder)."""

from __future__ import annotations

from pathlib import Path

from ganforge.data.sets.base import Data, DataSet, needs_path
from ganforge.data.streams import TensorStream, ZipStream

FOLDER = "PATH (a folder of images)"


class TranslationData(DataSet):
    """A bundled task (data.name is its spec) or, as `folder`, the folder at data.path."""

    scoring = "translation"

    def __init__(self, name: str, kind: str):
        self.name, self.kind = name, kind

    @property
    def is_folder(self) -> bool:
        return self.name == "folder"

    def spec(self, cfg) -> str:
        return f"folder:{cfg.data.path}" if self.is_folder else self.name

    def reads(self, cfg) -> set[str]:
        return {"data.image_size", *(("data.path",) if self.is_folder else ())}

    def check(self, cfg) -> None:
        if self.is_folder:
            needs_path(cfg, FOLDER)

    def files(self, cfg) -> list[Path]:
        return [Path(cfg.data.path).expanduser()] if self.is_folder else []

    def protocol(self, cfg) -> str:
        return self.spec(cfg)

    def build(self, cfg, rank: int = 0, world: int = 1) -> Data:
        from ganforge.data.paired import load_paired, load_unpaired

        d = cfg.data
        if self.kind == "paired":
            train = load_paired(self.spec(cfg), "train", d.image_size, draws=d.input_draws)
            test = load_paired(self.spec(cfg), "test", d.image_size)
            tensors = {"a": train.a, "b": train.b}
            num_classes = 0
            if train.labels is not None:  # the digit tasks: classes for model.head=acgan
                tensors["y"] = train.labels
                num_classes = int(train.labels.max()) + 1
            stream = TensorStream(tensors, d.batch_size, cfg.seed, rank, world)
            return Data(stream, "paired", tuple(train.b.shape[1:]), num_classes,
                        in_shape=tuple(train.a.shape[1:]),
                        test=with_labels({"a": test.a, "b": test.b}, test.labels))
        data = load_unpaired(self.spec(cfg), "train", d.image_size)
        streams = {
            "a": TensorStream({"x": data.a}, d.batch_size, cfg.seed, rank, world),
            "b": TensorStream({"x": data.b}, d.batch_size, cfg.seed + 1, rank, world),
        }
        return Data(ZipStream(streams), "unpaired", tuple(data.b.shape[1:]),
                    in_shape=tuple(data.a.shape[1:]),
                    test=with_labels({"a": data.test_a, "b": data.test_b_true}, data.test_labels))


def with_labels(test: dict, labels) -> dict:
    """The held-out tensors, with the digit class of each input when the task knows it."""
    return test if labels is None else {**test, "labels": labels}


def data_sets() -> list[DataSet]:
    from ganforge.data.paired import PAIRED_TASKS, UNPAIRED_TASKS

    return [*(TranslationData(name, "paired") for name in (*PAIRED_TASKS, "folder")),
            *(TranslationData(name, "unpaired") for name in (*UNPAIRED_TASKS, "folder"))]
