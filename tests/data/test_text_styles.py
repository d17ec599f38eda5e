"""Two-style corpora (data.name=text-styles): the layout, the refusals that name the file and
the fault, the vocabulary, and the stream of token ids of each style."""

from __future__ import annotations

import pytest
import torch

from ganforge.config import load_config
from ganforge.data import build_data, find_data_set
from ganforge.data.text_styles import EOS, PAD, UNK, Vocabulary, load_style_corpus, tokenize


def test_text_is_split_as_the_corpora_are():
    assert tokenize("It's 5 stars, didn't expect it!") == \
        ["it", "'s", "_num_", "stars", ",", "did", "n't", "expect", "it", "!"]
    assert tokenize("the food was cold .") == ["the", "food", "was", "cold", "."]
    assert tokenize("it 's fine") == ["it", "'s", "fine"]  # already split: unchanged


def write_corpus(folder, train0=("the food was bad .", "service was slow ."),
                 train1=("the food was good .", "service was quick ."), test=True, refs=True):
    folder.mkdir(exist_ok=True)
    (folder / "sentiment.train.0").write_text("\n".join(train0) + "\n")
    (folder / "sentiment.train.1").write_text("\n".join(train1) + "\n")
    if test:
        (folder / "sentiment.test.0").write_text("the food was bad .\n")
        (folder / "sentiment.test.1").write_text("service was quick .\n")
    if refs:
        (folder / "reference.0").write_text("the food was bad .\tThe food was GOOD.\n")
        (folder / "reference.1").write_text("service was quick .\tservice was slow .\n")
    return folder


def test_a_corpus_loads_with_its_references(tmp_path):
    corpus = load_style_corpus(write_corpus(tmp_path / "c"))
    assert corpus.train[1] == [["the", "food", "was", "good", "."], ["service", "was", "quick", "."]]
    assert corpus.references[0] == [["the", "food", "was", "good", "."]]
    assert corpus.dev is None and len(corpus.files) == 6


@pytest.mark.parametrize("fault, message", [
    ("no side 1", "sentiment.train.1 is missing: a two-style corpus needs sentiment.train.0 and "
                  "sentiment.train.1"),
    ("empty side", "sentiment.train.0 holds no sentence"),
    ("not utf-8", "sentiment.train.1 is not UTF-8 text"),
    ("reference of another sentence", "reference.1 line 1: the source 'service was slow .' is not "
                                      "test sentence 1"),
    ("reference too short", "reference.0 has 0 lines but the test file of style 0 has 1"),
    ("one test side", "sentiment.test.0 has no other side sentiment.test.1"),
])
def test_a_bad_corpus_is_refused_naming_the_file_and_the_fault(tmp_path, fault, message):
    folder = write_corpus(tmp_path / "c")
    if fault == "no side 1":
        (folder / "sentiment.train.1").unlink()
    if fault == "empty side":
        (folder / "sentiment.train.0").write_text("\n\n")
    if fault == "not utf-8":
        (folder / "sentiment.train.1").write_bytes(b"caf\xe9 was nice\n")
    if fault == "reference of another sentence":
        (folder / "reference.1").write_text("service was slow .\tservice was quick .\n")
    if fault == "reference too short":
        (folder / "reference.0").write_text("")
    if fault == "one test side":
        (folder / "sentiment.test.1").unlink()
    with pytest.raises(ValueError) as err:
        load_style_corpus(folder)
    assert message in str(err.value)


def test_the_vocabulary_keeps_frequent_words_and_codes_the_rest_as_unk():
    vocab = Vocabulary([["a", "b", "a"], ["a", "c", "b"]], min_count=2)
    assert vocab.itos == ["<pad>", "<unk>", "<bos>", "<eos>", "a", "b"]
    ids = vocab.encode(["a", "c", "b", "a"], max_len=3)
    assert ids.tolist() == [4, UNK, 5, EOS]  # cut to 3 words, then <eos>
    assert vocab.encode(["b"], max_len=3).tolist() == [5, EOS, PAD, PAD]
    assert vocab.decode(ids) == ["a", "<unk>", "b"]


def test_the_data_set_streams_both_styles_and_fingerprints_every_file(tmp_path):
    folder = write_corpus(tmp_path / "c")
    cfg = load_config("toy-ring", {"data.name": "text-styles", "data.path": str(folder),
                                   "data.batch_size": 2, "data.max_len": 6})
    source = find_data_set("text-styles", "styles")
    source.check(cfg)
    assert source.reads(cfg) == {"data.path", "data.prefix", "data.max_len", "data.min_count"}
    data = build_data(cfg, "styles")
    batch = data.stream.next()
    assert batch["x0"].shape == batch["x1"].shape == (2, 7)
    decoded = sorted(" ".join(data.tokens.decode(row)) for row in batch["x1"])
    assert decoded == ["service was quick .", "the food was good ."]
    assert torch.equal(data.test["x0"][0], data.tokens.encode(tokenize("the food was bad ."), 6))
    assert sorted(i["path"] for i in data.fingerprint["inputs"]) == \
        sorted(str(p) for p in folder.iterdir())
    (folder / "sentiment.train.1").unlink()
    with pytest.raises(ValueError, match="sentiment.train.1 is missing"):
        source.check(cfg)
