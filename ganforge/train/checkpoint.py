"""Checkpoints: tensors in safetensors, everything else in JSON, written atomically.

RUN/checkpoint/ holds, for each of the last `train.keep_checkpoints` checkpoints,
  nets-STEP.safetensors    every net's state_dict, keys "NET/param"
  state-STEP.safetensors   optimiser tensors and RNG states
  step-STEP.json           step, file names, optimiser hyper-parameters, data-stream position
and state.json, a copy of the newest step-STEP.json written last: the commit point.

Each file is written under a temporary name, flushed to disk and renamed; state.json
is replaced last and only then are checkpoints beyond the newest `keep` removed. A kill at
any moment leaves the previous checkpoint intact. Loading takes the newest checkpoint whose
files all read back, saying which file was bad when it has to fall back to an older one.
Loading never runs code.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ganforge.train.distributed import unwrap

FORMAT = "ganforge-checkpoint-1"


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, unreadable or from another config."""


TEMPORARY = re.compile(r"^\..+\.tmp-\d+$")
STEP_FILE = re.compile(r"^step-(\d{7})\.json$")


def atomic_write(path: Path, write) -> None:
    """`write(tmp)` then fsync and rename onto `path`: a reader sees the old file or the new."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_temporaries(folder: Path) -> list[str]:
    """Delete the half-written `.NAME.tmp-PID` files of killed writers in `folder`; returns
    their names. Call it only while holding the run's lock (no writer is alive then)."""
    removed = []
    if folder.is_dir():
        for path in folder.iterdir():
            if TEMPORARY.match(path.name):
                path.unlink(missing_ok=True)
                removed.append(path.name)
    return removed


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


def save_checkpoint(folder: Path, step: int, family, data_state: dict, keep: int = 2) -> None:
    """Write the whole training state after `step` completed iterations; keep the newest
    `keep` checkpoints."""
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
    best = read_best(folder)
    if best is not None:
        state["best"] = best

    text = json.dumps(state, indent=1)
    atomic_write(folder / f"step-{step:07d}.json", lambda p: p.write_text(text))
    atomic_write(folder / "state.json", lambda p: p.write_text(text))
    _prune(folder, keep)


BEST_NETS, BEST_STATE = "best-nets.safetensors", "best.json"


def save_best(folder: Path, step: int, metric: str, value: float) -> dict[str, Any]:
    """Copy the nets of the checkpoint of `step` to best-nets.safetensors and note why in
    best.json (and in state.json); both written atomically."""
    source = (folder / f"nets-{step:07d}.safetensors").read_bytes()
    best = {"step": step, "metric": metric, "value": value, "file": BEST_NETS}
    atomic_write(folder / BEST_NETS, lambda p: p.write_bytes(source))
    atomic_write(folder / BEST_STATE, lambda p: p.write_text(json.dumps(best, indent=1)))
    state = json.loads((folder / "state.json").read_text())
    state["best"] = best
    atomic_write(folder / "state.json", lambda p: p.write_text(json.dumps(state, indent=1)))
    return best


def read_best(folder: Path) -> dict[str, Any] | None:
    """What best.json says (None when the run kept no best checkpoint)."""
    path = folder / BEST_STATE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError as err:
        raise CheckpointError(f"{path} is not readable JSON ({err})") from err


def _prune(folder: Path, keep: int) -> None:
    """Remove every checkpoint but the newest `keep` (and files of none, from older layouts)."""
    steps = sorted((int(m.group(1)) for p in folder.iterdir() if (m := STEP_FILE.match(p.name))),
                   reverse=True)
    kept = {f"{kind}-{s:07d}.{ext}" for s in steps[:keep]
            for kind, ext in (("nets", "safetensors"), ("state", "safetensors"), ("step", "json"))}
    for path in folder.iterdir():
        old = path.suffix == ".safetensors" and path.name != BEST_NETS
        if path.name not in kept and (old or STEP_FILE.match(path.name)):
            path.unlink(missing_ok=True)


REQUIRED = ("format", "step", "files", "optimizers", "schedulers", "data")


def _parse_state(path: Path) -> dict[str, Any]:
    """The JSON of one checkpoint, checked: its keys and files belong to its step."""
    try:
        state = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path} is not readable JSON ({err})") from err
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a {FORMAT} checkpoint")
    missing = [k for k in REQUIRED if k not in state]
    if missing:
        raise CheckpointError(f"{path} lacks {', '.join(missing)}")
    step = state["step"]
    expected = {"nets": f"nets-{step:07d}.safetensors", "state": f"state-{step:07d}.safetensors"}
    if not isinstance(step, int) or step < 0 or state["files"] != expected:
        raise CheckpointError(f"{path} says step {step!r} but names the files {state['files']}")
    return state


