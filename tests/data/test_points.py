"""data.name=points: a CSV of points as a mixture of N(point, 0.05^2 I); bad files refused in
one line through the real command."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import torch

from ganforge.cli import main
from ganforge.data.points import POINT_STD, load_points, save_points


def test_points_round_trip_and_their_density(tmp_path):
    points = torch.tensor([[0.1, 0.2], [1 / 3, -2.0], [1e-9, 5.5], [-1.25, 0.0]],
                          dtype=torch.float64)
    save_points(points, tmp_path / "p.csv")
    dist = load_points(tmp_path / "p.csv")
    assert torch.equal(dist.centers, points) and dist.std == POINT_STD
    x = torch.tensor([[0.12, 0.19]], dtype=torch.float64)
    # p(x) = 1/K sum_k N(x; c_k, s^2 I), by hand
    sq = ((x - points) ** 2).sum(1).numpy()
    expected = np.mean(np.exp(-sq / (2 * POINT_STD**2)) / (2 * np.pi * POINT_STD**2))
    assert abs(float(dist.log_prob(x).exp()) - expected) < 1e-9 * expected


def test_the_csv_of_ganforge_sample_loads(tmp_path):
    (tmp_path / "s.csv").write_text("x0\n1.5\n-2\n3e-1\n")
    assert load_points(tmp_path / "s.csv").centers.squeeze(1).tolist() == [1.5, -2.0, 0.3]


def test_bad_point_files_are_refused_in_one_line(tmp_path, capsys):
    bad = {"words.csv": "x0,x1\n1,2\n3,4\nfive,6\n", "ragged.csv": "1,2\n3\n5,6\n",
           "few.csv": "1,2\n3,4\n", "wide.csv": "1,2,3\n4,5,6\n7,8,9\n",
           "inf.csv": "1,2\n3,inf\n5,6\n", "points.txt": "1,2\n3,4\n5,6\n"}
    said = {"words.csv": "line 4", "ragged.csv": "line 2", "few.csv": "3 to",
            "wide.csv": "1 or 2", "inf.csv": "finite", "points.txt": ".csv"}
    for name, text in bad.items():
        (tmp_path / name).write_text(text)
        code = main(["train", "toy-ring", "--out", str(tmp_path / "run"), "--set",
                     "data.name=points", "--set", f"data.path={tmp_path / name}"])
        err = capsys.readouterr().err.strip().splitlines()  # "training ... -> RUN", the error
        assert code == 2 and len(err) == 2 and "Traceback" not in err[1], (name, err)
        assert err[1].startswith("ganforge train: error: ") and said[name] in err[1], (name, err)
    # and once through the real command: a missing path
    proc = subprocess.run([sys.executable, "-m", "ganforge", "train", "toy-ring", "--out",
                           str(tmp_path / "run"), "--set", "data.name=points"],
                          capture_output=True, text=True, timeout=300)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 2, proc.stderr
    assert lines[1].startswith("ganforge train: error: data.name=points needs data.path")
