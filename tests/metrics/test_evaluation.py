"""evaluate() and fid_from_sources(): values equal the building blocks, protocols are complete."""

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.data.images import load_image_set
from ganforge.metrics import feature_cache
from ganforge.metrics.evaluation import (
    METRICS,
    MetricOptions,
    cached_features,
    evaluate,
)
from ganforge.metrics.fid import feature_statistics, frechet_distance, save_statistics
from ganforge.metrics.kid import kernel_inception_distance
from ganforge.metrics.modes import mixture_mode_stats
from ganforge.metrics.prdc import prdc
from ganforge.metrics.sources import fid_from_sources
from ganforge.registry import UnknownNameError

RING = np.array([[math.cos(2 * math.pi * i / 8), math.sin(2 * math.pi * i / 8)] for i in range(8)])


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(0)
    real = RING[rng.integers(0, 8, 300)] + 0.05 * rng.standard_normal((300, 2))
    fake = RING[rng.integers(0, 4, 200)] + 0.08 * rng.standard_normal((200, 2))
    return real, fake


def test_every_design_metric_is_registered():
    expected = {
        "fid",
        "kid",
        "is",
        "precision",
        "recall",
        "density",
        "coverage",
        "modes",
        "hq_fraction",
        "mode_kl",
        "parzen_ll",
        "l1",
        "psnr",
        "ssim",
        "confident",
        "class_kl",
        "stacked_modes",
        "stacked_kl",
        "stacked_kl_channels",
    }
    assert set(METRICS) == expected


def test_feature_metrics_equal_the_building_blocks(points):
    real, fake = points
    options = MetricOptions(kid_subsets=5, kid_subset_size=100)
    names = ["fid", "kid", "precision", "recall", "density", "coverage"]
    result = evaluate(names, real, fake, features="raw", seed=3, cache_dir=None, options=options)
    metrics = result["metrics"]
    fid = frechet_distance(*feature_statistics(real), *feature_statistics(fake))
    assert abs(metrics["fid"] - fid) < 1e-12
    kid, kid_std = kernel_inception_distance(real, fake, 5, 100, seed=3)
    assert metrics["kid"] == kid and metrics["kid_std"] == kid_std
    for name, value in prdc(real, fake).items():
        assert metrics[name] == value
    protocol = result["protocol"]
    assert protocol["num_real"] == 300 and protocol["num_fake"] == 200
    assert protocol["seed"] == 3 and protocol["features"]["name"] == "raw"
    assert protocol["metrics"]["kid"]["subset_size"] == 100
    assert protocol["metrics"]["precision"]["k"] == 3
    assert protocol["metrics"]["coverage"]["k"] == 5
    json.dumps(result, allow_nan=False)


def test_mode_metrics_on_a_ring(points):
    real, fake = points
    options = MetricOptions(mixture_centers=RING, mixture_std=0.05)
    result = evaluate(["modes", "hq_fraction", "mode_kl"], None, fake, options=options)
    assert result["metrics"] == mixture_mode_stats(fake, RING, 0.05)
    assert result["metrics"]["modes"] == 4
    assert result["protocol"]["metrics"]["modes"]["n_std"] == 3.0


def test_parzen_uses_a_seeded_validation_split(points):
    real, fake = points
    options = MetricOptions(parzen_sigmas=(0.02, 0.1, 0.5))
    result = evaluate(["parzen_ll"], real, fake, seed=1, options=options)
    protocol = result["protocol"]["metrics"]["parzen_ll"]
    assert protocol["num_validation"] == 150 and protocol["num_test"] == 150
    assert protocol["sigma"] in (0.02, 0.1, 0.5)
    assert math.isfinite(result["metrics"]["parzen_ll"]) and result["metrics"]["parzen_ll_se"] > 0


def test_paired_image_metrics():
    rng = np.random.default_rng(4)
    target = torch.from_numpy(rng.uniform(-1, 1, (2, 3, 16, 16))).float()
    result = evaluate(["l1", "psnr", "ssim"], target, target, cache_dir=None)
    assert result["metrics"]["l1"] == 0.0 and result["metrics"]["psnr"] is None  # inf -> None
    assert abs(result["metrics"]["ssim"] - 1.0) < 1e-9


def test_inception_score_of_real_digits_is_high():
    test = load_image_set("mnist5k", split="test")
    # the split is sorted by class; IS splits are consecutive, so shuffle like generated samples
    order = torch.randperm(len(test), generator=torch.Generator().manual_seed(0))[:500]
    result = evaluate(["is"], None, test.images[order], options=MetricOptions(is_splits=5))
    assert result["metrics"]["is"] > 8.0  # 10 balanced classes, confident classifier
    assert result["protocol"]["metrics"]["is"]["classifier"]["name"] == "digits"


