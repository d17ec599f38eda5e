"""Image presets train end to end; BEGAN's k_t rule; conditional sample grids, one row per class."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from ganforge.api import load_run
from ganforge.config import load_config, preset_names
from ganforge.data import data_set_of
from ganforge.data.sets.images import ImageData
from ganforge.families import BEGANFamily, GANFamily, build_family, load_data
from ganforge.nets.began import BEGANDiscriminator, BEGANGenerator
from ganforge.run import build
from ganforge.train.loop import train

TINY = {
    "data.batch_size": 8, "model.g_width": 8, "model.d_width": 8,
    "train.steps": 2, "train.log_every": 1, "train.sample_every": 2, "train.checkpoint_every": 2,
    "train.progress": False,
}


def image_presets() -> list[str]:
    names = []
    for name in preset_names():
        cfg = load_config(name)
        if cfg.train.family in ("gan", "began") and isinstance(data_set_of(cfg), ImageData):
            names.append(name)
    return names


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    """Twelve random 40x40 RGB PNGs: enough for folder-dcgan's batches of 8."""
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for i in range(12):
        pixels = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"img{i:02d}.png")
    return folder


def tiny_config(preset: str, image_folder: Path, **extra):
    overrides = dict(TINY, **extra)
    if load_config(preset).model.arch == "began":
        overrides["model.hidden"] = 8
    if load_config(preset).data.name == "folder":
        overrides["data.path"] = str(image_folder)
    return load_config(preset, overrides)


def run_tiny(preset: str, out: Path, image_folder: Path, **extra) -> list[dict]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # upscaling / tensorboard chatter
        train(tiny_config(preset, image_folder, **extra), out)
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_the_issue_presets_exist():
    wanted = {"digits-dcgan", "digits-wgan-gp", "digits-sngan", "digits-began", "digits-cgan",
              "digits-acgan", "digits-ssgan", "faces-dcgan", "folder-dcgan"}
    assert wanted <= set(image_presets())


@pytest.mark.parametrize("preset", image_presets())
def test_every_image_preset_trains_a_few_steps(preset, tmp_path, image_folder):
    rows = run_tiny(preset, tmp_path / "run", image_folder)
    assert [r["step"] for r in rows] == [1, 2]
    for row in rows:
        assert math.isfinite(row["loss_d"]) and math.isfinite(row["loss_g"])
    state = json.loads((tmp_path / "run" / "checkpoint" / "state.json").read_text())
    assert state["step"] == 2
    grid = Image.open(tmp_path / "run" / "samples" / "step_0000002.png")
    cfg = load_config(preset)
    assert grid.mode == ("L" if cfg.data.channels == 1 else "RGB")
    assert min(grid.size) > cfg.data.image_size


def test_folder_preset_without_a_path_says_what_is_missing(tmp_path):
    with pytest.raises(ValueError, match="data.path"):
        train(load_config("folder-dcgan", {"train.progress": False}), tmp_path / "run")


def _began_family(lambda_k: float = 0.001, gamma: float = 0.5):
    cfg = load_config("digits-began", dict(TINY, **{"began.lambda_k": lambda_k,
                                                   "began.gamma": gamma}))
    torch.manual_seed(0)
    data = load_data(cfg)
    return cfg, data, build_family(cfg, data, torch.device("cpu"))


def test_began_family_is_registered_with_the_began_nets():
    _, _, family = _began_family()
    assert isinstance(family, BEGANFamily)
    assert isinstance(family.G, BEGANGenerator) and isinstance(family.D, BEGANDiscriminator)
    assert family.k == 0.0


def test_began_d_loss_uses_k_t():
    """L_D = E|x - D(x)| - k_t E|G(z) - D(G(z))|, recomputed by hand with the same noise."""
    _, data, family = _began_family()
    family.k = 0.3
    batch = data.stream.next()
    real = batch["x"]
    torch.manual_seed(5)
    with torch.no_grad():
        fake = family.G(torch.randn(len(real), family.z_dim))
        loss_real = (real - family.D(real)).abs().mean()
        loss_fake = (fake - family.D(fake)).abs().mean()
    torch.manual_seed(5)
    logs = family.d_step(batch, 0)
    expected = float(loss_real) - 0.3 * float(loss_fake)
    assert abs(float(logs["loss_d"]) - expected) < 1e-5
    assert abs(float(logs["loss_real"]) - float(loss_real)) < 1e-6


