"""The one training loop: Algorithm 1 of Goodfellow et al. (2014).

    for each training iteration:
        for k steps:  sample m real examples and m noise vectors; update D
        sample m noise vectors; update G

The loop knows no model family: `family.d_step` / `family.g_step` (ganforge/families/)
do the updates. Everything else here is bookkeeping: seeds, logging, snapshots,
checkpoints, divergence checks. Rank 0 alone writes to the run directory.

The step's logs stay tensors on the device until the next bookkeeping step (log, sample
or checkpoint): reading a number off a GPU every step would stall it. They are then
checked, all of them and on every process, before anything is written, so a NaN is
still reported with the step where it first appeared and never reaches a checkpoint.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import signal
import sys
import threading
import time
from pathlib import Path

import torch

from ganforge.config import RESUMABLE_KEYS, Config, config_diff, load_saved_config, save_config
from ganforge.data.fingerprint import changes
from ganforge.families import FAMILIES, build_family, load_data
from ganforge.rundir import RunDir, RunInterrupted, RunLock
from ganforge.train import checkpoint, distributed, speed
from ganforge.train.tracking import Tracker
from ganforge.validate import validate
from ganforge.viz import save_image_grid, save_points, save_scatter


class DivergedError(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


class ResumeError(ValueError):
    """`--resume` on a run whose config differs from the one asked for."""


# data.batch_size is per process: a run may resume on another number of processes as long
# as the global batch, data.batch_size x processes, stays the same.
RESUME_IGNORES = RESUMABLE_KEYS + ("data.batch_size",)


def saved_processes(run: RunDir) -> int:
    """How many processes trained the run (1 for runs that never said)."""
    path = run.processes
    if not path.is_file():
        return 1
    try:
        processes = json.loads(path.read_text())["processes"]
    except (ValueError, KeyError, TypeError):
        processes = None
    if not isinstance(processes, int) or processes < 1:
        raise ValueError(f'{path} should read {{"processes": N, ...}} with N >= 1; it says how '
                         "many processes trained the run (1 if you delete it)")
    return processes


def check_resumable(saved: Config, wanted: Config, saved_world: int = 1, world: int = 1,
                    done: int | None = None) -> None:
    """Refuse to continue a run `done` steps in (None: no checkpoint reads back, which the
    loader then names) under `wanted` unless it goes on as a run started with `wanted` would."""
    diff = config_diff(saved, wanted, ignore=RESUME_IGNORES)
    before, after = saved.data.batch_size * saved_world, wanted.data.batch_size * world
    if before != after:
        hint = f", so data.batch_size={before // world}" if before % world == 0 else ""
        diff.append(f"global batch (data.batch_size x processes): {saved.data.batch_size} x "
                    f"{saved_world} -> {wanted.data.batch_size} x {world}; keep {before}{hint}")
    if diff:
        raise ResumeError(
            "cannot resume: the config differs from the run's in "
            + "; ".join(diff)
            + f". Only {', '.join(RESUMABLE_KEYS)} and the number of processes may change on "
            "resume; start a new run instead."
        )
    if saved.train.steps != wanted.train.steps and done is not None:
        # The rest of the config is the run's. Until a schedule depends on the budget under
        # either one, it gave the values a run started with the new budget would have used.
        schedules = FAMILIES.get(saved.train.family).budget_schedules
        for name, before in schedules(saved).items():
            after = schedules(wanted)[name]
            if done > min(before, after):
                raise ResumeError(
                    f"cannot resume with train.steps={wanted.train.steps}: {name} "
                    f"follows train.steps, and this run has done {done} steps, past where it "
                    f"starts to depend on it (step {before} of its train.steps="
                    f"{saved.train.steps}, step {after} of {wanted.train.steps}). Resume with "
                    f"train.steps={saved.train.steps}, or start a new run with the new budget.")


def steps_done(run: RunDir) -> int | None:
    """The step of the checkpoint a resume would load, None if none reads back (the resume
    then names the problem)."""
    try:
        return checkpoint.read_state(run.checkpoint)["step"]
    except checkpoint.CheckpointError:
        return None


def check_finite(pending: list[tuple[int, dict]], info, device, run: RunDir) -> dict[str, float]:
    """The logs of the last pending step as numbers, once every pending step's are finite.

    Raises DivergedError naming the first step (over all processes) with a NaN or inf.
    """
    first_bad, bad, values = sys.maxsize, {}, {}
    for done, logs in pending:
        values = {k: float(v) for k, v in logs.items()}
        bad = {k: v for k, v in values.items() if not math.isfinite(v)}
        if bad:
            first_bad = done
            break
    first_bad = distributed.global_min(info, first_bad, device)
    if first_bad != sys.maxsize:
        what = ", ".join(f"{k}={v}" for k, v in bad.items()) or "on another process"
        raise DivergedError(
            f"training diverged at step {first_bad}: {what}. The last good checkpoint is kept "
            f"in {run.checkpoint}; lower the learning rates or change the loss, then "
            "start a new run."
        )
    return values


def save_snapshot(family, fixed, data, path: Path) -> None:
    samples = family.snapshot(fixed)
    if data.kind == "tokens":  # sequences as text, one a line
        text = "\n".join(data.tokens.decode(samples)) + "\n"
        checkpoint.atomic_write(path.with_suffix(".txt"), lambda p: p.write_text(text))
        return
    if data.kind == "styles":  # source<TAB>rewrite, one sentence a line
        text = "".join(f"{' '.join(data.tokens.decode(x))}\t{' '.join(data.tokens.decode(y))}\n"
                       for x, y in zip(fixed["x"], samples))
        checkpoint.atomic_write(path.with_suffix(".txt"), lambda p: p.write_text(text))
        return
    if data.kind == "toy":
        real = data.toy.sample(2000, torch.Generator().manual_seed(0)).float()
        if samples.shape[1] == 2:  # numpy drawing: a matplotlib figure per snapshot is slow
            save_scatter(samples, path.with_suffix(".png"), real)
        else:
            save_points(samples, path.with_suffix(".png"), real, title=path.stem)
    else:
        nrow = family.num_classes if family.class_rows else None
        save_image_grid(samples, path.with_suffix(".png"), nrow=nrow)


class StopSignals:
    """The first SIGINT / SIGTERM asks the loop to stop after the running iteration (it then
    checkpoints); a second one during that save stops at once, the previous checkpoint intact.
    Only the main thread can take signals, so elsewhere nothing is installed."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.signum: int | None = None
        self._previous: dict = {}

    def _handle(self, signum, frame) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)


