"""Scoring of style-transfer rewrites (ganforge.eval.styles): the cached scorers, and the rows
over both directions against their definitions."""

from __future__ import annotations

import math

import pytest

from ganforge.data.text_styles import load_style_corpus
from ganforge.eval import styles
from ganforge.metrics.style import StyleClassifier
from ganforge.metrics.text import corpus_bleu


def test_the_scorers_are_trained_once_then_read_from_the_cache(style_corpus, tmp_path,
                                                              monkeypatch):
    corpus = load_style_corpus(style_corpus)
    classifier, lm = styles.scorers(corpus, tmp_path)
    cached = list((tmp_path / "styles").glob("*.pkl"))
    assert len(cached) == 1

    def refuse(*args):
        raise AssertionError("trained again")

    monkeypatch.setattr(StyleClassifier, "fit", refuse)
    again, _ = styles.scorers(corpus, tmp_path)
    sentences = corpus.test[0] + corpus.test[1]
    assert list(again.predict(sentences)) == list(classifier.predict(sentences))


def test_a_corrupt_cache_file_is_rebuilt_with_a_warning(style_corpus, tmp_path, capsys):
    corpus = load_style_corpus(style_corpus)
    styles.scorers(corpus, tmp_path)
    cached = next((tmp_path / "styles").glob("*.pkl"))
    cached.write_bytes(b"not a pickle")
    classifier, _ = styles.scorers(corpus, tmp_path)
    assert "is unreadable; training the scorers again" in capsys.readouterr().err
    assert classifier.predict([["the", "food", "was", "good", "."]])[0] == 1
    assert cached.read_bytes() != b"not a pickle"


def test_the_pooled_row_weighs_each_direction_by_its_sentences(style_corpus):
    corpus = load_style_corpus(style_corpus)
    classifier, lm = styles.scorers(corpus, None)
    # style 0 rewritten perfectly (the references), style 1 copied: accuracy 100 % and 0 %
    rewrites = [[list(r) for r in corpus.references[0]], [list(x) for x in corpus.test[1]]]
    rows = styles.score_rewrites(rewrites, corpus, classifier, lm)
    assert rows["0->1"]["acc"] == 100.0 and rows["1->0"]["acc"] == 0.0
    assert rows["0->1"]["ref_bleu"] == pytest.approx(100.0)
    both = rows["both"]
    assert both["acc"] == pytest.approx(50.0)  # 8 and 8 test sentences
    refs = [[r] for r in corpus.references[0] + corpus.references[1]]
    assert both["ref_bleu"] == pytest.approx(100 * corpus_bleu(rewrites[0] + rewrites[1], refs))
    assert abs(both["g"] - math.sqrt(both["acc"] * both["ref_bleu"])) < 1e-9
    assert both["source_acc"] == 100.0
