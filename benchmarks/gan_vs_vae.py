"""GAN against VAE on the same data, nets and metrics: sharp samples against covered modes.

    python benchmarks/gan_vs_vae.py --runs /tmp/gvv                  # train what is missing, score all
    python benchmarks/gan_vs_vae.py --runs /tmp/gvv --presets digits-vae stacked-vae --steps 1500
    python benchmarks/gan_vs_vae.py --runs /tmp/gvv --score-only     # score runs already there

Each preset trains as `ganforge train PRESET --out RUNS/PRESET` would (its own settings, the
progress bar off, --steps to shorten it) unless RUNS/PRESET already holds a finished run; the
wall and CPU time of training go to RUNS/PRESET/train_time.json and into the row. Then:

- digits presets (mnist5k): 5,000 samples of the EMA generator (seed 0) against the 5,000
  real digits with the bundled `digits` classifier's features: fid, precision, recall,
  density, coverage; confident and class_kl; parzen_ll, the Parzen-window log-likelihood of
  Goodfellow et al. (bandwidth chosen on half the real digits, scored on the other half);
  --inception adds inception_fid, the same samples' FID with the FID Inception-v3 features
  (the default backend; the row names it); runs with a likelihood (train.family=vae) add
  iwae_ll, the IWAE bound with --iwae-k importance samples on --iwae-n held-out test digits
  (binarised with seed 0: nats per binarised digit, not comparable with parzen_ll, a density
  of grey levels);
- stacked presets: stacked_modes and stacked_kl over 26,000 samples (VEEGAN / PacGAN).

Rows are written to --out (JSON lines; default benchmarks/results/gan_vs_vae.jsonl) and a
Markdown table is printed. --picture FILE.png draws 64 samples (seed 0) of each digits run
side by side, then 16 held-out digits over the reconstructions of each run with an encoder.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import torch

from ganforge.api import evaluate, load_run
from ganforge.eval.likelihood import iwae_log_likelihood
from ganforge.rundir import RunDir

DIGITS = ("digits-dcgan", "digits-dcgan-long", "digits-vae", "digits-vaegan")
STACKED = ("stacked-dcgan", "stacked-pacdcgan", "stacked-vae")
DIGIT_METRICS = ["fid", "precision", "recall", "density", "coverage", "confident", "class_kl",
                 "parzen_ll"]


def train_preset(preset: str, out: Path, steps: int | None) -> dict:
    """Train with the real command in a child process (its own CPU time is measured)."""
    args = [sys.executable, "-m", "ganforge", "train", preset, "--out", str(out),
            "--set", "train.progress=false"]
    if steps:
        args += ["--set", f"train.steps={steps}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, check=True, env=os.environ)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    timing = {"train_wall_s": round(time.perf_counter() - start, 1),
              "train_cpu_s": round(after.ru_utime - before.ru_utime
                                   + after.ru_stime - before.ru_stime, 1),
              "threads": int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads()))}
    (out / "train_time.json").write_text(json.dumps(timing))
    return timing


def score(run_path: Path, preset: str, n: int | None, iwae_k: int, iwae_n: int,
          inception: bool = False) -> dict:
    run = load_run(run_path)
    row = {"preset": preset, "family": run.cfg.train.family, "steps": run.step}
    timing = run_path / "train_time.json"
    if timing.is_file():
        row.update(json.loads(timing.read_text()))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if run.cfg.data.name == "stacked":
            row.update(evaluate(run, ["stacked_modes", "stacked_kl", "stacked_kl_channels"],
                                n=n or 26_000)["metrics"])
        else:
            row.update(evaluate(run, DIGIT_METRICS, n=n or 5000, features="digits")["metrics"])
            if inception:
                result = evaluate(run, ["fid"], n=n or 5000, features="inception")
                row["inception_fid"] = result["metrics"]["fid"]
                row["inception_backend"] = result["protocol"].get("features", {}).get("backend")
            if getattr(run.family, "has_likelihood", False):
                values, protocol = iwae_log_likelihood(run, iwae_k, 0, iwae_n)
                row.update(values)
                row.update(iwae_k=protocol["k"], iwae_held_out=protocol["held_out"])
    row["score_wall_s"] = round(time.perf_counter() - start, 1)
    return row


def table(rows: list[dict]) -> str:
    def cell(row, key, fmt="{:.3f}"):
        value = row.get(key)
        return "–" if value is None else fmt.format(value)

    lines = []
    digits = [r for r in rows if "fid" in r]
    if digits:
        lines += ["| preset | steps | train wall (min) | Inception FID | digit FID | precision | "
                  "recall | density | coverage | confident | class KL | Parzen LL | IWAE LL (nats) |",
                  "|---" * 13 + "|"]
        for r in digits:
            lines.append(f"| {r['preset']} | {r['steps']} | {cell(r, 'train_wall_s', '{:.0f}')} "
                         f"| {cell(r, 'inception_fid', '{:.2f}')} | {cell(r, 'fid', '{:.1f}')} | "
                         f"{cell(r, 'precision')} | "
                         f"{cell(r, 'recall')} | {cell(r, 'density')} | {cell(r, 'coverage')} | "
                         f"{cell(r, 'confident')} | {cell(r, 'class_kl')} | "
                         f"{cell(r, 'parzen_ll', '{:.0f}')} | {cell(r, 'iwae_ll', '{:.0f}')} |")
    stacked = [r for r in rows if "stacked_modes" in r]
    if stacked:
        lines += ["", "| preset | steps | train wall (s) | modes (of 1000) | KL |", "|---" * 5 + "|"]
        for r in stacked:
            lines.append(f"| {r['preset']} | {r['steps']} | {cell(r, 'train_wall_s', '{:.0f}')} "
                         f"| {r['stacked_modes']} | {cell(r, 'stacked_kl')} |")
    return "\n".join(lines)


def picture(runs: Path, presets: list[str], path: Path) -> None:
    """Samples of the digits runs side by side (8 x 8 each), then held-out digits over each
    encoder's reconstructions (16 a row)."""
    import numpy as np

    from ganforge.api import sample
    from ganforge.eval.likelihood import reconstructions
    from ganforge.viz import image_grid, save_png

    loaded = [load_run(runs / p) for p in presets if (runs / p).is_dir()]
    panels = [image_grid(sample(run, 64, 0), nrow=8) for run in loaded]
    gap = np.full((panels[0].shape[0], 12, 1), 255, np.uint8)
    rows = [np.concatenate([x for panel in panels for x in (panel, gap)][:-1], axis=1)]
    for run in loaded:
        if hasattr(run.family, "reconstruct"):
            recon = image_grid(reconstructions(run, 16, 0), nrow=16)
            width = rows[0].shape[1]
            recon = np.pad(recon, ((12, 0), (0, max(0, width - recon.shape[1])), (0, 0)),
                           constant_values=255)[:, :width]
            rows.append(recon)
    save_png(np.concatenate(rows, axis=0), path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", required=True, help="folder of the runs, RUNS/PRESET")
    p.add_argument("--presets", nargs="+", default=[*DIGITS, *STACKED])
    p.add_argument("--steps", type=int, help="train.steps for presets trained now")
    p.add_argument("--score-only", action="store_true", help="train nothing")
    p.add_argument("--n", type=int, help="samples scored (default 5,000; stacked 26,000)")
    p.add_argument("--iwae-k", type=int, default=1000)
    p.add_argument("--iwae-n", type=int, default=1000, help="held-out digits of iwae_ll")
    p.add_argument("--out", default="benchmarks/results/gan_vs_vae.jsonl")
    p.add_argument("--picture", help="FILE.png: samples side by side and reconstructions")
    p.add_argument("--inception", action="store_true",
                   help="digits presets: also the FID with Inception features (inception_fid)")
    args = p.parse_args()
    rows = []
    for preset in args.presets:
        run = Path(args.runs) / preset
        if not (RunDir(run).is_run() and RunDir(run).checkpoint.is_dir()):
            if args.score_only:
                raise SystemExit(f"{run}: no finished run to score (drop --score-only to train)")
            train_preset(preset, run, args.steps)
        row = score(run, preset, args.n, args.iwae_k, args.iwae_n, args.inception)
        print(json.dumps(row), flush=True)
        rows.append(row)
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")
    print(table(rows))
    if args.picture:
        picture(Path(args.runs), [p for p in args.presets if p in DIGITS], Path(args.picture))


if __name__ == "__main__":
    main()
