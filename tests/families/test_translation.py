"""pix2pix and CycleGAN families: training lowers the test L1, one G pass per iteration, exact
CycleGAN resume (image pools included), linear LR decay, and pix2pix's PatchGAN class head
(its losses by hand, what it learns, its refusals).

The cycle and identity losses on hand-made tensors are tested in
tests/objectives/test_translation_losses.py; evaluation and folder translation in
tests/eval/test_translation.py."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file

from ganforge.api import load_run
from ganforge.config import load_config, preset_names
from ganforge.data.paired import load_paired
from ganforge.families import CycleGANFamily, Pix2PixFamily, build_family, load_data
from ganforge.families.translation import side_by_side
from ganforge.nets import ARCHS
from ganforge.train import checkpoint
from ganforge.train.loop import train
from ganforge.validate import validate

# the default preset's k-means cluster labels would make these configs class-conditional
QUIET = {"train.progress": False, "train.log_every": 1, "data.clusters": 0,
         "model.num_classes": 0, "model.head": "plain"}
PIX2PIX_TINY = {
    **QUIET, "train.family": "pix2pix", "data.name": "edges", "data.batch_size": 16,
    "model.arch": "unet", "model.g_width": 8, "model.d_width": 8, "model.patch_layers": 2,
    "optim.lr_g": 2e-3, "optim.lr_d": 2e-3, "train.ema": 0.0, "train.sample_count": 4,
}
CYCLEGAN_TINY = {
    **QUIET, "train.family": "cyclegan", "data.name": "strokes", "data.batch_size": 4,
    "model.arch": "resnet-translator", "model.g_width": 4, "model.d_width": 4, "model.blocks": 1,
    "model.patch_layers": 2, "model.g_norm": "instance", "model.d_norm": "instance",
    "loss.name": "lsgan", "cyclegan.pool_size": 6, "optim.lr_decay": "linear",
    "optim.decay_start": 0.5, "train.ema": 0.9, "train.sample_count": 4,
}
TRANSLATION_PRESETS = ("pix2pix-edges", "pix2pix-denoise", "pix2pix-inpaint", "pix2pix-superres",
                       "pix2pix-colorize", "cyclegan-strokes", "pix2pix-folder", "cyclegan-folder")


def quiet_train(cfg, out: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tensorboard chatter
        return train(cfg, out)


@pytest.fixture(scope="module")
def pix2pix_run(tmp_path_factory):
    """A tiny pix2pix trained 40 steps on the edges task, and the L1 of its untrained G."""
    cfg = load_config(None, {**PIX2PIX_TINY, "train.steps": 40, "train.sample_every": 40,
                             "train.checkpoint_every": 40})
    torch.manual_seed(cfg.seed)  # what the loop does before building the family
    untrained = build_family(cfg, load_data(cfg), torch.device("cpu"))
    test = load_paired("edges", "test")
    before = (untrained.translate(test.a) - test.b).abs().mean().item()
    out = quiet_train(cfg, tmp_path_factory.mktemp("p2p") / "run")
    return out, before


def test_translation_families_are_registered_and_presets_exist():
    cfg = load_config(None, {**PIX2PIX_TINY})
    torch.manual_seed(0)
    assert isinstance(build_family(cfg, load_data(cfg), torch.device("cpu")), Pix2PixFamily)
    assert set(TRANSLATION_PRESETS) <= set(preset_names())


def test_short_pix2pix_training_lowers_the_test_l1(pix2pix_run):
    run_dir, before = pix2pix_run
    run = load_run(run_dir)
    test = run.data.test
    after = np.abs(run.family.translate(test["a"]).numpy() - test["b"].numpy()).mean()
    assert after < 0.6 * before, (before, after)
    rows = [json.loads(r) for r in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert {"loss_d", "loss_g", "loss_l1"} <= rows[-1].keys()


def test_pix2pix_snapshot_is_a_grid_of_input_output_target_strips(pix2pix_run):
    run_dir, _ = pix2pix_run
    grid = Image.open(run_dir / "samples" / "step_0000040.png")
    # 4 strips of 28 x (3 * 28) px in a 2 x 2 grid with 2 px padding
    assert grid.size == (2 * (3 * 28 + 2) + 2, 2 * (28 + 2) + 2)
    assert grid.mode == "L"
    strips = side_by_side([torch.zeros(2, 1, 5, 5), torch.ones(2, 3, 5, 5)])
    assert strips.shape == (2, 3, 5, 10)
    assert strips[:, :, :, :5].abs().sum() == 0 and (strips[:, :, :, 5:] == 1).all()


def test_sample_cli_refuses_a_class_for_a_translation_run(pix2pix_run, tmp_path, capsys):
    from ganforge.cli import main

    run_dir, _ = pix2pix_run
    assert main(["sample", str(run_dir), "--class", "1", "--out", str(tmp_path / "x.png")]) == 2
    assert "--input FOLDER" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("argv, message", [
    (["--interpolate"], "--interpolate is for runs that draw from noise"),
    (["-n", "8", "--out", "strips.npz"], "a translation run writes its test translations as one grid"),
])
def test_sample_cli_refuses_noise_outputs_for_a_translation_run(pix2pix_run, tmp_path, capsys,
                                                                 argv, message):
    from ganforge.cli import main

    run_dir, _ = pix2pix_run
    argv = [str(tmp_path / a) if a.endswith(".npz") else a for a in argv]
    assert main(["sample", str(run_dir), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_pix2pix_runs_g_once_per_iteration():
    cfg = load_config(None, {**PIX2PIX_TINY, "train.d_steps": 2})
    torch.manual_seed(0)
    data = load_data(cfg)
    family = Pix2PixFamily(cfg, data, torch.device("cpu"))
    calls = []
    family.G.register_forward_hook(lambda module, args, out: calls.append(torch.is_grad_enabled()))
    batches = [data.stream.next(), data.stream.next()]
    for i, batch in enumerate(batches):
        family.d_step(batch, 0, before_g=i == len(batches) - 1)
    family.g_step(batches[-1], 0)
    # the first D step's G(a) needs no graph; the second's is reused by the G step
    assert calls == [False, True]
    family.g_step(batches[0], 1)  # a G step on another batch than the last D step's: recompute
    assert calls == [False, True, True]


def test_l1_only_baseline_builds_no_discriminator():
    cfg = load_config(None, {**PIX2PIX_TINY})
    torch.manual_seed(0)
    data = load_data(cfg)
    family = Pix2PixFamily(cfg, data, torch.device("cpu"), adversarial=False)
    assert set(family.nets) == {"G", "G_ema"} and family.trainable == ("G",)
    batch = data.stream.next()
    assert family.d_step(batch, 0) == {}
    assert set(family.g_step(batch, 0)) == {"loss_l1"}


PIX2PIX_ACGAN = {**PIX2PIX_TINY, "model.head": "acgan", "model.num_classes": 10,
                 "model.dropout": 0.0, "loss.aux_weight": 0.5}


@pytest.mark.parametrize("aux_on_fakes", [True, False])
def test_pix2pix_class_head_losses_by_hand(aux_on_fakes):
    cfg = load_config(None, {**PIX2PIX_ACGAN, "loss.aux_on_fakes": aux_on_fakes})
    torch.manual_seed(0)
    data = load_data(cfg)
    family = Pix2PixFamily(cfg, data, torch.device("cpu"))
    batch = data.stream.next()
    a, b, y = batch["a"], batch["b"], batch["y"]
    d, g = copy.deepcopy(family.D), copy.deepcopy(family.G)
    with torch.no_grad():
        fake = g(a)
        real_patches, real_classes = d(torch.cat([a, b], 1), classes=True)
        fake_patches, fake_classes = d(torch.cat([a, fake], 1), classes=True)
    # ns: D minimises 1/2 (E softplus(-D(x, y)) + E softplus(D(x, G(x)))) + w CE(...)
    aux = F.cross_entropy(real_classes, y) + aux_on_fakes * F.cross_entropy(fake_classes, y)
    expected = (0.5 * (F.softplus(-real_patches).mean() + F.softplus(fake_patches).mean())
                + 0.5 * aux)
    logs = family.d_step(batch, 0)
    assert abs(logs["loss_d"].item() - expected.item()) < 1e-5
    assert abs(logs["loss_aux_d"].item() - aux.item()) < 1e-5
    d = copy.deepcopy(family.D)  # G's terms use D after its step
    with torch.no_grad():
        patches, classes = d(torch.cat([a, fake], 1), classes=True)
    logs = family.g_step(batch, 0)
    assert abs(logs["loss_aux_g"].item() - F.cross_entropy(classes, y).item()) < 1e-5
    assert abs(logs["loss_g"].item() - F.softplus(-patches).mean().item()) < 1e-5


def test_pix2pix_class_head_learns_the_digit_classes():
    cfg = load_config(None, {**PIX2PIX_ACGAN, "loss.aux_weight": 1.0})
    torch.manual_seed(0)
    data = load_data(cfg)
    family = Pix2PixFamily(cfg, data, torch.device("cpu"))
    for step in range(100):
        batch = data.stream.next()
        family.d_step(batch, step)
        family.g_step(batch, step)
    test = load_paired("edges", "test")
    with torch.no_grad():  # batch statistics, as in training (D's running ones lag behind)
        _, classes = family.D(torch.cat([test.a, test.b], 1), classes=True)
    accuracy = (classes.argmax(1) == test.labels).float().mean().item()
    assert accuracy > 0.4, accuracy  # held-out pairs; chance is 0.1 (measured: 0.56)


def test_pix2pix_class_head_needs_labels_and_a_matching_count():
    for overrides, message in [
        ({"data.name": "colorize", "model.g_output": "chroma"},
         "no class labels"),
        ({"model.num_classes": 5}, "has 10 classes"),
    ]:
        cfg = load_config(None, {**PIX2PIX_ACGAN, **overrides})
        with pytest.raises(ValueError, match=message):
            Pix2PixFamily(cfg, load_data(cfg), torch.device("cpu"))
    with pytest.raises(ValueError, match="set it"):
        validate(load_config(None, {**PIX2PIX_ACGAN, "model.num_classes": 0}))
    with pytest.raises(ValueError, match="not class-conditional"):
        validate(load_config(None, {**CYCLEGAN_TINY, "model.head": "acgan",
                                                    "model.num_classes": 10}))


def checkpoint_tensors(run: Path) -> tuple[dict, dict]:
    state = checkpoint.read_state(run / "checkpoint")
    folder = run / "checkpoint"
    return (load_file(str(folder / state["files"]["nets"])),
            load_file(str(folder / state["files"]["state"])))


class Interrupted(RuntimeError):
    pass


def test_cyclegan_resumes_exactly_with_its_image_pools(tmp_path, monkeypatch):
    cfg = load_config(None, {**CYCLEGAN_TINY, "train.steps": 6, "train.checkpoint_every": 3,
                             "train.sample_every": 100})
    straight = quiet_train(cfg, tmp_path / "straight")

    g_step = CycleGANFamily.g_step

    def crash_at_step_4(self, batch, step):
        if step == 4:  # after the checkpoint of step 3, like a killed process
            raise Interrupted
        return g_step(self, batch, step)

    monkeypatch.setattr(CycleGANFamily, "g_step", crash_at_step_4)
    with pytest.raises(Interrupted):
        quiet_train(cfg, tmp_path / "resumed")
    monkeypatch.setattr(CycleGANFamily, "g_step", g_step)
    assert checkpoint.read_state(tmp_path / "resumed" / "checkpoint")["step"] == 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(cfg, tmp_path / "resumed", resume=True)
    nets_a, state_a = checkpoint_tensors(straight)
    nets_b, state_b = checkpoint_tensors(tmp_path / "resumed")
    assert nets_a.keys() == nets_b.keys()
    for key in nets_a:
        assert torch.equal(nets_a[key], nets_b[key]), key
    for key in state_a:
        assert torch.equal(state_a[key], state_b[key]), key
    # 6 steps of batch 4 filled both pools of 6 images (one batch a step, D first)
    assert nets_a["extra/pool_A/images"].shape == (6, 1, 28, 28)
    assert nets_a["extra/pool_B/images"].shape == (6, 1, 28, 28)
    assert {"G/net.1.weight", "F/net.1.weight", "D_A/net.0.weight", "G_ema/net.1.weight"} <= set(
        nets_a)
    # linear decay from step 3 of 6: lr_t = lr (1 - max(0, t - 3) / 3) after t scheduler steps
    rows = [json.loads(r) for r in (straight / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5, 6]
    for row in rows:
        expected = 2e-4 * (1 - max(0, row["step"] - 3) / 3)
        assert abs(row["lr_g"] - expected) < 1e-12, row
    assert {"loss_d", "loss_g", "loss_cycle", "loss_identity"} <= rows[-1].keys()


@pytest.mark.parametrize("forward_scale, identity", [(1.0, 0.0), (0.3, 0.0), (0.0, 0.5)])
def test_cyclegan_g_objective_by_hand(forward_scale, identity):
    cfg = load_config(None, {**CYCLEGAN_TINY, "cyclegan.cycle_weight": 10.0,
                             "cyclegan.forward_cycle_scale": forward_scale,
                             "cyclegan.identity_weight": identity})
    torch.manual_seed(0)
    data = load_data(cfg)
    family = CycleGANFamily(cfg, data, torch.device("cpu"))
    batch = data.stream.next()
    a, b = batch["a"], batch["b"]
    with torch.no_grad():
        fake_b, fake_a = family.G(a), family.F(b)
        loss, logs = family.g_objective(a, b, fake_b, fake_a)
        # lsgan: G minimises 1/2 E[(D(x) - 1)^2] on each side's patch logits
        adversarial = (0.5 * ((family.D_B(fake_b) - 1) ** 2).mean()
                       + 0.5 * ((family.D_A(fake_a) - 1) ** 2).mean())
        forward = (family.F(fake_b) - a).abs().mean()
        backward = (family.G(fake_a) - b).abs().mean()
        same = (family.G(b) - b).abs().mean() + (family.F(a) - a).abs().mean()
    expected = adversarial + 10.0 * (forward_scale * forward + backward + identity * same)
    assert abs(loss.item() - expected.item()) < 1e-5 * abs(expected.item())
    assert abs(logs["loss_cycle_forward"].item() - forward.item()) < 1e-6
    assert abs(logs["loss_cycle"].item() - (forward + backward).item()) < 1e-6
    assert ("loss_identity" in logs) == (identity > 0)


def test_cyclegan_snapshot_shows_input_output_reconstruction_truth():
    cfg = load_config(None, {**CYCLEGAN_TINY})
    torch.manual_seed(0)
    family = CycleGANFamily(cfg, load_data(cfg), torch.device("cpu"))
    inputs = family.fixed_inputs(3, seed=0)
    assert len(family.fixed_source) == 1000
    assert torch.equal(inputs["a"], family.fixed_source[[0, 333, 666]])  # floor(i 1000 / 3)
    assert family.snapshot(inputs).shape == (3, 1, 28, 4 * 28)


def test_settings_that_do_not_apply_are_refused():
    for key, value, message in [
        ("model.spectral_norm", True, "spectral_norm"),
        ("loss.name", "wgan-gp", "gradient penalty"),
        ("loss.r1_weight", 1.0, "r1_weight"),
        ("model.num_classes", 10, "class-conditional"),
    ]:
        with pytest.raises(ValueError, match=message):
            validate(load_config(None, {**PIX2PIX_TINY, key: value}))
    for key, value, message in [("model.g_output", "chroma", "needs model.g_output=image")]:
        with pytest.raises(ValueError, match=message):
            validate(load_config(None, {**CYCLEGAN_TINY, key: value}))
    for value, message in [("chroma", "3-channel outputs"), ("rgb", "valid: image, chroma")]:
        cfg = load_config(None, {**PIX2PIX_TINY, "model.g_output": value})  # edges: 1 -> 1
        with pytest.raises(ValueError, match=message):
            Pix2PixFamily(cfg, load_data(cfg), torch.device("cpu"))
    cfg = load_config(None, {**CYCLEGAN_TINY})
    with pytest.raises(ValueError, match="multiple of 4"):
        ARCHS.get("resnet-translator").build(cfg.model, 1, 1, 30)
    cfg = load_config(None, {**PIX2PIX_TINY, "model.g_norm": "layer"})
    torch.manual_seed(0)
    with pytest.raises(ValueError, match="model.g_norm=layer"):
        Pix2PixFamily(cfg, load_data(cfg), torch.device("cpu"))


@pytest.fixture(scope="module")
def user_folders(tmp_path_factory) -> Path:
    """paired/{train,test}/{A,B} and unpaired/{trainA,trainB,testA,testB}: 8 RGB 64x64 PNGs
    each."""
    root = tmp_path_factory.mktemp("folders")
    rng = np.random.default_rng(1)
    subfolders = ["paired/train/A", "paired/train/B", "paired/test/A", "paired/test/B",
                  "unpaired/trainA", "unpaired/trainB", "unpaired/testA", "unpaired/testB"]
    for sub in subfolders:
        (root / sub).mkdir(parents=True)
        for i in range(8):
            pixels = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / sub / f"{i}.png")
    return root


@pytest.mark.parametrize("preset", TRANSLATION_PRESETS)
def test_every_translation_preset_takes_a_step(preset, user_folders):
    cfg = load_config(preset)
    width = {"model.g_width": 4, "model.d_width": 4, "model.blocks": 1, "data.batch_size": 4}
    if cfg.data.name == "folder":
        kind = "paired" if cfg.train.family == "pix2pix" else "unpaired"
        width["data.path"] = str(user_folders / kind)
    cfg = load_config(preset, width)
    assert cfg.description
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = load_data(cfg)
    family = build_family(cfg, data, torch.device("cpu"))
    batch = data.stream.next()
    logs = {**family.d_step(batch, 0), **family.g_step(batch, 0)}
    assert all(torch.isfinite(v) for v in logs.values())
    inputs = family.fixed_inputs(2, seed=0)
    assert family.snapshot(inputs).shape[-2] == cfg.data.image_size


def test_cyclegan_folder_without_test_images_shows_training_inputs(user_folders, tmp_path):
    root = tmp_path / "unpaired"
    for side in ("trainA", "trainB"):
        (root / side).mkdir(parents=True)
        for path in sorted((user_folders / "unpaired" / side).iterdir())[:4]:
            (root / side / path.name).write_bytes(path.read_bytes())
    cfg = load_config("cyclegan-folder", {"model.g_width": 4, "model.d_width": 4,
                                          "model.blocks": 1, "data.batch_size": 2,
                                          "data.path": str(root)})
    torch.manual_seed(0)
    data = load_data(cfg)
    family = build_family(cfg, data, torch.device("cpu"))
    inputs = family.fixed_inputs(3, seed=0)
    assert set(inputs) == {"a"} and inputs["a"].shape == (3, 3, 64, 64)
    assert family.snapshot(inputs).shape == (3, 3, 64, 3 * 64)  # input | G(a) | F(G(a))