def check_new_run_dir(run: RunDir, cfg: Config) -> None:
    """A new run goes into a missing or empty folder, or one that holds only this config's
    own run that stopped before its first checkpoint; anything else of the user's is kept."""
    path = run.path
    if not path.exists():
        return
    if not path.is_dir():
        raise FileExistsError(f"--out {path} is a file; give a folder for the run")
    if run.has_checkpoint():
        raise FileExistsError(f"{path} already holds a run; use --resume {path} to continue it, "
                              "or choose another --out")
    entries = sorted(p.name for p in path.iterdir() if p.name != ".lock")
    if not entries:
        return
    if run.is_run():
        try:
            if not config_diff(load_saved_config(run.config), cfg):
                return
        except ValueError:
            pass
    shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
    raise FileExistsError(f"{path} is not empty and holds no run of this config ({shown}); "
                          "choose a new or empty --out (nothing there was changed)")


def train(cfg: Config, run_dir: Path | str, resume: bool = False,
          changed_data: bool = False) -> Path:
    """Train `cfg` into `run_dir`, or continue the run there when `resume` (`changed_data`: even
    when a data file it read has changed since it started)."""
    validate(cfg)
    if cfg.data.path:  # the same folder wherever the run is later resumed or evaluated from
        cfg = copy.deepcopy(cfg)
        cfg.data.path = str(Path(cfg.data.path).expanduser().resolve())
    if cfg.data.oracle_path:
        cfg = copy.deepcopy(cfg)
        cfg.data.oracle_path = str(Path(cfg.data.oracle_path).expanduser().resolve())
    run = RunDir(run_dir)
    info, device = distributed.setup(cfg.device)
    if resume:
        saved = load_saved_config(run.config)
        done = steps_done(run) if saved.train.steps != cfg.train.steps else None
        check_resumable(saved, cfg, saved_processes(run), info.world, done)
    else:
        check_new_run_dir(run, cfg)
    distributed.barrier(info)  # every process has looked before rank 0 writes
    lock = contextlib.nullcontext()
    if info.main:
        try:
            run.path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise FileExistsError(f"cannot create the run folder {run.path}: {err}") from err
        lock = RunLock(run)
    with lock, StopSignals() as stop:
        if info.main:
            for folder in (run.path, run.checkpoint):
                checkpoint.remove_temporaries(folder)
            if not resume:
                run.metrics.unlink(missing_ok=True)  # this config's own run, restarted
        _train(cfg, run, resume, info, device, stop, changed_data)
    distributed.barrier(info)
    distributed.teardown(info)
    return run.path


