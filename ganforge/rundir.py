"""The paths of a run directory, in one place.

    RUN/config.yaml              the fully resolved config
    RUN/processes.json           {"processes": W, "global_batch_size": W x data.batch_size}
    RUN/metrics.jsonl            one JSON object per logged step
    RUN/samples/step_XXXXXXX.png snapshot grids of the EMA generator
    RUN/checkpoint/              safetensors + state.json (see ganforge.train.checkpoint)
    RUN/data.json                every data file or folder a run reads: absolute path, fingerprint
    RUN/eval.json                the last evaluation
    RUN/tb/                      TensorBoard event files
    RUN/.lock                    the pid of the process training into RUN, while it runs
"""

from __future__ import annotations

import os
import signal
import sys
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
    def data(self) -> Path:
        return self.path / "data.json"

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


class RunLockedError(RuntimeError):
    """Another live process trains into this run directory."""


class RunLock:
    """RUN/.lock holds the pid of the one process that trains into RUN.

    Taken with O_EXCL, so two trainings cannot both hold it; a lock whose pid is dead (a
    killed run) is taken over with a message. Released on exit from the `with` block.
    """

    def __init__(self, run: RunDir):
        self.path = run.path / ".lock"

    def __enter__(self) -> RunLock:
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                owner = self._owner()
                if owner is not None and _alive(owner):
                    raise RunLockedError(
                        f"{self.path.parent} is being trained by process {owner}; wait for it "
                        "to finish or choose another --out") from None
                print(f"ganforge: taking over {self.path} from process {owner}, which is no "
                      "longer running", file=sys.stderr)
                self.path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as f:
                f.write(str(os.getpid()))
            return self
        raise RunLockedError(f"could not take {self.path}; another process keeps taking it")

    def __exit__(self, *exc) -> None:
        if self._owner() == os.getpid():
            self.path.unlink(missing_ok=True)

    def _owner(self) -> int | None:
        try:
            return int(self.path.read_text().strip())
        except (OSError, ValueError):
            return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


class RunInterrupted(Exception):
    """SIGINT or SIGTERM stopped the run; a checkpoint of the last finished step was saved."""

    def __init__(self, signum: int, step: int, run: RunDir):
        self.signum, self.step, self.run = signum, step, run
        name = signal.Signals(signum).name
        super().__init__(f"{name}: stopped after step {step}, checkpoint saved in "
                         f"{run.checkpoint}; continue with ganforge train --resume {run}")
