"""Checkpoints: tensors in safetensors, everything else in JSON, written atomically.

RUN/checkpoint/ holds
  nets-STEP.safetensors    every net's state_dict, keys "NET/param"
  state-STEP.safetensors   optimiser tensors and RNG states
  state.json               step, file names, optimiser hyper-parameters, data-stream
                           position, config hash  <- written last: the commit point

Each file is written under a temporary name, flushed to disk and renamed; state.json
is replaced last and only then are older files removed. A kill at any moment leaves
the previous state.json and the files it names intact. Loading never runs code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from ganforge.train.distributed import unwrap

FORMAT = "ganforge-checkpoint-1"


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, unreadable or from another config."""


def atomic_write(path: Path, write) -> None:
    """`write(tmp)` then fsync and rename onto `path`: a reader sees the old file or the new."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    write(tmp)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _split_optimizer(name: str, opt: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    sd = opt.state_dict()
    per_param: dict[str, dict[str, Any]] = {}
    for idx, slots in sd["state"].items():
        for key, value in slots.items():
            if torch.is_tensor(value):
                tensors[f"{name}/state/{idx}/{key}"] = value.detach().cpu().contiguous()
            else:
                per_param.setdefault(str(idx), {})[key] = value
    meta[name] = {"param_groups": sd["param_groups"], "plain_state": per_param}


def _join_optimizer(name: str, tensors: dict, meta: dict) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    prefix = f"{name}/state/"
    for key, value in tensors.items():
        if key.startswith(prefix):
            idx, slot = key[len(prefix):].split("/", 1)
            state.setdefault(int(idx), {})[slot] = value
    for idx, slots in meta[name]["plain_state"].items():
        state.setdefault(int(idx), {}).update(slots)
    return {"state": state, "param_groups": meta[name]["param_groups"]}


def rng_state() -> dict[str, torch.Tensor]:
    states = {"rng/torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            states[f"rng/cuda{i}"] = s
    return states


def set_rng_state(tensors: dict[str, torch.Tensor]) -> None:
    torch.set_rng_state(tensors["rng/torch"])
    cuda = sorted(k for k in tensors if k.startswith("rng/cuda"))
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([tensors[k] for k in cuda][: torch.cuda.device_count()])


def _plain(value: Any) -> Any:
    """Data-stream states hold generator states (uint8 tensors): make them JSON."""
    if torch.is_tensor(value):
        return {"__tensor_uint8__": value.tolist()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _unplain(value: Any) -> Any:
    if isinstance(value, dict):
        if "__tensor_uint8__" in value:
            return torch.tensor(value["__tensor_uint8__"], dtype=torch.uint8)
        return {k: _unplain(v) for k, v in value.items()}
    return value


def save_checkpoint(folder: Path, step: int, family, data_state: dict) -> None:
    """Write the whole training state after `step` completed iterations."""
    folder.mkdir(parents=True, exist_ok=True)
    nets = {}
    for name, net in family.nets.items():
        for key, value in unwrap(net).state_dict().items():
            nets[f"{name}/{key}"] = value.detach().cpu().contiguous()
    for key, value in family.extra_state().items():
        nets[f"extra/{key}"] = value.detach().cpu().contiguous()
    tensors: dict[str, torch.Tensor] = dict(rng_state())
    meta: dict[str, Any] = {}
    for name, opt in family.optimizers.items():
        _split_optimizer(name, opt, tensors, meta)
    names = {"nets": f"nets-{step:07d}.safetensors", "state": f"state-{step:07d}.safetensors"}
    atomic_write(folder / names["nets"], lambda p: save_file(nets, str(p)))
    atomic_write(folder / names["state"], lambda p: save_file(tensors, str(p)))
    state = {
        "format": FORMAT,
        "step": step,
        "files": names,
        "optimizers": meta,
        "schedulers": {k: s.state_dict() for k, s in family.schedulers.items()},
        "data": _plain(data_state),
    }

    def write_json(p: Path) -> None:
        p.write_text(json.dumps(state, indent=1))

    atomic_write(folder / "state.json", write_json)
    keep = set(names.values()) | {"state.json"}
    for old in folder.iterdir():
        if old.name not in keep and old.suffix == ".safetensors":
            old.unlink(missing_ok=True)


def read_state(folder: Path) -> dict[str, Any]:
    path = folder / "state.json"
    if not path.is_file():
        raise CheckpointError(f"no checkpoint in {folder} (state.json is missing)")
    try:
        state = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path} is not valid JSON: {err}") from err
    if state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a {FORMAT} checkpoint")
    return state


def load_nets(folder: Path, family, state: dict[str, Any] | None = None) -> dict[str, Any]:
    """Load every net (and the family's extra tensors) into `family`; returns the state."""
    state = state or read_state(folder)
    tensors = load_file(str(folder / state["files"]["nets"]))
    for name, net in family.nets.items():
        prefix = f"{name}/"
        sd = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        try:
            unwrap(net).load_state_dict(sd)
        except RuntimeError as err:
            raise CheckpointError(
                f"the checkpoint's {name} does not fit this config's network: {err}"
            ) from err
    extra = {k[len("extra/"):]: v for k, v in tensors.items() if k.startswith("extra/")}
    family.load_extra_state(extra)
    return state


def load_checkpoint(folder: Path, family, data_stream) -> int:
    """Restore nets, optimisers, schedules, RNGs and the data stream; returns the step. The
    config was compared with the run's before (train.loop.check_resumable)."""
    state = read_state(folder)
    load_nets(folder, family, state)
    tensors = load_file(str(folder / state["files"]["state"]))
    for name, opt in family.optimizers.items():
        opt.load_state_dict(_join_optimizer(name, tensors, state["optimizers"]))
    for name, sched in family.schedulers.items():
        sched.load_state_dict(state["schedulers"][name])
    data_stream.load_state_dict(_unplain(state["data"]))
    set_rng_state(tensors)
    return int(state["step"])
