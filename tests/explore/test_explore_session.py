"""The explorer's game without a server: its numbers against independent computations, the
controls, refusals, and a saved game that ganforge's training loop continues exactly as it
would its own run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from ganforge.config import load_saved_config
from ganforge.explore.controls import CONTROLS
from ganforge.explore.session import Session, decode_arrays
from ganforge.objectives import OBJECTIVES
from ganforge.theory.game import optimal_discriminator
from ganforge.theory.gaussians import density, jsd_gaussians, kl_gaussians
from ganforge.train.loop import train

SMALL = {"width": 16, "depth": 1, "batch_size": 64}


def small_session(run_root=None, **settings) -> Session:
    s = Session(run_root)
    s.apply({**SMALL, **settings})
    return s


def errors(replies) -> list[str]:
    return [r["message"] for r in replies if r["type"] == "error"]


@torch.no_grad()
def make_affine(G, a: float, b: float, shift: float = 10.0) -> None:
    """Set an MLP G (ReLU, z_dim 1) to G(z) = a z + b for z > -shift: one unit carries
    z + shift > 0 through every ReLU; the output layer undoes the shift."""
    linears = [m for m in G.modules() if isinstance(m, torch.nn.Linear)]
    for layer in linears:
        layer.weight.zero_()
        layer.bias.zero_()
        layer.weight[0, 0] = 1.0
    linears[0].bias[0] = shift
    linears[-1].weight[0, 0] = a
    linears[-1].bias[0] = b - a * shift


def test_figure1_of_an_affine_generator_matches_the_theory():
    s = small_session(data="gauss1d")
    p, g = (4.0, 0.5), (3.0, 0.8)
    make_affine(s.family.G, g[1], g[0])
    s.measure()
    frame = s.frame()
    arrays = decode_arrays(frame)
    x = s.scene.x.squeeze(1).double().numpy()
    assert np.abs(arrays["p_g"] - density(x, g)).max() < 2e-3  # densities peak at 0.5, 0.8
    d_star = optimal_discriminator(x, lambda t: density(t, p), lambda t: density(t, g))
    seen = density(x, p) + density(x, g) >= 0.01  # where z's quadrature (|z| <= 5) reaches
    assert np.abs(arrays["d_star"] - d_star)[seen].max() < 2e-3
    # the exact JSD / KL on the grid of 400 bins, against the theory's quadrature
    assert abs(frame["metrics"]["jsd"] - jsd_gaussians(p, g)) < 1e-3
    assert abs(frame["metrics"]["kl"] - kl_gaussians(g, p)) < 1e-2
    assert frame["metrics"]["modes"] == 1


def test_mode_metrics_match_a_count_by_hand():
    s = small_session(data="grid25")
    for _ in range(20):
        s.iterate()
    got = s.measure()
    with torch.no_grad():
        points = s.family.G(s.scene.z_modes).double().numpy()
    axis = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
    centers = np.array([(a, b) for a in axis for b in axis])
    dist = np.sqrt(((points[:, None, :] - centers[None]) ** 2).sum(-1))
    good = dist.min(1) <= 3 * 0.05
    assert got["hq"] == pytest.approx(good.mean(), abs=1e-12)
    assert got["modes"] == len(set(dist.argmin(1)[good]))


def test_arrows_are_the_negative_gradient_of_the_ns_generator_loss():
    s = small_session()
    for _ in range(5):
        s.iterate()
    arrows = decode_arrays(s.frame())["arrows"].reshape(-1, 2)
    with torch.no_grad():
        x = s.family.G(s.scene.z)
    x.requires_grad_(True)
    # -log D(x) per sample = softplus(-v), v = D's logit; its gradient, summed (not averaged)
    (grad,) = torch.autograd.grad(F.softplus(-s.family.D(x)).sum(), x)
    assert np.abs(arrows - (-grad).numpy()).max() < 1e-4


def test_live_controls_reach_the_running_game():
    s = small_session()
    s.iterate()
    assert s.apply({"lr_g": 3e-4, "d_steps": 3, "ema": 0.5, "label_smoothing": 0.1}) is False
    s.iterate()  # the schedule steps after the G step: the new rates must survive it
    assert s.family.optimizers["G"].param_groups[0]["lr"] == 3e-4
    assert s.family.ema.beta == 0.5 and s.family.cfg.loss.label_smoothing == 0.1
    assert s.d_updates == 1 + 3 and s.step == 2
    s.handle({"type": "step_d"})
    s.handle({"type": "step_g"})
    assert (s.d_updates, s.step) == (5, 3)


def test_structural_controls_rebuild_the_nets():
    s = small_session()
    s.iterate()
    assert s.apply({"width": 8, "pack": 2, "spectral_norm": True}) is True
    assert s.step == 0
    first = next(m for m in s.family.D.modules() if isinstance(m, torch.nn.Linear))
    assert first.out_features == 8 and first.in_features == 2 * 2  # two packed 2-D samples
    s.iterate()
    frame = s.frame()
    assert len(decode_arrays(frame)["heat"]) == 32 * 32


@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_every_objective_plays(name):
    s = small_session(loss=name, data="mog1d")
    assert s.cfg.loss.name == name
    replies = s.handle({"type": "step"})
    frame = replies[0]
    assert frame["type"] == "frame" and frame["step"] == 1
    assert math.isfinite(frame["loss_d"]) and math.isfinite(frame["loss_g"])
    if OBJECTIVES[name].lipschitz == "clip":
        assert max(float(p.detach().abs().max()) for p in s.family.D.parameters()) <= 0.01 + 1e-7
    if OBJECTIVES[name].lipschitz == "penalty":
        assert "gp" in s.logs


def test_bad_messages_get_one_error_and_change_nothing():
    s = small_session()
    before = dict(s.settings)
    cases = [
        ({"type": "set", "values": {"lr_g": 5.0}}, "lr_g"),
        ({"type": "set", "values": {"lr_g": "fast"}}, "lr_g"),
        ({"type": "set", "values": {"width": 2.5}}, "width"),
        ({"type": "set", "values": {"loss": "nope"}}, "not one of"),
        ({"type": "set", "values": {"colour": 1}}, "unknown control"),
        ({"type": "set", "values": []}, "values"),
        ({"type": "set", "values": {"loss": "hinge", "label_smoothing": 0.1}}, "smoothing"),
        ({"type": "set", "values": {"loss": "wasserstein", "spectral_norm": True}}, "clipping"),
        ({"type": "fly"}, "unknown message type"),
        (["play"], "JSON object"),
        ({"type": "slow", "on": "yes"}, "slow"),
        ({"type": "draw", "points": [[0, 0], [1, 1]]}, "3 to"),
        ({"type": "draw", "points": [[0, 0], [9, 1], [1, 1]]}, "lie in"),
        ({"type": "draw", "points": "scribble"}, "pairs"),
        ({"type": "save", "name": "run"}, "--run"),
    ]
    for message, said in cases:
        found = errors(s.handle(message))
        assert len(found) == 1 and said in found[0], (message, found)
    assert s.settings == before


def test_every_control_is_accepted_within_its_range():
    s = small_session()
    for name, control in CONTROLS.items():
        if control.kind == "choice":
            value = control.choices[-1] if name != "data" else "spiral"
        elif control.kind == "bool":
            value = not control.default
        else:
            value = control.high if name not in ("width", "batch_size", "seed", "depth") \
                else control.low
        extra = {"loss": "wgan-gp"} if name == "gp_weight" else \
            {"loss": "wasserstein"} if name == "clip" else {}
        replies = s.handle({"type": "set", "values": {**extra, name: value}})
        assert not errors(replies), (name, errors(replies))
        assert s.settings[name] == value
        s.handle({"type": "set", "values": {k: CONTROLS[k].default for k in (name, *extra)}})


def test_a_drawn_distribution_is_saved_as_a_points_run_that_ganforge_continues(tmp_path):
    s = small_session(tmp_path / "runs")
    t = np.linspace(0, 2 * np.pi, 50)
    replies = s.handle({"type": "draw", "points": np.stack([np.cos(t), np.sin(t)], 1).tolist()})
    assert not errors(replies) and s.settings["data"] == "drawn"
    for _ in range(4):
        s.handle({"type": "step"})
    assert s.step == 4 and 0 <= s.metrics["jsd"] <= math.log(2)
    run = Path(s.handle({"type": "save", "name": "drawn"})[0]["path"])
    cfg = load_saved_config(run / "config.yaml")
    assert cfg.data.name == "points" and Path(cfg.data.path) == run / "drawn.csv"
    cfg.train.steps = 6
    train(cfg, tmp_path / "plain")  # data.name=points from the saved file, from step 0
    train(cfg, run, resume=True)
    ours = load_file(run / "checkpoint" / "nets-0000006.safetensors")
    plain = load_file(tmp_path / "plain" / "checkpoint" / "nets-0000006.safetensors")
    assert all(torch.equal(ours[k], plain[k]) for k in ours)


def test_save_refuses_paths_outside_the_run_folder(tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    s = small_session(root)
    assert "train at least one step" in errors(s.handle({"type": "save", "name": "a"}))[0]
    s.iterate()
    for name in ("../escape", str(tmp_path / "elsewhere"), "", "a/../../b", ".", 7):
        found = errors(s.handle({"type": "save", "name": name}))
        assert len(found) == 1, name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]
    assert list(root.iterdir()) == []


def test_the_game_is_ganforge_train_step_for_step(tmp_path):
    root = tmp_path / "runs"
    s = small_session(root, d_steps=2, spectral_norm=True)
    for _ in range(6):
        s.iterate()
        s.frame()  # drawing between steps must not move the game
    s.measure()
    saved = s.handle({"type": "save", "name": "mine"})
    assert saved[0]["type"] == "saved", saved
    run = Path(saved[0]["path"])
    assert run.parent == root.resolve()
    # the same config trained by ganforge itself for 6 + 4 steps ...
    cfg = load_saved_config(run / "config.yaml")
    assert cfg.train.steps == 6 and cfg.optim.lr_decay == "none"
    cfg.train.steps = 10
    train(cfg, tmp_path / "plain")
    # ... equals the saved game resumed by ganforge's loop for 4 more steps (the real
    # command resumes a saved game in tests/explore/test_explore_server.py)
    train(cfg, run, resume=True)
    ours = load_file(run / "checkpoint" / "nets-0000010.safetensors")
    plain = load_file(tmp_path / "plain" / "checkpoint" / "nets-0000010.safetensors")
    assert ours.keys() == plain.keys()
    assert all(torch.equal(ours[k], plain[k]) for k in ours)
    # the game's rows (one per frame), then those of the resumed training
    rows = [json.loads(r) for r in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["step"] <= 6] == [1, 2, 3, 4, 5, 6]
    assert rows[-1]["step"] == 10
