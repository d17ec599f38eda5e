"""The one training loop: Algorithm 1 of Goodfellow et al. (2014).

    for each training iteration:
        for k steps:  sample m real examples and m noise vectors; update D
        sample m noise vectors; update G

The loop knows no model family: `family.d_step` / `family.g_step` (train/steps.py)
do the updates. Everything else here is bookkeeping: seeds, logging, snapshots,
checkpoints, divergence checks. Rank 0 alone writes to the run directory.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import torch

from ganforge.config import RESUMABLE_KEYS, Config, config_diff, load_saved_config, save_config
from ganforge.data import build_data
from ganforge.train import checkpoint, distributed
from ganforge.train.steps import build_family
from ganforge.viz import save_image_grid, save_points


class DivergedError(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


class ResumeError(ValueError):
    """`--resume` on a run whose config differs from the one asked for."""


def check_resumable(saved: Config, wanted: Config) -> None:
    diff = config_diff(saved, wanted, ignore=RESUMABLE_KEYS)
    if diff:
        raise ResumeError(
            "cannot resume: the config differs from the run's in "
            + "; ".join(diff)
            + f". Only {', '.join(RESUMABLE_KEYS)} may change on resume; start a new run instead."
        )


def save_snapshot(family, fixed, data, path: Path) -> None:
    samples = family.snapshot(fixed)
    if data.kind == "toy":
        real = data.toy.sample(2000, torch.Generator().manual_seed(0)).float()
        save_points(samples, path.with_suffix(".png"), real, title=path.stem)
    else:
        nrow = family.num_classes if getattr(family, "conditional_g", False) else None
        save_image_grid(samples, path.with_suffix(".png"), nrow=nrow)


def train(cfg: Config, run_dir: Path | str, resume: bool = False) -> Path:
    """Train `cfg` into `run_dir`, or continue the run there when `resume`."""
    run_dir = Path(run_dir)
    info, device = distributed.setup(cfg.device)
    if resume:
        check_resumable(load_saved_config(run_dir / "config.yaml"), cfg)
    elif (run_dir / "checkpoint" / "state.json").exists():
        raise FileExistsError(
            f"{run_dir} already holds a run; use --resume {run_dir} to continue it, "
            "or choose another --out"
        )

    # Same seed on every process: identical initial weights and a shared noise stream,
    # of which each process takes its own slice (see Family.global_randn).
    torch.manual_seed(cfg.seed)
    data = build_data(cfg, info.rank, info.world)
    family = build_family(cfg, data, device)
    family.rank, family.world = info.rank, info.world
    family.wrap_nets(lambda net: distributed.wrap(net, info, device))

    config_hash = cfg.hash(ignore=RESUMABLE_KEYS)
    start = 0
    if resume:
        start = checkpoint.load_checkpoint(run_dir / "checkpoint", family, data.stream, config_hash)

    t = cfg.train
    writer = None
    if info.main:
        (run_dir / "samples").mkdir(parents=True, exist_ok=True)
        save_config(cfg, run_dir / "config.yaml")
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(run_dir / "tb"), purge_step=start if resume else None)
    fixed = family.fixed_inputs(t.sample_count, seed=cfg.seed + 12345)
    metrics_file = run_dir / "metrics.jsonl"
    if resume and info.main and metrics_file.exists():  # drop rows logged after the checkpoint
        rows = [r for r in metrics_file.read_text().splitlines() if r]
        metrics_file.write_text("".join(r + "\n" for r in rows if json.loads(r)["step"] <= start))

    bar = None
    if info.main and t.progress:
        from tqdm import tqdm

        bar = tqdm(total=t.steps, initial=start, unit="step", dynamic_ncols=True)
    window_start, window_steps = time.perf_counter(), 0
    for step in range(start, t.steps):
        logs: dict[str, torch.Tensor] = {}
        for _ in range(t.d_steps):  # k discriminator steps on fresh minibatches
            batch = data.stream.next()
            logs.update(family.d_step(batch, step))
        logs.update(family.g_step(batch, step))  # then one generator step
        for scheduler in family.schedulers.values():
            scheduler.step()
        done = step + 1
        window_steps += 1

        values = {k: float(v) for k, v in logs.items()}
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if bad:
            raise DivergedError(
                f"training diverged at step {done}: {', '.join(f'{k}={values[k]}' for k in bad)}. "
                f"The last good checkpoint is kept in {run_dir / 'checkpoint'}; lower the learning "
                "rates or change the loss, then start a new run."
            )
        if bar is not None:
            bar.update(1)
            if done % 10 == 0:
                bar.set_postfix({k: f"{v:.3f}" for k, v in values.items() if k.startswith("loss")})
        if not info.main:
            continue
        if done % t.log_every == 0 or done == t.steps:
            elapsed = time.perf_counter() - window_start
            row = {"step": done, **values, "steps_per_s": window_steps / max(elapsed, 1e-9),
                   "lr_g": family.optimizers["G"].param_groups[0]["lr"]}
            with metrics_file.open("a") as f:
                f.write(json.dumps(row) + "\n")
            for k, v in row.items():
                if k != "step":
                    writer.add_scalar(k, v, done)
            window_start, window_steps = time.perf_counter(), 0
        if done % t.sample_every == 0 or done == t.steps:
            save_snapshot(family, fixed, data, run_dir / "samples" / f"step_{done:07d}")
        if done % t.checkpoint_every == 0 or done == t.steps:
            checkpoint.save_checkpoint(run_dir / "checkpoint", done, family,
                                       data.stream.state_dict(), config_hash)
    if bar is not None:
        bar.close()
    if writer is not None:
        writer.close()
    distributed.barrier(info)
    distributed.teardown(info)
    return run_dir
