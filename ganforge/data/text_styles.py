"""Two-style corpora for text style transfer (negative <-> positive reviews, ...), in the layout
of the standard benchmarks (Shen et al. 2017; Li et al. 2018): in one folder,

    PREFIX.train.0, PREFIX.train.1   training sentences of style 0 and style 1, one a line,
                                     tokens separated by spaces (no pairs between the files)
    PREFIX.dev.0/.1, PREFIX.test.0/.1   optional held-out sentences
    reference.0, reference.1          optional: `source<TAB>human rewrite in the other style`
                                     for each line of PREFIX.test.0 / .1, in order

Text read from any other source (a user's sentence, a reference, a published system's rewrite)
goes through `tokenize`, which splits as the corpus is split: lower case, punctuation and the
clitics 's 're 've 'd 'll 'm n't apart, digits as _num_.

The vocabulary is the training files' words seen at least `min_count` times, after the special
tokens <pad> (0), <unk> (1), <bos> (2) and <eos> (3); sentences are cut to `max_len` tokens.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch

SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")
PAD, UNK, BOS, EOS = range(4)
STYLES = (0, 1)

_PUNCTUATION = re.compile(r"([.,!?;:()\"])")
_NOT = re.compile(r"n't\b")
_CLITIC = re.compile(r"(?<=\w)'(s|re|ve|d|ll|m)\b")
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")


def tokenize(text: str) -> list[str]:
    """Words as the corpora write them: "It's 5 stars!" -> ["it", "'s", "_num_", "stars", "!"]."""
    text = text.lower().replace("\u2019", "'").replace("`", "'")
    text = _DIGITS.sub(" _num_ ", text)
    text = _PUNCTUATION.sub(r" \1 ", text)
    text = _NOT.sub(" n't", text)
    text = _CLITIC.sub(r" '\1", text)
    return text.split()


def read_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 text file (newline stripped), refused in one line naming the file."""
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not UTF-8 text ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise ValueError(f"{path} cannot be read ({err.strerror})") from None


def read_pairs(path: Path) -> list[tuple[str, str]]:
    """`source<TAB>rewrite[<TAB>...]` lines, as the references and published systems' outputs
    are written."""
    pairs = []
    for number, line in enumerate(read_lines(path), 1):
        parts = line.split("\t")
        if len(parts) < 2:
            raise ValueError(f"{path} line {number} is not source<TAB>rewrite")
        pairs.append((parts[0].strip(), parts[1].strip()))
    return pairs


@dataclass
class StyleCorpus:
    """Tokenised sentences of each style, by split; references[s][i] are the human rewrites
    of test[s][i] into the other style (empty when the folder has none)."""

    folder: Path
    prefix: str
    train: tuple[list[list[str]], list[list[str]]]
    dev: tuple[list[list[str]], list[list[str]]] | None
    test: tuple[list[list[str]], list[list[str]]] | None
    references: tuple[list[list[str]], list[list[str]]] | None
    files: list[Path] = field(default_factory=list)


def corpus_files(folder: Path, prefix: str) -> dict[str, Path]:
    """Every file of the layout that exists in `folder`, by role ("train.0", "reference.1")."""
    roles = {f"{split}.{s}": folder / f"{prefix}.{split}.{s}"
             for split in ("train", "dev", "test") for s in STYLES}
    roles.update({f"reference.{s}": folder / f"reference.{s}" for s in STYLES})
    return {role: path for role, path in roles.items() if path.is_file()}


def check_corpus_folder(folder: Path, prefix: str) -> None:
    """Refuse a folder that lacks a training file of either style (cheap: names only)."""
    if not folder.is_dir():
        raise ValueError(f"data.path={folder} is not a folder; give one holding "
                         f"{prefix}.train.0 and {prefix}.train.1")
    found = corpus_files(folder, prefix)
    for s in STYLES:
        if f"train.{s}" not in found:
            raise ValueError(f"{folder / f'{prefix}.train.{s}'} is missing: a two-style corpus "
                             f"needs {prefix}.train.0 and {prefix}.train.1 (data.prefix={prefix})")
    for split in ("dev", "test"):
        if (f"{split}.0" in found) != (f"{split}.1" in found):
            have = 0 if f"{split}.0" in found else 1
            raise ValueError(f"{folder / f'{prefix}.{split}.{have}'} has no other side "
                             f"{prefix}.{split}.{1 - have}: give both or neither")


def load_style_corpus(folder: Path, prefix: str = "sentiment") -> StyleCorpus:
    """The corpus in `folder` (see the module docstring), checked."""
    check_corpus_folder(folder, prefix)
    found = corpus_files(folder, prefix)

    def side(role: str) -> list[list[str]]:
        lines = [line.split() for line in read_lines(found[role])]
        sentences = [words for words in lines if words]
        if not sentences:
            raise ValueError(f"{found[role]} holds no sentence; each style needs some")
        return sentences

    def split(name: str):
        return (side(f"{name}.0"), side(f"{name}.1")) if f"{name}.0" in found else None

    train, dev, test = split("train"), split("dev"), split("test")
    references = None
    if "reference.0" in found or "reference.1" in found:
        if test is None:
            raise ValueError(f"{folder} has reference files but no {prefix}.test.0/.1 for them "
                             "to refer to")
        references = tuple(_references(found, folder, s, test[s]) for s in STYLES)
    return StyleCorpus(folder, prefix, train, dev, test, references, sorted(found.values()))


def _references(found: dict[str, Path], folder: Path, style: int,
                sources: list[list[str]]) -> list[list[str]]:
    path = found.get(f"reference.{style}")
    if path is None:
        raise ValueError(f"{folder / f'reference.{style}'} is missing: give both reference files "
                         "or neither")
    pairs = read_pairs(path)
    if len(pairs) != len(sources):
        raise ValueError(f"{path} has {len(pairs)} lines but the test file of style {style} has "
                         f"{len(sources)}: line i must rewrite test sentence i")
    for number, ((source, _), want) in enumerate(zip(pairs, sources), 1):
        if tokenize(source) != tokenize(" ".join(want)):
            raise ValueError(f"{path} line {number}: the source {source!r} is not test sentence "
                             f"{number} ({' '.join(want)!r})")
    return [tokenize(rewrite) for _, rewrite in pairs]


class Vocabulary:
    """Word <-> id: the special tokens, then the training words of count >= min_count, most
    frequent first (ties alphabetical)."""

    def __init__(self, sentences, min_count: int = 1):
        counts = Counter(w for sentence in sentences for w in sentence)
        kept = sorted((w for w, c in counts.items() if c >= min_count and w not in SPECIALS),
                      key=lambda w: (-counts[w], w))
        self.itos = [*SPECIALS, *kept]
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, words: list[str], max_len: int) -> torch.Tensor:
        """(max_len + 1,) ids: the first max_len words, <eos>, then <pad>."""
        ids = [self.stoi.get(w, UNK) for w in words[:max_len]] + [EOS]
        return torch.tensor(ids + [PAD] * (max_len + 1 - len(ids)), dtype=torch.long)

    def decode(self, ids) -> list[str]:
        """The words up to the first <eos> (padding and <bos> dropped)."""
        words = []
        for i in ids.tolist() if hasattr(ids, "tolist") else ids:
            if i == EOS:
                break
            if i not in (PAD, BOS):
                words.append(self.itos[i])
        return words
