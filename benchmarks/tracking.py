"""The cost of tracking metrics during training, and the curve it draws.

    python benchmarks/tracking.py                                   # digits-dcgan, digit FID
    python benchmarks/tracking.py --preset digits-dcgan-long --every 1000 --samples 2000
    python benchmarks/tracking.py --run runs/long                   # a run trained already
    python benchmarks/tracking.py --steps 4 --every 2 --samples 50 --out /tmp/t.json --plot /tmp/t.png

Trains PRESET with train.eval_every=EVERY, train.eval_metrics=METRICS and
train.eval_samples=SAMPLES (or reads RUN, trained with tracking), then reports from its
metrics.jsonl: the tracked values by step, the scoring time (the eval_seconds of each tracked
row) as a share of the run's wall time, and the best step. The curve of the first metric is
drawn to --plot (docs/tracking_curve.png by default; the README shows it). Results go to
--out (benchmarks/results/tracking.json by default).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

import torch

from ganforge.api import train
from ganforge.config import load_config

ROOT = Path(__file__).resolve().parent.parent


def train_tracked(preset: str, run: Path, every: int, metrics: str, samples: int,
                  steps: int | None, features: str = "") -> float:
    """Train with tracking; the wall seconds it took."""
    overrides = {"train.progress": False, "train.eval_every": every,
                 "train.eval_metrics": metrics, "train.eval_samples": samples,
                 "train.eval_features": features}
    if steps:
        overrides["train.steps"] = steps
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tensorboard chatter
        train(load_config(preset, overrides), run)
    return time.perf_counter() - start


def summarise(run: Path, wall_s: float | None) -> dict:
    rows = [json.loads(r) for r in (run / "metrics.jsonl").read_text().splitlines() if r]
    tracked = [r for r in rows if "eval_seconds" in r]
    names = [k[len("eval_"):] for k in tracked[0] if k.startswith("eval_") and k != "eval_seconds"]
    if wall_s is None:  # a run trained elsewhere: its rows' step rates give the training time
        steps = [r["step"] for r in rows]
        rates = [r["steps_per_s"] for r in rows]
        wall_s = sum((b - a) / rate for a, b, rate in zip([0, *steps], steps, rates))
        wall_s += sum(r["eval_seconds"] for r in tracked)
    scoring_s = sum(r["eval_seconds"] for r in tracked)
    best = json.loads((run / "checkpoint" / "best.json").read_text())
    return {
        "run": str(run), "metrics": names, "wall_s": round(wall_s, 1),
        "scoring_s": round(scoring_s, 1), "scoring_share": round(scoring_s / wall_s, 4),
        "per_evaluation_s": round(scoring_s / len(tracked), 2), "best": best,
        "curve": [{"step": r["step"], **{n: r[f"eval_{n}"] for n in names}} for r in tracked],
    }


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    name = result["metrics"][0]
    steps = [p["step"] for p in result["curve"]]
    fig, ax = plt.subplots(figsize=(5, 3), dpi=120)
    ax.plot(steps, [p[name] for p in result["curve"]], marker="o")
    ax.axvline(result["best"]["step"], color="grey", linestyle=":", label="best checkpoint")
    ax.set_xlabel("step")
    ax.set_ylabel(name)
    ax.set_yscale("log" if name in ("fid", "kid") else "linear")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="digits-dcgan")
    p.add_argument("--run", type=Path, help="summarise a run trained with tracking instead")
    p.add_argument("--every", type=int, default=250)
    p.add_argument("--metrics", default="fid,confident,class_kl")
    p.add_argument("--samples", type=int, default=2000)
    p.add_argument("--features", default="", help="inception, digits, raw (default: the data's)")
    p.add_argument("--steps", type=int, help="override the preset's train.steps")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "tracking.json")
    p.add_argument("--plot", type=Path, default=ROOT / "docs" / "tracking_curve.png")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.run:
        result = summarise(args.run, None)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run = Path(tmp) / "run"
            wall = train_tracked(args.preset, run, args.every, args.metrics, args.samples,
                                 args.steps, args.features)
            result = summarise(run, wall)
        result.update(preset=args.preset, every=args.every, samples=args.samples,
                      features=args.features or "the data's default", threads=args.threads)
    plot(result, args.plot)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{result['metrics'][0]} by step: "
          + ", ".join(f"{c['step']}: {c[result['metrics'][0]]:.3g}" for c in result["curve"]))
    print(f"scoring {result['scoring_s']} s of {result['wall_s']} s "
          f"({100 * result['scoring_share']:.1f} %), {result['per_evaluation_s']} s each; "
          f"best step {result['best']['step']}")


if __name__ == "__main__":
    main()
