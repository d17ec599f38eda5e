"""benchmarks/explore_speed.py end to end on a tiny budget (one round, a second of play), its
output in tmp_path: benchmarks/results is never touched."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("websockets")

ROOT = Path(__file__).resolve().parents[2]


def test_explore_speed_runs_on_a_tiny_budget(tmp_path):
    out = tmp_path / "explore_speed.json"
    proc = subprocess.run([sys.executable, "benchmarks/explore_speed.py", "--rounds", "1",
                           "--seconds", "1", "--plain-steps", "60", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    (row,) = result["rounds"]
    assert row["explore_frames"] >= 1 and row["explore_seconds"] >= 1
    for key in ("plain_steps_per_s", "explore_fps", "explore_steps_per_s", "ratio"):
        assert math.isfinite(result["median"][key]) and result["median"][key] > 0
