"""The training loop: determinism, exact resume, refusals, divergence and atomic checkpoints."""

import json
import os
import signal
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file

from ganforge.config import load_config
from ganforge.families import GANFamily
from ganforge.families.base import EMA
from ganforge.rundir import RunInterrupted
from ganforge.train import checkpoint
from ganforge.train.loop import DivergedError, ResumeError, check_resumable, train

TINY = {"model.g_width": 32, "model.d_width": 32, "model.depth": 2, "data.batch_size": 64,
        "train.log_every": 5, "train.sample_every": 1000, "train.checkpoint_every": 10,
        "train.progress": False, "train.sample_count": 64,
        "optim.lr_decay": "none"}  # a decay schedule follows train.steps, which resume extends


def toy_cfg(steps, **extra):
    return load_config("toy-ring", {**TINY, "train.steps": steps, **extra})


def weights(run):
    state = checkpoint.read_state(run / "checkpoint")
    return load_file(str(run / "checkpoint" / state["files"]["nets"])), state


def assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_run_directory_contract(tmp_path):
    run = train(toy_cfg(20), tmp_path / "run")
    assert (run / "config.yaml").is_file()
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [5, 10, 15, 20]
    assert all({"loss_d", "loss_g"} <= r.keys() for r in rows)
    assert (run / "samples" / "step_0000020.png").is_file()
    assert list((run / "tb").iterdir())
    _, state = weights(run)
    assert state["step"] == 20


def test_same_seed_same_weights_bitwise(tmp_path):
    a, _ = weights(train(toy_cfg(15), tmp_path / "a"))
    b, _ = weights(train(toy_cfg(15), tmp_path / "b"))
    assert_same(a, b)
    c, _ = weights(train(toy_cfg(15, seed=1), tmp_path / "c"))
    assert not torch.equal(a["G/net.0.weight"], c["G/net.0.weight"])


@pytest.mark.parametrize("extra", [
    {},  # toy stream, plain D
    # the auxiliary RNG of flips and instance noise is restored too (the anneal length is fixed:
    # by default it follows train.steps, which a resume may change)
    {"loss.label_flip": 0.1, "loss.instance_noise": 0.1, "loss.instance_noise_steps": 40},
])
def test_resume_is_exact(tmp_path, extra):
    straight, _ = weights(train(toy_cfg(30, **extra), tmp_path / "straight"))
    train(toy_cfg(20, **extra), tmp_path / "split")
    train(toy_cfg(30, **extra), tmp_path / "split", resume=True)
    resumed, state = weights(tmp_path / "split")
    assert state["step"] == 30
    assert_same(straight, resumed)
    rows = (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["step"] for r in rows] == [5, 10, 15, 20, 25, 30]


@pytest.mark.parametrize("extra", [
    {},
    # ADA: p (adjusted every second D step here) and the signs counted so far resume too
    {"loss.diffaugment": "translation,cutout", "loss.ada_target": 0.1, "loss.ada_kimg": 0.04,
     "loss.ada_interval": 2},
])
def test_resume_exact_on_images_with_batch_norm(tmp_path, extra):
    over = {"data.name": "digits", "data.image_size": 8, "model.g_width": 8, "model.d_width": 8,
            "model.z_dim": 8, "data.batch_size": 16, "train.checkpoint_every": 3,
            "train.sample_every": 100, "train.log_every": 1, "train.progress": False, **extra}
    cfg = lambda steps: load_config("digits-dcgan", {**over, "train.steps": steps})  # noqa: E731
    straight, _ = weights(train(cfg(6), tmp_path / "straight"))
    train(cfg(3), tmp_path / "split")
    train(cfg(6), tmp_path / "split", resume=True)
    resumed, _ = weights(tmp_path / "split")
    assert_same(straight, resumed)
    if extra:
        rows = [[json.loads(r)["ada_p"] for r in (tmp_path / run / "metrics.jsonl").open()]
                for run in ("straight", "split")]
        # 32 images every 2 steps move p by 0.8; D's first r_t here is 0.25, above 0.1
        assert rows[0] == rows[1] and max(rows[0]) > 0


def test_resume_with_changed_config_is_refused(tmp_path):
    train(toy_cfg(10), tmp_path / "run")
    with pytest.raises(ResumeError) as err:
        train(toy_cfg(20, **{"loss.name": "hinge", "optim.lr_d": 0.01}), tmp_path / "run",
              resume=True)
    assert "loss.name: 'ns' -> 'hinge'" in str(err.value) and "optim.lr_d" in str(err.value)


def interrupt_after(monkeypatch, stop_step):
    """Ctrl-C arrives during step `stop_step` (counted from 1): the loop saves it and stops."""
    g_step = GANFamily.g_step

    def step_then_interrupt(self, batch, step):
        logs = g_step(self, batch, step)
        if step + 1 == stop_step:
            os.kill(os.getpid(), signal.SIGINT)
        return logs

    monkeypatch.setattr(GANFamily, "g_step", step_then_interrupt)


def stopped_run(run, monkeypatch, steps, stop_step, **extra):
    interrupt_after(monkeypatch, stop_step)
    with pytest.raises(RunInterrupted):
        train(toy_cfg(steps, **extra), run)
    monkeypatch.undo()
    assert checkpoint.read_state(run / "checkpoint")["step"] == stop_step


LINEAR = {"optim.lr_decay": "linear", "optim.decay_start": 0.5}


