"""The paths of a run directory, in one place.

    RUN/config.yaml              the fully resolved config
    RUN/processes.json           {"processes": W, "global_batch_size": W x data.batch_size}
    RUN/metrics.jsonl            one JSON object per logged step
    RUN/samples/step_XXXXXXX.png snapshot grids of the EMA generator
    RUN/checkpoint/              safetensors + state.json (see ganforge.train.checkpoint)
    RUN/eval.json                the last evaluation
    RUN/tb/                      TensorBoard event files
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunDir:
    path: Path

    def __init__(self, path: Path | str):
        object.__setattr__(self, "path", Path(path))

    @property
    def config(self) -> Path:
        return self.path / "config.yaml"

    @property
    def processes(self) -> Path:
        return self.path / "processes.json"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def samples(self) -> Path:
        return self.path / "samples"

    @property
    def checkpoint(self) -> Path:
        return self.path / "checkpoint"

    @property
    def eval(self) -> Path:
        return self.path / "eval.json"

    @property
    def tb(self) -> Path:
        return self.path / "tb"

    def sample_grid(self, step: int) -> Path:
        return self.samples / f"step_{step:07d}.png"

    def is_run(self) -> bool:
        """A folder that holds a ganforge run (its config.yaml)."""
        return self.config.is_file()

    def has_checkpoint(self) -> bool:
        return (self.checkpoint / "state.json").is_file()

    def require(self) -> RunDir:
        """This run directory, or FileNotFoundError naming what is missing."""
        if not self.is_run():
            raise FileNotFoundError(f"{self.path} is not a ganforge run (no config.yaml in it)")
        return self

    def __str__(self) -> str:
        return str(self.path)
