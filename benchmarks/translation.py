"""Image-to-image translation on the bundled tasks: pix2pix and CycleGAN against two baselines.

    python benchmarks/translation.py [--tasks edges,strokes] [--steps N] [--seeds 0,1,2]
                                     [--no-baseline] [--out DIR] [--threads 2] [--json FILE]

For each task it trains the task's preset (pix2pix-TASK, or cyclegan-strokes) with
`ganforge.train`, then scores the EMA generator on the held-out test split with
`ganforge.eval.translation.evaluate_translation`: L1, PSNR and SSIM against the ground truth, the same
for the identity map (output = input), and for digit tasks the share of translated test digits
that the `digits` classifier labels with their true class. The second baseline is the same
generator, same data, steps, batch size and optimiser, trained on the L1 loss alone (no
discriminator): `Pix2PixFamily(adversarial=False)`. CycleGAN never sees a pair; its L1
baseline does: it is trained on (a, thicken(a)) pairs of domain A's training digits, so it is a
supervised upper reference rather than a competitor. --seeds trains each preset once per seed
(the baseline for the first seed only); --no-baseline leaves the baseline out.

Wall time is the training loop's (data loading and evaluation excluded); CPU time is the
process's user + system time over the same span, which on a shared machine says more about
the cost than the wall clock. The table printed at the end is Markdown for benchmarks/README.md;
--json writes every number with its protocol.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
import warnings
from pathlib import Path

import torch

TASKS = ("edges", "denoise", "inpaint", "superres", "colorize", "strokes")


def preset_of(task: str) -> str:
    return "cyclegan-strokes" if task == "strokes" else f"pix2pix-{task}"


def timed(fn):
    """(result, wall seconds, CPU seconds) of fn()."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def train_adversarial(cfg, out: Path) -> tuple[dict, float, float]:
    """Train the preset with ganforge.train and evaluate it; (evaluation, wall, cpu)."""
    from ganforge.api import load_run, train
    from ganforge.eval.translation import evaluate_translation

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tensorboard chatter
        _, wall, cpu = timed(lambda: train(cfg, out))
    run = load_run(out)
    return evaluate_with_fallback(lambda classifier: evaluate_translation(run, None, classifier)
                                  ), wall, cpu


def evaluate_with_fallback(evaluate) -> dict:
    """evaluate("digits"), or without the classifier when its weights are not built yet."""
    try:
        return evaluate("digits")
    except FileNotFoundError as error:
        print(f"  (no digit classifier: {error}; class accuracy left out)", file=sys.stderr)
        result = evaluate(None)
        result["protocol"]["classifier"] = f"missing: {error}"
        return result


def l1_baseline_data(cfg):
    """The run's data; for CycleGAN, paired (a, thicken(a)) streams of domain A's digits."""
    from ganforge.data import Data, TensorStream
    from ganforge.families import load_data

    data = load_data(cfg)
    if cfg.train.family == "pix2pix":
        return data, cfg
    from ganforge.data.paired import load_unpaired, thicken_strokes

    unpaired = load_unpaired(cfg.data.name, "train", cfg.data.image_size)
    pairs = {"a": unpaired.a, "b": thicken_strokes(unpaired.a)}
    stream = TensorStream(pairs, cfg.data.batch_size, cfg.seed)
    paired_cfg = copy.deepcopy(cfg)
    paired_cfg.train.family = "pix2pix"
    return Data(stream, "paired", data.shape, in_shape=data.in_shape, test=data.test), paired_cfg


def train_l1_only(cfg) -> tuple[dict, float, float]:
    """The same generator trained on L1 alone, with the loop's D-step / G-step / schedule order;
    (metrics and protocol of its EMA generator on the test split, wall, cpu)."""
    from ganforge.eval.translation import translation_metrics
    from ganforge.families import Pix2PixFamily

    torch.manual_seed(cfg.seed)
    data, l1_cfg = l1_baseline_data(cfg)
    family = Pix2PixFamily(l1_cfg, data, torch.device(cfg.device), adversarial=False)

    def loop() -> None:
        for step in range(cfg.train.steps):
            batch = data.stream.next()
            family.d_step(batch, step)
            family.g_step(batch, step)
            for scheduler in family.schedulers.values():
                scheduler.step()

    _, wall, cpu = timed(loop)
    for net in family.nets.values():
        net.eval()
    from ganforge.eval.translation import held_out_labels

    labels = held_out_labels(_RunFacts(cfg, data))
    outputs = family.translate(data.test["a"])

    def evaluate(classifier):
        metrics, protocol = translation_metrics(outputs, data.test["b"], data.test["a"],
                                                labels, classifier, cfg.device)
        return {"protocol": protocol, "metrics": metrics}

    return evaluate_with_fallback(evaluate), wall, cpu


