"""Metrics tracked while training: every `train.eval_every` steps the EMA generator is scored
with `train.eval_metrics` on `train.eval_samples` samples, the values join that step's row of
metrics.jsonl (and TensorBoard) as `eval_NAME` (features: `train.eval_features`, else the
data's default as in `ganforge eval`), and the checkpoint with the best value of the
first metric is kept as checkpoint/best-nets.safetensors (see checkpoint.save_best).

Scoring draws no number from the training's random streams (it runs under a forked RNG), so
a run trains to the same weights with tracking on or off.
"""

from __future__ import annotations

import math
import time

import torch

from ganforge.eval.run import default_plan, evaluate_run
from ganforge.run import Run
from ganforge.rundir import RunDir
from ganforge.train import checkpoint

#: metrics for which a smaller value is better; every other metric is better larger
LOWER_IS_BETTER = frozenset({"fid", "kid", "mode_kl", "class_kl", "l1", "parzen_nll",
                             "nll_oracle", "nll_test", "ppl", "ppl_0to1", "ppl_1to0"})


def metric_names(cfg) -> list[str]:
    return [name.strip() for name in cfg.train.eval_metrics.split(",") if name.strip()]


class Tracker:
    def __init__(self, cfg, run: RunDir, family, data):
        self.cfg, self.run, self.family, self.data = cfg, run, family, data
        self.every = cfg.train.eval_every
        self.names = metric_names(cfg)
        if self.every and not self.names:  # the run's default plan, as `ganforge eval` has it
            self.names = (["g"] if data.kind == "styles" else ["l1"]) if family.translates \
                else default_plan(self._as_run(0))[0]
        self.best = checkpoint.read_best(run.checkpoint)

    def _as_run(self, step: int) -> Run:
        return Run(self.run.path, self.cfg, self.data, self.family, step)

    def due(self, done: int) -> bool:
        return self.every > 0 and done % self.every == 0

    def measure(self, done: int) -> dict[str, float]:
        """{"eval_NAME": value} of the EMA generator after `done` steps, and eval_seconds (what
        the scoring cost, to weigh it against training)."""
        began = time.perf_counter()
        with torch.random.fork_rng(devices=[]):
            result = evaluate_run(self._as_run(done), self.names, self.cfg.train.eval_samples,
                                  self.cfg.train.eval_features or None)
        values = {f"eval_{k}": float(v) for k, v in result["metrics"].items() if v is not None}
        return {**values, "eval_seconds": time.perf_counter() - began}

    def improves(self, values: dict[str, float]) -> bool:
        """Whether `values` beat the best so far on the first tracked metric."""
        name = self.names[0]
        value = values.get(f"eval_{name}")
        if value is None or not math.isfinite(value):
            return False
        if self.best is None:
            return True
        better = value < self.best["value"] if name in LOWER_IS_BETTER else \
            value > self.best["value"]
        return better

    def keep_best(self, done: int, values: dict[str, float]) -> None:
        """After the checkpoint of step `done` is written: make it the best."""
        name = self.names[0]
        self.best = checkpoint.save_best(self.run.checkpoint, done, name,
                                         values[f"eval_{name}"])
