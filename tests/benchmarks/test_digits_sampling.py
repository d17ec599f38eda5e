"""benchmarks/digits_sampling.py: its rejection step against the theory, and the script end to
end on a 2-step run."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from ganforge.config import load_config
from ganforge.train.loop import train

ROOT = Path(__file__).resolve().parents[2]
TINY = {"model.z_dim": 8, "model.g_width": 8, "model.d_width": 8, "data.batch_size": 16,
        "train.steps": 2, "train.progress": False}


def load_script():
    spec = importlib.util.spec_from_file_location("digits_sampling",
                                                  ROOT / "benchmarks" / "digits_sampling.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rejection_with_the_true_log_ratio_turns_p_g_into_p_data():
    """p_g = N(0, 1), p_data = N(mu, 1): the optimal D's logit is log p_data/p_g = mu x - mu^2/2,
    and keeping x with probability exp(logit - max logit) leaves draws of N(mu, 1)."""
    script = load_script()
    mu, n = 0.5, 200_000
    x = torch.randn(n, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    kept = x[script.rejection_keep(mu * x - mu**2 / 2, 1.0, torch.Generator().manual_seed(1))]
    # ~10 % are kept (the bound is the largest of 200,000 logits); the standard error of their
    # mean is then ~0.007 and of their variance ~0.01, so 0.04 is over 4 standard errors
    assert len(kept) > 5_000
    assert abs(kept.mean().item() - mu) < 0.04
    assert abs(kept.var().item() - 1.0) < 0.06
    # p_g itself is 0.5 away: the test can tell the two apart
    assert abs(x.mean().item() - mu) > 0.4


def test_top_keep_keeps_the_highest_logits_in_random_order():
    script = load_script()
    logits = torch.tensor([0.3, -1.0, 2.0, 0.1, 5.0])
    kept = script.top_keep(logits, 0.6, torch.Generator().manual_seed(0))
    assert sorted(kept.tolist()) == [0, 2, 4]


def test_the_script_scores_a_two_step_run(tmp_path):
    run = tmp_path / "run"
    train(load_config("digits-sndcgan-long", TINY), run)
    rows_path = tmp_path / "rows.jsonl"
    proc = subprocess.run(
        [sys.executable, "benchmarks/digits_sampling.py", str(run), "--pool", "120", "--samples",
         "60", "--finetune-steps", "0", "2", "--out", str(rows_path)],
        cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stderr[-5000:]
    rows = [json.loads(line) for line in rows_path.read_text().splitlines()]
    methods = [(row["method"], row.get("d_steps")) for row in rows]
    assert methods == [("plain", None),
                       *[(m, steps) for steps in (0, 2) for m in (
                           "top 0.8 by D", "top 0.6 by D", "rejection, M at q 0.9",
                           "rejection, M at q 1.0")],
                       ("truncation 0.9", None), ("truncation 0.8", None)]
    assert [row["samples"] for row in rows if row["method"].startswith("top")] == [60] * 4
    for row in rows:
        assert 0.0 <= row["confident"] <= 1.0
        if "kept_share" in row:
            assert 0.0 < row["kept_share"] <= 1.0
    assert "| plain | - |" in proc.stdout


def refusal(*args) -> str:
    """The last line of stderr of the script refusing `args` (exit status 2, no traceback)."""
    proc = subprocess.run([sys.executable, "benchmarks/digits_sampling.py", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    return proc.stderr.strip().splitlines()[-1]


def test_a_pool_smaller_than_twice_the_samples_is_refused(tmp_path):
    assert "--pool 100: at least twice --samples (120)" in refusal(tmp_path, "--pool", 100,
                                                                   "--samples", 60)


def test_a_folder_that_is_no_run_is_refused(tmp_path):
    assert f"{tmp_path} is not a ganforge run" in refusal(tmp_path)


def test_calibration_steps_with_the_inception_rows_are_refused(tmp_path):
    line = refusal(tmp_path, "--inception-top", 0.6, "--finetune-steps", 0, 1000)
    assert "--finetune-steps does not apply to --inception-top" in line
