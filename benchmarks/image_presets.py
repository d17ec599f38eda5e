"""The image presets on mnist5k: steps, wall time, recognisability and FID of their samples.

    python benchmarks/image_presets.py                          # every digits preset
    python benchmarks/image_presets.py --presets digits-dcgan digits-cgan --threads 2
    python benchmarks/image_presets.py --presets digits-dcgan --inception   # + Inception FID
    python benchmarks/image_presets.py --presets digits-cgan --steps 2 --samples 100 --out /tmp/rows.jsonl

Each preset trains exactly as `ganforge train PRESET` would (its own steps and settings; the
progress bar off), then its EMA generator is scored with `ganforge.evaluate` on 5,000 samples
(seed 0; --samples) against all 5,000 real digits:

- `fid`/`kid` with the bundled `digits` classifier's features (the real-versus-real floor of
  that protocol, half against half per class, is 7.66: benchmarks/fid_mnist5k.py);
- `confident` (share of samples the classifier labels with p > 0.9) and `class_kl` (KL of the
  predicted-class histogram to uniform) on the first 1,000 samples: the bar of issue 4 for the
  default preset is confident >= 0.9 and class_kl < 0.05;
- conditional presets: `class_accuracy`, the share of samples the classifier assigns to the
  class they were generated for; digits-ssgan: the test accuracy of its D as a classifier
  with 10 labels per class, beside the same net trained on those 100 labels alone;
- with --inception, FID with the standard Inception-v3 features (5,000 samples; slow on CPU).

Rows are appended to benchmarks/results/image_presets.jsonl; a Markdown table is printed.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

import torch

from ganforge.api import evaluate, load_run, train
from ganforge.config import load_config

PRESETS = ("digits-dcgan", "digits-wgan-gp", "digits-sngan", "digits-began", "digits-cgan",
           "digits-acgan", "digits-ssgan")
SCORED_SAMPLES = 5000  # FID/KID; confident and class KL take the first 1,000 of them
SSGAN_BASELINE_STEPS = 1000  # the labelled-only net; never more steps than the GAN had


def run_preset(preset: str, out: Path, inception: bool, steps: int | None,
               samples: int = SCORED_SAMPLES) -> dict:
    overrides = {"train.progress": False}
    if steps:
        overrides["train.steps"] = steps
    cfg = load_config(preset, overrides)
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tensorboard chatter
        train(cfg, out)
    wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
    run = load_run(out)
    row = {"preset": preset, "steps": cfg.train.steps, "wall_s": round(wall, 1),
           "cpu_s": round(cpu, 1), "threads": torch.get_num_threads(), "samples": samples}
    row.update(evaluate(run, ["fid", "kid"], n=samples)["metrics"])
    row.update(evaluate(run, ["confident", "class_kl"], n=min(samples, 1000))["metrics"])
    if inception:
        row["fid_inception"] = evaluate(run, ["fid"], n=samples,
                                        features="inception")["metrics"]["fid"]
    if preset == "digits-ssgan":
        from ganforge.eval.semisupervised import evaluate_ssgan_run

        baseline_steps = min(SSGAN_BASELINE_STEPS, cfg.train.steps)
        report = evaluate_ssgan_run(out, baseline_steps=baseline_steps)["metrics"]
        row.update({f"ssgan_{k}": v for k, v in report.items()})
    return row


def table(rows: list[dict]) -> str:
    lines = ["| preset | steps | wall (s) | digit FID | digit KID | confident | class KL | "
             "class accuracy | Inception FID |", "|---|---|---|---|---|---|---|---|---|"]

    def fmt(value, spec):
        return "–" if value is None else format(value, spec)

    for r in rows:
        accuracy = r.get("class_accuracy", r.get("ssgan_accuracy"))
        lines.append(
            f"| {r['preset']} | {r['steps']} | {r['wall_s']:.0f} | {r['fid']:.2f} | "
            f"{r['kid']:.4f} | {r['confident']:.3f} | {r['class_kl']:.4f} | "
            f"{fmt(accuracy, '.3f')} | {fmt(r.get('fid_inception'), '.2f')} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--steps", type=int, help="override every preset's steps (quick looks)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--samples", type=int, default=SCORED_SAMPLES,
                        help="samples scored per preset (quick looks: fewer)")
    parser.add_argument("--inception", action="store_true", help="also the Inception FID")
    parser.add_argument("--keep", type=Path, help="keep the runs under this folder")
    parser.add_argument("--out", default="benchmarks/results/image_presets.jsonl")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        for preset in args.presets:
            row = run_preset(preset, base / preset, args.inception, args.steps, args.samples)
            rows.append(row)
            print(json.dumps(row), flush=True)
            with open(args.out, "a") as log:
                log.write(json.dumps(row) + "\n")
    print(table(rows))


if __name__ == "__main__":
    main()
