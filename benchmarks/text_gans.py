"""Discrete-sequence GANs: MLE vs SeqGAN vs Gumbel-softmax on SeqGAN's published oracle and on
US census surnames.

Stages (each a `ganforge train` and a `ganforge eval --json` of the real command, timed):
  mle      the MLE baseline (oracle-mle / names-mle)
  seqgan   SeqGAN, G started from the mle run (seq.init_from; no pre-training of its own)
  gumbel   the Gumbel-softmax GAN, G started from the same mle run
Rows (JSON lines) go to --results: the run's wall time of training and of evaluation, the
steps, and the metrics (oracle: nll_oracle of 10,000 samples and nll_test of the 10,000
held-out sequences; names: nll_test, BLEU-2..5, self-BLEU-2..5, novelty of 2,000 samples and
the same figures of 2,000 held-out names).

    python benchmarks/text_gans.py --data oracle --oracle ../shared/data/seqgan_oracle.npz \
        --stages mle seqgan gumbel --out /tmp/text_gans
    python benchmarks/text_gans.py --data names --stages mle seqgan gumbel --out /tmp/text_gans
    python benchmarks/text_gans.py --data oracle --oracle ../shared/data/seqgan_oracle.npz \
        --stages mle --temperatures 1 0.9 0.8 --out /tmp/text_gans  # oracle-mle at 3 temperatures
    python benchmarks/text_gans.py --data oracle --oracle ../shared/data/seqgan_oracle.npz \
        --stages mle --best --out /tmp/early --set train.steps=3120 train.eval_every=156 \
        train.eval_metrics=nll_test train.eval_samples=2     # MLE stopped early on nll_test
    python benchmarks/text_gans.py --data oracle --oracle FILE.npz --stages mle --mle-steps 20 \
        --out /tmp/smoke --results /tmp/smoke/rows.jsonl          # a smoke test

Each process runs with one torch thread (OMP_NUM_THREADS=1): on the shared 2-core machine
that was faster than two.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from ganforge.train.checkpoint import atomic_write

PRESETS = {"oracle": "oracle-{}", "names": "names-{}"}


def ganforge(*args: str) -> tuple[str, float]:
    """Run the real command; (stdout, wall seconds)."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    began = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ganforge", *args], capture_output=True,
                          text=True, env=env)
    if proc.returncode:
        raise SystemExit(f"ganforge {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return proc.stdout, time.perf_counter() - began


def stage_overrides(args, stage: str, mle_run: Path) -> list[str]:
    sets = ["train.progress=false", *args.set]
    if args.data == "oracle":
        sets.append(f"data.oracle_path={Path(args.oracle).resolve()}")
    if stage == "mle":
        return sets + ([f"train.steps={args.mle_steps}"] if args.mle_steps else [])
    sets += [f"seq.init_from={mle_run.resolve()}", "seq.pretrain_g=0",
             *(["seq.init_best=true"] if args.mle_best else [])]
    if stage == "seqgan":
        sets += [f"seq.pretrain_d={args.pretrain_d}",
                 f"train.steps={args.pretrain_d + args.seqgan_steps}"]
    else:
        sets.append(f"train.steps={args.gumbel_steps}")
    return sets


def run_stage(args, stage: str) -> list[dict]:
    """Train the stage's run (unless its folder holds one) and score it at each of
    --temperatures: a row each."""
    out = Path(args.out) / f"{args.data}-{stage}"
    mle_run = Path(args.mle_run or Path(args.out) / f"{args.data}-mle")
    sets = stage_overrides(args, stage, mle_run)
    train_s = None  # a run trained before (by this script or by hand): its time is its own
    if not (out / "checkpoint" / "state.json").is_file():
        _, train_s = ganforge("train", PRESETS[args.data].format(stage), "--out", str(out),
                              *[a for s in sets for a in ("--set", s)])
    rows = []
    for temperature in args.temperatures:
        text, eval_s = ganforge("eval", str(out), "--json", "--temperature", str(temperature),
                                *(["--n", str(args.eval_n)] if args.eval_n else []),
                                *(["--best"] if args.best else []))
        result = json.loads(text)
        row = {"data": args.data, "family": stage, "step": result["protocol"]["step"],
               "temperature": temperature, "best": args.best, "label": args.label,
               "train_s": train_s and round(train_s, 1),
               "eval_s": round(eval_s, 1), "settings": sets, "metrics": result["metrics"],
               "held_out": result.get("held_out"), "samples": result["samples"],
               "protocol": result["protocol"]}
        print(json.dumps({k: row[k] for k in ("family", "step", "temperature", "train_s",
                                              "eval_s", "metrics")}))
        rows.append(row)
    return rows


#: nll_oracle of published models at length 20 (SeqGAN's log after MLE and after adversarial
#: training; LeakGAN; RelGAN), drawn as reference lines
PUBLISHED = {"SeqGAN paper: MLE": 9.07, "SeqGAN paper": 8.68, "LeakGAN": 7.0, "RelGAN": 6.68}


def plot_frontier(results: str, out: str) -> None:
    """Sample quality (nll_oracle) against coverage (nll_test): each run a line through its
    temperatures, labelled by family and step; lower-left is better on both."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs: dict[str, list] = {}
    for line in Path(results).read_text().splitlines():
        row = json.loads(line)
        m = row["metrics"]
        if row["data"] == "oracle" and "nll_oracle" in m and "nll_test" in m:
            label = row.get("label") or f"{row['family']}, step {row['step']}"
            runs.setdefault(label, []).append((row.get("temperature", 1.0), m["nll_test"],
                                               m["nll_oracle"]))
    fig, ax = plt.subplots(figsize=(7, 5))
    for label, points in runs.items():
        points = sorted(set(points))
        ax.plot([p[1] for p in points], [p[2] for p in points], "o-", label=label)
        for t, x, y in points:
            ax.annotate(f"T={t:g}", (x, y), textcoords="offset points", xytext=(4, 3), fontsize=7)
    for name, value in PUBLISHED.items():
        ax.axhline(value, color="grey", lw=0.6, ls=":")
        ax.text(ax.get_xlim()[0], value, f" {name} {value}", fontsize=7, va="bottom", color="grey")
    ax.set_xlabel("nll_test (nats per token; coverage of held-out data, lower is better)")
    ax.set_ylabel("nll_oracle (nats per token; sample quality, lower is better)")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    path = Path(out)
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120, format=path.suffix[1:] or "png"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", choices=sorted(PRESETS), default="oracle")
    p.add_argument("--oracle", default="../shared/data/seqgan_oracle.npz",
                   help="the published oracle's parameters (data.oracle_path)")
    p.add_argument("--stages", nargs="*", default=["mle", "seqgan", "gumbel"],
                   choices=["mle", "seqgan", "gumbel"], help="none: only --plot")
    p.add_argument("--mle-steps", type=int, help="default: the preset's (oracle: 156 steps an "
                   "epoch)")
    p.add_argument("--mle-run", help="an existing mle run to start the GANs from")
    p.add_argument("--mle-best", action="store_true", help="start the GANs from the mle "
                   "run's best tracked checkpoint (seq.init_best), not its last")
    p.add_argument("--pretrain-d", type=int, default=500)
    p.add_argument("--seqgan-steps", type=int, default=150, help="adversarial steps")
    p.add_argument("--gumbel-steps", type=int, default=2000, help="adversarial steps")
    p.add_argument("--set", nargs="*", default=[], help="extra KEY=VALUE for every stage")
    p.add_argument("--eval-n", type=int, help="samples scored (default: 10,000 oracle, 2,000 "
                   "names)")
    p.add_argument("--temperatures", nargs="+", type=float, default=[1.0],
                   help="score each run at these sampling temperatures (ganforge eval "
                   "--temperature): below 1 trades nll_test for nll_oracle")
    p.add_argument("--best", action="store_true", help="score each run's best checkpoint "
                   "(train.eval_every tracked; e.g. the MLE run stopped early on nll_test)")
    p.add_argument("--label", help="the runs' name in the rows and the --plot legend "
                   "(default: family and step)")
    p.add_argument("--plot", help="FILE.png: nll_oracle against nll_test of the --results "
                   "rows on the oracle, one line per run through its temperatures")
    p.add_argument("--out", default="/tmp/text_gans", help="folder of the runs")
    p.add_argument("--results", default="benchmarks/results/text_gans.jsonl")
    args = p.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for stage in args.stages:
        rows = run_stage(args, stage)
        with open(args.results, "a") as f:
            f.writelines(json.dumps(row) + "\n" for row in rows)
    if args.plot:
        plot_frontier(args.results, args.plot)


if __name__ == "__main__":
    main()
