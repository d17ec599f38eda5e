"""Token sequences (ganforge.data.tokens): SeqGAN's synthetic oracle (data.name=oracle), US
census surnames (names) and a text file of one's own (text, data.path=FILE)."""

from __future__ import annotations

from pathlib import Path

from ganforge.data.sets.base import Data, DataSet
from ganforge.data.streams import TensorStream


class TokenData(DataSet):
    """data.name=names: the 1990 US census surnames of the `names` package, characters."""

    kind, scoring = "tokens", "tokens"

    def __init__(self, name: str):
        self.name = name

    def reads(self, cfg) -> set[str]:
        return {"seq.length", "seq.test_share"}

    def check(self, cfg) -> None:
        import importlib.util

        if importlib.util.find_spec("names") is None:
            raise ValueError("data.name=names needs the `names` package (US census name lists): "
                             "pip install 'ganforge[text]'")

    def load(self, cfg):
        from ganforge.data.tokens import names_data

        return names_data(cfg.seq.length, cfg.seq.test_share)

    def build(self, cfg, rank: int = 0, world: int = 1) -> Data:
        tokens = self.load(cfg)
        stream = TensorStream({"x": tokens.train}, cfg.data.batch_size, cfg.seed, rank, world)
        return Data(stream, "tokens", (tokens.length,), test={"x": tokens.test}, tokens=tokens)


class OracleData(TokenData):
    """SeqGAN's oracle LSTM: drawn from seq.oracle_seed, or read from data.oracle_path."""

    def __init__(self):
        super().__init__("oracle")

    def reads(self, cfg) -> set[str]:
        own = {"seq.vocab", "seq.oracle_emb", "seq.oracle_hidden"}
        return {"data.oracle_path", "seq.length", "seq.oracle_seed", "seq.train_size",
                "seq.test_size", *(() if cfg.data.oracle_path else own)}

    def check(self, cfg) -> None:
        from ganforge.data.tokens import ORACLE_KEYS

        path = Path(cfg.data.oracle_path).expanduser()
        if cfg.data.oracle_path and not path.is_file():
            raise ValueError(f"data.oracle_path {path} is not a file; an oracle file holds "
                             f"arrays {', '.join(ORACLE_KEYS)}")

    def load(self, cfg):
        from ganforge.data.tokens import oracle_data

        return oracle_data(cfg)

    def files(self, cfg) -> list[Path]:
        return [Path(cfg.data.oracle_path).expanduser()] if cfg.data.oracle_path else []

    def protocol(self, cfg) -> str:
        return f"oracle:{cfg.data.oracle_path}" if cfg.data.oracle_path else "oracle"


class TextData(TokenData):
    """data.path=FILE: one sequence a line, tokens by seq.tokens."""

    def __init__(self):
        super().__init__("text")

    def reads(self, cfg) -> set[str]:
        return {"data.path", "seq.length", "seq.test_share", "seq.tokens",
                *(("seq.vocab",) if cfg.seq.tokens == "ids" else ())}

    def check(self, cfg) -> None:
        if not cfg.data.path:
            raise ValueError("data.name=text needs data.path=FILE (one sequence a line)")
        path = Path(cfg.data.path).expanduser()
        if not path.is_file():
            raise ValueError(f"data.path {path} is not a file; give a text file, one sequence "
                             "a line")

    def load(self, cfg):
        from ganforge.data.tokens import text_data

        s = cfg.seq
        return text_data(Path(cfg.data.path).expanduser(), s.tokens, s.length, s.test_share,
                         s.vocab)

    def files(self, cfg) -> list[Path]:
        return [Path(cfg.data.path).expanduser()]

    def protocol(self, cfg) -> str:
        return f"text:{cfg.data.path}"


def data_sets() -> list[DataSet]:
    return [OracleData(), TokenData("names"), TextData()]
