"""Settings: presets, typed overrides, saved configs of older layouts."""

import json
import shutil
from pathlib import Path

import pytest
import yaml

import ganforge
from ganforge.config import (
    Config,
    ConfigError,
    apply_overrides,
    config_diff,
    load_config,
    load_saved_config,
    parse_set,
    preset_names,
    save_config,
)


def test_every_preset_loads_and_has_a_description():
    names = preset_names()
    assert "digits-dcgan" in names and "toy-ring" in names
    for name in names:
        cfg = load_config(name)
        assert cfg.description and cfg.description != Config().description or name == "digits-dcgan"


#: each long preset as its base preset plus the schedule (and, for the unconditional digits,
#: the changes) that benchmarks/README.md measured
LONG_PRESETS = {
    "digits-dcgan-long": ("digits-dcgan", {"train.steps": 16000, "optim.lr_decay": "linear",
                                           "optim.decay_start": 0.5}),
    "stacked-pacdcgan-long": ("stacked-pacdcgan", {"train.steps": 10000, "optim.lr_g": 8e-4,
                                                   "optim.lr_d": 8e-4, "optim.lr_decay": "linear",
                                                   "optim.decay_start": 0.5}),
    "digits-sndcgan-long": ("digits-dcgan-long", {"data.clusters": 0, "model.num_classes": 0,
                                                  "model.head": "plain", "optim.lr_g": 8e-4,
                                                  "optim.lr_d": 8e-4, "model.spectral_norm": True,
                                                  "model.d_norm": "none"}),
    "digits-sndcgan-ada": ("digits-sndcgan-long", {"loss.diffaugment": "translation,cutout",
                                                   "loss.ada_target": 0.6, "train.steps": 24000}),
    "digits-sndcgan-24k": ("digits-sndcgan-long", {"train.steps": 24000}),
    "digits-sndcgan-32k": ("digits-sndcgan-long", {"train.steps": 32000}),
    "digits-sndcgan-48k": ("digits-sndcgan-long", {"train.steps": 48000}),
}


@pytest.mark.parametrize("name", sorted(LONG_PRESETS))
def test_long_preset_is_its_base_with_the_measured_schedule(name):
    base, schedule = LONG_PRESETS[name]
    measured, preset = load_config(base, schedule), load_config(name)
    for section in ("data", "model", "loss", "optim"):
        assert getattr(preset, section) == getattr(measured, section), section
    assert (preset.train.steps, preset.train.ema) == (measured.train.steps, measured.train.ema)


def test_default_preset_is_digits_dcgan():
    assert load_config(None).data.name == "mnist5k"
    assert load_config(None).model.arch == "dcgan"


def test_set_overrides_are_typed():
    over = parse_set(["train.steps=12", "optim.lr_g=1e-3", "loss.name=hinge", "train.progress=false"])
    cfg = load_config("toy-ring", over)
    assert cfg.train.steps == 12 and isinstance(cfg.train.steps, int)
    assert cfg.optim.lr_g == pytest.approx(1e-3)
    assert cfg.loss.name == "hinge"
    assert cfg.train.progress is False


def test_int_accepted_for_float_but_not_string_for_int():
    cfg = load_config("toy-ring", {"optim.lr_d": 1})
    assert cfg.optim.lr_d == 1.0 and isinstance(cfg.optim.lr_d, float)
    with pytest.raises(ConfigError, match="train.steps must be int"):
        load_config("toy-ring", {"train.steps": "many"})
    with pytest.raises(ConfigError, match="must be bool"):
        load_config("toy-ring", {"train.progress": 3})


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ConfigError) as err:
        load_config("toy-ring", {"train.stepz": 3})
    assert "train.stepz" in str(err.value) and "train.steps" in str(err.value)
    with pytest.raises(ConfigError, match="sections at the top level: data, model, loss"):
        load_config("toy-ring", {"trian.steps": 3})


def test_unknown_preset_lists_presets():
    with pytest.raises(ConfigError) as err:
        load_config("no-such-preset")
    assert "valid presets" in str(err.value) and "toy-ring" in str(err.value)


def test_bad_set_syntax():
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_set(["train.steps"])


def test_yaml_file_and_round_trip(tmp_path):
    path = tmp_path / "my.yaml"
    path.write_text(yaml.safe_dump({"data": {"name": "grid25"}, "train": {"steps": 7}}))
    cfg = load_config(str(path))
    assert cfg.data.name == "grid25" and cfg.train.steps == 7
    save_config(cfg, tmp_path / "config.yaml")
    again = load_saved_config(tmp_path / "config.yaml")
    assert again == cfg


def test_not_a_mapping(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(str(path))


def test_diff_names_keys():
    a, b = Config(), Config()
    apply_overrides(b, {"loss.name": "hinge", "train.steps": 5})
    assert config_diff(a, b, ignore=("train.steps",)) == ["loss.name: 'ns' -> 'hinge'"]


FIXTURES = Path(__file__).parent / "fixtures"


def test_a_config_saved_before_the_family_sections_loads_with_keys_in_their_new_place():
    cfg = load_saved_config(FIXTURES / "saved_config_cyclegan.yaml")  # loss.cycle_weight, ...
    assert (cfg.cyclegan.cycle_weight, cfg.cyclegan.identity_weight) == (10.0, 0.0)
    assert cfg.cyclegan.pool_size == 50 and cfg.speed.fused is True and cfg.speed.amp == "none"
    with pytest.raises(ConfigError, match="loss.cycle_weight in --set is now cyclegan.cycle_weight"):
        load_config("cyclegan-strokes", {"loss.cycle_weight": 5.0})


def test_a_run_saved_before_the_family_sections_samples_and_resumes(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(FIXTURES / "saved_run_toy", run)
    assert ganforge.sample(run, n=5).shape == (5, 2)
    ganforge.train(load_saved_config(run / "config.yaml"), run, resume=True)  # nothing left
    cfg = load_saved_config(run / "config.yaml")
    cfg.train.steps = 6
    ganforge.train(cfg, run, resume=True)
    rows = [json.loads(r) for r in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5, 6]


def test_set_values_take_the_type_of_their_key():
    cfg = load_config("folder-dcgan", parse_set(["data.path=0042", "description=1e3",
                                                 "optim.lr_d=1e3", "train.progress=no"]))
    assert cfg.data.path == "0042" and cfg.description == "1e3"
    assert cfg.optim.lr_d == 1000.0 and cfg.train.progress is False
    with pytest.raises(ConfigError, match="train.steps must be a number \\(int\\), got '1.5'"):
        load_config("toy-ring", parse_set(["train.steps=1.5"]))
    with pytest.raises(ConfigError, match="train.progress must be true or false, got 'maybe'"):
        load_config("toy-ring", parse_set(["train.progress=maybe"]))
