"""Style markers by salience and the lexicon between styles, on corpora whose style words are
known: the two styles share their frames and differ in one word each."""

from __future__ import annotations

import random

import pytest

from ganforge.data.style_markers import marker_lexicon, rewrite, salience, style_markers


def test_salience_by_hand():
    sides = [[["bad", "food"], ["bad", "bad", "place"], ["food"]], [["good", "food"]]]
    s0, s1 = salience(sides)
    # "bad": in 2 of 3 sentences of style 0, none of style 1: ((2 + 1) / 3) / ((0 + 1) / 1)
    assert s0["bad"] == pytest.approx(1.0)
    # "food": 2 of 3 against 1 of 1: ((2 + 1) / 3) / ((1 + 1) / 1)
    assert s0["food"] == pytest.approx(0.5)
    assert s1["good"] == pytest.approx(((1 + 1) / 1) / ((0 + 1) / 3))


FRAMES = [["the", "{}", "food", "."], ["service", "was", "{}", "!"],
          ["a", "{}", "place", "to", "eat", "."], ["we", "had", "a", "{}", "time", "."]]
PAIRS = [("awful", "great"), ("rude", "friendly"), ("cold", "warm")]


def corpora(n: int = 400, seed: int = 0):
    """Each antonym pair keeps to frames of its own, so contexts tell the pairs apart."""
    rng = random.Random(seed)
    sides = [[], []]
    for _ in range(n):
        k = rng.randrange(len(PAIRS))
        frame = FRAMES[k] if rng.random() < 0.8 else rng.choice(FRAMES)
        for s in (0, 1):
            sides[s].append([PAIRS[k][s] if t == "{}" else t for t in frame])
    return sides


def test_the_markers_are_the_style_words_and_the_lexicon_pairs_them():
    sides = corpora()
    markers = style_markers(sides, gamma=5.0)
    assert markers == ({w for w, _ in PAIRS}, {w for _, w in PAIRS})
    to_1, to_0 = marker_lexicon(sides, gamma=5.0)
    assert to_1 == dict(PAIRS) and to_0 == {b: a for a, b in PAIRS}
    assert rewrite(["the", "awful", "food", "."], to_1) == ["the", "great", "food", "."]


def test_no_markers_are_refused_with_the_threshold():
    same = [[["the", "food"]] * 10, [["the", "food"]] * 10]
    with pytest.raises(ValueError, match="no style markers at salience >= 5.0 in both styles"):
        marker_lexicon(same)
