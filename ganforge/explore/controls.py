"""The explorer's controls: what the page may set, the accepted values, and the ganforge config
each combination of settings stands for.

A setting is *live* when the running game can take it between two steps (learning rates, k,
the tricks that act on the losses); changing any other one rebuilds the nets from the seed.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

from ganforge.config import Config, load_config
from ganforge.objectives import OBJECTIVES

#: data sets of the page: name -> (dimension, view box [low, high] on every axis)
DATA_SETS = {
    "ring8": (2, (-1.6, 1.6)),
    "grid25": (2, (-6.0, 6.0)),
    "spiral": (2, (-3.2, 3.2)),
    "drawn": (2, (-2.0, 2.0)),
    "gauss1d": (1, (-2.0, 8.0)),
    "mog1d": (1, (-5.0, 5.0)),
}
#: a drawn distribution is ganforge's data.name=points (ganforge.data.points); its data.path
#: is set when the game is saved as a run (the points go into RUN/drawn.csv)
DRAWN_DATA = "points"
#: explore runs are open-ended; a saved run gets train.steps = the steps it has done
OPEN_ENDED_STEPS = 1_000_000
#: instance noise anneals to 0 over this many steps (loss.instance_noise_steps)
NOISE_ANNEAL_STEPS = 2000


@dataclass(frozen=True)
class Control:
    """One control: kind "choice" (of ``choices``), "int", "float" (in [low, high]) or "bool"."""

    kind: str
    default: object
    low: float = -math.inf
    high: float = math.inf
    choices: tuple[str, ...] = ()
    live: bool = False
    help: str = ""

    def parse(self, name: str, value) -> object:
        """``value`` as this control's type, or ValueError naming ``name`` and what is accepted."""
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise ValueError(f"{name}={value!r} is not one of {', '.join(self.choices)}")
            return value
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"{name}={value!r} must be true or false")
            return value
        ok_type = isinstance(value, (int, float)) and not isinstance(value, bool)
        if self.kind == "int" and ok_type and float(value).is_integer():
            value = int(value)
        elif self.kind == "float" and ok_type:
            value = float(value)
        else:
            raise ValueError(f"{name}={value!r} must be a number ({self.kind}) in "
                             f"[{self.low:g}, {self.high:g}]")
        if not (math.isfinite(value) and self.low <= value <= self.high):
            raise ValueError(f"{name}={value!r} is out of range: accepted [{self.low:g}, "
                             f"{self.high:g}]")
        return value


CONTROLS: dict[str, Control] = {
    "data": Control("choice", "ring8", choices=tuple(DATA_SETS), help="p_data"),
    "loss": Control("choice", "ns", choices=tuple(OBJECTIVES), help="objective"),
    "lr_g": Control("float", 1e-3, 1e-6, 0.1, live=True, help="G's Adam learning rate"),
    "lr_d": Control("float", 1e-3, 1e-6, 0.1, live=True, help="D's Adam learning rate"),
    "width": Control("int", 128, 2, 512, help="hidden units per layer, G and D"),
    "depth": Control("int", 3, 1, 6, help="hidden layers, G and D"),
    "batch_size": Control("int", 256, 8, 2048, help="m, samples per minibatch"),
    "d_steps": Control("int", 1, 1, 10, live=True, help="k, D steps per G step"),
    "spectral_norm": Control("bool", False, help="spectral norm on D's layers"),
    "label_smoothing": Control("float", 0.0, 0.0, 0.45, live=True,
                               help="one-sided: real target 1 - s"),
    "label_flip": Control("float", 0.0, 0.0, 0.45, live=True, help="swap real/fake with p"),
    "instance_noise": Control("float", 0.0, 0.0, 2.0, live=True,
                              help=f"std of noise on D's inputs, annealed over "
                                   f"{NOISE_ANNEAL_STEPS} steps"),
    "pack": Control("int", 1, 1, 4, help="PacGAN: D scores packs of this many samples"),
    "ema": Control("float", 0.99, 0.0, 0.999, live=True, help="EMA of G's weights (0: off)"),
    "r1_weight": Control("float", 0.0, 0.0, 100.0, live=True, help="gamma of the R1 penalty"),
    "clip": Control("float", 0.01, 1e-4, 1.0, live=True, help="wasserstein: weight clipping c"),
    "gp_weight": Control("float", 10.0, 0.0, 100.0, live=True, help="wgan-gp: lambda"),
    "seed": Control("int", 0, 0, 2**31 - 1, help="seed of the nets and the data stream"),
}


def defaults() -> dict[str, object]:
    return {name: c.default for name, c in CONTROLS.items()}


def parse_changes(changes) -> dict[str, object]:
    """The page's {name: value} checked against CONTROLS (unknown names refused)."""
    if not isinstance(changes, dict) or not changes:
        raise ValueError("'values' must be a non-empty object of {control: value}")
    unknown = [k for k in changes if k not in CONTROLS]
    if unknown:
        raise ValueError(f"unknown control {unknown[0]!r}; valid: {', '.join(CONTROLS)}")
    return {k: CONTROLS[k].parse(k, v) for k, v in changes.items()}


def needs_rebuild(old: dict, new: dict) -> bool:
    return any(old[k] != new[k] for k in CONTROLS if not CONTROLS[k].live)


def config_for(settings: dict) -> Config:
    """The ganforge config of these settings: the toy-ring preset's MLPs and Adam, the page's
    choices, no learning-rate decay (the game is open-ended). Keys only some objectives read
    are set only for those, so that validation never refuses an unread key."""
    s = settings
    dim = DATA_SETS[s["data"]][0]
    objective = OBJECTIVES.get(s["loss"])
    overrides = {
        "description": f"ganforge explore: {s['loss']} on {s['data']}",
        "seed": s["seed"],
        "data.name": DRAWN_DATA if s["data"] == "drawn" else s["data"],
        "data.batch_size": s["batch_size"],
        "model.z_dim": dim,
        "model.g_width": s["width"], "model.d_width": s["width"], "model.depth": s["depth"],
        "model.spectral_norm": s["spectral_norm"], "model.pack": s["pack"],
        "loss.name": s["loss"],
        "loss.label_smoothing": s["label_smoothing"], "loss.label_flip": s["label_flip"],
        "loss.instance_noise": s["instance_noise"], "loss.r1_weight": s["r1_weight"],
        "optim.lr_g": s["lr_g"], "optim.lr_d": s["lr_d"], "optim.lr_decay": "none",
        "train.d_steps": s["d_steps"], "train.ema": s["ema"],
        "train.steps": OPEN_ENDED_STEPS, "train.progress": False,
    }
    if s["instance_noise"] > 0:
        overrides["loss.instance_noise_steps"] = NOISE_ANNEAL_STEPS
    if objective.lipschitz == "clip":
        overrides["loss.clip"] = s["clip"]
    if objective.lipschitz == "penalty":
        overrides["loss.gp_weight"] = s["gp_weight"]
    return load_config("toy-ring", overrides)


def saved_config(cfg: Config, steps: int) -> Config:
    """The config a saved run keeps: the same game, its budget the steps done so far."""
    saved = copy.deepcopy(cfg)
    saved.train.steps = steps
    return saved