@pytest.mark.parametrize("first_budget", [20, 40])  # the decay begins at step 10 / 20
def test_a_decaying_run_takes_a_new_budget_before_its_decay_begins(tmp_path, monkeypatch,
                                                                    first_budget):
    straight, _ = weights(train(toy_cfg(30, **LINEAR), tmp_path / "straight"))  # decay from 15
    stopped_run(tmp_path / "split", monkeypatch, first_budget, 10, **LINEAR)
    train(toy_cfg(30, **LINEAR), tmp_path / "split", resume=True)
    resumed, state = weights(tmp_path / "split")
    assert state["step"] == 30
    assert_same(straight, resumed)
    rows = [json.loads(r) for r in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()]
    assert [r["lr_g"] for r in rows] == [r["lr_g"] for r in map(json.loads, (
        tmp_path / "straight" / "metrics.jsonl").read_text().splitlines())]


@pytest.mark.parametrize("extra, name, begins", [
    (LINEAR, "optim.lr_decay=linear", 10),
    ({"loss.instance_noise": 0.1}, "loss.instance_noise (annealed over train.steps)", 0),
    ({"loss.top_k": 0.5}, "loss.top_k (annealed over train.steps / 2)", 0),
])
def test_a_new_budget_is_refused_once_a_schedule_depends_on_it(tmp_path, monkeypatch, extra,
                                                                name, begins):
    run = tmp_path / "run"
    stopped_run(run, monkeypatch, 20, 11, **extra)
    with pytest.raises(ResumeError) as err:
        train(toy_cfg(40, **extra), run, resume=True)
    assert str(err.value) == (
        f"cannot resume with train.steps=40: {name} follows train.steps, and this run has done "
        f"11 steps, past where it starts to depend on it (step {begins} of its train.steps=20, "
        f"step {2 * begins} of 40). Resume with train.steps=20, or start a new run with the new "
        "budget.")
    train(toy_cfg(20, **extra), run, resume=True)  # its own budget still goes on
    assert checkpoint.read_state(run / "checkpoint")["step"] == 20


def test_a_gumbel_run_takes_a_new_budget_only_before_its_temperature_anneals():
    def cfg(steps):
        return load_config("oracle-gumbel", {"train.steps": steps, "seq.pretrain_g": 50})

    check_resumable(cfg(100), cfg(200), done=51)  # steps 0-50 sample at tau_start either way
    with pytest.raises(ResumeError, match=r"the temperature seq.tau_start -> seq.tau_end "
                       r"follows train.steps, and this run has done 52 steps, past where it "
                       r"starts to depend on it \(step 51 of its train.steps=100, step 51 of 200\)"):
        check_resumable(cfg(100), cfg(200), done=52)


def test_new_run_refuses_to_overwrite(tmp_path):
    train(toy_cfg(10), tmp_path / "run")
    with pytest.raises(FileExistsError, match="--resume"):
        train(toy_cfg(10), tmp_path / "run")


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    original = GANFamily.g_step

    def poisoned(self, batch, step):
        logs = original(self, batch, step)
        if step + 1 >= 14:
            logs["loss_g"] = torch.tensor(float("nan"))
        return logs

    monkeypatch.setattr(GANFamily, "g_step", poisoned)
    with pytest.raises(DivergedError, match="diverged at step 14") as err:
        train(toy_cfg(30), tmp_path / "run")
    assert "loss_g=nan" in str(err.value)
    _, state = weights(tmp_path / "run")
    assert state["step"] == 10  # the last checkpoint before the divergence


def test_top_k_generator_loss_uses_the_best_scored_samples():
    """loss.top_k=0.25 after its anneal: G's loss is the ns loss of the 25 % D rates highest."""
    from ganforge.families import load_data
    from ganforge.objectives import get_objective

    cfg = toy_cfg(10, **{"loss.top_k": 0.25, "loss.top_k_steps": 4, "data.batch_size": 64})
    family = GANFamily(cfg, load_data(cfg), torch.device("cpu"))
    batch = {"x": torch.zeros(64, 2)}
    torch.manual_seed(3)
    loss, _ = family.g_loss(batch, family.D, step=8)
    torch.manual_seed(3)
    with torch.no_grad():
        scores = family.D(family.G(torch.randn(64, 2)))
    best = scores.sort(descending=True).values[:16]
    assert abs(loss.item() - get_objective("ns").g_loss(best).item()) < 1e-6
    assert abs(loss.item() - get_objective("ns").g_loss(scores).item()) > 1e-4  # not all 64


def test_ema_is_the_lerp_of_the_parameters_and_copies_the_buffers():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    ema = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    model(torch.randn(8, 3))  # moves the running statistics off their start
    before = [p.clone() for p in ema.parameters()]
    EMA([(ema, model)], SimpleNamespace(ema=0.9, ema_start=0, ema_rampup=0.0)).update(step=0)
    for old, new, target in zip(before, ema.parameters(), model.parameters()):
        assert (new - (0.9 * old + 0.1 * target)).abs().max() < 1e-6
    for b_ema, b in zip(ema.buffers(), model.buffers()):
        assert torch.equal(b_ema, b)
    EMA([(ema, model)], SimpleNamespace(ema=0.9, ema_start=1, ema_rampup=0.0)).update(step=0)  # a copy
    assert all(torch.equal(a, b) for a, b in zip(ema.parameters(), model.parameters()))
