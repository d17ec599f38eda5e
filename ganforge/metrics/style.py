"""Scores of style transfer (Li et al. 2018; Luo et al. 2019, DualRL): rewrites of test sentences
into the other style, each stage a small function.

    style accuracy   the share of rewrites that a sentiment (style) classifier assigns to the
                     target style; the classifier: logistic regression on TF-IDF of word
                     unigrams and bigrams, trained on the training sentences of both styles
    ref-BLEU         corpus BLEU-4 against the human rewrites (one, or several per sentence)
    self-BLEU        corpus BLEU-4 against the sources (how much content is kept)
    perplexity       under an interpolated Kneser-Ney trigram model of the training sentences
                     (ganforge.metrics.ngram_lm): fluency
    G                sqrt(accuracy x ref-BLEU), both in percent

Every sentence is tokenised as the corpora are (ganforge.data.text_styles.tokenize).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ganforge.metrics.ngram_lm import KneserNeyLM
from ganforge.metrics.text import corpus_bleu

Sentence = Sequence[str]


class StyleClassifier:
    """P(style 1 | sentence): logistic regression (C = `c`) on TF-IDF (sublinear tf, words
    seen in >= 2 sentences) of word unigrams and bigrams."""

    def __init__(self, c: float = 4.0):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.c = c
        # the sentences come tokenised: the analyzer takes their words and adds the bigrams
        self.vectorizer = TfidfVectorizer(min_df=2, sublinear_tf=True,
                                          analyzer=_unigrams_and_bigrams)
        self.model = LogisticRegression(C=c, max_iter=2000)

    def fit(self, style0: Sequence[Sentence], style1: Sequence[Sentence]) -> StyleClassifier:
        features = self.vectorizer.fit_transform([*style0, *style1])
        labels = np.r_[np.zeros(len(style0), int), np.ones(len(style1), int)]
        self.model.fit(features, labels)
        return self

    def predict(self, sentences: Sequence[Sentence]) -> np.ndarray:
        """The style (0 or 1) of each sentence."""
        return self.model.predict(self.vectorizer.transform(list(sentences)))

    def protocol(self) -> str:
        return (f"logistic regression (C={self.c}) on TF-IDF of word 1- and 2-grams (sublinear "
                "tf, min_df 2), trained on the training sentences of both styles")


def _unigrams_and_bigrams(words: Sentence) -> list[str]:
    return [*words, *(f"{a} {b}" for a, b in zip(words, words[1:]))]


def style_accuracy(classifier: StyleClassifier, sentences: Sequence[Sentence],
                   target: int) -> float:
    """The share of `sentences` that the classifier reads as style `target`."""
    if not sentences:
        raise ValueError("style accuracy needs at least one sentence")
    return float((classifier.predict(sentences) == target).mean())


def transfer_scores(rewrites: Sequence[Sentence], sources: Sequence[Sentence], target: int,
                    classifier: StyleClassifier, lm: KneserNeyLM,
                    references: Sequence[Sequence[Sentence]] | None = None,
                    all_references: Sequence[Sequence[Sentence]] | None = None) -> dict:
    """The scores of `rewrites` of `sources` into style `target` (percentages, perplexity):
    acc, self_bleu, ppl, and with references ref_bleu (and multi_bleu against
    `all_references`, several human rewrites a sentence) and g."""
    if len(rewrites) != len(sources):
        raise ValueError(f"{len(rewrites)} rewrites of {len(sources)} sources")
    scores = {"acc": 100 * style_accuracy(classifier, rewrites, target),
              "self_bleu": 100 * corpus_bleu(rewrites, [[s] for s in sources]),
              "ppl": lm.perplexity(rewrites)}
    if references is not None:
        scores["ref_bleu"] = 100 * corpus_bleu(rewrites, references)
        scores["g"] = math.sqrt(scores["acc"] * scores["ref_bleu"])
    if all_references is not None:
        scores["multi_bleu"] = 100 * corpus_bleu(rewrites, all_references)
    return scores
