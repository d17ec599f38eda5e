"""`ganforge eval` of a style-transfer run: the test sentences of each style rewritten into the
other by the run's translators (greedy), scored by ganforge.metrics.style.

    acc         share of rewrites the style classifier reads as the target style (%)
    ref_bleu    corpus BLEU-4 against the human rewrites (reference.0/.1; when the folder has them)
    multi_bleu  ... against those and every extra human rewrite (--references FILES)
    self_bleu   corpus BLEU-4 against the sources (%)
    ppl         perplexity of the rewrites under the Kneser-Ney trigram model of the training
                sentences
    g           sqrt(acc x ref_bleu)
    source_acc  the classifier's accuracy on the test sources as their own style: its ceiling

per direction ("0->1", "1->0") and over both. The classifier and the language model are trained
on the run's training files once and cached (`cache_dir`/styles/<key>.pkl, the key a SHA-1 of
the files' bytes and the scorers' settings).
"""

from __future__ import annotations

import hashlib
import math
import pickle
import sys
from pathlib import Path
from typing import Any

import torch

from ganforge.metrics.extractor_common import DEFAULT_CACHE_DIR
from ganforge.metrics.ngram_lm import KneserNeyLM
from ganforge.metrics.style import StyleClassifier, style_accuracy, transfer_scores
from ganforge.train.checkpoint import atomic_write

SCORER_VERSION = "classifier C=4 tfidf 1-2gram; kneser-ney order 3 discount 0.75; v1"
LM_PROTOCOL = "interpolated Kneser-Ney trigram (discount 0.75) of the training sentences"
TOKENIZATION = "ganforge.data.text_styles.tokenize (lower case, punctuation and clitics apart)"


def scorers(corpus, cache_dir: str | Path | None = DEFAULT_CACHE_DIR,
            ) -> tuple[StyleClassifier, KneserNeyLM]:
    """The style classifier and language model of a corpus's training sentences, cached."""
    digest = hashlib.sha1(SCORER_VERSION.encode())
    for s in (0, 1):
        for sentence in corpus.train[s]:
            digest.update(f"{s} {' '.join(sentence)}\n".encode())
    path = None
    if cache_dir is not None:
        path = Path(cache_dir).expanduser() / "styles" / f"{digest.hexdigest()}.pkl"
        if path.is_file():
            try:
                with path.open("rb") as f:
                    return pickle.load(f)
            except Exception:  # a cut or stale cache file is rebuilt, never trusted
                print(f"ganforge: warning: {path} is unreadable; training the scorers again",
                      file=sys.stderr)
    classifier = StyleClassifier().fit(corpus.train[0], corpus.train[1])
    lm = KneserNeyLM(corpus.train[0] + corpus.train[1])
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        blob = pickle.dumps((classifier, lm), protocol=pickle.HIGHEST_PROTOCOL)
        atomic_write(path, lambda p: p.write_bytes(blob))
    return classifier, lm


def rewrite_sentences(family, sentences: list[list[str]], source_style: int,
                      batch: int = 500) -> list[list[str]]:
    """Greedy rewrites (words) of tokenised sentences by the run's EMA translator."""
    vocab, out = family.vocab, []
    for start in range(0, len(sentences), batch):
        rows = torch.stack([vocab.encode(s, family.max_len)
                            for s in sentences[start:start + batch]])
        out += [vocab.decode(r) for r in family.rewrite(rows, source_style)]
    return out


def extra_references(corpus) -> list[list[list[list[str]]]]:
    """More human rewrites of the test sentences, when the folder (or its peers/) holds them as
    PREFIX.test.S.humanK (source<TAB>rewrite, K = 1, 2, ...; both styles): [k][s][i]."""
    from ganforge.data.text_styles import read_pairs, tokenize

    found = []
    for k in range(1, 100):
        paths = [next((p for p in (corpus.folder / f"{corpus.prefix}.test.{s}.human{k}",
                                   corpus.folder / "peers" / f"{corpus.prefix}.test.{s}.human{k}")
                       if p.is_file()), None) for s in (0, 1)]
        if None in paths:
            break
        sides = []
        for s, path in enumerate(paths):
            pairs = read_pairs(path)
            if len(pairs) != len(corpus.test[s]):
                raise ValueError(f"{path} has {len(pairs)} lines but the test file of style {s} "
                                 f"has {len(corpus.test[s])}: line i must rewrite test sentence i")
            sides.append([tokenize(rewrite) for _, rewrite in pairs])
        found.append(sides)
    return found


