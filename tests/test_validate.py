"""One validation before any data loads: every range, every name, and no ignored key."""

import subprocess
import sys

import pytest

from ganforge.config import ConfigError, load_config
from ganforge.validate import RANGES, in_range, validate


def outside(rule: str) -> float:
    """A value just outside the interval `rule`."""
    if rule.startswith(">="):
        return float(rule[2:]) - 1
    if rule.startswith(">"):
        return float(rule[1:])
    low, high = (float(v) for v in rule[1:-1].split(", "))
    return low if rule[0] == "(" else high if rule[-1] == ")" else high + 1


def test_interval_rules_by_hand():
    assert in_range(0.0, "[0, 0.5)") and not in_range(0.5, "[0, 0.5)")
    assert in_range(1.0, "(0, 1]") and not in_range(0.0, "(0, 1]")
    assert in_range(1, ">= 1") and not in_range(0, ">= 1") and not in_range(0.0, "> 0")
    assert not in_range(float("nan"), ">= 0")


@pytest.mark.parametrize("key, rule", sorted(RANGES.items()))
def test_every_value_out_of_range_is_refused_with_its_key(key, rule):
    cfg = load_config("toy-ring")
    section, leaf = key.split(".")
    kind = type(getattr(getattr(cfg, section), leaf))
    setattr(getattr(cfg, section), leaf, kind(outside(rule)))
    with pytest.raises(ConfigError, match=f"^{key} must be "):
        validate(cfg)


@pytest.mark.parametrize("preset, overrides, named", [
    ("digits-began", {"loss.label_smoothing": 0.1}, "loss.label_smoothing=0.1"),
    ("digits-began", {"loss.name": "hinge"}, "loss.name=hinge"),
    ("digits-sngan", {"loss.clip": 0.05}, "loss.clip=0.05"),  # hinge clips nothing
    ("digits-wgan-gp", {"loss.gp_weight": 5.0, "loss.name": "ns"}, "loss.gp_weight=5.0"),
    ("digits-dcgan", {"model.g_norm": "instance"}, "model.g_norm=instance"),  # DCGAN G: BN
    ("digits-dcgan", {"pix2pix.l1_weight": 10.0}, "pix2pix.l1_weight=10.0"),
    ("pix2pix-edges", {"model.z_dim": 8}, "model.z_dim=8"),
    ("pix2pix-edges", {"data.channels": 3}, "data.channels=3"),
    ("cyclegan-strokes", {"data.input_draws": 4}, "data.input_draws=4"),
    ("toy-ring", {"data.image_size": 32}, "data.image_size=32"),
    ("toy-ring", {"loss.instance_noise_steps": 100}, "loss.instance_noise_steps=100"),
    ("digits-text2image", {"text2image.interpolate": 0.0, "text2image.interpolate_spread": 0.5},
     "text2image.interpolate_spread=0.5"),  # no GAN-INT, no beta to spread
    ("oracle-seqgan", {"seq.init_best": True}, "seq.init_best=True"),  # no seq.init_from
])
def test_a_key_the_run_would_ignore_is_refused(preset, overrides, named):
    with pytest.raises(ConfigError, match=f"^{named}: not used by train.family="):
        validate(load_config(preset, overrides))


def test_every_preset_validates(tmp_path, style_corpus):
    """As shipped, or, for the presets of one's own data, with data.path given."""
    from ganforge.config import preset_names

    needs_path = []
    for name in preset_names():
        cfg = load_config(name)
        if cfg.data.path == "" and cfg.data.name in ("folder", "text-styles"):
            with pytest.raises(ValueError, match=f"data.name={cfg.data.name} needs data.path="):
                validate(cfg)
            cfg.data.path = str(style_corpus if cfg.data.name == "text-styles" else tmp_path)
            needs_path.append(name)
        validate(cfg)
    assert sorted(needs_path) == ["cyclegan-folder", "folder-dcgan", "pix2pix-folder",
                                  "yelp-sentiment"]


@pytest.mark.parametrize("args, message", [
    (["--set", "train.ema=1.5"], "train.ema must be in [0, 1), got 1.5"),
    (["--set", "model.z_dim=0"], "model.z_dim must be >= 1, got 0"),
    (["--set", "train.steps=-5"], "train.steps must be >= 1, got -5"),
    (["--set", "loss.name=hinge", "--set", "loss.clip=0.1"], "loss.clip=0.1: not used by"),
    (["--set", "device=cuda:7"], "device=cuda:7"),
])
def test_the_command_refuses_in_one_line_and_writes_nothing(args, message, tmp_path):
    assert_train_refuses("toy-ring", args, message, tmp_path / "run")


def assert_train_refuses(preset: str, args: list[str], message: str, out) -> None:
    """`ganforge train PRESET --out OUT ARGS` exits 2 with one line naming `message`, no
    traceback, and makes no folder."""
    proc = subprocess.run([sys.executable, "-m", "ganforge", "train", preset, "--out", str(out),
                           *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.startswith("ganforge train: ")]
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()


@pytest.mark.parametrize("args, message", [
    (["--set", "data.labels=true"], "data.name=stacked carries no class labels"),
    (["--set", "data.clusters=10001", "--set", "model.num_classes=10001",
      "--set", "model.head=projection"], "data.clusters must be between 2 and 10,000"),
])
def test_stacked_digits_refuse_labels_and_more_clusters_than_fitted_images(args, message,
                                                                           tmp_path):
    assert_train_refuses("stacked-dcgan", args, message, tmp_path / "run")


@pytest.mark.parametrize("args, message", [
    (["--set", "data.clusters=10001", "--set", "model.num_classes=10001",
      "--set", "model.head=projection"], "data.clusters must be between 2 and 10,000"),
    (["--set", "data.clusters=8"], "set model.num_classes=8"),
    (["--set", "data.clusters=8", "--set", "model.num_classes=8", "--set", "model.head=projection",
      "--set", "model.pack=2"], "model.pack=2 is only supported with the 'plain' head"),
    (["--set", "data.labels=true", "--set", "model.num_classes=8",
      "--set", "model.head=projection"], "data.name=ring8 carries no class labels"),
])
def test_toy_clusters_refuse_impossible_counts_and_an_unconditional_or_packed_model(
        args, message, tmp_path):
    assert_train_refuses("toy-ring", args, message, tmp_path / "run")


@pytest.mark.parametrize("preset, args, message", [
    ("digits-dcgan", ["--set", "loss.ada_target=0.6"],
     "loss.ada_target=0.6 adapts how often loss.diffaugment's augmentations apply"),
    ("digits-dcgan", ["--set", "loss.ada_target=1"], "loss.ada_target must be in [0, 1), got 1.0"),
    ("digits-dcgan", ["--set", "loss.ada_kimg=50"], "loss.ada_kimg=50.0: not used by"),
    ("digits-wgan-gp", ["--set", "loss.diffaugment=translation", "--set", "loss.ada_target=0.6"],
     "loss.name=wgan-gp has no logit whose 0 is D's boundary: use loss.name=ns, minimax or hinge"),
])
def test_adaptive_augmentation_refuses_what_it_cannot_steer(preset, args, message, tmp_path):
    assert_train_refuses(preset, args, message, tmp_path / "run")
