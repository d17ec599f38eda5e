"""Bad input through the real `ganforge` command (a subprocess): exit code 2 and one line that
names the file or the option and what is accepted, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganforge.data.images import load_image_set

FIXTURES = Path(__file__).parent / "fixtures"


def ganforge(*args, home: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, **({"HOME": str(home)} if home else {}))
    return subprocess.run([sys.executable, "-m", "ganforge", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=600)


def refusal(proc: subprocess.CompletedProcess, verb: str) -> str:
    """The one line of a refused command, checked for its form."""
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"ganforge {verb}: error: "), lines[0]
    return lines[0]


# ----------------------------------------------------------------------------- fid: .npz files


def statistics_file(path: Path, mu, sigma) -> Path:
    np.savez(path, mu=np.asarray(mu, dtype=np.float64), sigma=np.asarray(sigma, dtype=np.float64))
    return path


def test_fid_of_a_valid_statistics_file_with_itself_is_zero(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 4))
    stats = statistics_file(tmp_path / "ok.npz", x.mean(0), np.cov(x, rowvar=False))
    proc = ganforge("fid", stats, stats, "--json")
    assert proc.returncode == 0, proc.stderr
    assert '"fid": ' in proc.stdout and abs(float(proc.stdout.split('"fid": ')[1].split()[0])) < 1e-9


def test_fid_refuses_a_sigma_that_is_not_symmetric(tmp_path):
    rng = np.random.default_rng(0)  # symmetrised, it gave a distance of -6.2 to itself
    stats = statistics_file(tmp_path / "skew.npz", rng.standard_normal(4), rng.standard_normal((4, 4)))
    line = refusal(ganforge("fid", stats, stats), "fid")
    assert str(stats) in line and "sigma is not symmetric" in line and "1e-06" in line


def test_fid_refuses_a_sigma_that_is_not_positive_semi_definite(tmp_path):
    stats = statistics_file(tmp_path / "indefinite.npz", np.zeros(3), np.diag([2.0, -1.0, 1.0]))
    line = refusal(ganforge("fid", stats, stats), "fid")
    assert str(stats) in line and "not positive semi-definite" in line
    assert "smallest eigenvalue is -1" in line


def test_fid_refuses_statistics_of_the_wrong_shapes(tmp_path):
    stats = statistics_file(tmp_path / "shapes.npz", np.zeros(3), np.eye(2))
    line = refusal(ganforge("fid", stats, stats), "fid")
    assert str(stats) in line and "mu must be (D,) and sigma (D, D) with D >= 1, got (3,) and (2, 2)" in line


def not_archives(folder: Path) -> list[Path]:
    """Files named .npz that are no NumPy archive: text, empty, a bare .npy, a truncated zip."""
    text = folder / "text.npz"
    text.write_text("mu = 0\nsigma = 1\n")
    empty = folder / "empty.npz"
    empty.write_bytes(b"")
    bare = folder / "bare.npz"
    with open(bare, "wb") as f:
        np.save(f, np.eye(3))
    truncated = statistics_file(folder / "truncated.npz", np.zeros(3), np.eye(3))
    truncated.write_bytes(truncated.read_bytes()[:100])
    return [text, empty, bare, truncated]


@pytest.mark.parametrize("which", range(4))
def test_fid_refuses_a_file_that_is_not_an_npz_archive(tmp_path, which):
    path = not_archives(tmp_path)[which]
    line = refusal(ganforge("fid", path, path), "fid")
    assert f"{path} is not a NumPy .npz archive" in line


def test_fid_names_the_missing_keys(tmp_path):
    path = tmp_path / "means.npz"
    np.savez(path, mu=np.zeros(3), cov=np.eye(3))
    line = refusal(ganforge("fid", path, path), "fid")
    assert f"{path} lacks ['sigma']" in line and "found ['cov', 'mu']" in line


# ----------------------------------------------------------------------------- fid: feature cache


def digit_folder(folder: Path, split: str) -> Path:
    folder.mkdir()
    # 130 > 128 digits features: fewer give a singular covariance, which fid refuses
    for i, image in enumerate(load_image_set("mnist5k", split=split).images[:130]):
        pixels = ((image[0] + 1) * 127.5).round().byte().numpy()
        Image.fromarray(pixels, mode="L").save(folder / f"{i:03d}.png")
    return folder


def test_a_damaged_feature_cache_is_reported_deleted_and_rebuilt(tmp_path):
    a, b = digit_folder(tmp_path / "a", "test"), digit_folder(tmp_path / "b", "train")
    home = tmp_path / "home"
    first = ganforge("fid", a, b, "--features", "digits", "--json", home=home)
    assert first.returncode == 0, first.stderr
    truncated, garbage = sorted((home / ".cache" / "ganforge" / "features").glob("*.npz"))
    truncated.write_bytes(truncated.read_bytes()[:200])
    garbage.write_text("not features")
    again = ganforge("fid", a, b, "--features", "digits", "--json", home=home)
    assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr
    assert again.stdout == first.stdout
    warning_lines = [line for line in again.stderr.splitlines() if "warning" in line]
    assert len(warning_lines) == 2
    assert all(line.startswith("ganforge: warning: rebuilding a damaged feature cache file: ")
               for line in warning_lines)
    for path in (truncated, garbage):
        assert sum(str(path) in line for line in warning_lines) == 1
        with np.load(path) as rebuilt:
            assert len(rebuilt["features"]) == 130


# ----------------------------------------------------------------------------- sample


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("toy") / "run"
    shutil.copytree(FIXTURES / "saved_run_toy", run)
    return run


def test_sample_refuses_a_grid_too_large_for_one_png(image_run, tmp_path):
    line = refusal(ganforge("sample", image_run, "-n", "20000", "--out", tmp_path / "grid.png"),
                   "sample")
    assert "a grid of 20,000 images" in line and "at most 10,000 images and 8192 px a side" in line
    assert "--out DIR/" in line and "--out FILE.npz" in line
    assert not (tmp_path / "grid.png").exists()


def test_sample_refuses_a_plot_of_too_many_points(toy_run, tmp_path):
    line = refusal(ganforge("sample", toy_run, "-n", "200000", "--out", tmp_path / "plot.png"),
                   "sample")
    assert "200,000 points" in line and "--out FILE.npz" in line and "--out FILE.csv" in line


@pytest.mark.parametrize("which, out, message", [
    ("toy", "pngs/", "a toy run draws points: --out FILE.npz, FILE.csv or FILE.png"),
    ("image", "points.csv", "CSV holds the points of toy runs"),
])
def test_sample_refuses_an_output_that_does_not_fit_the_run(which, out, message, toy_run, image_run,
                                                             tmp_path):
    run = toy_run if which == "toy" else image_run
    line = refusal(ganforge("sample", run, "-n", "10", "--out", f"{tmp_path}/{out}"), "sample")
    assert message in line and str(tmp_path) in line


def test_sample_refuses_a_folder_that_holds_files(image_run, tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    line = refusal(ganforge("sample", image_run, "-n", "10", "--out", f"{tmp_path}/"), "sample")
    assert f"--out {tmp_path}/" in line and "not empty" in line
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


@pytest.mark.parametrize("verb", ["sample", "eval"])
def test_a_temperature_is_refused_for_a_run_that_draws_no_tokens(verb, image_run):
    line = refusal(ganforge(verb, image_run, "--temperature", "0.8"), verb)
    assert "--temperature is for token-sequence runs" in line
    assert "train.family=gan" in line and str(image_run) in line


def test_sample_refuses_interpolate_with_a_streaming_output(image_run, tmp_path):
    line = refusal(ganforge("sample", image_run, "-n", "10", "--interpolate",
                            "--out", tmp_path / "walk.npz"), "sample")
    assert "--interpolate" in line and "FILE.png" in line
