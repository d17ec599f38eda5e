"""The public entry points: train a config, load a finished run, sample it, evaluate it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ganforge.config import Config
from ganforge.langevin import LangevinByD
from ganforge.run import Run, load_run
from ganforge.train.loop import train as _train


def train(cfg: Config, run_dir: Path | str, resume: bool = False,
          changed_data: bool = False) -> Path:
    """Train `cfg` into `run_dir` (see ganforge.train.loop.train)."""
    return _train(cfg, run_dir, resume, changed_data)


def sample(run: Run | Path | str, n: int = 64, seed: int = 0,
           labels: torch.Tensor | None = None, top_by_d: float | None = None,
           langevin: LangevinByD | None = None) -> torch.Tensor:
    """n samples from the run's EMA generator (class `labels` for conditional models);
    `top_by_d`: the n that the run's D ranks highest of n / top_by_d draws (a GAN whose G
    draws its own inputs, ganforge.selection); `langevin`: the n draws moved by Langevin
    steps toward what D finds real (the same runs, ganforge.langevin)."""
    run = run if isinstance(run, Run) else load_run(run)
    if langevin is not None:
        from ganforge.langevin import check_langevin, langevin_batches, refuse_with_top_by_d

        refuse_with_top_by_d(top_by_d, langevin)
        check_langevin(run, langevin)
        if labels is not None:
            raise ValueError("langevin moves the draws of G's own inputs; it takes no labels")
        return torch.cat(list(langevin_batches(run, n, seed, langevin)))
    if top_by_d is not None:
        from ganforge.selection import check_ranked, top_by_d_batches

        check_ranked(run, top_by_d)
        if labels is not None:
            raise ValueError("top_by_d ranks the draws of G's own inputs; it takes no labels")
        return torch.cat(list(top_by_d_batches(run, n, seed, top_by_d)))
    inputs = run.family.fixed_inputs(n, seed)
    if labels is not None:
        inputs["y"] = labels
    return run.family.snapshot(inputs)


def evaluate(run: Run | Path | str, metrics: list[str] | None = None, n: int | None = None,
             features: str | None = None, seed: int = 0,
             iwae_k: int | None = None, temperature: float = 1.0,
             progress: bool = False, top_by_d: float | None = None,
             langevin: LangevinByD | None = None) -> dict[str, Any]:
    """Score the run's generator; returns {"protocol": {...}, "metrics": {...}} (`iwae_k`:
    importance samples of the metric iwae_ll, default 1,000; `temperature`: token runs'
    sampling temperature, 1 = G as trained; `progress`: bars on stderr for the long passes;
    `top_by_d`: score the n samples that D ranks highest of n / top_by_d draws, see
    ganforge.selection; `langevin`: score n draws moved toward what D finds real, see
    ganforge.langevin)."""
    from ganforge.eval.run import evaluate_run

    run = run if isinstance(run, Run) else load_run(run)
    return evaluate_run(run, metrics, n, features, seed, iwae_k, temperature, progress,
                        top_by_d, langevin)
