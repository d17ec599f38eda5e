"""Speed switches: each trains with finite losses, a falling D loss, and the loss curve of the
plain run (to rounding for the exact switches, within a few 1e-3 for the lower precisions and
the reused fake batch); the switches that cannot apply are refused with the reason."""

import functools
import json
import os

import pytest
import torch

from ganforge.config import load_config
from ganforge.data import TensorStream, ZipStream
from ganforge.train import checkpoint, speed
from ganforge.train.loop import train

# A tiny batch-norm DCGAN on 8x8 digits: its D loss falls from log 4 = 1.386 to about 1.27 in
# 24 steps at this learning rate, so "the objective decreases" is a clear signal.
PLAIN_DCGAN = {"data.clusters": 0, "model.num_classes": 0, "model.head": "plain"}  # no clusters
BASE = {**PLAIN_DCGAN, "data.name": "digits", "data.image_size": 8, "model.g_width": 8, "model.d_width": 8,
        "model.z_dim": 8, "data.batch_size": 32, "train.steps": 24, "train.log_every": 1,
        "train.sample_every": 1000, "train.checkpoint_every": 1000, "train.progress": False,
        "optim.lr_g": 1e-3, "optim.lr_d": 1e-3}


def run(tmp_path, name, **extra):
    out = train(load_config("digits-dcgan", {**BASE, **extra}), tmp_path / name)
    rows = [json.loads(r) for r in (out / "metrics.jsonl").read_text().splitlines()]
    return out, {k: [r[k] for r in rows] for k in ("loss_d", "loss_g")}


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    return run(tmp_path_factory.mktemp("plain"), "plain")[1]


def check_curve(curve, plain, tol):
    assert len(curve["loss_d"]) == BASE["train.steps"]
    for key, values in curve.items():
        assert all(torch.isfinite(torch.tensor(values))), key
        assert max(abs(a - b) for a, b in zip(values, plain[key])) < tol, key
    d = curve["loss_d"]
    assert sum(d[:5]) / 5 - sum(d[-5:]) / 5 > 0.05  # the D objective falls


@pytest.mark.parametrize("name,switch,tol", [
    ("channels_last", {"speed.channels_last": True}, 1e-5),
    ("fused_adam", {"speed.fused": True}, 1e-5),
    ("bf16", {"speed.amp": "bf16"}, 0.03),
    ("fp16", {"speed.amp": "fp16"}, 0.03),
    ("reuse_fake", {"speed.reuse_fake": True}, 0.03),  # same algorithm, other noise draws
    # benchmarks/throughput.py's best switches for conv nets, together
    ("best", {"speed.amp": "bf16", "speed.reuse_fake": True, "speed.fused": True}, 0.03),
])
def test_switch_trains_like_the_plain_run(tmp_path, plain, name, switch, tol):
    out, curve = run(tmp_path, name, **switch)
    check_curve(curve, plain, tol)
    if name == "fp16":  # the loss scales are part of the checkpoint
        state = checkpoint.read_state(out / "checkpoint")
        from safetensors.torch import load_file
        nets = load_file(str(out / "checkpoint" / state["files"]["nets"]))
        for opt in ("D", "G"):  # 2^16 at the start, halved at every overflowing step
            assert float(nets[f"extra/scaler/{opt}"][0]) in {2.0 ** k for k in range(17)}


@pytest.mark.parametrize("over,tol", [
    ({"model.d_norm": "layer"}, 1e-5),
    ({"model.d_norm": "layer", "model.head": "projection", "data.labels": True}, 1e-5),
    ({"model.d_norm": "layer", "model.head": "acgan", "model.num_classes": 10,
      "data.labels": True}, 1e-5),
    # spectral norm's power iteration runs once per forward: once per D step, not twice
    ({"model.d_norm": "none", "model.spectral_norm": True, "loss.name": "hinge"}, 0.01),
])
def test_joint_d_forward_gives_the_curves_of_two_passes(tmp_path, over, tol):
    _, separate = run(tmp_path, "separate", **over)
    _, joint = run(tmp_path, "joint", **over, **{"speed.joint_d_forward": True})
    check_curve(joint, separate, tol)


