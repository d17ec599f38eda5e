"""`ganforge sample` streaming outputs: the same samples as ganforge.sample, written batch by
batch (.npz, .csv, a folder of PNGs); small pictures as before."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

import ganforge
from ganforge.cli import main
from ganforge.config import load_config
from ganforge.run import build
from ganforge.sampling import sample_batches
from ganforge.viz import image_pixels

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("toy") / "run"
    shutil.copytree(FIXTURES / "saved_run_toy", run)
    return run


def test_3000_toy_samples_streamed_to_npz_are_those_of_ganforge_sample(toy_run, tmp_path, capsys):
    out = tmp_path / "points.npz"
    assert main(["sample", str(toy_run), "-n", "3000", "--seed", "4", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    with np.load(out) as archive:
        assert archive.files == ["samples"]
        points = archive["samples"]
    assert points.dtype == np.float32 and points.shape == (3000, 2)
    assert np.array_equal(points, ganforge.sample(toy_run, n=3000, seed=4).numpy())


def test_toy_samples_streamed_to_csv_read_back_exactly(toy_run, tmp_path):
    out = tmp_path / "points.csv"
    assert main(["sample", str(toy_run), "-n", "1200", "--out", str(out)]) == 0
    assert out.read_text().splitlines()[0] == "x0,x1"
    points = np.loadtxt(out, delimiter=",", skiprows=1, dtype=np.float32)
    assert np.array_equal(points, ganforge.sample(toy_run, n=1200).numpy())


def test_a_toy_plot_keeps_its_png_name(toy_run, tmp_path):
    assert main(["sample", str(toy_run), "-n", "100", "--out", str(tmp_path / "plot")]) == 0
    assert Image.open(tmp_path / "plot.png").size == (400, 400)


def test_images_streamed_to_a_folder_one_png_each(image_run, tmp_path):
    out = tmp_path / "pngs"
    assert main(["sample", str(image_run), "-n", "40", "--out", f"{out}/"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"{i:06d}.png" for i in range(40)]
    expected = image_pixels(ganforge.sample(image_run, n=40))[..., 0]
    written = np.stack([np.asarray(Image.open(out / name)) for name in names])
    assert np.array_equal(written, expected)


def test_images_streamed_to_npz_are_float32_in_their_range(image_run, tmp_path):
    out = tmp_path / "images.npz"
    assert main(["sample", str(image_run), "-n", "40", "--out", str(out)]) == 0
    with np.load(out) as archive:
        images = archive["samples"]
    assert images.dtype == np.float32 and images.shape == (40, 1, 28, 28)
    assert np.array_equal(images, ganforge.sample(image_run, n=40).numpy())
    assert -1 <= images.min() and images.max() <= 1


def test_a_class_is_drawn_batch_by_batch_as_at_once():
    _, family = build(load_config("digits-cgan", {"model.g_width": 8, "model.d_width": 8}))
    run = SimpleNamespace(family=family)
    streamed = torch.cat(list(sample_batches(run, 70, seed=2, cls=3, batch=32)))
    inputs = family.fixed_inputs(70, 2)
    inputs["y"] = torch.full((70,), 3)
    assert torch.equal(streamed, family.snapshot(inputs))