def test_real_held_out_digits_pass_the_recognisability_bar():
    """The bar the default preset must clear (>= 90 % confident, class KL < 0.05) is one real
    held-out digits clear. Uniform noise is labelled confidently (a CNN is overconfident off its
    data), but all as one class, so it fails on class_kl: the bar needs both numbers."""
    test = load_image_set("mnist5k", split="test")
    result = evaluate(["confident", "class_kl"], None, test.images)
    assert result["metrics"]["confident"] > 0.95
    assert result["metrics"]["class_kl"] < 0.01
    noise = torch.rand(500, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert abs(evaluate(["class_kl"], None, noise)["metrics"]["class_kl"] - math.log(10)) < 1e-9


def test_unknown_metric_names_fail_before_any_work(points):
    with pytest.raises(UnknownNameError, match="valid metrics: class_kl, confident, coverage, density"):
        evaluate(["fid", "fdi"], *points, features="raw")


def test_real_features_are_cached_by_protocol_and_data(tmp_path, monkeypatch):
    images = load_image_set("mnist5k", split="test").images[:40]
    first = cached_features("digits", images, tmp_path, batch_size=16)
    assert len(list((tmp_path / "features").glob("*.npz"))) == 1

    def no_extraction(*args, **kwargs):
        raise AssertionError("features were recomputed instead of read from the cache")

    monkeypatch.setattr(feature_cache, "extract_features", no_extraction)
    again = cached_features("digits", images, tmp_path)
    assert np.array_equal(first, again)
    monkeypatch.undo()
    cached_features("digits", images[:39], tmp_path)  # other data -> another key
    assert len(list((tmp_path / "features").glob("*.npz"))) == 2


def test_fid_from_statistics_files_and_arrays(tmp_path):
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((50, 3)), rng.standard_normal((60, 3)) + 1
    stats_a, stats_b = feature_statistics(a), feature_statistics(b)
    save_statistics(tmp_path / "a.npz", *stats_a, protocol={"features": {"name": "raw"}})
    save_statistics(tmp_path / "b.npz", *stats_b)
    expected = frechet_distance(*stats_a, *stats_b)
    from_files = fid_from_sources(tmp_path / "a.npz", str(tmp_path / "b.npz"))
    assert abs(from_files["metrics"]["fid"] - expected) < 1e-12
    assert from_files["protocol"]["a"]["stored_protocol"] == {"features": {"name": "raw"}}
    assert abs(fid_from_sources(a, stats_b)["metrics"]["fid"] - expected) < 1e-12
    with pytest.raises(FileNotFoundError):
        fid_from_sources(tmp_path / "missing", a)


def test_fid_from_an_image_folder_equals_fid_from_the_same_images(tmp_path):
    images = load_image_set("mnist5k", split="test").images[:30]
    folder = tmp_path / "digits"
    folder.mkdir()
    for i, image in enumerate(images):
        pixels = ((image[0] + 1) * 127.5).round().byte().numpy()
        Image.fromarray(pixels, mode="L").save(folder / f"{i:03d}.png")
    other = load_image_set("mnist5k", split="train").images[:30]
    from_folder = fid_from_sources(folder, other, features="digits", cache_dir=None)
    from_arrays = fid_from_sources(images, other, features="digits", cache_dir=None)
    fid = from_arrays["metrics"]["fid"]  # equal to float32 rounding (relative 1e-7 here)
    assert abs(from_folder["metrics"]["fid"] - fid) < 1e-6 * fid
    assert from_folder["protocol"]["a"]["kind"] == "image folder"
    assert from_folder["protocol"]["features"]["name"] == "digits"


def test_a_damaged_feature_cache_file_is_reported_and_rebuilt(tmp_path, capsys):
    images = load_image_set("mnist5k", split="test").images[:40]
    features = cached_features("digits", images, tmp_path, batch_size=16)
    (path,) = (tmp_path / "features").glob("*.npz")
    intact = path.read_bytes()
    with open(tmp_path / "other.npz", "wb") as f:
        np.savez(f, features=features[:3])  # an archive, but not of these features
    for damage in (intact[:150], b"garbage", (tmp_path / "other.npz").read_bytes()):
        path.write_bytes(damage)
        assert np.array_equal(cached_features("digits", images, tmp_path, batch_size=16), features)
        lines = capsys.readouterr().err.splitlines()
        assert len(lines) == 1 and str(path) in lines[0]
        assert lines[0].startswith("ganforge: warning: rebuilding a damaged feature cache file: ")
        with np.load(path) as rebuilt:
            assert np.array_equal(rebuilt["features"], features)