def test_began_k_follows_the_equilibrium_rule_in_the_logged_values(tmp_path, image_folder):
    """k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1) from k_0 = 0, row by row;
    a large lambda_k makes k move far from 0 within three steps."""
    lambda_k, gamma = 0.5, 0.5
    rows = run_tiny("digits-began", tmp_path / "run", image_folder, **{
        "train.steps": 3, "began.lambda_k": lambda_k, "began.gamma": gamma})
    k = 0.0
    for row in rows:
        k = min(max(k + lambda_k * (gamma * row["loss_real"] - row["loss_fake"]), 0.0), 1.0)
        assert abs(row["k"] - k) < 1e-6
        assert 0.0 <= row["k"] <= 1.0
        m_global = row["loss_real"] + abs(gamma * row["loss_real"] - row["loss_fake"])
        assert abs(row["m_global"] - m_global) < 1e-5
        assert abs(row["loss_g"] - row["loss_fake"]) < 1e-6
    assert rows[0]["k"] > 0.0  # real images are harder to reconstruct than G's first outputs
    state = json.loads((tmp_path / "run" / "checkpoint" / "state.json").read_text())
    tensors = load_file(str(tmp_path / "run" / "checkpoint" / state["files"]["nets"]))
    assert abs(float(tensors["extra/k"][0]) - rows[-1]["k"]) < 1e-6


