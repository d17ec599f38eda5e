"""The EMA generator's warm-up: beta_t = min(train.ema, 0.5 ** (1 / (ema_rampup * t)))."""

from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file

from ganforge.config import load_config
from ganforge.families import build_family, load_data
from ganforge.families.base import EMA
from ganforge.train import checkpoint
from ganforge.train.loop import train


def schedule(ema=0.999, ema_start=0, ema_rampup=0.05) -> EMA:
    net = torch.nn.Linear(1, 1)
    return EMA([(net, net)], SimpleNamespace(ema=ema, ema_start=ema_start, ema_rampup=ema_rampup))


def test_decay_schedule_worked_by_hand():
    ema = schedule()
    # t = step + 1 updates; half-life r t = 0.05 t steps: 1/20 at t = 1, 1 at t = 20, 2 at t = 40
    assert ema.decay(0) == 0.5 ** 20
    assert ema.decay(19) == 0.5
    assert ema.decay(39) == pytest.approx(2 ** -0.5, rel=1e-15)
    # the ramp's half-life passes 693 steps (that of 0.999) at t = 693.1 / 0.05 = 13,863
    assert ema.decay(13_000) == pytest.approx(0.5 ** (1 / (0.05 * 13_001)), rel=1e-15)
    assert ema.decay(13_000) < 0.999
    assert ema.decay(14_000) == 0.999
    # the ramp counts from ema_start; before it the EMA is a copy
    delayed = schedule(ema_start=10)
    assert (delayed.decay(9), delayed.decay(29)) == (0.0, 0.5)
    # 0 = no ramp: train.ema from the first step, as without the key
    assert [schedule(ema_rampup=0.0).decay(s) for s in (0, 19, 20_000)] == [0.999] * 3
    assert schedule(ema=0.0).decay(5_000) == 0.0  # no EMA stays no EMA


def test_update_uses_the_ramped_decay():
    model, average = torch.nn.Linear(1, 1, bias=False), torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(1.0)
        average.weight.fill_(0.0)
    ema = EMA([(average, model)], SimpleNamespace(ema=0.999, ema_start=0, ema_rampup=0.05))
    ema.update(step=19)  # beta = 0.5: halfway from 0 to 1
    assert average.weight.item() == 0.5


def distances(cfg, run_dir):
    """(|G_ema - G|, |G_ema - G_0|) over all of G's weights after training `cfg`, where G_0 is
    the initial G (built as the loop builds it: same seed, same data)."""
    torch.manual_seed(cfg.seed)
    initial = build_family(cfg, load_data(cfg, 0, 1), torch.device("cpu")).G.state_dict()
    train(cfg, run_dir)
    state = checkpoint.read_state(run_dir / "checkpoint")
    nets = load_file(str(run_dir / "checkpoint" / state["files"]["nets"]))
    trained = {k: nets[f"G/{k}"] for k in initial}

    def norm(other):
        return sum(float((nets[f"G_ema/{k}"] - other[k]).double().pow(2).sum()) for k in initial) ** 0.5

    return norm(trained), norm(initial)


def test_a_short_runs_ema_is_nearer_the_trained_g_than_the_initial_one(tmp_path):
    tiny = {"model.g_width": 32, "model.d_width": 32, "model.depth": 2, "data.batch_size": 64,
            "train.steps": 150, "train.log_every": 150, "train.sample_every": 150,
            "train.checkpoint_every": 150, "train.progress": False, "train.sample_count": 16,
            "train.ema": 0.999}
    to_g, to_initial = distances(load_config("toy-ring", tiny), tmp_path / "ramp")
    assert to_g < 0.5 * to_initial
    # without the ramp 0.999^150 = 86% of the average is still the initial weights
    to_g, to_initial = distances(load_config("toy-ring", {**tiny, "train.ema_rampup": 0.0}),
                                 tmp_path / "flat")
    assert to_initial < to_g
