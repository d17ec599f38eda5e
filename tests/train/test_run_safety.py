"""Nothing of the user's is lost, through the real `ganforge` command: a folder that is not
a run, two trainings in one folder, Ctrl-C and SIGTERM, an unreadable newest checkpoint,
leftovers of killed writers, and SIGKILL at random moments."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ganforge.config import load_config
from ganforge.train import checkpoint
from ganforge.train.loop import train

TOY = {"model.g_width": 16, "model.d_width": 16, "model.depth": 1, "data.batch_size": 32,
       "train.log_every": 1, "train.sample_every": 1000, "train.checkpoint_every": 1,
       "train.progress": False, "optim.lr_decay": "none"}


def toy_args(steps: int) -> list[str]:
    overrides = {**TOY, "train.steps": steps}
    return [arg for k, v in overrides.items() for arg in ("--set", f"{k}={str(v).lower()}")]


def ganforge(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganforge", *args], capture_output=True,
                          text=True, timeout=300, **kwargs)


def start_training(run: Path, steps: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ganforge", "train", "toy-ring", "--out",
                             str(run), *toy_args(steps)], stderr=subprocess.PIPE, text=True)


def wait_for_checkpoint(run: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not (run / "checkpoint" / "state.json").is_file():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.05)


def nets(run: Path) -> dict[str, torch.Tensor]:
    state = checkpoint.read_state(run / "checkpoint")
    return load_file(str(run / "checkpoint" / state["files"]["nets"]))


def test_a_folder_of_the_users_is_refused_and_left_as_it_was(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "config.yaml").write_text("my: notes\n")
    (folder / "metrics.jsonl").write_text("mine\n")
    proc = ganforge("train", "toy-ring", "--out", str(folder), *toy_args(2))
    assert proc.returncode == 2 and "is not empty and holds no run of this config" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (folder / "config.yaml").read_text() == "my: notes\n"
    assert sorted(p.name for p in folder.iterdir()) == ["config.yaml", "metrics.jsonl"]
    a_file = tmp_path / "file"
    a_file.write_text("x")
    proc = ganforge("train", "toy-ring", "--out", str(a_file), *toy_args(2))
    assert proc.returncode == 2 and "is a file" in proc.stderr and a_file.read_text() == "x"


def test_two_trainings_in_one_folder_then_ctrl_c_then_resume(tmp_path):
    run = tmp_path / "run"
    first = start_training(run, 100_000)
    wait_for_checkpoint(run, first)
    second = ganforge("train", "--resume", str(run))
    assert second.returncode == 2
    assert f"is being trained by process {first.pid}" in second.stderr
    first.send_signal(signal.SIGINT)
    assert first.wait(timeout=60) == 130
    message = first.stderr.read()
    assert "SIGINT: stopped after step" in message and "--resume" in message
    assert "Traceback" not in message and not (run / ".lock").exists()
    stopped = checkpoint.read_state(run / "checkpoint")["step"]
    rows = [json.loads(r) for r in (run / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["step"] == stopped  # the last step is both logged and saved
    assert (run / "samples" / f"step_{stopped:07d}.png").is_file()  # and drawn
    proc = ganforge("train", "--resume", str(run), "--set", f"train.steps={stopped + 3}")
    assert proc.returncode == 0, proc.stderr
    assert checkpoint.read_state(run / "checkpoint")["step"] == stopped + 3


def test_sigterm_exits_143_and_a_dead_owners_lock_is_taken_over(tmp_path):
    run = tmp_path / "run"
    proc = start_training(run, 100_000)
    wait_for_checkpoint(run, proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 143 and "SIGTERM: stopped" in proc.stderr.read()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True)
    (run / ".lock").write_text(gone.stdout.strip())  # a killed owner's lock
    (run / "checkpoint" / ".nets-0000009.safetensors.tmp-99999").write_bytes(b"half")
    step = checkpoint.read_state(run / "checkpoint")["step"]
    resumed = ganforge("train", "--resume", str(run), "--set", f"train.steps={step + 1}")
    assert resumed.returncode == 0, resumed.stderr
    assert f"taking over {run / '.lock'} from process {gone.stdout.strip()}" in resumed.stderr
    assert not any(".tmp-" in p.name for p in (run / "checkpoint").iterdir())
    assert not (run / ".lock").exists()


def test_an_unreadable_newest_checkpoint_is_named_and_the_previous_one_used(tmp_path):
    run = tmp_path / "run"
    train(load_config("toy-ring", {**TOY, "train.steps": 4}), run)
    folder = run / "checkpoint"
    assert sorted(p.name for p in folder.glob("step-*.json")) == ["step-0000003.json",
                                                                 "step-0000004.json"]
    newest = folder / "nets-0000004.safetensors"
    newest.write_bytes(newest.read_bytes()[:100])  # truncated, as by a full disk
    proc = ganforge("sample", str(run), "-n", "8", "--out", str(tmp_path / "s"))
    assert proc.returncode == 0, proc.stderr
    assert "nets-0000004.safetensors is missing, truncated or corrupt" in proc.stderr
    assert "using the checkpoint of step 3" in proc.stderr
    assert proc.stdout.strip() == str(tmp_path / "s.png") and (tmp_path / "s.png").is_file()
    state = json.loads((folder / "step-0000003.json").read_text())
    state["step"] = 7  # an edited step that no longer matches its files
    (folder / "state.json").write_text(json.dumps(state))
    (folder / "step-0000004.json").unlink()
    proc = ganforge("train", "--resume", str(run), "--set", "train.steps=5")
    assert proc.returncode == 0, proc.stderr
    assert "says step 7 but names the files" in proc.stderr
    rows = [json.loads(r)["step"] for r in (run / "metrics.jsonl").read_text().splitlines()]
    assert rows == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("args, message", [
    (["train", "--resume", "RUN", "--out", "elsewhere"], "--out is for a new run"),
    (["sample", "RUN", "-n", "0"], "-n must be at least 1, got 0"),
    (["sample", "RUN", "-n", "-1"], "-n must be at least 1, got -1"),
])
def test_misused_options_are_refused_in_one_line(args, message, tmp_path):
    run = tmp_path / "run"
    train(load_config("toy-ring", {**TOY, "train.steps": 1}), run)
    proc = ganforge(*[str(run) if a == "RUN" else a for a in args])
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def metric_rows(run: Path) -> int:
    """Rows in RUN/metrics.jsonl (0 before the file exists)."""
    path = run / "metrics.jsonl"
    return len(path.read_bytes().splitlines()) if path.is_file() else 0


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume_ends_where_one_run_ends(tmp_path):
    """Kill the training process 20 times at random moments (mid-step, mid-checkpoint,
    mid-metrics-row); each restart resumes; the end is bitwise the uninterrupted run's."""
    steps = 400
    straight = tmp_path / "straight"
    train(load_config("toy-ring", {**TOY, "train.steps": steps}), straight)
    run, rng, kills = tmp_path / "killed", random.Random(0), 0
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    while True:
        started = (run / "checkpoint" / "state.json").is_file()
        args = ["--resume", str(run)] if started else ["toy-ring", "--out", str(run),
                                                         *toy_args(steps)]
        proc = subprocess.Popen([sys.executable, "-m", "ganforge", "train", *args], env=env,
                                stderr=subprocess.PIPE, text=True)
        if kills < 20:
            # a few steps into training (at most 15 a life, so 20 lives cannot finish the run
            # however fast the machine), then a random moment within the next step or two
            target = metric_rows(run) + rng.randint(1, 15)
            deadline = time.monotonic() + 120
            while proc.poll() is None and metric_rows(run) < target \
                    and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.03))
            if proc.poll() is None:
                proc.kill()
                kills += 1
        code = proc.wait(timeout=300)
        if code == 0:
            break
        assert code == -signal.SIGKILL, proc.stderr.read()
    assert kills == 20
    a, b = nets(straight), nets(run)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    rows = [json.loads(r)["step"] for r in (run / "metrics.jsonl").read_text().splitlines()]
    assert rows == list(range(1, steps + 1))


