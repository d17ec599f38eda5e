"""`ganforge fid` through the real command: samples files as `ganforge sample --out FILE.npz`
writes them, both inputs checked before any feature is computed, and refusals of what would
give a meaningless distance (a singular covariance, features of other dimensions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganforge.config import load_config
from ganforge.data.images import load_image_set
from ganforge.metrics.sources import fid_from_sources
from ganforge.train.loop import train


def ganforge(*args, home: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, HOME=str(home))  # a fresh feature cache
    return subprocess.run([sys.executable, "-m", "ganforge", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=600)


def refusal(proc: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in proc.stderr and proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganforge fid: error: "), proc.stderr
    return lines[0]


def cached(home: Path) -> list[Path]:
    """Feature files computed so far (every extracted feature set is cached)."""
    return sorted((home / ".cache" / "ganforge" / "features").glob("*.npz"))


def digit_folder(folder: Path, n: int) -> Path:
    folder.mkdir()
    for i, image in enumerate(load_image_set("mnist5k", split="test").images[:n]):
        pixels = ((image[0] + 1) * 127.5).round().byte().numpy()
        Image.fromarray(pixels, mode="L").save(folder / f"{i:03d}.png")
    return folder


@pytest.fixture(scope="module")
def fake(tmp_path_factory) -> Path:
    """200 samples of a two-step DCGAN, written by `ganforge sample -n 200 --out fake.npz`."""
    tmp = tmp_path_factory.mktemp("fid")
    run = train(load_config("digits-dcgan", {
        "train.steps": 2, "model.g_width": 8, "model.d_width": 8, "data.batch_size": 16,
        "train.progress": False, "train.sample_count": 4}), tmp / "run")
    proc = ganforge("sample", run, "-n", 200, "--out", tmp / "fake.npz", home=tmp)
    assert proc.returncode == 0, proc.stderr
    return tmp / "fake.npz"


def test_fid_of_a_samples_file_is_that_of_its_array(fake, tmp_path):
    folder = digit_folder(tmp_path / "real", 150)
    proc = ganforge("fid", fake, folder, "--features", "digits", "--json", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    with np.load(fake) as archive:
        samples = archive["samples"]
    expected = fid_from_sources(samples, folder, features="digits", cache_dir=None)
    assert abs(result["metrics"]["fid"] - expected["metrics"]["fid"]) < 1e-6 * expected[
        "metrics"]["fid"]
    assert result["protocol"]["a"]["kind"] == "samples file"
    assert result["protocol"]["a"]["num"] == 200
    same = ganforge("fid", fake, fake, "--features", "digits", "--json", home=tmp_path)
    assert abs(json.loads(same.stdout)["metrics"]["fid"]) < 1e-9


def test_a_bad_second_input_is_refused_before_any_feature_is_computed(fake, tmp_path):
    folder = digit_folder(tmp_path / "real", 150)
    for bad, message in [
        (tmp_path / "missing.npz", "no statistics file, samples file or image folder at"),
        (tmp_path / "other.npz", "lacks ['mu', 'sigma'] and ['samples']"),
    ]:
        if bad.name == "other.npz":
            np.savez(bad, images=np.zeros((3, 1, 28, 28), np.float32))
        for first in (folder, fake):
            line = refusal(ganforge("fid", first, bad, "--features", "digits", home=tmp_path))
            assert str(bad) in line and message in line
    assert cached(tmp_path) == []


def test_statistics_of_fewer_samples_than_dimensions_are_refused(fake, tmp_path):
    # raw pixels: 28 x 28 = 784 dimensions for 200 samples, a covariance of rank <= 199
    line = refusal(ganforge("fid", fake, fake, "--features", "raw", home=tmp_path))
    assert f"{fake}: 200 samples for 784-d raw features" in line and "at least 785" in line
    stats = tmp_path / "stats.npz"
    np.savez(stats, mu=np.zeros(4), sigma=np.eye(4))
    line = refusal(ganforge("fid", fake, stats, "--features", "digits", home=tmp_path))
    assert "gives 128-d statistics" in line and f"{stats} 4-d" in line
    assert cached(tmp_path) == []


def test_a_folder_with_one_readable_image_names_the_unreadable_ones(fake, tmp_path):
    folder = digit_folder(tmp_path / "few", 1)
    (folder / "broken.png").write_bytes(b"not a png")
    (folder / "empty.png").write_bytes(b"")
    line = refusal(ganforge("fid", fake, folder, "--features", "digits", home=tmp_path))
    assert "only 1 image could be read" in line and "broken.png" in line and "empty.png" in line
