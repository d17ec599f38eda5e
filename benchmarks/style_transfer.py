"""Text style transfer on the Yelp sentiment benchmark, every row scored by the same code
(ganforge.metrics.style): the published systems' rewrites of the 1,000 test sentences in
../shared/data/yelp/peers, the copy-the-input row and the human rewrites.

    python benchmarks/style_transfer.py --data ../shared/data/yelp \
        --results benchmarks/results/style_transfer/peers.json

The last row is ganforge's untrained first guess (ganforge.data.style_markers): every style
marker of a source (salience >= --gamma) replaced by the other style's marker of the most
similar contexts.

Per system and direction (negative -> positive rewrites sentiment.test.0, positive -> negative
sentiment.test.1), then over both (the 1,000 sentences): style accuracy (%), ref-BLEU against
Li et al.'s one human rewrite, multi-BLEU against all four human rewrites (reference.D plus
human1..3), self-BLEU against the sources, perplexity of the rewrites under the trigram model of
the training sentences, and G = sqrt(accuracy x ref-BLEU). Also the classifier's accuracy on the
test sources themselves (read as their own style), and the seconds each stage took.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ganforge.data.style_markers import marker_lexicon, rewrite
from ganforge.data.text_styles import load_style_corpus, read_pairs, tokenize
from ganforge.eval.styles import rewrite_sentences, score_rewrites
from ganforge.metrics.ngram_lm import KneserNeyLM
from ganforge.metrics.style import StyleClassifier, style_accuracy
from ganforge.train.checkpoint import atomic_write

#: the published systems in peers/, by file suffix, in the order of the table
PEERS = ("cross_aligned", "style_embedding", "multi_decoder", "template_based", "retrieve_only",
         "delete_only", "delete_and_retrieve", "unpaired_rl", "unsuper_mt", "back_translation",
         "dual_rl")
EXTRA_HUMANS = ("human1", "human2", "human3")


def rewrites_of(path: Path, sources: list[list[str]]) -> list[list[str]]:
    """The tokenised rewrites in a `source<TAB>rewrite` file, checked against the sources."""
    pairs = read_pairs(path)
    if len(pairs) != len(sources):
        raise SystemExit(f"{path} has {len(pairs)} lines for {len(sources)} test sentences")
    return [tokenize(rewrite) for _, rewrite in pairs]


def score_system(name: str, rewrites: list[list[list[str]]], corpus, classifier, lm,
                 extra_refs) -> dict:
    return {"system": name, **score_rewrites(rewrites, corpus, classifier, lm, extra_refs)}


def run_rewrites(spec: str, corpus) -> tuple[str, list[list[list[str]]], float]:
    """NAME=RUN or NAME=RUN@STEP (a kept checkpoint of the run): (NAME, the run's greedy
    rewrites of both test files, seconds they took)."""
    from ganforge.run import load_run
    from ganforge.train.checkpoint import load_net_tensors, nets_at

    name, _, path = spec.partition("=")
    path, _, step = (path or name).partition("@")
    run = load_run(Path(path))
    if step:
        load_net_tensors(run.family, nets_at(Path(path) / "checkpoint", int(step)))
    began = time.perf_counter()
    rewrites = [rewrite_sentences(run.family, corpus.test[s], s) for s in (0, 1)]
    return name, rewrites, time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/yelp"))
    parser.add_argument("--prefix", default="sentiment")
    parser.add_argument("--results", type=Path, help="write the rows as JSON here")
    parser.add_argument("--gamma", type=float, default=5.0,
                        help="salience threshold of the lexicon row's style markers")
    parser.add_argument("--run", action="append", default=[], metavar="NAME=RUN[@STEP]",
                        help="also score a trained style-transfer run, or its kept checkpoint "
                             "of STEP (repeatable)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="write the first --run's rewrites there as PREFIX.test.S.ganforge "
                             "(source<TAB>rewrite, the peers' format)")
    args = parser.parse_args(argv)

    seconds = {}
    began = time.perf_counter()
    corpus = load_style_corpus(args.data, args.prefix)
    seconds["load"] = time.perf_counter() - began
    began = time.perf_counter()
    classifier = StyleClassifier().fit(*corpus.train)
    seconds["classifier"] = time.perf_counter() - began
    began = time.perf_counter()
    lm = KneserNeyLM(corpus.train[0] + corpus.train[1], order=3)
    seconds["lm"] = time.perf_counter() - began
    source_accuracy = {f"test.{s}": 100 * style_accuracy(classifier, corpus.test[s], s)
                       for s in (0, 1)}

    peers = args.data / "peers"
    # extra_refs[k][s][i]: the k-th extra human rewrite of test sentence i of style s
    extra_refs = [[rewrites_of(peers / f"{args.prefix}.test.{s}.{h}", corpus.test[s])
                   for s in (0, 1)] for h in EXTRA_HUMANS]

    began = time.perf_counter()
    systems = {"copy the input": [corpus.test[0], corpus.test[1]],
               "human (Li et al.)": [list(corpus.references[0]), list(corpus.references[1])]}
    for name in PEERS:
        systems[name] = [rewrites_of(peers / f"{args.prefix}.test.{s}.{name}", corpus.test[s])
                         for s in (0, 1)]
    started = time.perf_counter()
    lexicon = marker_lexicon(corpus.train, args.gamma)
    seconds["lexicon"] = time.perf_counter() - started
    systems[f"ganforge lexicon (gamma {args.gamma:g})"] = [
        [rewrite(x, lexicon[s]) for x in corpus.test[s]] for s in (0, 1)]
    for number, spec in enumerate(args.run):
        name, rewrites, took = run_rewrites(spec, corpus)
        systems[name] = rewrites
        seconds[f"rewriting 1,000 ({name})"] = took
        if number == 0 and args.keep:
            keep_rewrites(args.keep, args.prefix, corpus, rewrites)
    rows = [score_system(name, rewrites, corpus, classifier, lm, extra_refs)
            for name, rewrites in systems.items()]
    seconds["scoring"] = time.perf_counter() - began

    result = {"data": str(args.data.resolve()), "classifier": classifier.protocol(),
              "classifier_accuracy_on_sources": source_accuracy,
              "lm": f"interpolated Kneser-Ney trigram (D = {lm.discount}) of the "
                    f"{len(corpus.train[0]) + len(corpus.train[1])} training sentences, "
                    f"vocabulary {len(lm.vocab)}",
              "bleu": "corpus BLEU-4, no smoothing; ref: Li et al.'s rewrite; multi: it and "
                      "human1..3", "tokenisation": "ganforge.data.text_styles.tokenize",
              "seconds": seconds, "rows": rows}
    print(f"classifier on the test sources: {source_accuracy}; seconds: "
          f"{ {k: round(v, 1) for k, v in seconds.items()} }", file=sys.stderr)
    print(f"{'system':22s} {'acc':>6s} {'refBLEU':>8s} {'multi':>6s} {'selfBLEU':>8s} "
          f"{'PPL':>6s} {'G':>6s}")
    for row in rows:
        b = row["both"]
        print(f"{row['system']:22s} {b['acc']:6.1f} {b['ref_bleu']:8.1f} {b['multi_bleu']:6.1f} "
              f"{b['self_bleu']:8.1f} {b['ppl']:6.0f} {b['g']:6.1f}")
    if args.results:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(result, indent=1) + "\n"
        atomic_write(args.results, lambda p: p.write_text(text))
    return 0


def keep_rewrites(folder: Path, prefix: str, corpus, rewrites) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for s in (0, 1):
        text = "".join(f"{' '.join(x)}\t{' '.join(y)}\n" for x, y in zip(corpus.test[s], rewrites[s]))
        atomic_write(folder / f"{prefix}.test.{s}.ganforge", lambda p, t=text: p.write_text(t))


if __name__ == "__main__":
    raise SystemExit(main())