def test_compiled_nets_train_like_eager_ones(tmp_path, plain, monkeypatch):
    # aot_eager: Dynamo's graph capture and AOTAutograd (where double backward fails) without
    # inductor's C++ code generation, which takes ~50 s cold on 2 shared cores
    monkeypatch.setattr(speed, "compile_nets",
                        functools.partial(speed.compile_nets, backend="aot_eager"))
    _, curve = run(tmp_path, "compiled", **{"speed.compile": True})
    check_curve(curve, plain, 1e-5)


@pytest.mark.skipif(not os.environ.get("GANFORGE_SLOW_TESTS"),
                    reason="inductor compiles the 4 graphs in ~50 s cold (22 s with a warm "
                           "cache) on 2 shared CPU cores; set GANFORGE_SLOW_TESTS=1")
def test_inductor_compiled_nets_train_like_eager_ones(tmp_path, plain):
    _, curve = run(tmp_path, "inductor", **{"speed.compile": True})
    check_curve(curve, plain, 1e-4)


def test_compile_leaves_doubly_differentiated_nets_eager(tmp_path, monkeypatch):
    compiled = []
    monkeypatch.setattr(speed, "compile_nets", lambda nets: compiled.extend(nets))
    over = {**BASE, "train.steps": 1, "speed.compile": True, "model.d_norm": "layer"}
    train(load_config("digits-dcgan", {**over, "loss.name": "wgan-gp"}), tmp_path / "gp")
    assert [type(n).__name__ for n in compiled] == ["DCGANGenerator"]
    compiled.clear()
    train(load_config("digits-dcgan", over), tmp_path / "ns")
    assert [type(n).__name__ for n in compiled] == ["DCGANGenerator", "DCGANDiscriminator"]


@pytest.mark.parametrize("preset,over,message", [
    ("digits-dcgan", {"speed.amp": "fp8"}, "unknown speed.amp 'fp8'; valid: none, bf16, fp16"),
    ("digits-dcgan", {"speed.amp": "fp16", "loss.name": "wgan-gp", "model.d_norm": "layer"},
     "use speed.amp=bf16"),
    ("digits-dcgan", {"speed.reuse_fake": True, "train.d_steps": 2}, "needs train.d_steps=1"),
    ("digits-began", {"speed.amp": "bf16"}, "not implemented for train.family=began"),
    ("digits-began", {"speed.joint_d_forward": True}, "not implemented for train.family=began"),
    ("digits-dcgan", {"speed.joint_d_forward": True, "data.image_size": 16},  # 8 px: no BN in D
     "use it with model.d_norm=none"),
    ("digits-dcgan", {"speed.joint_d_forward": True, "model.d_norm": "layer",
                      "model.minibatch_std": True}, "minibatch std mix real"),
])
def test_switches_that_cannot_apply_are_refused(tmp_path, preset, over, message):
    cfg = load_config(preset, {**BASE, **over, "train.steps": 1})
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("(", r"\(")):
        train(cfg, tmp_path / "run")


def test_data_on_device_moves_every_stream():
    a = TensorStream({"x": torch.zeros(8, 1, 2, 2)}, batch_size=2, seed=0)
    b = TensorStream({"x": torch.ones(8, 1, 2, 2)}, batch_size=2, seed=1)
    zipped = ZipStream({"a": a, "b": b})
    speed.move_data_(zipped, torch.device("cpu"))  # nothing to do on the CPU
    assert a.tensors["x"].device.type == "cpu"
    speed.move_data_(zipped, torch.device("meta"))  # any other device: the tensors move
    assert a.tensors["x"].device.type == b.tensors["x"].device.type == "meta"
    assert zipped.next()["a"].device.type == "meta"
