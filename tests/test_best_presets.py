"""The mode-collapse benchmark's best configuration and the presets that ship it agree."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest

from ganforge.config import load_config

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "mode_collapse.py"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("mode_collapse", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("data", ["ring8", "grid25"])
def test_best_preset_is_the_benchmarked_configuration(data):
    bench = load_benchmark()
    benchmarked = load_config(bench.PRESET[data], bench.overrides(bench.BEST, data))
    preset = load_config(bench.BEST_PRESET[data])
    for section in ("data", "model", "loss", "optim"):
        assert getattr(preset, section) == getattr(benchmarked, section), section
    bookkeeping = {"log_every", "sample_every", "checkpoint_every"}
    for field in dataclasses.fields(preset.train):
        if field.name not in bookkeeping:
            assert getattr(preset.train, field.name) == getattr(benchmarked.train, field.name)
