"""Scores of generated token sequences against a reference set: BLEU, self-BLEU, novelty.

BLEU-N of one hypothesis h against a set of references R (Papineni et al. 2002, as the text
GAN papers compute it, after Texygen: nltk's sentence_bleu with smoothing method 1):

    p_n = sum_g min(c_h(g), max_{r in R} c_r(g)) / max(1, sum_g c_h(g))   (clipped n-gram
          precision over the n-grams g of h; a p_n of 0 becomes 0.1 / its denominator)
    BP  = 1 if |h| > r* else exp(1 - r* / |h|),  r* the reference length closest to |h|
          (the shorter one on a tie)
    BLEU-N = BP * exp(1/N sum_{n=1..N} log p_n), and 0 when p_1 = 0

and the score of a set of hypotheses is the mean over them. Self-BLEU (Zhu et al. 2018) is the
BLEU of each generated sequence against all the others (a high value: samples alike, low
diversity). The maximum count of each n-gram over the references is precomputed, so one
hypothesis costs O(|h|) whatever the number of references.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Sequence

Tokens = Sequence  # a sequence of hashable tokens (characters, words or ids)


def ngrams(tokens: Tokens, n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def closest_length(lengths: list[int], length: int) -> int:
    """The reference length closest to `length` (the shorter on a tie); `lengths` sorted."""
    i = bisect.bisect_left(lengths, length)
    candidates = lengths[max(0, i - 1) : i + 1]
    return min(candidates, key=lambda r: (abs(r - length), r))


def sentence_bleu(hypothesis: Tokens, max_counts: dict[int, dict], ref_length: int,
                  order: int, epsilon: float = 0.1) -> float:
    """BLEU-`order` of one hypothesis, given each n-gram's maximum count over the references
    (max_counts[n][g]) and the closest reference length."""
    length = len(hypothesis)
    logs = []
    for n in range(1, order + 1):
        counts = ngrams(hypothesis, n)
        matched = sum(min(c, max_counts[n].get(g, 0)) for g, c in counts.items())
        total = max(1, sum(counts.values()))
        if n == 1 and matched == 0:
            return 0.0
        logs.append(math.log((matched if matched else epsilon) / total))
    if length == 0:
        return 0.0
    brevity = 1.0 if length > ref_length else math.exp(1 - ref_length / length)
    return brevity * math.exp(math.fsum(logs) / order)


class References:
    """A reference set, indexed for BLEU up to `max_order`."""

    def __init__(self, references: Sequence[Tokens], max_order: int):
        if not references:
            raise ValueError("BLEU needs at least one reference sequence")
        self.max_counts: dict[int, dict] = {n: {} for n in range(1, max_order + 1)}
        for ref in references:
            for n, table in self.max_counts.items():
                for g, c in ngrams(ref, n).items():
                    if c > table.get(g, 0):
                        table[g] = c
        self.lengths = sorted({len(r) for r in references})

    def score(self, hypothesis: Tokens, order: int) -> float:
        return sentence_bleu(hypothesis, self.max_counts,
                             closest_length(self.lengths, len(hypothesis)), order)


def bleu(hypotheses: Sequence[Tokens], references: Sequence[Tokens],
         orders: Sequence[int] = (2, 3, 4, 5)) -> dict[int, float]:
    """{N: mean BLEU-N of the hypotheses against the whole reference set}."""
    refs = References(references, max(orders))
    return {n: sum(refs.score(h, n) for h in hypotheses) / len(hypotheses) for n in orders}


def self_bleu(samples: Sequence[Tokens], orders: Sequence[int] = (2, 3, 4, 5)) -> dict[int, float]:
    """{N: mean BLEU-N of each sample against all the other samples} (leave-one-out: the
    maximum count of an n-gram over the others is the top count unless the sample itself
    holds it, then the runner-up)."""
    if len(samples) < 2:
        raise ValueError("self-BLEU needs at least 2 samples")
    top = max(orders)
    best: dict[int, dict] = {n: {} for n in range(1, top + 1)}  # g -> (max, owner, second)
    counts = [{n: ngrams(s, n) for n in range(1, top + 1)} for s in samples]
    for i, per_order in enumerate(counts):
        for n, table in per_order.items():
            for g, c in table.items():
                first, owner, second = best[n].get(g, (0, -1, 0))
                if c > first:
                    best[n][g] = (c, i, first)
                elif c > second:
                    best[n][g] = (first, owner, c)
    lengths = Counter(len(s) for s in samples)
    scores = {n: 0.0 for n in orders}
    for i, s in enumerate(samples):
        others = {n: {g: (second if owner == i else first) for g, (first, owner, second) in
                      ((g, best[n][g]) for g in counts[i][n])} for n in range(1, top + 1)}
        lengths[len(s)] -= 1
        ref_length = closest_length(sorted(k for k, v in lengths.items() if v > 0), len(s))
        lengths[len(s)] += 1
        for n in orders:
            scores[n] += sentence_bleu(s, others, ref_length, n)
    return {n: v / len(samples) for n, v in scores.items()}


def novelty(samples: Sequence[Tokens], training: Sequence[Tokens]) -> float:
    """The share of samples that are no training sequence."""
    seen = {tuple(t) for t in training}
    return sum(tuple(s) not in seen for s in samples) / len(samples)


def corpus_bleu(hypotheses: Sequence[Tokens], references: Sequence[Sequence[Tokens]],
                order: int = 4) -> float:
    """Corpus BLEU-`order` (Papineni et al. 2002, as multi-bleu.perl and the style-transfer
    papers compute it): hypothesis i is scored against its own references[i] (one or more),
    counts are pooled over the corpus before the precisions are taken, no smoothing:

        p_n = sum_i sum_g min(c_i(g), max_{r in R_i} c_r(g)) / sum_i sum_g c_i(g)
        BP  = 1 if c > r else exp(1 - r / c),  c = sum_i |h_i|, r = sum_i |r*_i| (the reference
              length closest to |h_i|, the shorter on a tie)
        BLEU = BP * exp(1/N sum_{n=1..N} log p_n), and 0 when some p_n is 0.
    """
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference sets")
    matched, total = [0] * (order + 1), [0] * (order + 1)
    hyp_length = ref_length = 0
    for hypothesis, refs in zip(hypotheses, references):
        if not refs:
            raise ValueError("every hypothesis needs at least one reference")
        hyp_length += len(hypothesis)
        ref_length += closest_length(sorted(len(r) for r in refs), len(hypothesis))
        for n in range(1, order + 1):
            best: Counter = Counter()
            for ref in refs:
                best |= ngrams(ref, n)  # the maximum count of each n-gram over the references
            counts = ngrams(hypothesis, n)
            matched[n] += sum(min(c, best[g]) for g, c in counts.items())
            total[n] += sum(counts.values())
    if hyp_length == 0 or any(matched[n] == 0 for n in range(1, order + 1)):
        return 0.0
    logs = math.fsum(math.log(matched[n] / total[n]) for n in range(1, order + 1))
    brevity = 1.0 if hyp_length > ref_length else math.exp(1 - ref_length / hyp_length)
    return brevity * math.exp(logs / order)
