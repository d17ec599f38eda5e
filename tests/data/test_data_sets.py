"""The data-set interface: every data.name is one registered DataSet that says what it reads
and refuses, nothing outside ganforge.data asks for a data set by name, and a data set of one's
own is a class and a registration away from training."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import pytest
import torch

import ganforge
from ganforge.config import Config, flatten, load_config, preset_names
from ganforge.data import DataSet, build_data, data_set_of, find_data_set, register_data_set
from ganforge.data.sets import DATA_SETS, KINDS
from ganforge.data.sets.base import Data
from ganforge.data.streams import ToyStream
from ganforge.data.toy import GaussianMixture
from ganforge.families import FAMILIES

PACKAGE = Path(ganforge.__file__).parent
#: a comparison of data.name with something: the data package alone may ask by name
ASKS_BY_NAME = re.compile(r"\b(?:cfg\.data|data|d|cfg_data)\.name\s*(?:==|!=|\bin\b|\bnot in\b)")


def test_no_module_outside_the_data_package_asks_for_a_data_set_by_name():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if (PACKAGE / "data") in path.parents:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if ASKS_BY_NAME.search(line):
                offenders.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_pattern_finds_what_it_looks_for():
    assert ASKS_BY_NAME.search('if cfg.data.name == "stacked":')
    assert ASKS_BY_NAME.search("if d.name in (\"folder\", \"mnist\"):")
    assert not ASKS_BY_NAME.search('f"data.name={cfg.data.name}"')


def test_every_data_set_declares_a_kind_and_keys_that_exist():
    keys = set(flatten(Config().to_dict()))
    cfg = Config()
    for kind, sets in DATA_SETS.items():
        assert kind in KINDS and sets
        for name, data_set in sets.items():
            assert (data_set.name, data_set.kind) == (name, kind)
            assert data_set.reads(cfg) <= keys - {"data.name", "data.batch_size"}, name


def test_every_preset_finds_its_data_set_for_its_family():
    for preset in preset_names():
        cfg = load_config(preset)
        kind = FAMILIES.get(cfg.train.family).data_kind
        assert data_set_of(cfg, kind) is DATA_SETS[kind][cfg.data.name]


def test_one_name_means_a_data_set_of_each_kind():
    kinds = {kind for kind, sets in DATA_SETS.items() if "folder" in sets}
    assert kinds == {"samples", "paired", "unpaired"}
    assert len({id(DATA_SETS[k]["folder"]) for k in kinds}) == 3


def test_an_unknown_name_lists_the_names_of_that_kind():
    with pytest.raises(ValueError) as err:
        find_data_set("edges", "samples", "gan")
    message = str(err.value)
    assert "unknown data.name 'edges' for train.family=gan (which trains on samples)" in message
    assert "ring8" in message and "mnist5k" in message and "edges" not in message.split("valid:")[1]


def test_a_data_set_refuses_what_it_cannot_honour_before_anything_loads():
    cfg = load_config("digits-text2image", {"data.image_size": 32})
    with pytest.raises(ValueError, match="28 x 28 grayscale digits"):
        data_set_of(cfg).check(cfg)
    cfg = load_config("folder-dcgan")
    with pytest.raises(ValueError, match="data.name=folder needs data.path=PATH"):
        data_set_of(cfg).check(cfg)


class TwoPoints(DataSet):
    """A data set of one's own, as user code would write it: two Gaussians of std 0.05 at
    (-1, 0) and (1, 0)."""

    name, kind, points, scoring = "two-points-test", "samples", True, "toy"

    def build(self, cfg, rank: int = 0, world: int = 1) -> Data:
        dist = GaussianMixture(torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64),
                               0.05, self.name)
        return Data(ToyStream(dist, cfg.data.batch_size, cfg.seed, rank, world), "toy", (2,),
                    toy=dist)


@pytest.mark.slow
def test_a_registered_data_set_of_ones_own_trains_and_is_scored(tmp_path):
    register_data_set(TwoPoints())
    with pytest.raises(ValueError, match="registered twice"):
        register_data_set(TwoPoints())
    cfg = load_config("toy-ring", {"data.name": "two-points-test", "train.steps": 600,
                                   "train.progress": False, "train.sample_every": 600})
    assert build_data(cfg).fingerprint == {"inputs": []}  # it reads no file of the user's
    run = ganforge.train(cfg, tmp_path / "run")
    metrics = ganforge.evaluate(run)["metrics"]
    assert metrics["modes"] == 2 and metrics["hq_fraction"] > 0.5, metrics
    assert math.isfinite(metrics["mode_kl"])


def test_a_training_run_asks_the_data_package_once_to_check_and_once_to_build(tmp_path):
    """Calls from outside ganforge.data into it, other than the stream's own per-step methods
    and the toy density that the sample sheets draw from."""
    entries: list[str] = []

    def watch(frame, event, arg):
        module = frame.f_globals.get("__name__", "")
        caller = frame.f_back.f_globals.get("__name__", "") if frame.f_back else ""
        if event == "call" and module.startswith("ganforge.data") \
                and not caller.startswith("ganforge.data") \
                and not module.startswith(("ganforge.data.streams", "ganforge.data.toy")):
            entries.append(f"{caller} -> {frame.f_code.co_name}")

    cfg = load_config("toy-ring", {"train.steps": 1, "train.progress": False})
    sys.setprofile(watch)
    try:
        ganforge.train(cfg, tmp_path / "run")
    finally:
        sys.setprofile(None)
    assert entries == ["ganforge.validate -> data_set_of", "ganforge.validate -> check",
                       "ganforge.validate -> reads", "ganforge.families -> build_data"]
