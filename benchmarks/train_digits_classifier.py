"""Train the `digits` classifier of ganforge.metrics and write its shipped weights.

    python benchmarks/train_digits_classifier.py [--epochs 30] [--seed 0] [--out PATH]

Trains DigitsCNN (ganforge/metrics/digits_classifier.py) on the mnist5k "train" split (400
digits per class), reports its accuracy on the held-out "test" split (100 per class) and saves
the weights as safetensors (default: ganforge/metrics/weights/digits_cnn.safetensors) with
the recipe and accuracies in the file's metadata.
"""

from __future__ import annotations

import argparse
import json

import torch

from ganforge.metrics.digits_classifier import (
    WEIGHTS_PATH,
    save_digits_classifier,
    train_digits_classifier,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", default=str(WEIGHTS_PATH))
    args = parser.parse_args()
    model, report = train_digits_classifier(epochs=args.epochs, seed=args.seed, device=args.device)
    metadata = {
        "data": "mnist5k train split (400 per class); test = mnist5k test split (100 per class)",
        "recipe": f"Adam lr 2e-3 cosine, batch 64, {args.epochs} epochs, seed {args.seed}, "
        "random shift <= 2px / rotation <= 10 deg / scale 0.9-1.1",
        "train_accuracy": f"{report['train_accuracy']:.4f}",
        "test_accuracy": f"{report['test_accuracy']:.4f}",
    }
    path = save_digits_classifier(model, args.out, metadata)
    print(json.dumps({"weights": str(path), **report}, indent=2))


if __name__ == "__main__":
    main()
