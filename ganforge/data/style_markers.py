"""Style markers and a word lexicon between two styles, read off non-parallel corpora: the
unsupervised first guess at a rewrite that style-transfer models start from.

Markers (Li et al. 2018's salience, on words): word w marks style s when

    salience(w, s) = ((df_s(w) + lambda) / N_s) / ((df_o(w) + lambda) / N_o) >= gamma

with df the number of sentences of a style that hold w, N the sentences of that style, o the
other style, lambda = 1 (smoothing), and w in at least `min_count` sentences of style s.

Lexicon: each marker of style s maps to the marker of the other style whose contexts it shares
most: cosine similarity of PPMI-weighted vectors of position-tagged neighbours (the words at
offsets -2, -1, +1, +2, <s> and </s> beyond the ends) counted over both corpora. Sentences of
the two styles are written in the same frames ("the food was ___ ."), so "bad" finds "great"
and "rude" finds "friendly". `rewrite` replaces every marker of a sentence by its image.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import sparse

Sentence = Sequence[str]
OFFSETS = (-2, -1, 1, 2)


def document_frequencies(sides: Sequence[Sequence[Sentence]]) -> list[Counter]:
    """For each style, the number of its sentences that hold each word."""
    return [Counter(w for sentence in side for w in set(sentence)) for side in sides]


def salience(sides: Sequence[Sequence[Sentence]], smoothing: float = 1.0,
             df: list[Counter] | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """{word: salience(word, s)} for s = 0 and 1, over the words of style s (`df`: the
    document frequencies, when already counted)."""
    df = df or document_frequencies(sides)
    sizes = [len(side) for side in sides]
    return tuple({w: ((n + smoothing) / sizes[s]) / ((df[1 - s][w] + smoothing) / sizes[1 - s])
                  for w, n in df[s].items()} for s in (0, 1))


def style_markers(sides: Sequence[Sequence[Sentence]], gamma: float = 5.0, min_count: int = 5,
                  ) -> tuple[set[str], set[str]]:
    """The marker words of style 0 and of style 1 (see the module docstring)."""
    df = document_frequencies(sides)
    scores = salience(sides, df=df)
    return tuple({w for w, value in scores[s].items() if value >= gamma and df[s][w] >= min_count}
                 for s in (0, 1))


def context_vectors(sides: Sequence[Sequence[Sentence]], words: list[str]) -> sparse.csr_matrix:
    """(len(words), F) rows: each word's PPMI-weighted neighbour counts, L2-normalised.

    PPMI(w, f) = max(0, log(c(w, f) * C / (c(w) * c(f)))), counts over the occurrences of
    `words` only, C their total."""
    index = {w: i for i, w in enumerate(words)}
    features: dict[tuple[int, str], int] = {}
    counts: Counter = Counter()
    for side in sides:
        for sentence in side:
            for i, w in enumerate(sentence):
                row = index.get(w)
                if row is None:
                    continue
                for d in OFFSETS:
                    j = i + d
                    u = sentence[j] if 0 <= j < len(sentence) else ("<s>" if j < 0 else "</s>")
                    counts[row, features.setdefault((d, u), len(features))] += 1
    rows, cols = (np.fromiter((k[n] for k in counts), int, len(counts)) for n in (0, 1))
    values = np.fromiter(counts.values(), float, len(counts))
    matrix = sparse.csr_matrix((values, (rows, cols)), shape=(len(words), len(features)))
    total = values.sum()
    per_word = np.asarray(matrix.sum(axis=1)).ravel()
    per_feature = np.asarray(matrix.sum(axis=0)).ravel()
    pmi = np.log(values * total / (per_word[rows] * per_feature[cols]))
    keep = pmi > 0
    matrix = sparse.csr_matrix((pmi[keep], (rows[keep], cols[keep])), shape=matrix.shape)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    return sparse.diags(1 / np.maximum(norms, 1e-12)) @ matrix


def marker_lexicon(sides: Sequence[Sequence[Sentence]], gamma: float = 5.0, min_count: int = 5,
                   ) -> tuple[dict[str, str], dict[str, str]]:
    """({marker of style 0: its style-1 image}, {marker of style 1: its style-0 image})."""
    markers = [sorted(m) for m in style_markers(sides, gamma, min_count)]
    if not markers[0] or not markers[1]:
        raise ValueError(f"no style markers at salience >= {gamma} in "
                         f"{'both styles' if not (markers[0] or markers[1]) else 'one style'}; "
                         "lower gamma or give more sentences")
    vectors = context_vectors(sides, markers[0] + markers[1])
    similarity = (vectors[: len(markers[0])] @ vectors[len(markers[0]):].T).toarray()
    return ({w: markers[1][j] for w, j in zip(markers[0], similarity.argmax(axis=1))},
            {w: markers[0][i] for w, i in zip(markers[1], similarity.argmax(axis=0))})


def rewrite(sentence: Sentence, lexicon: dict[str, str]) -> list[str]:
    """The sentence with every marker replaced by its image in the other style."""
    return [lexicon.get(w, w) for w in sentence]

