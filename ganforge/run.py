"""A finished run on disk, loaded back: its config, data facts and model family."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from ganforge.config import Config, load_saved_config
from ganforge.data import Data
from ganforge.data.fingerprint import changes
from ganforge.families import Family, build_family, load_data
from ganforge.rundir import RunDir
from ganforge.train.checkpoint import load_nets
from ganforge.validate import validate


@dataclass
class Run:
    """A trained run: its config, data facts and model family with the checkpoint loaded."""

    path: Path
    cfg: Config
    data: Data
    family: Family
    step: int


def load_run(run_dir: Path | str, device: str | None = None, best: bool = False) -> Run:
    """Rebuild the family of RUN/config.yaml and load RUN/checkpoint into it (`best`: the nets
    of the best checkpoint that train.eval_every tracked)."""
    run = RunDir(run_dir).require()
    cfg = load_saved_config(run.config)
    if device is not None:
        cfg.device = device
    data = load_data(cfg)
    for change in changes(run.data, data.fingerprint):
        print(f"ganforge: warning: {change}; results may not compare", file=sys.stderr)
    family = build_family(cfg, data, torch.device(cfg.device))
    state = load_nets(run.checkpoint, family, best=best)
    for net in family.nets.values():
        net.eval()
    return Run(run.path, cfg, data, family, int(state["step"]))


def build(cfg: Config, device: str | torch.device = "cpu", rank: int = 0,
          world: int = 1) -> tuple[Data, Family]:
    """Validate `cfg`, then load its data and build its family, untrained (what a training run
    starts from; tests and benchmarks use it to drive a family by hand)."""
    validate(cfg)
    data = load_data(cfg, rank, world)
    return data, build_family(cfg, data, torch.device(device))
