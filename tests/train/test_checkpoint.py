"""Checkpoints: a kill at any moment of a write leaves the previous one loadable, and a
checkpoint never loads into nets of another shape."""

import subprocess
import sys
import textwrap

import pytest
from safetensors.torch import load_file

from ganforge.config import load_config
from ganforge.run import build
from ganforge.train import checkpoint
from ganforge.train.loop import ResumeError, train

TINY = {"model.g_width": 32, "model.d_width": 32, "model.depth": 2, "data.batch_size": 64,
        "train.log_every": 5, "train.sample_every": 1000, "train.checkpoint_every": 10,
        "train.progress": False, "train.sample_count": 64, "optim.lr_decay": "none"}


def toy_cfg(steps, **extra):
    return load_config("toy-ring", {**TINY, "train.steps": steps, **extra})


def weights(run):
    state = checkpoint.read_state(run / "checkpoint")
    return load_file(str(run / "checkpoint" / state["files"]["nets"])), state


def test_checkpoint_from_another_config_is_refused(tmp_path):
    train(toy_cfg(10), tmp_path / "run")
    _, fam = build(toy_cfg(10, **{"model.g_width": 16}))
    with pytest.raises(checkpoint.CheckpointError, match="does not fit"):
        checkpoint.load_nets(tmp_path / "run" / "checkpoint", fam)
    with pytest.raises(ResumeError, match="model.g_width: 32 -> 16"):
        train(toy_cfg(10, **{"model.g_width": 16}), tmp_path / "run", resume=True)


KILL_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    import safetensors.torch as st
    from ganforge.config import load_config
    from ganforge.train import checkpoint
    from ganforge.train.loop import train
    stage = sys.argv[2]
    calls = {"n": 0}
    real_save = st.save_file
    def dying_save(tensors, path, metadata=None):
        calls["n"] += 1
        if stage == "mid-file" and calls["n"] == 3:   # second checkpoint, first file: half written
            with open(path, "wb") as f:
                f.write(b"\\x00" * 100)
            os.kill(os.getpid(), signal.SIGKILL)
        real_save(tensors, path, metadata)
        if stage == "between-files" and calls["n"] == 4:  # both tensor files, no state.json yet
            os.kill(os.getpid(), signal.SIGKILL)
    checkpoint.save_file = dying_save
    over = {"model.g_width": 16, "model.d_width": 16, "data.batch_size": 32,
            "train.checkpoint_every": 5, "train.sample_every": 100, "train.progress": False,
            "train.steps": 10}
    train(load_config("toy-ring", over), sys.argv[1])
""")


@pytest.mark.parametrize("stage", ["mid-file", "between-files"])
def test_killed_checkpoint_write_leaves_previous_loadable(tmp_path, stage):
    script = tmp_path / "kill.py"
    script.write_text(KILL_SCRIPT)
    run = tmp_path / "run"
    proc = subprocess.run([sys.executable, str(script), str(run), stage], capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    tensors, state = weights(run)  # loads: the previous checkpoint survived
    assert state["step"] == 5
    assert any(k.startswith("G/") for k in tensors)
    # and training resumes from it to the end
    over = {"model.g_width": 16, "model.d_width": 16, "data.batch_size": 32,
            "train.checkpoint_every": 5, "train.sample_every": 100, "train.progress": False,
            "train.steps": 10}
    train(load_config("toy-ring", over), run, resume=True)
    assert weights(run)[1]["step"] == 10