def evaluate_styles(run, cache_dir: str | Path | None = DEFAULT_CACHE_DIR) -> dict[str, Any]:
    """{"metrics": {"acc": ..., "acc_0to1": ..., ...}, "protocol": {...}}: the scores over both
    directions, then each direction's with its suffix."""
    corpus = run.data.corpus
    if corpus.test is None:
        raise ValueError(f"{corpus.folder} has no {corpus.prefix}.test.0/.1: eval rewrites the "
                         "test sentences; add them to the folder")
    extra = extra_references(corpus) if corpus.references else []
    classifier, lm = scorers(corpus, cache_dir)
    rewrites = [rewrite_sentences(run.family, corpus.test[s], s) for s in (0, 1)]
    rows = score_rewrites(rewrites, corpus, classifier, lm, extra)
    metrics = dict(rows["both"])
    for direction in ("0->1", "1->0"):
        metrics.update({f"{k}_{direction.replace('->', 'to')}": v
                        for k, v in rows[direction].items()})
    protocol = {
        "sentences": f"{len(rewrites[0])} + {len(rewrites[1])} test sentences of "
                     f"{corpus.folder}/{corpus.prefix}.test.0/.1, greedy rewrites by the EMA "
                     "translators; acc over both directions: each rewrite against its target style",
        "acc": classifier.protocol(), "ppl": LM_PROTOCOL, "tokenization": TOKENIZATION,
        "ref_bleu": "corpus BLEU-4 (uniform weights, brevity penalty, no smoothing) against "
                    "reference.0/.1" if corpus.references else "no reference files",
        "multi_bleu": f"... against reference.S and {len(extra)} more human rewrites "
                      "(PREFIX.test.S.humanK)" if extra else "no extra human rewrites",
        "run": str(run.path), "step": run.step, "data": run.cfg.data.name,
    }
    return {"metrics": metrics, "protocol": protocol}


def score_rewrites(rewrites: list[list[list[str]]], corpus, classifier: StyleClassifier,
                   lm: KneserNeyLM, extra_references=None) -> dict[str, dict[str, float]]:
    """The scores of rewrites[s] of corpus.test[s] into style 1 - s, per direction and over both
    (accuracy weighted by the sentences of each direction, BLEU and perplexity pooled)."""
    from ganforge.metrics.text import corpus_bleu

    rows: dict[str, dict[str, float]] = {}
    refs, multi = [None, None], [None, None]
    for s in (0, 1):
        if corpus.references:
            refs[s] = [[r] for r in corpus.references[s]]
            if extra_references:
                multi[s] = [[r[0], *(extra[s][i] for extra in extra_references)]
                            for i, r in enumerate(refs[s])]
        row = transfer_scores(rewrites[s], corpus.test[s], 1 - s, classifier, lm, refs[s],
                              multi[s])
        row["source_acc"] = 100 * style_accuracy(classifier, corpus.test[s], s)
        rows[f"{s}->{1 - s}"] = row
    sizes = [len(r) for r in rewrites]
    pooled = rewrites[0] + rewrites[1]
    both = {"acc": (rows["0->1"]["acc"] * sizes[0] + rows["1->0"]["acc"] * sizes[1]) / sum(sizes),
            "self_bleu": 100 * corpus_bleu(pooled, [[s] for s in corpus.test[0] + corpus.test[1]]),
            "ppl": lm.perplexity(pooled),
            "source_acc": (rows["0->1"]["source_acc"] * sizes[0]
                           + rows["1->0"]["source_acc"] * sizes[1]) / sum(sizes)}
    if corpus.references:
        both["ref_bleu"] = 100 * corpus_bleu(pooled, refs[0] + refs[1])
        both["g"] = math.sqrt(both["acc"] * both["ref_bleu"])
    if multi[0] is not None:
        both["multi_bleu"] = 100 * corpus_bleu(pooled, multi[0] + multi[1])
    rows["both"] = both
    return rows
