"""The scores of text style transfer: corpus BLEU against hand-counted n-grams and nltk, the
Kneser-Ney language model against its definition, the style classifier on corpora whose
styles differ by known words."""

from __future__ import annotations

import math
import random

import pytest
from nltk.translate.bleu_score import corpus_bleu as nltk_corpus_bleu

from ganforge.metrics.ngram_lm import EOS, KneserNeyLM
from ganforge.metrics.style import StyleClassifier, style_accuracy, transfer_scores
from ganforge.metrics.text import corpus_bleu


def test_corpus_bleu_by_hand():
    # h1 = "the cat sat" vs r1 = "the cat sat down"; h2 = "a dog" vs r2 = "a big dog"
    hyps = [["the", "cat", "sat"], ["a", "dog"]]
    refs = [[["the", "cat", "sat", "down"]], [["a", "big", "dog"]]]
    # unigrams 5/5, bigrams (the cat, cat sat | a dog) 2/3, trigrams (the cat sat) 1/1;
    # c = 5, r = 4 + 3 = 7: BP = exp(1 - 7/5)
    want = math.exp(1 - 7 / 5) * math.exp((math.log(1) + math.log(2 / 3) + math.log(1)) / 3)
    assert abs(corpus_bleu(hyps, refs, order=3) - want) < 1e-12
    assert corpus_bleu(hyps, refs, order=4) == 0.0  # no 4-gram matches: no smoothing


def test_corpus_bleu_clips_to_the_best_reference_and_takes_the_closest_length():
    hyps = [["a", "a", "a", "b"]]
    refs = [[["a", "b", "c", "d", "e"], ["a", "a", "x"]]]  # a clipped at 2 (second reference)
    # unigrams: a min(3, 2) + b 1 = 3 of 4; bigrams: a a 1 (of 2 counted), a b 1: 2 of 3;
    # closest reference length to 4: 3 and 5 tie at 1, the shorter wins: 4 > 3, BP = 1
    want = math.exp((math.log(3 / 4) + math.log(2 / 3)) / 2)
    assert abs(corpus_bleu(hyps, refs, order=2) - want) < 1e-12


def test_corpus_bleu_agrees_with_nltk_on_random_corpora():
    rng = random.Random(0)
    words = "the food was good bad great awful service staff nice rude".split()
    for _ in range(5):
        hyps, refs = [], []
        for _ in range(30):  # references: the hypothesis with words replaced, dropped or added
            hyp = rng.choices(words, k=rng.randint(4, 12))
            hyps.append(hyp)
            refs.append([[rng.choice(words) if rng.random() < 0.3 else w for w in hyp]
                         [: len(hyp) + rng.randint(-2, 0)] + rng.choices(words, k=rng.randint(0, 2))
                         for _ in range(rng.randint(1, 3))])
        want = nltk_corpus_bleu(refs, hyps)
        assert want > 0.1 and abs(corpus_bleu(hyps, refs) - want) < 1e-12


CORPUS = [["the", "food", "was", "good"], ["the", "food", "was", "bad"],
          ["service", "was", "good"], ["the", "staff", "was", "nice"]]


@pytest.mark.parametrize("order", [1, 2, 3])
def test_kneser_ney_probabilities_sum_to_one_after_any_history(order):
    lm = KneserNeyLM(CORPUS, order=order)
    for history in ([], ["the"], ["the", "food"], ["food", "was"], ["never", "seen"], ["was"]):
        total = math.fsum(lm.prob(w, history) for w in lm.vocab)
        assert abs(total - 1) < 1e-12, (history, total)


def test_kneser_ney_bigram_by_hand():
    lm = KneserNeyLM(CORPUS, order=2, discount=0.5)
    # continuation counts N1+(. w): the=1 (<s>), food=1, was=3 (food, service, staff), good=1
    # (was), bad=1, service=1, staff=1, nice=1, </s>=3 (good, bad, nice): total 13 over 9 kinds;
    # V = 9 words + </s>... the vocabulary: 8 words, </s>, <unk> = 10
    p_was_unigram = (3 - 0.5) / 13 + 0.5 * 9 / 13 / 10
    # after "food": c(food was) = 2 of c(food .) = 2, one follower
    want = (2 - 0.5) / 2 + 0.5 * 1 / 2 * p_was_unigram
    assert abs(lm.prob("was", ["food"]) - want) < 1e-12
    assert lm.prob("zebra", ["food"]) == lm.prob("<unk>", ["food"]) > 0
    lp, n = lm.log_prob(["service", "was", "good"])
    assert n == 4 and abs(lp - sum(math.log(lm.prob(w, h)) for w, h in [
        ("service", []), ("was", ["service"]), ("good", ["was"]), (EOS, ["good"])])) < 1e-12


def test_perplexity_is_lower_on_training_like_text():
    lm = KneserNeyLM(CORPUS, order=3)
    assert lm.perplexity([["the", "food", "was", "good"]]) < lm.perplexity([["good", "was", "the"]])


def two_styles(n: int, seed: int):
    """Sentences that share their frame and differ in one word: style 0 says bad words."""
    rng = random.Random(seed)
    frames = [["the", "{}", "food"], ["service", "was", "{}"], ["a", "{}", "place", "overall"]]
    sides = []
    for words in (["awful", "terrible", "bad"], ["great", "lovely", "good"]):
        sides.append([[words[rng.randrange(3)] if t == "{}" else t for t in rng.choice(frames)]
                      for _ in range(n)])
    return sides


def test_the_style_classifier_reads_the_style_words():
    train0, train1 = two_styles(200, 0)
    test0, test1 = two_styles(50, 1)
    classifier = StyleClassifier().fit(train0, train1)
    assert style_accuracy(classifier, test0, 0) == 1.0
    assert style_accuracy(classifier, test1, 1) == 1.0
    lm = KneserNeyLM(train0 + train1)
    flipped = [[{"awful": "great", "terrible": "lovely", "bad": "good"}.get(w, w) for w in s]
               for s in test0]
    scores = transfer_scores(flipped, test0, 1, classifier, lm, [[s] for s in flipped])
    assert scores["acc"] == 100.0 and scores["ref_bleu"] == pytest.approx(100.0)
    assert scores["g"] == pytest.approx(100.0) and scores["self_bleu"] < 100.0
    copied = transfer_scores(test0, test0, 1, classifier, lm)
    assert copied["acc"] == 0.0 and copied["self_bleu"] == pytest.approx(100.0)
