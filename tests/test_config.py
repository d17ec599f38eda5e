import pytest
import yaml

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
    assert again == cfg and again.hash() == cfg.hash()


def test_not_a_mapping(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(str(path))


def test_diff_names_keys():
    a, b = Config(), Config()
    apply_overrides(b, {"loss.name": "hinge", "train.steps": 5})
    assert config_diff(a, b, ignore=("train.steps",)) == ["loss.name: 'ns' -> 'hinge'"]
    assert a.hash(("train.steps", "loss.name")) == b.hash(("train.steps", "loss.name"))
    assert a.hash() != b.hash()
