"""The translator of text style transfer: masks, normalised log-probabilities, decoding that
agrees with log_prob, and a word-swap learnt from pairs."""

from __future__ import annotations

import random

import torch

from ganforge.nets.seq2seq import BOS, EOS, PAD, UNK, Translator, until_eos


def test_until_eos_keeps_the_first_eos_and_drops_what_follows():
    tokens = torch.tensor([[5, 6, EOS, PAD], [7, EOS, 8, EOS], [EOS, PAD, PAD, PAD]])
    assert until_eos(tokens).tolist() == [[True, True, True, False], [True, True, False, False],
                                          [True, False, False, False]]


def small(seed: int = 0) -> Translator:
    torch.manual_seed(seed)
    return Translator(vocab=9, emb=8, hidden=12, max_len=3)


def test_log_probs_of_every_sentence_sum_to_one():
    """Over every sentence of at most max_len = 3 words (the 5 ordinary ones and <unk>: 259
    sentences): the <eos> after the third word is certain, <pad> and <bos> never drawn."""
    net = small().eval()
    src = torch.tensor([[4, 5, EOS, PAD]])
    words = (UNK, *range(4, 9))
    sentences = [[EOS]] + [[a, EOS] for a in words] + [[a, b, EOS] for a in words for b in words] \
        + [[a, b, c, EOS] for a in words for b in words for c in words]
    with torch.no_grad():
        tgt = torch.tensor([s + [PAD] * (4 - len(s)) for s in sentences])
        total = net.log_prob(src.expand(len(tgt), -1), tgt).exp().sum()
    assert abs(float(total) - 1.0) < 1e-5


def test_decoding_reports_the_log_probability_that_log_prob_gives():
    net = small().eval()
    src = torch.tensor([[4, 5, EOS, PAD], [6, EOS, PAD, PAD]] * 8)
    with torch.no_grad():
        tokens, logp = net.decode(src, greedy=False, generator=torch.Generator().manual_seed(1))
        assert tokens.shape == (16, 4) and bool((until_eos(tokens) | (tokens == PAD)).all())
        assert torch.allclose(logp, net.log_prob(src, tokens), atol=1e-5)
        greedy, _ = net.decode(src)
    first = net(src, greedy).argmax(2)[:, 0]  # the greedy first word is the arg-max
    assert torch.equal(greedy[:, 0], first)


def test_a_word_swap_is_learnt_from_pairs():
    """Pairs x -> y where y replaces 4 by 5 and 6 by 7 and keeps every other word."""
    rng = random.Random(0)
    swap = {4: 5, 6: 7}

    def pair():
        words = [rng.choice([4, 6, 8, 9, 10, 11]) for _ in range(rng.randint(2, 5))]
        row = lambda ws: torch.tensor(ws + [EOS] + [PAD] * (6 - len(ws)))  # noqa: E731
        return row(words), row([swap.get(w, w) for w in words])

    torch.manual_seed(0)
    net = Translator(vocab=12, emb=16, hidden=32, max_len=6)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(600):
        x, y = map(torch.stack, zip(*(pair() for _ in range(32))))
        loss = -net.log_prob(x, y).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    x, y = map(torch.stack, zip(*(pair() for _ in range(200))))
    with torch.no_grad():
        tokens, _ = net.eval().decode(x)
    exact = (tokens == y).all(dim=1).float().mean()
    assert exact > 0.9, float(exact)
    assert BOS not in tokens
