"""Token sequences: SeqGAN's synthetic oracle, US census surnames and the user's text file.

    data.name=oracle   the synthetic-data protocol of SeqGAN (Yu et al. 2017): an LSTM oracle
                       (vocabulary seq.vocab, embedding seq.oracle_emb, hidden
                       seq.oracle_hidden, parameters ~ N(0, 1) drawn with seq.oracle_seed, or
                       read from data.oracle_path=FILE.npz) samples seq.train_size training and
                       seq.test_size held-out sequences of seq.length tokens (start token 0).
    data.name=names    the 88,799 surnames of the 1990 US census (the `names` package), one
                       lower-case character a token; seq.test_share held out.
    data.name=text     data.path=FILE: one sequence a line, tokens by seq.tokens: char (each
                       character), word (split at whitespace) or ids (integers in
                       0..seq.vocab-1, as `ganforge sample --out FILE.txt` writes for the oracle).

Text sequences end with <eos> (id 0, also the start token) and are padded with it to
seq.length; ids are used as they are. Every split is drawn with a fixed seed: the data do not
change with the run's seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ganforge.nets.sequence import GATES, SequenceLSTM

TOKEN_MODES = ("char", "word", "ids")
EOS = "<eos>"
ORACLE_KEYS = ("g_embeddings", *(f"{m}{g}" for g in GATES for m in "WUb"), "Wo", "bo")
SPLIT_SEED = 0


@dataclass
class TokenSet:
    """Sequences of token ids (N, T) and how to read them back."""

    train: torch.Tensor
    test: torch.Tensor
    vocab: int
    itos: list[str] | None  # id -> token text; None: the ids are the tokens (oracle, ids)
    joiner: str  # between tokens of a decoded text: "" (characters) or " " (words, ids)
    source: str  # what the sequences are, for the evaluation protocol
    oracle: SequenceLSTM | None = None

    @property
    def length(self) -> int:
        return self.train.shape[1]

    def decode(self, tokens: torch.Tensor) -> list[str]:
        """One line of text per sequence; text stops at the first <eos>."""
        lines = []
        for row in tokens.tolist():
            if self.itos is None:
                lines.append(" ".join(map(str, row)))
                continue
            row = row[: row.index(0)] if 0 in row else row
            lines.append(self.joiner.join(self.itos[i] for i in row))
        return lines


# ----------------------------------------------------------------------------- the oracle


def load_oracle(path: Path, length: int) -> SequenceLSTM:
    """The oracle LSTM of FILE.npz (the keys of ORACLE_KEYS, shapes as in the module doc of
    ganforge.nets.sequence), refusing missing keys and shapes that do not fit together."""
    from ganforge.metrics.fid import read_npz

    content = f"an oracle file holds arrays {', '.join(ORACLE_KEYS)}"
    if not path.is_file():
        raise ValueError(f"data.oracle_path {path} is not a file; {content}")
    arrays = read_npz(path, ORACLE_KEYS, content)
    vocab, emb = np.shape(arrays["g_embeddings"]) if np.ndim(arrays["g_embeddings"]) == 2 \
        else (0, 0)
    hidden = np.shape(arrays["Ui"])[0] if np.ndim(arrays["Ui"]) else 0
    want = {"g_embeddings": (vocab, emb), "Wo": (hidden, vocab), "bo": (vocab,)}
    for gate in GATES:
        want.update({f"W{gate}": (emb, hidden), f"U{gate}": (hidden, hidden),
                     f"b{gate}": (hidden,)})
    for key in ORACLE_KEYS:
        shape = tuple(np.shape(arrays[key]))
        if shape != want[key] or min(want[key]) < 1:
            raise ValueError(f"{path}: {key} has shape {shape}, but g_embeddings {vocab}x{emb} "
                             f"and Ui {hidden}x{hidden} need {key} of shape {want[key]}")
        if not np.isfinite(arrays[key]).all():
            raise ValueError(f"{path}: {key} holds NaN or infinite values")
    oracle = SequenceLSTM(vocab, emb, hidden, length)
    oracle.load_state_dict({k: torch.as_tensor(np.asarray(arrays[k], dtype=np.float32))
                            for k in ORACLE_KEYS})
    return oracle.eval().requires_grad_(False)


def oracle_data(cfg) -> TokenSet:
    s = cfg.seq
    g = torch.Generator().manual_seed(s.oracle_seed)
    if cfg.data.oracle_path:
        oracle = load_oracle(Path(cfg.data.oracle_path).expanduser(), s.length)
        source = f"oracle LSTM of {cfg.data.oracle_path}"
    else:
        oracle = SequenceLSTM(s.vocab, s.oracle_emb, s.oracle_hidden, s.length, std=1.0,
                              generator=g).eval().requires_grad_(False)
        source = (f"oracle LSTM, vocabulary {s.vocab}, embedding {s.oracle_emb}, hidden "
                  f"{s.oracle_hidden}, parameters ~ N(0, 1) from seed {s.oracle_seed}")
    with torch.no_grad():
        train = sample_in_batches(oracle, s.train_size, g)
        test = sample_in_batches(oracle, s.test_size, g)
    source += f"; {s.train_size} training and {s.test_size} held-out sequences of {s.length}"
    return TokenSet(train, test, oracle.vocab, None, " ", source, oracle)


def sample_in_batches(net: SequenceLSTM, n: int, generator: torch.Generator,
                      batch: int = 2000) -> torch.Tensor:
    uniforms = torch.rand(n, net.length, generator=generator)
    return torch.cat([net.sample(uniforms[i : i + batch]) for i in range(0, n, batch)])


# ----------------------------------------------------------------------------- text


def names_data(length: int, test_share: float) -> TokenSet:
    try:
        import names
    except ImportError:
        raise ValueError("data.name=names needs the `names` package (US census name lists): "
                         "pip install 'ganforge[text]'") from None
    path = Path(names.FILES["last"])
    words = [line.split()[0].lower() for line in path.read_text().splitlines() if line.strip()]
    return _encode(words, [list(w) for w in words], "", length, test_share, str(path),
                   f"{len(words)} US census surnames (1990, package names), characters")


def text_data(path: Path, mode: str, length: int, test_share: float, vocab: int) -> TokenSet:
    if mode not in TOKEN_MODES:
        raise ValueError(f"unknown seq.tokens {mode!r}; valid: {', '.join(TOKEN_MODES)}")
    if not path.is_file():
        raise ValueError(f"data.path {path} is not a file; give a text file, one sequence a line")
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    except UnicodeDecodeError as err:
        raise ValueError(f"data.path {path} is not UTF-8 text ({err.reason} at byte "
                         f"{err.start})") from None
    numbered = [(i + 1, line) for i, line in enumerate(lines) if line]
    if len(numbered) < 2:
        raise ValueError(f"data.path {path} holds {len(numbered)} sequence(s); give at least "
                         "2, one a line (empty lines are skipped)")
    split = (lambda s: list(s)) if mode == "char" else str.split
    tokens = [split(line) for _, line in numbered]
    where = f"{path} line"
    for (number, _), row in zip(numbered, tokens):
        if len(row) > length:
            raise ValueError(f"{where} {number} has {len(row)} tokens, more than "
                             f"seq.length={length}; raise seq.length or shorten the line")
    if mode == "ids":
        return _ids(numbered, tokens, vocab, length, test_share, where, path)
    return _encode([line for _, line in numbered], tokens, "" if mode == "char" else " ",
                   length, test_share, str(path), f"{path}, {mode} tokens")


def _ids(numbered, tokens, vocab: int, length: int, test_share: float, where: str,
         path: Path) -> TokenSet:
    rows = []
    for (number, _), row in zip(numbered, tokens):
        try:
            ids = [int(t) for t in row]
        except ValueError:
            raise ValueError(f"{where} {number}: seq.tokens=ids takes integers separated by "
                             f"spaces, got {' '.join(row)!r}") from None
        bad = [i for i in ids if not 0 <= i < vocab]
        if bad:
            raise ValueError(f"{where} {number}: token {bad[0]} is outside the vocabulary "
                             f"0..{vocab - 1} (seq.vocab={vocab})")
        if len(ids) != length:
            raise ValueError(f"{where} {number} has {len(ids)} ids; seq.tokens=ids takes "
                             f"sequences of exactly seq.length={length}")
        rows.append(ids)
    train, test = _split(torch.tensor(rows), test_share, str(path))
    return TokenSet(train, test, vocab, None, " ", f"{path}, token ids < {vocab}")


def _encode(texts: list[str], tokens: list[list[str]], joiner: str, length: int,
            test_share: float, where: str, source: str) -> TokenSet:
    """Ids by sorted vocabulary (<eos> = 0 first), padded with <eos> to `length`."""
    longest = max(range(len(tokens)), key=lambda i: len(tokens[i]))
    if len(tokens[longest]) > length:
        raise ValueError(f"{where}: {texts[longest]!r} has {len(tokens[longest])} tokens, more "
                         f"than seq.length={length}; raise seq.length")
    itos = [EOS, *sorted({t for row in tokens for t in row})]
    stoi = {t: i for i, t in enumerate(itos)}
    ids = torch.zeros(len(tokens), length, dtype=torch.long)
    for i, row in enumerate(tokens):
        ids[i, : len(row)] = torch.tensor([stoi[t] for t in row], dtype=torch.long)
    train, test = _split(ids, test_share, where)
    return TokenSet(train, test, len(itos), itos, joiner, source)


def _split(ids: torch.Tensor, test_share: float, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    n_test = int(round(len(ids) * test_share))
    if not 1 <= n_test <= len(ids) - 1:
        raise ValueError(f"{where}: {len(ids)} sequences leave no training or held-out set "
                         f"with seq.test_share={test_share}")
    order = torch.randperm(len(ids), generator=torch.Generator().manual_seed(SPLIT_SEED))
    return ids[order[n_test:]], ids[order[:n_test]]
