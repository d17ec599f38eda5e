"""Two-style text corpora (data.name=text-styles, data.path=FOLDER; ganforge.data.text_styles):
the sentences of each style as a stream of token ids, side by side, never paired."""

from __future__ import annotations

from pathlib import Path

import torch

from ganforge.data.sets.base import Data, DataSet, needs_path
from ganforge.data.streams import TensorStream, ZipStream

FOLDER = "FOLDER (PREFIX.train.0 and PREFIX.train.1, one sentence a line)"


class TextStyles(DataSet):
    name, kind, scoring = "text-styles", "styles", "styles"

    def reads(self, cfg) -> set[str]:
        return {"data.path", "data.prefix", "data.max_len", "data.min_count"}

    def check(self, cfg) -> None:
        from ganforge.data.text_styles import check_corpus_folder

        check_corpus_folder(needs_path(cfg, FOLDER), cfg.data.prefix)

    def files(self, cfg) -> list[Path]:
        from ganforge.data.text_styles import corpus_files

        folder = Path(cfg.data.path).expanduser()
        return sorted(corpus_files(folder, cfg.data.prefix).values())

    def protocol(self, cfg) -> str:
        return f"text-styles:{cfg.data.path}/{cfg.data.prefix}"

    def build(self, cfg, rank: int = 0, world: int = 1) -> Data:
        from ganforge.data.text_styles import Vocabulary, load_style_corpus

        d = cfg.data
        corpus = load_style_corpus(Path(d.path).expanduser(), d.prefix)
        vocab = Vocabulary(corpus.train[0] + corpus.train[1], d.min_count)
        sides = [torch.stack([vocab.encode(s, d.max_len) for s in corpus.train[k]]) for k in (0, 1)]
        streams = {f"x{k}": TensorStream({"x": sides[k]}, d.batch_size, cfg.seed + k, rank, world)
                   for k in (0, 1)}
        test = {}
        if corpus.test is not None:
            test = {f"x{k}": torch.stack([vocab.encode(s, d.max_len) for s in corpus.test[k]])
                    for k in (0, 1)}
        return Data(ZipStream(streams), "styles", (d.max_len + 1,), test=test, tokens=vocab,
                    corpus=corpus)


def data_sets() -> list[DataSet]:
    return [TextStyles()]
