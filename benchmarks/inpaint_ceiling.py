"""How much class evidence the inpaint task's holes leave: a ceiling for its class accuracy.

    python benchmarks/inpaint_ceiling.py --threads 1

An inpainter's output is a function of the holed digit alone, so the share of its outputs
that a classifier labels correctly cannot exceed the accuracy of the best classifier of the
holed digits themselves (the Bayes accuracy given the holed input). This script estimates
that accuracy from below: the bundled digit classifier's architecture and recipe
(`train_digits_classifier`), trained on mnist5k "train" digits with a fresh 10-pixel hole
(the task's size and margin) cut into every augmented batch, then scored on the task's own
holed test digits. Beside it: the bundled classifier on the holed and on the whole test digits.
"""

from __future__ import annotations

import argparse
import json

import torch

from ganforge.data.paired import HOLE_MARGIN_AT_28, HOLE_SIDE_AT_28, PAIRED_TASKS, cut_holes
from ganforge.metrics.digits_classifier import accuracy, load_digits_classifier, train_digits_classifier

HOLE_SEED = 1234  # training holes: a stream of their own, never the test split's


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    def holes(batch: torch.Tensor, step: int) -> torch.Tensor:
        return cut_holes(batch, HOLE_SIDE_AT_28, HOLE_MARGIN_AT_28, (HOLE_SEED, step))

    test = PAIRED_TASKS.get("inpaint")("test", 28)
    model, report = train_digits_classifier(epochs=args.epochs, corrupt=holes)
    bundled = load_digits_classifier()
    result = {
        "holed_classifier_on_holed_test": accuracy(model, test.a, test.labels),
        "holed_classifier_on_whole_test": accuracy(model, test.b, test.labels),
        "bundled_classifier_on_holed_test": accuracy(bundled, test.a, test.labels),
        "bundled_classifier_on_whole_test": accuracy(bundled, test.b, test.labels),
        "epochs": args.epochs, "train_seconds": round(report["seconds"], 1),
        "threads": torch.get_num_threads(),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
