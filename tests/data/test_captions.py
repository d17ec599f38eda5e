"""Captioned digits: deterministic, saying what was measured, holding out what they claim."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from ganforge.data import captions as c
from ganforge.metrics.digit_attributes import bin_attributes, measure


def template_pattern(template: int) -> re.Pattern:
    """A regex of every caption TEMPLATES[template] makes, with groups t, d, s, z."""
    words = lambda groups: "|".join(w for g in groups for w in g)  # noqa: E731
    fills = {"t": words(c.THICKNESS_WORDS), "s": words(c.SLANT_WORDS),
             "z": words(c.SIZE_WORDS), "d": "|".join([*c.DIGIT_NAMES, *map(str, range(10))])}
    text = " ".join(c.tokenize(c.TEMPLATES[template].replace("{", " {").replace("}", "} ")))
    return re.compile("^" + re.sub(r"\b([tdsz])\b", lambda m: f"(?P<{m[1]}>{fills[m[1]]})",
                                   text.replace("{", "").replace("}", "")) + "$")


def parse(caption: str) -> tuple[int, dict[str, str]]:
    """(template index, the words filling it) of a caption."""
    text = " ".join(c.tokenize(caption))
    for i in range(len(c.TEMPLATES)):
        found = template_pattern(i).match(text)
        if found:
            return i, found.groupdict()
    raise AssertionError(f"no template makes {caption!r}")


def classes(words: dict[str, str]) -> tuple[int, int, int | None]:
    """(digit, thickness class, slant class) that the words of a caption state."""
    digit = int(words["d"]) if words["d"].isdigit() else c.DIGIT_NAMES.index(words["d"])
    find = lambda groups, w: next(i for i, g in enumerate(groups) if w in g)  # noqa: E731
    return digit, find(c.THICKNESS_WORDS, words["t"]), find(c.SLANT_WORDS, words["s"])


@pytest.fixture(scope="module")
def train():
    return c.load_captioned_digits("train")


@pytest.fixture(scope="module")
def test():
    return c.load_captioned_digits("test")


def test_captions_are_deterministic():
    rng_a, rng_b = np.random.default_rng([0, 0]), np.random.default_rng([0, 0])
    a = [c.describe(d % 10, (d % 3, d // 3 % 3, d % 2), d % 5, rng_a) for d in range(200)]
    b = [c.describe(d % 10, (d % 3, d // 3 % 3, d % 2), d % 5, rng_b) for d in range(200)]
    assert a == b and len(set(a)) > 100
    assert c.held_out_combinations(0) == c.held_out_combinations(0)
    first = c.load_captioned_digits("test").tokens.clone()
    c.load_captioned_digits.cache_clear()
    assert torch.equal(c.load_captioned_digits("test").tokens, first)


def test_every_caption_states_the_label_and_measured_classes(train, test):
    for split in (train, test):
        bins = bin_attributes(measure(split.images), split.cuts)
        assert np.array_equal(bins, split.bins.numpy())
        for i in range(0, len(split.captions), 37):
            for caption in split.captions[i]:
                _, words = parse(caption)
                assert classes(words) == (int(split.labels[i]), bins[i, 0], bins[i, 1]), caption
                if "z" in words:
                    assert words["z"] in c.SIZE_WORDS[bins[i, 2]]
                assert c.VOCAB.decode(c.VOCAB.encode(caption)) == " ".join(c.tokenize(caption))


def test_held_out_combinations_and_wordings_never_reach_training(train, test):
    held = c.held_out_combinations()
    combos = {(int(y), int(b[0]), int(b[1])) for y, b in zip(train.labels, train.bins)}
    assert not any((d, *held[d]) in combos for d in range(10))
    assert len(combos) == 80  # the other 8 of the 9 (thickness, slant) pairs of every digit
    seen_words = set()
    for caps in train.captions:
        for caption in caps:
            assert parse(caption)[0] in c.SEEN_TEMPLATES
            seen_words.update(c.tokenize(caption))
    for ids, y, b in zip(test.held_out_tokens[::7], test.labels[::7], test.bins[::7]):
        template, words = parse(c.VOCAB.decode(ids))
        assert template in c.HELD_OUT_TEMPLATES
        assert classes(words) == (int(y), int(b[0]), int(b[1]))
    # a held-out wording is a new arrangement of known words, not new words
    every_held_out = {w for ids in test.held_out_tokens for w in c.VOCAB.decode(ids).split()}
    assert every_held_out <= seen_words


def test_unknown_words_and_empty_text_are_refused_with_the_nearest_words():
    with pytest.raises(ValueError, match=r"'thinn' \(closest: thin.*'lft' \(closest: left"):
        c.VOCAB.encode("a thinn two leaning lft")
    with pytest.raises(ValueError, match="has no words"):
        c.VOCAB.encode("  ,, ")
    assert c.VOCAB.decode(c.VOCAB.encode("A thin 2, leaning LEFT", 8)) == "a thin 2 leaning left"


def test_word_dropout_keeps_the_order_of_the_words_it_keeps_and_never_empties_a_caption():
    tokens = torch.tensor([[5, 6, 7, 8, 0, 0], [9, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6]])
    assert c.drop_words(tokens, 0.0, torch.Generator()) is tokens
    rate, kept = 0.3, []
    g = torch.Generator().manual_seed(0)
    for _ in range(2000):
        out = c.drop_words(tokens, rate, g)
        assert out.shape == tokens.shape
        for row, before in zip(out, tokens):
            words = row[row != 0].tolist()
            assert words and (row[len(words):] == 0).all()  # packed left over the padding
            original = before[before != 0].tolist()
            it = iter(original)
            assert all(w in it for w in words)  # a subsequence: order kept
        kept.append((out[2] != 0).sum().item())
    # the full row keeps Binomial(6, 0.7) words (all 6 when all would go: p = 0.3^6, negligible)
    assert abs(np.mean(kept) - 6 * (1 - rate)) < 0.1