def test_began_resume_continues_with_the_same_k(tmp_path, image_folder):
    extra = {"train.steps": 3, "began.lambda_k": 0.5}
    straight = run_tiny("digits-began", tmp_path / "straight", image_folder, **extra)
    run_tiny("digits-began", tmp_path / "resumed", image_folder, **dict(extra, **{
        "train.steps": 2}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(tiny_config("digits-began", image_folder, **extra), tmp_path / "resumed",
              resume=True)
    resumed = [json.loads(line) for line in
               (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in resumed] == [1, 2, 3]
    for key in ("k", "loss_real", "loss_fake", "loss_d"):
        assert abs(resumed[2][key] - straight[2][key]) < 1e-6, key


def test_began_k_is_restored_on_load():
    _, _, family = _began_family()
    family.k = 0.37
    state = family.extra_state()
    _, _, other = _began_family()
    other.load_extra_state(state)
    assert other.k == 0.37


@pytest.mark.parametrize("preset", ["digits-cgan", "digits-acgan"])
def test_conditional_grid_has_one_row_per_class(preset, tmp_path, image_folder):
    """The preset's 100-sample grid: 10 rows of 10 images, row r generated for class r."""
    run_tiny(preset, tmp_path / "run", image_folder, **{"train.steps": 1})
    grid = np.asarray(Image.open(tmp_path / "run" / "samples" / "step_0000001.png"))
    size, pad, classes = 28, 2, 10
    assert grid.shape == (classes * (size + pad) + pad, classes * (size + pad) + pad)
    run = load_run(tmp_path / "run")
    assert isinstance(run.family, GANFamily)
    fixed = run.family.fixed_inputs(100, seed=run.cfg.seed + 12345)  # the loop's fixed inputs
    assert torch.equal(fixed["y"].view(classes, classes),
                       torch.arange(classes).unsqueeze(1).expand(classes, classes))
    z = fixed["z"]
    for r in (0, 3, 9):
        row_z = z[r * classes : (r + 1) * classes]
        with torch.no_grad():
            images = run.family.G_ema(row_z, torch.full((classes,), r, dtype=torch.long))
        expected = ((images.clamp(-1, 1) + 1) * 127.5).round().squeeze(1).numpy()
        top = pad + r * (size + pad)
        for c in range(classes):
            left = pad + c * (size + pad)
            block = grid[top : top + size, left : left + size].astype(np.float64)
            assert np.abs(block - expected[c]).max() <= 1.0


def test_class_aware_heads_on_an_unconditional_generator(tmp_path, image_folder):
    """model.num_classes=0 keeps G unconditional; D's head still gets the data's 10 classes."""
    rows = run_tiny("digits-cgan", tmp_path / "run", image_folder, **{"model.num_classes": 0})
    assert all(math.isfinite(r["loss_d"]) for r in rows)
    run = load_run(tmp_path / "run")
    assert run.family.conditional_g is False
    assert run.family.D.head.embed.num_embeddings == 10  # projection vectors for 10 classes
    cfg = tiny_config("digits-ssgan", image_folder)
    family = build_family(cfg, load_data(cfg), torch.device("cpu"))
    assert family.conditional_g is False
    logits = family.D(torch.zeros(2, 1, 28, 28))
    assert logits.shape == (2, 10)


@pytest.mark.parametrize("overrides, message", [
    ({"model.num_classes": 0}, "model.num_classes"),  # ACGAN needs a conditional G
    ({"model.head": "projection", "data.labelled_per_class": 5}, "labelled_per_class"),
    ({"model.num_classes": 7}, r"model.num_classes=7 but the data \(mnist5k\) has 10 classes"),
    ({"data.labels": False, "model.head": "plain"}, "needs labelled data"),
])
def test_inconsistent_class_settings_are_refused(overrides, message, image_folder):
    cfg = tiny_config("digits-acgan", image_folder, **overrides)
    with pytest.raises(ValueError, match=message):
        build(cfg)


def test_sample_cli_draws_a_conditional_run_one_row_per_class(tmp_path, image_folder):
    """`ganforge sample RUN` on a conditional run: rows of num_classes images, row r class r."""
    from ganforge.cli import main

    run_tiny("digits-cgan", tmp_path / "run", image_folder, **{"train.steps": 1})
    out = tmp_path / "grid.png"
    assert main(["sample", str(tmp_path / "run"), "-n", "30", "--out", str(out)]) == 0
    grid = np.asarray(Image.open(out))
    size, pad = 28, 2
    assert grid.shape == (3 * (size + pad) + pad, 10 * (size + pad) + pad)
    run = load_run(tmp_path / "run")
    z = run.family.fixed_inputs(30, seed=0)["z"]
    with torch.no_grad():  # the second row is class 1
        images = run.family.G_ema(z[10:20], torch.ones(10, dtype=torch.long))
    expected = ((images.clamp(-1, 1) + 1) * 127.5).round().squeeze(1).numpy()
    top = pad + (size + pad)
    block = grid[top : top + size, pad : pad + size].astype(np.float64)
    assert np.abs(block - expected[0]).max() <= 1.0


def test_sample_cli_on_a_clustered_run_and_an_out_of_range_class(tmp_path, image_folder):
    """data.clusters: square grids, not one row per cluster (clusters are drawn in their
    shares), --class picks a cluster, and a class outside 0..K-1 is refused with the range."""
    from ganforge.cli import main

    run_tiny("digits-dcgan", tmp_path / "run", image_folder,
             **{"train.steps": 1, "data.clusters": 4, "model.num_classes": 4})
    out = tmp_path / "grid.png"
    assert main(["sample", str(tmp_path / "run"), "-n", "25", "--out", str(out)]) == 0
    size, pad = 28, 2  # 5 x 5; one row per cluster would be 7 rows of 4
    assert np.asarray(Image.open(out)).shape == (5 * (size + pad) + pad, 5 * (size + pad) + pad)
    assert main(["sample", str(tmp_path / "run"), "--class", "3", "-n", "4",
                 "--out", str(tmp_path / "threes.png")]) == 0
    assert main(["sample", str(tmp_path / "run"), "--class", "4", "-n", "4",
                 "--out", str(tmp_path / "fours.png")]) == 2
    assert not (tmp_path / "fours.png").exists()
