"""A word n-gram language model with interpolated Kneser-Ney smoothing, for the fluency of
rewritten sentences (perplexity under a model of the training sentences).

Interpolated Kneser-Ney (Kneser and Ney 1995; Chen and Goodman 1998, eq. 16) with one discount
D per order. For the highest order, with c(.) counts of the training n-grams:

    P(w | h) = max(c(h w) - D, 0) / c(h)  +  D N1+(h .) / c(h) * P(w | h')

where h' drops the oldest word of h and N1+(h .) is the number of distinct words seen after h.
Lower orders use continuation counts in place of counts: N1+(. h w), the number of distinct
words seen before h w. The lowest order interpolates with the uniform distribution over the
vocabulary V (the training words, </s> and <unk>), so every word, unseen ones included (as
<unk>), gets probability > 0. A history never seen backs off wholly to the next order. Each
sentence is padded with n - 1 <s> in front and </s> at the end; perplexity is
exp(-(1 / T) sum log P), T the predicted tokens (words and </s>).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

BOS, EOS, UNK = "<s>", "</s>", "<unk>"


class KneserNeyLM:
    """An interpolated Kneser-Ney model of `order` over tokenised sentences."""

    def __init__(self, sentences: Iterable[Sequence[str]], order: int = 3,
                 discount: float = 0.75):
        if order < 1 or not 0 < discount < 1:
            raise ValueError(f"order must be >= 1 and discount in (0, 1), got {order}, {discount}")
        self.order, self.discount = order, discount
        top: Counter = Counter()
        for sentence in sentences:
            padded = [BOS] * (order - 1) + list(sentence) + [EOS]
            for i in range(order - 1, len(padded)):
                top[tuple(padded[i - order + 1 : i + 1])] += 1
        # counts of order k: raw counts at the top, continuation counts below
        self.counts: list[Counter] = [Counter() for _ in range(order + 1)]
        self.counts[order] = top
        for k in range(order, 1, -1):
            for gram in self.counts[k]:
                self.counts[k - 1][gram[1:]] += 1
        # per history: the total count and the number of distinct followers
        self.history_total: list[Counter] = [Counter() for _ in range(order + 1)]
        self.followers: list[Counter] = [Counter() for _ in range(order + 1)]
        for k in range(1, order + 1):
            for gram, c in self.counts[k].items():
                self.history_total[k][gram[:-1]] += c
                self.followers[k][gram[:-1]] += 1
        self.vocab = {g[0] for g in self.counts[1]} | {EOS, UNK}
        self.vocab.discard(BOS)

    def prob(self, word: str, history: Sequence[str]) -> float:
        """P(word | the last order - 1 words of history); unknown words read as <unk>."""
        return self._prob(self._known(word), self._context([self._known(w) for w in history]))

    def _known(self, word: str) -> str:
        return word if word in self.vocab else UNK

    def _context(self, history: list[str]) -> tuple:
        if self.order == 1:
            return ()
        padded = [BOS] * (self.order - 1) + history
        return tuple(padded[len(padded) - (self.order - 1):])

    def _prob(self, word: str, history: tuple) -> float:
        k = len(history) + 1
        if k == 1:
            total, kinds = self.history_total[1][()], self.followers[1][()]
            seen = max(self.counts[1][(word,)] - self.discount, 0) / total
            return seen + self.discount * kinds / total / len(self.vocab)
        lower = self._prob(word, history[1:])
        total = self.history_total[k][history]
        if total == 0:
            return lower
        seen = max(self.counts[k][history + (word,)] - self.discount, 0) / total
        return seen + self.discount * self.followers[k][history] / total * lower

    def log_prob(self, sentence: Sequence[str]) -> tuple[float, int]:
        """(sum of log P over the sentence's words and </s>, that number of tokens)."""
        words = [self._known(w) for w in sentence] + [EOS]
        total = math.fsum(math.log(self._prob(w, self._context(words[:i])))
                          for i, w in enumerate(words))
        return total, len(words)

    def perplexity(self, sentences: Iterable[Sequence[str]]) -> float:
        """exp of the mean negative log-probability per predicted token."""
        log_total, tokens = 0.0, 0
        for sentence in sentences:
            lp, n = self.log_prob(sentence)
            log_total, tokens = log_total + lp, tokens + n
        if tokens == 0:
            raise ValueError("perplexity needs at least one sentence")
        return math.exp(-log_total / tokens)