def _train(cfg: Config, run: RunDir, resume: bool, info, device, stop: StopSignals,
           changed_data: bool = False) -> None:
    # Same seed on every process: identical initial weights and a shared noise stream,
    # of which each process takes its own slice (see Family.global_randn).
    t = cfg.train
    torch.manual_seed(cfg.seed)
    data = load_data(cfg, info.rank, info.world)
    remember_data(run, data, resume, changed_data, write=info.main)  # every process refuses
    if cfg.speed.on_device:
        speed.move_data_(data.stream, device)
    family = build_family(cfg, data, device)
    family.rank, family.world = info.rank, info.world
    if cfg.speed.channels_last:
        speed.channels_last_(family.nets.values())
    family.wrap_nets(lambda net: distributed.wrap(net, info, device, sync_bn=t.sync_bn))
    if cfg.speed.compile:  # nets a penalty differentiates twice stay eager
        speed.compile_nets(family.nets[n] for n in family.trainable
                           if n not in family.double_backward_nets)

    start = 0
    if resume:
        start = checkpoint.load_checkpoint(run.checkpoint, family, data.stream)

    writer = None
    if info.main:
        run.samples.mkdir(parents=True, exist_ok=True)
        save_config(cfg, run.config)
        run.processes.write_text(json.dumps(
            {"processes": info.world, "global_batch_size": cfg.data.batch_size * info.world}))
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(run.tb), purge_step=start if resume else None)
    fixed = family.fixed_inputs(t.sample_count, seed=cfg.seed + 12345)
    tracker = Tracker(cfg, run, family, data) if info.main else None
    if resume and info.main:
        keep_rows_up_to(run.metrics, start)

    bar = None
    if info.main and t.progress:
        from tqdm import tqdm

        bar = tqdm(total=t.steps, initial=start, unit="step", dynamic_ncols=True)
    pending: list[tuple[int, dict[str, torch.Tensor]]] = []  # logs not yet checked
    window_start, window_steps = time.perf_counter(), 0
    for step in range(start, t.steps):
        logs: dict[str, torch.Tensor] = {}
        for i in range(t.d_steps):  # k discriminator steps on fresh minibatches
            batch = data.stream.next()
            logs.update(family.d_step(batch, step, before_g=i == t.d_steps - 1))
        logs.update(family.g_step(batch, step))  # then one generator step
        for scheduler in family.schedulers.values():
            scheduler.step()
        done = step + 1
        window_steps += 1
        pending.append((done, logs))
        if bar is not None:
            if family.phase(step) != bar.desc.removesuffix(": "):  # e.g. pre-training, adversarial
                bar.set_description(family.phase(step))
            bar.update(1)
        stopping = distributed.any_process(info, stop.signum is not None, device)
        last = done == t.steps or stopping
        every = (t.log_every, t.sample_every, t.checkpoint_every, t.eval_every or t.steps)
        if not last and all(done % n for n in every):
            continue

        values = check_finite(pending, info, device, run)  # raises DivergedError
        pending = []
        if bar is not None:
            bar.set_postfix({k: f"{v:.3f}" for k, v in values.items() if k.startswith("loss")})
        if info.main:
            tracked = tracker.measure(done) if tracker.due(done) else {}
            if done % t.log_every == 0 or last or tracked:
                elapsed = time.perf_counter() - window_start
                row = {"step": done, **values, "steps_per_s": window_steps / max(elapsed, 1e-9),
                       "lr_g": family.optimizers["G"].param_groups[0]["lr"], **tracked}
                with run.metrics.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                for k, v in row.items():
                    if k != "step":
                        writer.add_scalar(k, v, done)
                window_start, window_steps = time.perf_counter(), 0
            # also at the first log step and on a stop: a run stopped early leaves a picture
            if done % t.sample_every == 0 or done == t.steps or done == t.log_every or stopping:
                save_snapshot(family, fixed, data, run.sample_grid(done))
            best = bool(tracked) and tracker.improves(tracked)
            if done % t.checkpoint_every == 0 or last or best:
                checkpoint.save_checkpoint(run.checkpoint, done, family,
                                           data.stream.state_dict(), t.keep_checkpoints)
            if best:
                tracker.keep_best(done, tracked)
        if stopping:
            if bar is not None:
                bar.close()
            raise RunInterrupted(stop.signum or signal.SIGTERM, done, run)
    if bar is not None:
        bar.close()
    if writer is not None:
        writer.close()


def remember_data(run: RunDir, data, resume: bool, changed_data: bool = False,
                  write: bool = True) -> None:
    """A new run notes the fingerprint of every data file it reads (RUN/data.json); a resumed
    one refuses to go on when one changed since, unless `changed_data` (then it warns)."""
    if resume:
        found = changes(run.data, data.fingerprint)
        if found and not changed_data:
            raise ValueError(f"{'; '.join(found)}: resuming would train on other data; put it "
                             "back, or resume with --force to go on with it as it is now")
        for change in found if write else ():
            print(f"ganforge: warning: {change}; going on with it (--force)", file=sys.stderr)
    elif write and data.fingerprint["inputs"]:
        text = json.dumps(data.fingerprint, indent=1)
        checkpoint.atomic_write(run.data, lambda p: p.write_text(text))


def keep_rows_up_to(metrics: Path, step: int) -> None:
    """Drop the rows logged after the checkpoint a run resumes from (rewritten atomically)."""
    if not metrics.exists():
        return
    kept = []
    for number, line in enumerate(metrics.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row_step = json.loads(line)["step"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise ValueError(f"{metrics} line {number} is not a JSON row with a step; move the "
                             "file away to resume without it") from None
        if row_step <= step:
            kept.append(line + "\n")
    checkpoint.atomic_write(metrics, lambda p: p.write_text("".join(kept)))
