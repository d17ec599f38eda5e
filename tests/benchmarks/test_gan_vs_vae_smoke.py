"""benchmarks/gan_vs_vae.py end to end on a tiny budget: a digits-vae run of 2 steps, scored by
the script on 64 samples; its rows, table and picture in tmp_path (HOME too, so that the
feature cache stays there). The run is trained here, in-process, because a second process
importing torch and building the nets would double the test's time; the script's training is
the real `ganforge train` command, tested on its own."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from ganforge.api import load_run, sample
from ganforge.config import load_config
from ganforge.eval.likelihood import reconstructions
from ganforge.train.loop import train
from ganforge.viz import image_grid

ROOT = Path(__file__).resolve().parents[2]


def test_gan_vs_vae_scores_a_finished_run_and_draws_it(tmp_path):
    run_path = tmp_path / "runs" / "digits-vae"
    train(load_config("digits-vae", {"train.steps": 2, "train.progress": False}), run_path)
    rows, picture = tmp_path / "rows.jsonl", tmp_path / "picture.png"
    proc = subprocess.run(
        [sys.executable, "benchmarks/gan_vs_vae.py", "--runs", str(tmp_path / "runs"),
         "--presets", "digits-vae", "--score-only", "--n", "64", "--iwae-k", "2",
         "--iwae-n", "20", "--out", str(rows), "--picture", str(picture)],
        cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1", "HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-5000:]
    (row,) = [json.loads(line) for line in rows.read_text().splitlines()]
    assert (row["preset"], row["family"], row["steps"]) == ("digits-vae", "vae", 2)
    assert (row["iwae_k"], row["iwae_held_out"]) == (2, 20)
    # IWAE bound <= log p(b) <= 0: b are binarised digits, p a distribution over binary images
    assert row["iwae_ll"] < 0 and math.isfinite(row["iwae_ll_se"])
    for key in ("precision", "recall", "coverage", "confident"):
        assert 0 <= row[key] <= 1, key
    assert row["fid"] > 0 and row["density"] >= 0 and row["class_kl"] >= 0
    assert math.isfinite(row["parzen_ll"])
    assert f"| digits-vae | 2 | – | – | {row['fid']:.1f} |" in proc.stdout  # not trained here
    # the picture: the run's 64 samples of seed 0 (8 x 8), then 16 held-out digits over their
    # reconstructions, below a 12-pixel gap and cut to the samples' width
    run = load_run(run_path)
    samples = image_grid(sample(run, 64, 0), nrow=8)
    drawn = np.asarray(Image.open(picture))[..., None]
    height, width = samples.shape[:2]
    assert np.array_equal(drawn[:height], samples)
    assert (drawn[height : height + 12] == 255).all()
    recon = image_grid(reconstructions(run, 16, 0), nrow=16)[:, :width]
    assert np.array_equal(drawn[height + 12 :], recon)
