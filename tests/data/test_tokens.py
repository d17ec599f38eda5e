"""Token data: the oracle from a seed and from a file of its parameters, text files in their
three token modes, and the census surnames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.config import load_config
from ganforge.data import build_data
from ganforge.data.tokens import ORACLE_KEYS, load_oracle, text_data
from ganforge.nets.sequence import SequenceLSTM

PUBLISHED = Path(__file__).resolve().parents[3] / "shared" / "data" / "seqgan_oracle.npz"
SMALL = {"seq.vocab": 30, "seq.length": 6, "seq.train_size": 200, "seq.test_size": 100,
         "data.batch_size": 16}


def test_the_oracle_is_drawn_from_its_seed_and_samples_train_and_held_out_sets():
    data = build_data(load_config("oracle-mle", SMALL), "tokens")
    again = build_data(load_config("oracle-mle", {**SMALL, "seed": 7}), "tokens")
    other = build_data(load_config("oracle-mle", {**SMALL, "seq.oracle_seed": 1}), "tokens")
    t = data.tokens
    assert t.train.shape == (200, 6) and t.test.shape == (100, 6) and t.vocab == 30
    assert torch.equal(t.train, again.tokens.train)  # the run's seed leaves the data alone
    assert not torch.equal(t.train, other.tokens.train)
    assert abs(float(t.oracle.Wi.std()) - 1.0) < 0.3  # N(0, 1) parameters
    assert data.stream.next()["x"].shape == (16, 6)


def test_an_oracle_file_round_trips(tmp_path):
    net = SequenceLSTM(12, 3, 4, 5, std=1.0, generator=torch.Generator().manual_seed(0))
    path = tmp_path / "oracle.npz"
    np.savez(path, **{k: v.numpy() for k, v in net.state_dict().items()})
    loaded = load_oracle(path, 5)
    tokens = torch.randint(12, (3, 5))
    assert torch.equal(loaded.log_probs(tokens), net.log_probs(tokens).detach())


@pytest.mark.skipif(not PUBLISHED.is_file(), reason="the published SeqGAN oracle is not here")
def test_the_published_oracle_loads_with_the_paper_shapes():
    oracle = load_oracle(PUBLISHED, 20)
    assert (oracle.vocab, oracle.emb, oracle.hidden) == (5000, 32, 32)
    assert set(ORACLE_KEYS) == set(oracle.state_dict())


def test_text_files_in_characters_words_and_ids(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_text("ab\n\nba c\nabc\ncab\n")
    chars = text_data(path, "char", 5, 0.25, 0)
    assert chars.itos == ["<eos>", " ", "a", "b", "c"] and chars.vocab == 5
    assert len(chars.train) == 3 and len(chars.test) == 1
    decoded = sorted(chars.decode(torch.cat([chars.train, chars.test])))
    assert decoded == ["ab", "abc", "ba c", "cab"]
    words = text_data(path, "word", 2, 0.25, 0)
    assert sorted(words.decode(torch.cat([words.train, words.test]))) == \
        ["ab", "abc", "ba c", "cab"]
    ids = tmp_path / "ids.txt"
    ids.write_text("1 2 3\n4 0 1\n")
    got = text_data(ids, "ids", 3, 0.5, 5)
    assert sorted(torch.cat([got.train, got.test]).tolist()) == [[1, 2, 3], [4, 0, 1]]
    assert got.decode(torch.tensor([[4, 0, 1]])) == ["4 0 1"]


def test_census_surnames_fit_thirteen_characters():
    pytest.importorskip("names")
    data = build_data(load_config("names-mle"), "tokens")
    t = data.tokens
    assert len(t.train) + len(t.test) == 88_799
    assert abs(len(t.test) / 88_799 - 0.1) < 1e-3
    assert t.itos[0] == "<eos>" and set(t.itos[1:]) <= set("abcdefghijklmnopqrstuvwxyz")
    assert "smith" in t.decode(torch.cat([t.train, t.test]))
