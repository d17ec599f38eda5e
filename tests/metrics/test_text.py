"""BLEU, self-BLEU and novelty against a hand-worked example and against nltk's sentence_bleu
(smoothing method 1), the independent computation the text GAN papers use."""

from __future__ import annotations

import math
import random

import pytest

from ganforge.metrics.text import bleu, novelty, self_bleu


def test_bleu_of_a_hand_worked_example():
    # hyp "aab" vs ref "abc": unigrams a (2, clipped to 1) and b: p1 = 2/3; bigrams aa (0),
    # ab (1): p2 = 1/2; equal lengths: BP = 1. BLEU-2 = sqrt(2/3 * 1/2); the one trigram aab
    # is unmatched: p3 = 0.1 / 1 (smoothing method 1), BLEU-3 = (1/3 * 0.1)^(1/3)
    scores = bleu(["aab"], ["abc"], (2, 3))
    assert abs(scores[2] - math.sqrt(1 / 3)) < 1e-12
    assert abs(scores[3] - (1 / 30) ** (1 / 3)) < 1e-12
    # a short hypothesis: "ab" against "abc" matches everything, BP = exp(1 - 3/2)
    assert abs(bleu(["ab"], ["abc"], (2,))[2] - math.exp(-0.5)) < 1e-12
    # the closest reference length wins, the shorter on a tie: "ab" vs "a" and "abc" -> 1,
    # so BP = 1 (with 3 it would be exp(-1/2)); every n-gram matches
    assert abs(bleu(["ab"], ["a", "abc"], (2,))[2] - 1.0) < 1e-12
    assert abs(bleu(["zz"], ["abc"], (2,))[2] - 0.0) < 1e-12  # no unigram matches: 0


def random_corpus(rng: random.Random, n: int, alphabet: str = "abcde") -> list[list[str]]:
    return [[rng.choice(alphabet) for _ in range(rng.randint(1, 9))] for _ in range(n)]


def test_bleu_equals_nltk_sentence_bleu_averaged_over_hypotheses():
    nltk_bleu = pytest.importorskip("nltk.translate.bleu_score")
    smooth = nltk_bleu.SmoothingFunction().method1
    rng = random.Random(0)
    hyps, refs = random_corpus(rng, 40), random_corpus(rng, 60)
    ours = bleu(hyps, refs, (2, 3, 4, 5))
    for n in (2, 3, 4, 5):
        weights = (1.0 / n,) * n
        theirs = sum(nltk_bleu.sentence_bleu(refs, h, weights, smoothing_function=smooth)
                     for h in hyps) / len(hyps)
        assert abs(ours[n] - theirs) < 1e-12


def test_self_bleu_equals_nltk_against_all_other_samples():
    nltk_bleu = pytest.importorskip("nltk.translate.bleu_score")
    smooth = nltk_bleu.SmoothingFunction().method1
    rng = random.Random(1)
    samples = random_corpus(rng, 30, "abc")
    samples += [samples[0]] * 3  # duplicates: each copy finds the others
    ours = self_bleu(samples, (2, 3, 4))
    for n in (2, 3, 4):
        weights = (1.0 / n,) * n
        theirs = sum(nltk_bleu.sentence_bleu(samples[:i] + samples[i + 1 :], s, weights,
                                             smoothing_function=smooth)
                     for i, s in enumerate(samples)) / len(samples)
        assert abs(ours[n] - theirs) < 1e-12


def test_novelty_is_the_share_of_samples_outside_the_training_set():
    assert abs(novelty(["ab", "cd", "ab", "x"], ["ab", "yz"]) - 0.5) < 1e-12
