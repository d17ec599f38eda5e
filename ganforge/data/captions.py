"""Captioned digits: every mnist5k digit described in words that can be checked on its pixels.

A caption names the digit and the classes of its measured attributes
(ganforge.metrics.digit_attributes): thickness (thin / regular / thick), slant (leaning left /
upright / leaning right) and, in some wordings, size (small / large). The cut points of the
classes come from the training split. Each caption fills one of TEMPLATES with synonyms drawn
for it ("a bold 7, slanted to the right", "the number seven in a heavy hand, tilted right").

Held out, to measure generalisation (both fixed by the caption seed, 0 for every run):
  combinations  one (thickness, slant) pair of each digit among the four extreme ones (e.g.
                thick sevens leaning left): no training image of it is kept;
  wordings      HELD_OUT_TEMPLATES never caption a training image (their words all do).

Splits follow mnist5k's (400 / 100 per class). Training images carry CAPTIONS_PER_IMAGE
captions from the seen templates; test images as many, plus one in a held-out wording.
Captions are lower-case words; punctuation is dropped when text is read (`tokenize`).
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import torch

from ganforge.metrics.digit_attributes import AttributeCuts, attribute_cuts, bin_attributes, measure

NAME = "captioned-digits"
CAPTIONS_PER_IMAGE = 5
DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
THICKNESS_WORDS = (("thin", "light", "fine"), ("regular", "medium", "normal"),
                   ("thick", "bold", "heavy"))
SLANT_WORDS = (("leaning left", "slanted to the left", "tilted left"),
               ("upright", "standing straight", "not slanted"),
               ("leaning right", "slanted to the right", "tilted right"))
SIZE_WORDS = (("small", "little"), ("large", "big"))
# {t} thickness, {d} digit (name or numeral), {s} slant, {z} size
TEMPLATES = (
    "a {t} {d} {s}",
    "a {t} {d}, {s}",
    "the number {d} in a {t} hand, {s}",
    "a {z} {t} {d} {s}",
    "the digit {d}, {t} and {s}",
    "{s}, a {t} {d}",
    "a {z} {d} in a {t} hand, {s}",
)
HELD_OUT_TEMPLATES = (5, 6)
SEEN_TEMPLATES = tuple(i for i in range(len(TEMPLATES)) if i not in HELD_OUT_TEMPLATES)
PAD = "<pad>"


def tokenize(text: str) -> list[str]:
    """Lower-case words and numerals; everything else separates them. NFKC first, so that
    full-width or other compatibility forms ("ＴＷＯ", "２") read as the plain words."""
    return re.findall(r"[a-z0-9]+", unicodedata.normalize("NFKC", text).lower())


def _all_words() -> list[str]:
    phrases = [*DIGIT_NAMES, *(str(d) for d in range(10)), *TEMPLATES,
               *(w for group in THICKNESS_WORDS + SLANT_WORDS + SIZE_WORDS for w in group)]
    words = {w for p in phrases for w in tokenize(re.sub(r"\{.\}", " ", p))}
    return sorted(words)


class Vocabulary:
    """Word <-> id; id 0 pads. `encode` refuses what it cannot read, with the nearest words."""

    def __init__(self, words: list[str]):
        self.words = [PAD, *words]
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, text: str, length: int | None = None) -> torch.Tensor:
        """(L,) int64 ids of `text`, padded with 0 to `length` when given."""
        words = tokenize(text)
        if not words:
            raise ValueError(f"--text {text!r} has no words; give a caption such as "
                             "'a thin two leaning left'")
        unknown = [w for w in dict.fromkeys(words) if w not in self.index]
        if unknown:
            near = {w: ", ".join(difflib.get_close_matches(w, self.words[1:], 3, 0.5)) or "none"
                    for w in unknown}
            hints = "; ".join(f"{w!r} (closest: {near[w]})" for w in unknown)
            raise ValueError(f"--text: {'word' if len(unknown) == 1 else 'words'} outside the "
                             f"vocabulary of {len(self) - 1}: {hints}")
        ids = [self.index[w] for w in words]
        if length is not None:
            if len(ids) > length:
                raise ValueError(f"--text has {len(ids)} words; at most {length} are read")
            ids += [0] * (length - len(ids))
        return torch.tensor(ids, dtype=torch.long)

    def decode(self, ids: torch.Tensor) -> str:
        return " ".join(self.words[i] for i in ids.tolist() if i != 0)


VOCAB = Vocabulary(_all_words())


def _attribute_words() -> dict[str, dict[str, str]]:
    """attribute -> {word: the value it names}: every digit name and numeral, and each word of
    the thickness, slant and size phrases that belongs to one value only ("left", "upright";
    not "leaning" or "slanted", which several slants share)."""
    digits = {w: DIGIT_NAMES[d] for d in range(10) for w in (DIGIT_NAMES[d], str(d))}
    attributes = {"digit": digits}
    for name, groups in (("thickness", THICKNESS_WORDS), ("slant", SLANT_WORDS),
                         ("size", SIZE_WORDS)):
        values: dict[str, set[str]] = {}
        for group in groups:
            for phrase in group:
                for word in tokenize(phrase):
                    values.setdefault(word, set()).add(group[0])
        attributes[name] = {w: v.pop() for w, v in values.items() if len(v) == 1}
    return attributes


ATTRIBUTE_WORDS = _attribute_words()


def read_caption(text: str, length: int | None = None) -> torch.Tensor:
    """A caption a user gives (`--text`), as word ids: every word in the vocabulary, exactly
    one digit named, and at most one value of each attribute (a thickness, a slant, a size);
    refused in one line naming what is wrong."""
    ids = VOCAB.encode(text, length)
    words = tokenize(text)
    named = {attr: list(dict.fromkeys(table[w] for w in words if w in table))
             for attr, table in ATTRIBUTE_WORDS.items()}
    problems = []
    if not named["digit"]:
        problems.append("it names no digit (zero to nine, or 0 to 9)")
    for attr, values in named.items():
        if len(values) > 1:
            plural = {"digit": "digits", "thickness": "thicknesses"}.get(attr, attr + "s")
            problems.append(f"it names {len(values)} {plural} ({', '.join(values)})")
    if problems:
        raise ValueError(f"--text {text!r}: {'; '.join(problems)}; a caption describes one digit "
                         "with at most one thickness, slant and size, e.g. "
                         "'a thin two leaning left'")
    return ids


def describe(digit: int, bins: tuple[int, int, int], template: int, rng: np.random.Generator) -> str:
    """One caption of a digit with attribute classes bins = (thickness, slant, size), synonyms
    drawn from `rng`."""
    pick = lambda options: options[rng.integers(len(options))]  # noqa: E731
    d = pick((DIGIT_NAMES[digit], str(digit)))
    return TEMPLATES[template].format(t=pick(THICKNESS_WORDS[bins[0]]), d=d,
                                      s=pick(SLANT_WORDS[bins[1]]), z=pick(SIZE_WORDS[bins[2]]))


def max_length() -> int:
    """Words in the longest caption any template and synonyms make."""
    longest = lambda groups: max(len(tokenize(w)) for g in groups for w in g)  # noqa: E731
    fills = {"t": longest(THICKNESS_WORDS), "d": 1, "s": longest(SLANT_WORDS),
             "z": longest(SIZE_WORDS)}
    return max(len(tokenize(re.sub(r"\{.\}", " ", t))) + sum(fills[k] for k in re.findall(
        r"\{(.)\}", t)) for t in TEMPLATES)


def held_out_combinations(seed: int = 0) -> dict[int, tuple[int, int]]:
    """digit -> the (thickness, slant) classes held out for it: one of the four extremes."""
    rng = np.random.default_rng([seed, 1])
    extremes = [(0, 0), (0, 2), (2, 0), (2, 2)]
    return {d: extremes[int(rng.integers(4))] for d in range(10)}


@dataclass
class CaptionedDigits:
    """One split. images (N, 1, 28, 28) in [-1, 1]; labels (N,); bins (N, 3) thickness, slant,
    size classes; tokens (N, K, L) caption ids (0 pads); held_out_tokens (N, L): test only, one
    caption each in a held-out wording; captions: the text of tokens."""

    images: torch.Tensor
    labels: torch.Tensor
    bins: torch.Tensor
    tokens: torch.Tensor
    captions: list[list[str]]
    cuts: AttributeCuts
    held_out_tokens: torch.Tensor | None = None

    @property
    def vocab(self) -> Vocabulary:
        return VOCAB


def encode_all(texts: list[str]) -> torch.Tensor:
    length = max_length()
    return torch.stack([VOCAB.encode(t, length) for t in texts])


@functools.lru_cache(maxsize=4)
def load_captioned_digits(split: str = "train", seed: int = 0) -> CaptionedDigits:
    """The captioned mnist5k digits of `split` ("train" without its held-out combinations, or
    "test"), the same for the same seed."""
    from ganforge.data.images import load_image_set

    if split not in ("train", "test"):
        raise ValueError(f"captioned digits have splits train and test, not {split!r}")
    train = load_image_set("mnist5k", "train", 28, 1)
    cuts = attribute_cuts(measure(train.images))
    data = train if split == "train" else load_image_set("mnist5k", "test", 28, 1)
    labels = data.labels
    bins = bin_attributes(measure(data.images), cuts)
    images = data.images
    if split == "train":
        held = held_out_combinations(seed)
        keep = np.array([held[int(y)] != (int(b[0]), int(b[1])) for y, b in zip(labels, bins)])
        images, labels, bins = images[keep], labels[keep], bins[keep]
    rng = np.random.default_rng([seed, 0 if split == "train" else 2])
    captions = [[describe(int(y), tuple(b), int(rng.choice(SEEN_TEMPLATES)), rng)
                 for _ in range(CAPTIONS_PER_IMAGE)] for y, b in zip(labels, bins)]
    tokens = torch.stack([encode_all(c) for c in captions])
    held_out = None
    if split == "test":
        texts = [describe(int(y), tuple(b), int(rng.choice(HELD_OUT_TEMPLATES)), rng)
                 for y, b in zip(labels, bins)]
        held_out = encode_all(texts)
    return CaptionedDigits(images, labels, torch.from_numpy(bins), tokens, captions, cuts,
                           held_out)


def drop_words(tokens: torch.Tensor, rate: float, generator: torch.Generator) -> torch.Tensor:
    """(N, L) word ids with each word dropped with probability `rate` and the rest moved left,
    in order, over the padding; a caption that would lose every word keeps them all."""
    if rate == 0:
        return tokens
    words = tokens != 0
    keep = words & (torch.rand(tokens.shape, generator=generator) >= rate)
    keep = torch.where(keep.any(1, keepdim=True), keep, words)
    order = torch.sort((~keep).to(torch.int8), dim=1, stable=True).indices  # kept words first
    return torch.where(keep, tokens, 0).gather(1, order)


def plain_caption(digit: int, thickness: int, slant: int) -> str:
    """The first template with the first synonyms: 'a thin two leaning left'."""
    return TEMPLATES[0].format(t=THICKNESS_WORDS[thickness][0], d=DIGIT_NAMES[digit],
                               s=SLANT_WORDS[slant][0])


def grid_caption(row: int) -> str:
    """The caption of row `row` of sample grids: digit row mod 10, thickness row // 10 mod 3,
    slant row // 30 mod 3."""
    return plain_caption(row % 10, row // 10 % 3, row // 30 % 3)
