"""Run evaluation: a conditional generator's class accuracy under the digits classifier."""

from __future__ import annotations

import warnings

from ganforge.config import load_config
from ganforge.eval.run import conditional_accuracy
from ganforge.run import load_run
from ganforge.train.loop import train


def test_conditional_samples_follow_the_requested_class(tmp_path):
    """600 steps of digits-cgan (narrow nets): the digits classifier already assigns the
    generated images to the class G was asked for far more often than chance (10 %)."""
    overrides = {"model.g_width": 32, "model.d_width": 32, "train.steps": 600, "train.ema": 0.9,
                 "train.progress": False, "train.sample_every": 600,
                 "train.checkpoint_every": 600}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(load_config("digits-cgan", overrides), tmp_path / "run")
    accuracy = conditional_accuracy(load_run(tmp_path / "run"), 1000)
    assert accuracy > 0.3, accuracy