class _RunFacts:
    """The two attributes of a Run that `held_out_labels` reads."""

    def __init__(self, cfg, data):
        self.cfg, self.data = cfg, data


def benchmark_task(task: str, steps: int | None, out: Path, seed: int | None = None,
                   baseline: bool = True) -> dict:
    from ganforge.config import load_config

    overrides = {"train.progress": False}
    if steps is not None:
        overrides["train.steps"] = steps
    if seed is not None:
        overrides["seed"] = seed
    cfg = load_config(preset_of(task), overrides)
    print(f"{task}: {preset_of(task)}, {cfg.train.steps} steps, seed {cfg.seed}",
          file=sys.stderr, flush=True)
    run_name = task if seed is None else f"{task}-seed{seed}"
    adversarial, wall, cpu = train_adversarial(cfg, out / run_name)
    print(f"  adversarial: {wall:.0f} s wall, {cpu:.0f} s CPU: {adversarial['metrics']}",
          file=sys.stderr, flush=True)
    result = {
        "task": task,
        "preset": preset_of(task),
        "seed": cfg.seed,
        "steps": cfg.train.steps,
        "batch_size": cfg.data.batch_size,
        "wall_s": wall,
        "cpu_s": cpu,
        "metrics": adversarial["metrics"],
        "protocol": adversarial["protocol"],
    }
    if baseline:
        l1_only, l1_wall, l1_cpu = train_l1_only(cfg)
        print(f"  L1 only: {l1_wall:.0f} s wall, {l1_cpu:.0f} s CPU: {l1_only['metrics']}",
              file=sys.stderr, flush=True)
        result["l1_only"] = {
            "wall_s": l1_wall, "cpu_s": l1_cpu, "metrics": l1_only["metrics"],
            "supervision": "paired (a, thicken(a))" if task == "strokes" else "paired"}
    return result


def _fmt(metrics: dict, prefix: str = "") -> str:
    keys = [f"{prefix}l1", f"{prefix}psnr", f"{prefix}ssim"]
    if any(k not in metrics for k in keys):
        return "-"
    return f"{metrics[keys[0]]:.3f} / {metrics[keys[1]]:.2f} / {metrics[keys[2]]:.3f}"


def _accuracy(metrics: dict) -> str:
    value = metrics.get("class_accuracy")  # None also where no baseline was trained
    return "-" if value is None else f"{100 * value:.1f}%"


def markdown_table(results: list[dict]) -> str:
    lines = [
        "| task | preset | steps | wall / CPU (min) | model L1 / PSNR / SSIM | identity map | "
        "L1-only G | class acc. model / L1-only / truth |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        m, base = r["metrics"], r.get("l1_only", {}).get("metrics", {})
        truth = m.get("class_accuracy_target")
        accuracy = "-" if truth is None else (f"{_accuracy(m)} / {_accuracy(base)} / "
                                              f"{100 * truth:.1f}%")
        lines.append(
            f"| {r['task']}, seed {r['seed']} | {r['preset']} | {r['steps']} | {r['wall_s'] / 60:.1f} / "
            f"{r['cpu_s'] / 60:.1f} | {_fmt(m)} | {_fmt(m, 'identity_')} | {_fmt(base)} | "
            f"{accuracy} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS),
                        help=f"comma-separated, from {', '.join(TASKS)}")
    parser.add_argument("--steps", type=int, default=None,
                        help="override every preset's train.steps (default: the presets')")
    parser.add_argument("--seeds", default=None,
                        help="comma-separated seeds, one training each (default: the presets')")
    parser.add_argument("--no-baseline", action="store_true",
                        help="leave out the L1-only generator")
    parser.add_argument("--out", default="runs/translation-benchmark", help="run directories")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--json", default=None, help="write all results to this JSON file")
    args = parser.parse_args()
    tasks = [t for t in args.tasks.split(",") if t]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        parser.error(f"unknown tasks {', '.join(unknown)}; valid: {', '.join(TASKS)}")
    try:
        seeds = [None] if args.seeds is None else [int(v) for v in args.seeds.split(",") if v]
    except ValueError:
        parser.error(f"--seeds takes comma-separated integers, got {args.seeds!r}")
    if not seeds:
        parser.error("--seeds names no seed")
    from ganforge.train.checkpoint import atomic_write

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        parser.error(f"{out} is not empty; choose another --out")
    results = []
    for task in tasks:
        for index, seed in enumerate(seeds):
            baseline = index == 0 and not args.no_baseline
            results.append(benchmark_task(task, args.steps, out, seed, baseline))
        if args.json:  # after every task, so a long benchmark leaves partial results
            text = json.dumps(results, indent=1, default=float)
            atomic_write(Path(args.json), lambda path, text=text: path.write_text(text))
    print(markdown_table(results))


if __name__ == "__main__":
    main()
