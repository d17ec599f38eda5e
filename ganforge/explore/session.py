"""The explorer's game: a ganforge GAN family trained step by step under the page's controls.

Pure Python, no server: `Session.handle(message)` takes one message of the page (a dict) and
returns the replies; the server only moves them over a websocket and paces play.

The game is the training loop's own (train/loop.py, Algorithm 1): the same config, seeds,
data stream and family, so `iterate()` is one iteration of `ganforge train` and N of them
leave the nets exactly where `ganforge train` leaves them after N steps (drawing never
touches the game's RNG). "save as run" writes a normal run directory with ganforge's
checkpoint code, which `ganforge train --resume`, `sample` and `eval` accept.

Messages (JSON objects with a "type"):
  play, pause, step (one iteration: k D steps, one G step), step_d, step_g, reset,
  slow {"on": bool}, set {"values": {control: value}} (see controls.CONTROLS),
  draw {"points": [[x, y], ...]} (a drawn p_data: a mixture of N(point, 0.05^2 I), saved
       as data.name=points with the points in RUN/drawn.csv),
  save {"name": NAME} (a run directory RUN_ROOT/NAME), hello (the whole state again).
Replies: state, scene (what stays put in a game), frame (made by the server), saved, error.
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import numpy as np
import torch

from ganforge.config import save_config
from ganforge.data import Data, ToyStream
from ganforge.data.points import POINT_STD, save_points
from ganforge.data.toy import GaussianMixture
from ganforge.explore import controls
from ganforge.explore.scene import Scene
from ganforge.families import build_family, load_data
from ganforge.objectives import get_objective
from ganforge.rundir import RunDir, RunLock
from ganforge.train import checkpoint
from ganforge.train.loop import check_new_run_dir, save_snapshot
from ganforge.validate import validate

MAX_DRAWN = 5000
HISTORY = 4000  # curve points kept; beyond, every other one is dropped


def encode_array(t: torch.Tensor) -> str:
    """A tensor as base64 of its values in little-endian float32, flattened."""
    return base64.b64encode(t.detach().float().reshape(-1).numpy().astype("<f4").tobytes()
                            ).decode("ascii")


def decode_arrays(frame: dict) -> dict[str, np.ndarray]:
    """The arrays of a frame message (the inverse of encode_array), as float32 vectors."""
    return {k: np.frombuffer(base64.b64decode(v), dtype="<f4")
            for k, v in frame["arrays"].items()}


class ExploreError(ValueError):
    """A message of the page that cannot be honoured; the text says what is accepted."""


class Session:
    def __init__(self, run_root: Path | str | None = None, device: str = "cpu"):
        self.run_root = Path(run_root).resolve() if run_root is not None else None
        self.device = torch.device(device)
        self.settings = controls.defaults()
        self.drawn: torch.Tensor | None = None
        self.playing, self.slow = False, False
        self._build(self.settings)

    # -- building a game ----------------------------------------------------------------------
    def _data(self, cfg):
        if self.settings["data"] != "drawn":
            return load_data(cfg)
        dist = GaussianMixture(self.drawn, POINT_STD, "points")  # as data.name=points loads it
        return Data(ToyStream(dist, cfg.data.batch_size, cfg.seed), "toy", (2,), toy=dist)

    def _build(self, settings: dict) -> None:
        """A new game from the seed, as train/loop.py starts one (seed, data, then nets)."""
        cfg = controls.config_for(settings)
        # drawn points stay in memory until "save as run" writes the file data.name=points reads
        validate(cfg, check_data=settings["data"] != "drawn")
        if settings["data"] == "drawn" and self.drawn is None:
            raise ExploreError("data=drawn: draw some points on the canvas first")
        old = self.settings
        self.settings = settings
        try:
            torch.manual_seed(cfg.seed)
            data = self._data(cfg)
            family = build_family(cfg, data, self.device)
        except Exception:
            self.settings = old
            raise
        self.cfg, self.data, self.family = cfg, data, family
        self.objective = get_objective(cfg.loss.name)
        self.step, self.d_updates, self.logs = 0, 0, {}
        self.history: list[dict] = []
        name = settings["data"]
        dim, view = controls.DATA_SETS[name]
        self.scene = Scene(data.toy, view, cfg.model.z_dim, name not in ("spiral", "drawn"),
                           cfg.seed)
        self.metrics = self.scene.measure(family.G)
        self.fixed = family.fixed_inputs(cfg.train.sample_count, seed=cfg.seed + 12345)

    def _apply_live(self, settings: dict) -> None:
        """Settings the running game takes between two steps: the family reads cfg each step;
        the learning rates live in the optimisers and in their (constant) schedules."""
        cfg = controls.config_for(settings)
        validate(cfg)
        self.settings, self.cfg, self.family.cfg = settings, cfg, cfg
        for name, lr in (("G", cfg.optim.lr_g), ("D", cfg.optim.lr_d)):
            for group in self.family.optimizers[name].param_groups:
                group["lr"] = group["initial_lr"] = lr
            self.family.schedulers[name].base_lrs = [lr] * len(self.family.schedulers[name].base_lrs)
        self.family.ema.beta = cfg.train.ema

    def apply(self, changes: dict) -> bool:
        """Set controls; True when the nets were rebuilt. Nothing changes on an error."""
        try:
            new = {**self.settings, **controls.parse_changes(changes)}
            if controls.needs_rebuild(self.settings, new):
                self._build(new)
                return True
            self._apply_live(new)
            return False
        except ExploreError:
            raise
        except ValueError as err:  # ganforge's own refusals (validate, the family's check)
            raise ExploreError(str(err)) from None

    def draw(self, points) -> None:
        """Train on a drawn p_data: a mixture of N(p, 0.05^2 I) over the given points (what
        ganforge's data.name=points is; see ganforge.data.points)."""
        low, high = controls.DATA_SETS["drawn"][1]
        try:
            xy = torch.tensor(points, dtype=torch.float64)
        except (TypeError, ValueError):
            raise ExploreError("'points' must be a list of [x, y] pairs of numbers") from None
        if xy.ndim != 2 or xy.shape[1] != 2 or not 3 <= len(xy) <= MAX_DRAWN:
            raise ExploreError(f"'points' must be 3 to {MAX_DRAWN} [x, y] pairs, got shape "
                               f"{tuple(xy.shape)}")
        if not bool(torch.isfinite(xy).all()) or bool((xy < low).any() or (xy > high).any()):
            raise ExploreError(f"drawn points must lie in [{low:g}, {high:g}]^2")
        previous = self.drawn
        self.drawn = xy
        try:
            self._build({**self.settings, "data": "drawn"})
        except ValueError as err:
            self.drawn = previous
            raise ExploreError(str(err)) from None

    # -- the game -----------------------------------------------------------------------------
    def d_step(self, before_g: bool = False) -> None:
        batch = self.data.stream.next()
        self.logs.update(self.family.d_step(batch, self.step, before_g=before_g))
        self.d_updates += 1
        self._batch = batch

    def g_step(self, batch=None) -> None:
        """One G step; it ends an iteration (the schedules step, the step count grows)."""
        batch = batch if batch is not None else self.data.stream.next()
        self.logs.update(self.family.g_step(batch, self.step))
        for scheduler in self.family.schedulers.values():
            scheduler.step()
        self.step += 1

    def iterate(self) -> None:
        """One iteration of Algorithm 1, exactly as train/loop.py runs it."""
        k = self.cfg.train.d_steps
        for i in range(k):
            self.d_step(before_g=i == k - 1)
        self.g_step(self._batch)

    def measure(self) -> dict:
        self.metrics = self.scene.measure(self.family.G)
        return self.metrics

    def losses(self) -> dict[str, float | None]:
        """The last D and G losses; a diverged (NaN or infinite) one is None."""
        return self._finite({k: float(v) for k, v in self.logs.items()
                             if k in ("loss_d", "loss_g")})

    def frame(self, measured: bool = False) -> dict:
        """One picture of the game; `measured`: the grid metrics were just recomputed.

        Its arrays travel as base64 of little-endian float32 ("arrays": {name: text}; see
        `decode_arrays`): encoding thousands of numbers as JSON text would cost the game
        several per cent of its training time."""
        drawn = self.scene.frame(self.family, self.objective)
        if self.scene.dim == 1:  # the frame holds this G's exact grid numbers already
            self.metrics = {**self.metrics, "jsd": drawn.pop("jsd"), "kl": drawn.pop("kl")}
            measured = True
        out = {"type": "frame", "step": self.step, "d_updates": self.d_updates,
               **self.losses(), "arrays": {k: encode_array(v) for k, v in drawn.items()
                                           if torch.is_tensor(v)},
               **{k: v for k, v in drawn.items() if not torch.is_tensor(v)}}
        if measured:
            out["metrics"] = self._finite(self.metrics)
        self._remember(out)
        return out

    @staticmethod
    def _finite(values: dict) -> dict:
        """JSON has no NaN or infinity: such numbers become None (null)."""
        return {k: None if isinstance(v, float) and not math.isfinite(v) else v
                for k, v in values.items()}

    def _remember(self, frame: dict) -> None:
        row = {"step": frame["step"], **{k: frame[k] for k in ("loss_d", "loss_g") if k in frame},
               **frame.get("metrics", {})}
        if self.history and self.history[-1]["step"] == row["step"]:
            self.history[-1].update(row)
        else:
            self.history.append(row)
        if len(self.history) > HISTORY:
            self.history = self.history[::2]

    # -- saving -------------------------------------------------------------------------------
    def save(self, name) -> Path:
        """Write the game as RUN_ROOT/NAME, a run `ganforge train --resume` continues."""
        if self.run_root is None:
            raise ExploreError("save as run needs a run folder: start with ganforge explore "
                               "--run DIR")
        if not isinstance(name, str) or not name.strip():
            raise ExploreError("'name' must be a non-empty folder name under the run folder")
        target = (self.run_root / name).resolve()
        if target == self.run_root or not target.is_relative_to(self.run_root):
            raise ExploreError(f"refusing {name!r}: runs are saved only under {self.run_root}")
        if self.step < 1:
            raise ExploreError("nothing to save yet: train at least one step")
        cfg = controls.saved_config(self.cfg, self.step)
        run = RunDir(target)
        try:
            check_new_run_dir(run, cfg)
            run.path.mkdir(parents=True, exist_ok=True)
        except (OSError, FileExistsError) as err:
            raise ExploreError(str(err)) from None
        with RunLock(run):
            if self.settings["data"] == "drawn":  # data.name=points reads them back
                cfg.data.path = str(run.path / "drawn.csv")
                save_points(self.drawn, Path(cfg.data.path))
            save_config(cfg, run.config)
            processes = json.dumps({"processes": 1, "global_batch_size": cfg.data.batch_size})
            checkpoint.atomic_write(run.processes, lambda p: p.write_text(processes))
            rows = "".join(json.dumps(row) + "\n" for row in self.history if row["step"] > 0)
            checkpoint.atomic_write(run.metrics, lambda p: p.write_text(rows))
            run.samples.mkdir(exist_ok=True)
            save_snapshot(self.family, self.fixed, self.data, run.sample_grid(self.step))
            checkpoint.save_checkpoint(run.checkpoint, self.step, self.family,
                                       self.data.stream.state_dict(), cfg.train.keep_checkpoints)
        return run.path

    # -- the page's messages ------------------------------------------------------------------
    def state(self) -> dict:
        return {"type": "state", "settings": self.settings, "playing": self.playing,
                "slow": self.slow, "step": self.step, "can_save": self.run_root is not None,
                "controls": {k: self._finite(vars(c)) for k, c in controls.CONTROLS.items()},
                "history": self.history}

    def scene_message(self) -> dict:
        return {"type": "scene", "data": self.settings["data"], "loss": self.settings["loss"],
                "probabilistic": self.objective.probabilistic, **self.scene.static()}

    def handle(self, message) -> list[dict]:
        """The replies to one message of the page; a bad message gets one error reply."""
        try:
            return self._handle(message)
        except (ExploreError, ValueError) as err:  # ours, or ganforge's refusals
            return [{"type": "error", "message": str(err)}]

    def _handle(self, message) -> list[dict]:
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise ExploreError('a message must be a JSON object with a "type"')
        kind = message["type"]
        if kind in ("play", "pause"):
            self.playing = kind == "play"
            return [self.state()]
        if kind == "slow":
            if not isinstance(message.get("on"), bool):
                raise ExploreError("slow needs \"on\": true or false")
            self.slow = message["on"]
            return [self.state()]
        if kind in ("step", "step_d", "step_g"):
            {"step": self.iterate, "step_d": self.d_step, "step_g": self.g_step}[kind]()
            self.measure()
            return [self.frame(measured=True)]
        if kind == "reset":
            self._build(self.settings)
            self.playing = False
            return [self.state(), self.scene_message(), self.frame(measured=True)]
        if kind == "set":
            rebuilt = self.apply(message.get("values"))
            replies = [self.state()]
            if rebuilt:
                self.playing = False
                replies += [self.scene_message(), self.frame(measured=True)]
            return replies
        if kind == "draw":
            self.draw(message.get("points"))
            self.playing = False
            return [self.state(), self.scene_message(), self.frame(measured=True)]
        if kind == "save":
            path = self.save(message.get("name"))
            return [{"type": "saved", "path": str(path), "step": self.step}]
        if kind == "hello":
            return [self.state(), self.scene_message(), self.frame(measured=True)]
        raise ExploreError(f"unknown message type {kind!r}; valid: play, pause, step, step_d, "
                           "step_g, slow, reset, set, draw, save, hello")
