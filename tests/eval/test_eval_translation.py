"""Evaluating translation runs on their held-out pairs (L1, PSNR, SSIM, class accuracy against
the direct computation) and translating a folder of images."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.config import load_config
from ganforge.data.paired import load_paired
from ganforge.eval.translation import evaluate_translation, translate_folder
from ganforge.families import build_family, load_data
from ganforge.run import load_run
from ganforge.train.loop import train

QUIET = {"train.progress": False, "train.log_every": 1, "data.clusters": 0,
         "model.num_classes": 0, "model.head": "plain"}
PIX2PIX_TINY = {
    **QUIET, "train.family": "pix2pix", "data.name": "edges", "data.batch_size": 16,
    "model.arch": "unet", "model.g_width": 8, "model.d_width": 8, "model.patch_layers": 2,
    "optim.lr_g": 2e-3, "optim.lr_d": 2e-3, "train.ema": 0.0, "train.sample_count": 4,
    "train.steps": 40, "train.sample_every": 40, "train.checkpoint_every": 40,
}
CYCLEGAN_TINY = {
    **QUIET, "train.family": "cyclegan", "data.name": "strokes", "data.batch_size": 4,
    "model.arch": "resnet-translator", "model.g_width": 4, "model.d_width": 4, "model.blocks": 1,
    "model.patch_layers": 2, "model.g_norm": "instance", "model.d_norm": "instance",
    "loss.name": "lsgan", "train.ema": 0.9, "train.sample_count": 4,
}


@pytest.fixture(scope="module")
def pix2pix_run(tmp_path_factory) -> Path:
    """A tiny pix2pix trained 40 steps on the edges task."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tensorboard chatter
        return train(load_config(None, PIX2PIX_TINY), tmp_path_factory.mktemp("p2p") / "run")


class ConstantClassifier:
    """A stand-in classifier that always answers class 3."""

    name = "constant-3"

    def protocol(self):
        return {"name": self.name}

    def probabilities(self, images):
        p = torch.zeros(images.shape[0], 10, dtype=torch.float64)
        p[:, 3] = 1.0
        return p


def test_evaluate_translation_reports_every_metric(pix2pix_run):
    run = load_run(pix2pix_run)
    result = evaluate_translation(run, n=200, classifier=ConstantClassifier())
    m = result["metrics"]
    assert {"l1", "psnr", "ssim", "identity_l1", "identity_psnr", "identity_ssim",
            "class_accuracy", "class_accuracy_target"} <= m.keys()
    test = load_paired("edges", "test")
    every_fifth = slice(0, 1000, 5)  # 200 of the 1000 test pairs, evenly spaced
    a, b = (test.a[every_fifth].numpy().astype(np.float64),
            test.b[every_fifth].numpy().astype(np.float64))
    out = run.family.translate(test.a[every_fifth]).numpy().astype(np.float64)
    assert abs(m["l1"] - np.abs(out - b).mean()) < 1e-6
    mse = ((out - b) ** 2).reshape(200, -1).mean(axis=1)
    assert abs(m["psnr"] - np.mean(10 * np.log10(4.0 / mse))) < 1e-6
    assert abs(m["identity_l1"] - np.abs(a - b).mean()) < 1e-6
    assert -1.0 <= m["ssim"] <= 1.0 and m["psnr"] > m["identity_psnr"]
    share_of_threes = float((test.labels[every_fifth] == 3).double().mean())
    assert share_of_threes == 0.1  # every class is represented
    assert abs(m["class_accuracy"] - share_of_threes) < 1e-12
    assert abs(m["class_accuracy_target"] - share_of_threes) < 1e-12
    p = result["protocol"]
    assert p["task"] == "edges" and p["split"] == "test" and p["num_images"] == 200
    assert p["classifier"] == {"name": "constant-3"} and p["step"] == 40


def test_translate_folder_writes_one_png_per_readable_input(pix2pix_run, tmp_path):
    run = load_run(pix2pix_run)
    inputs = tmp_path / "inputs"
    (inputs / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(inputs / "a.png")
    Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(inputs / "b.jpg")
    Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(inputs / "sub" / "c.png")
    (inputs / "broken.png").write_bytes(b"not an image")
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the unreadable file is reported as a warning
        written = translate_folder(run, inputs, out)
    assert written == 3
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert files == ["a.png", "b.png", "sub/c.png"]
    for name in files:
        image = Image.open(out / name)
        assert image.size == (28, 28) and image.mode == "L"


class _FakeRun:
    def __init__(self, cfg, data, family):
        self.cfg, self.data, self.family = cfg, data, family
        self.path, self.step = Path("RUN"), 0


def test_evaluation_needs_ground_truth_and_a_translation_run():
    cfg = load_config(None, {**CYCLEGAN_TINY})
    torch.manual_seed(0)
    data = load_data(cfg)
    family = build_family(cfg, data, torch.device("cpu"))
    data.test["b"] = None  # a folder whose testB/ names do not match testA/
    with pytest.raises(ValueError, match="no ground truth"):
        evaluate_translation(_FakeRun(cfg, data, family))
    gan = load_config("digits-dcgan")
    with pytest.raises(ValueError, match="translation needs a pix2pix or cyclegan run"):
        evaluate_translation(_FakeRun(gan, data, family))