def test_a_decaying_run_keeps_its_budget_once_the_decay_has_begun(tmp_path):
    run = tmp_path / "run"
    cfg = load_config("toy-ring", {**TOY, "train.steps": 4, "optim.lr_decay": "linear"})
    train(cfg, run)
    proc = ganforge("train", "--resume", str(run), "--set", "train.steps=8")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert ("optim.lr_decay=linear follows train.steps, and this run has done 4 steps, past where "
            "it starts to depend on it (step 1 of its train.steps=4, step 2 of 8)") in proc.stderr
    rows = [json.loads(r) for r in (run / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["lr_g"] == 0.0 and all(r["lr_g"] >= 0 for r in rows)


def test_a_folder_run_keeps_its_absolute_data_path_and_notices_a_changed_folder(tmp_path):
    from PIL import Image

    folder = tmp_path / "pictures"
    folder.mkdir()
    for i in range(20):
        Image.new("RGB", (32, 32), (i * 10, 0, 0)).save(folder / f"{i}.png")
    over = ["--set", "data.path=pictures", "--set", "data.batch_size=8", "--set",
            "train.steps=2", "--set", "model.g_width=4", "--set", "model.d_width=4",
            "--set", "train.progress=false"]
    proc = ganforge("train", "folder-dcgan", "--out", "run", *over, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    saved = load_config(str(tmp_path / "run" / "config.yaml"))
    assert saved.data.path == str(folder)  # absolute: eval from anywhere reads the same data
    [saved_input] = json.loads((tmp_path / "run" / "data.json").read_text())["inputs"]
    assert (saved_input["path"], saved_input["files"]) == (str(folder), 20)
    Image.new("RGB", (32, 32)).save(folder / "new.png")
    proc = ganforge("sample", str(tmp_path / "run"), "-n", "4", "--out", str(tmp_path / "s.png"))
    assert proc.returncode == 0, proc.stderr
    assert f"the data in {folder} changed since the run started (20 files then, 21 now)" \
        in proc.stderr


@pytest.mark.parametrize("name, garbage, message", [
    ("processes.json", "{oops", 'processes.json should read {"processes": N, ...}'),
    ("metrics.jsonl", '{"step": 1}\nnot json\n', "metrics.jsonl line 2 is not a JSON row"),
])
def test_garbage_in_a_run_file_is_named_on_resume(tmp_path, name, garbage, message):
    run = tmp_path / "run"
    train(load_config("toy-ring", {**TOY, "train.steps": 2}), run)
    (run / name).write_text(garbage)
    proc = ganforge("train", "--resume", str(run))
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert (run / name).read_text() == garbage


def test_a_full_disk_during_a_checkpoint_is_one_line_and_loses_nothing(tmp_path):
    run = tmp_path / "run"
    train(load_config("toy-ring", {**TOY, "train.steps": 2}), run)
    script = ("import errno, sys\n"
              "from ganforge.train import checkpoint as c\n"
              "def full(tensors, path, metadata=None):\n"
              "    open(path, 'wb').write(b'partial')\n"
              "    raise OSError(errno.ENOSPC, 'No space left on device')\n"
              "c.save_file = full\n"
              "from ganforge.cli import main\n"
              f"sys.exit(main(['train', '--resume', {str(run)!r}, '--set', 'train.steps=4']))\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "No space left on device" in proc.stderr and "Traceback" not in proc.stderr
    assert checkpoint.read_state(run / "checkpoint")["step"] == 2  # the last good one
    assert not any(".tmp-" in p.name for p in (run / "checkpoint").iterdir())
    assert not (run / ".lock").exists()


def test_reading_a_run_while_it_trains_always_finds_a_whole_checkpoint(tmp_path):
    """Every checkpoint step replaces files: a reader must never meet a half-gone one."""
    from ganforge.run import build

    run = tmp_path / "run"
    proc = start_training(run, 100_000)
    wait_for_checkpoint(run, proc)
    _, family = build(load_config("toy-ring", {**TOY, "train.steps": 100_000}))
    steps, reads = set(), 0
    # Read until the reads have overlapped many checkpoint writes, however fast either side
    # runs on this machine (a fixed count of reads can finish within a few training steps).
    deadline = time.monotonic() + 120
    try:
        while (reads < 300 or len(steps) <= 5) and time.monotonic() < deadline:
            steps.add(checkpoint.load_nets(run / "checkpoint", family)["step"])
            reads += 1
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    assert len(steps) > 5  # the reads did overlap many checkpoint writes
