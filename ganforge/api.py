"""The public entry points: train a config, load a finished run, sample it, evaluate it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganforge.config import Config, load_saved_config
from ganforge.data import Data, build_data
from ganforge.train.checkpoint import load_nets
from ganforge.train.loop import train as _train
from ganforge.train.steps import Family, build_family


def train(cfg: Config, run_dir: Path | str, resume: bool = False) -> Path:
    """Train `cfg` into `run_dir` (see ganforge.train.loop.train)."""
    return _train(cfg, run_dir, resume)


@dataclass
class Run:
    """A trained run: its config, data facts and model family with the checkpoint loaded."""

    path: Path
    cfg: Config
    data: Data
    family: Family
    step: int


def load_run(run_dir: Path | str, device: str | None = None) -> Run:
    """Rebuild the family of RUN/config.yaml and load RUN/checkpoint into it."""
    path = Path(run_dir)
    if not (path / "config.yaml").is_file():
        raise FileNotFoundError(f"{path} is not a ganforge run (no config.yaml in it)")
    cfg = load_saved_config(path / "config.yaml")
    if device is not None:
        cfg.device = device
    data = build_data(cfg)
    family = build_family(cfg, data, torch.device(cfg.device))
    state = load_nets(path / "checkpoint", family)
    for net in family.nets.values():
        net.eval()
    return Run(path, cfg, data, family, int(state["step"]))


def sample(run: Run | Path | str, n: int = 64, seed: int = 0,
           labels: torch.Tensor | None = None) -> torch.Tensor:
    """n samples from the run's EMA generator (class `labels` for conditional models)."""
    run = run if isinstance(run, Run) else load_run(run)
    inputs = run.family.fixed_inputs(n, seed)
    if labels is not None:
        inputs["y"] = labels
    return run.family.snapshot(inputs)


def evaluate(run: Run | Path | str, metrics: list[str] | None = None, n: int | None = None,
             features: str | None = None, seed: int = 0) -> dict[str, Any]:
    """Score the run's generator; returns {"protocol": {...}, "metrics": {...}}."""
    from ganforge.evaluation import evaluate_run

    run = run if isinstance(run, Run) else load_run(run)
    return evaluate_run(run, metrics, n, features, seed)