def _load_tensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path))
    except (OSError, SafetensorError) as err:
        raise CheckpointError(f"{path} is missing, truncated or corrupt ({err})") from err


def read_checkpoint(folder: Path, with_state: bool = True) -> tuple[dict, dict, dict]:
    """(state, net tensors, optimiser/RNG tensors) of the newest checkpoint in `folder` that
    reads back whole; a bad newer one is named on stderr. `with_state=False` skips reading
    the optimiser file (sampling and evaluation need the nets only)."""
    if not (folder / "state.json").is_file():
        raise CheckpointError(f"no checkpoint in {folder} (state.json is missing)")
    older = sorted((p for p in folder.iterdir() if STEP_FILE.match(p.name)), reverse=True)
    problems = []
    for path in [folder / "state.json", *older]:
        try:
            state = _parse_state(path)
            nets = _load_tensors(folder / state["files"]["nets"])
            tensors = _load_tensors(folder / state["files"]["state"]) if with_state else {}
        except CheckpointError as err:
            problems.append(str(err))
            continue
        if problems:
            print(f"ganforge: {problems[0]}; using the checkpoint of step {state['step']}",
                  file=sys.stderr)
        return state, nets, tensors
    raise CheckpointError("no readable checkpoint: " + "; ".join(problems))


def read_state(folder: Path) -> dict[str, Any]:
    """The state of the newest readable checkpoint (see read_checkpoint)."""
    return read_checkpoint(folder, with_state=False)[0]


EDITED = "config.yaml no longer describes the run that wrote the checkpoint (edited or emptied?)"


def load_net_tensors(family, tensors: dict[str, torch.Tensor]) -> None:
    saved = sorted({k.split("/", 1)[0] for k in tensors} - {"extra"})
    if set(family.nets) - set(saved):
        raise CheckpointError(f"the checkpoint holds the nets {', '.join(saved)}, but this config's "
                              f"family ({family.name}) has {', '.join(sorted(family.nets))}: "
                              f"{EDITED}")
    for name, net in family.nets.items():
        prefix = f"{name}/"
        sd = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        try:
            unwrap(net).load_state_dict(sd)
        except RuntimeError as err:
            # torch's message lists every key over many lines: one line, cut short
            detail = " ".join(line.strip() for line in str(err).splitlines()[1:] if line.strip())
            detail = detail if len(detail) <= 160 else detail[:157] + "..."
            raise CheckpointError(f"the checkpoint's {name} does not fit this config's network "
                                  f"({detail}): {EDITED}") from err
    extra = {k[len("extra/"):]: v for k, v in tensors.items() if k.startswith("extra/")}
    family.load_extra_state(extra)


def read_nets(folder: Path, best: bool = False) -> tuple[dict[str, Any], dict]:
    """(state, net tensors) of the newest checkpoint, or with `best` of the best tracked one
    (best.json as the state)."""
    if not best:
        return read_checkpoint(folder, with_state=False)[:2]
    state = read_best(folder)
    if state is None:
        raise CheckpointError(f"{folder} holds no best checkpoint: the run tracked no "
                              "metric (train.eval_every=0)")
    return state, _load_tensors(folder / BEST_NETS)


def nets_at(folder: Path, step: int) -> dict[str, torch.Tensor]:
    """The net tensors of the kept checkpoint of `step` (see train.keep_checkpoints)."""
    path = folder / f"nets-{step:07d}.safetensors"
    if not path.is_file():
        kept = sorted(int(p.name[5:12]) for p in folder.glob("nets-*.safetensors"))
        raise CheckpointError(f"{folder} keeps no checkpoint of step {step}; it keeps steps "
                              f"{', '.join(map(str, kept)) or 'none'}")
    return _load_tensors(path)


def load_nets(folder: Path, family, best: bool = False) -> dict[str, Any]:
    """Load every net (and the family's extra tensors) into `family`; returns the state (with
    `best`: the nets of the best tracked checkpoint, and best.json as the state)."""
    state, nets = read_nets(folder, best)
    load_net_tensors(family, nets)
    return state


def load_checkpoint(folder: Path, family, data_stream) -> int:
    """Restore nets, optimisers, schedules, RNGs and the data stream; returns the step. The
    config was compared with the run's before (train.loop.check_resumable)."""
    state, nets, tensors = read_checkpoint(folder)
    load_net_tensors(family, nets)
    for name, opt in family.optimizers.items():
        opt.load_state_dict(_join_optimizer(name, tensors, state["optimizers"]))
    for name, sched in family.schedulers.items():
        sched.load_state_dict(state["schedulers"][name])
    data_stream.load_state_dict(_unplain(state["data"]))
    set_rng_state(tensors)
    return int(state["step"])
