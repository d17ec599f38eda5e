"""RUN/data.json fingerprints every file and folder a run's data set reads; a changed one is a
warning for `ganforge sample` and `ganforge eval` and a refusal for `ganforge train --resume`
(unless --force), through the real command for an oracle, a text corpus, a point file and an
image folder."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.data.fingerprint import changes, fingerprint, fingerprint_path, read_saved
from ganforge.nets.sequence import SequenceLSTM


def test_a_file_is_hashed_over_its_bytes(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_bytes(b"one\ntwo\n")
    assert fingerprint_path(path) == {"path": str(path), "files": 1,
                                      "digest": hashlib.sha256(b"one\ntwo\n").hexdigest()}


def test_a_folder_is_hashed_over_its_names_and_sizes(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.png").write_bytes(b"12345")
    (tmp_path / "sub" / "a.png").write_bytes(b"12")
    # os.walk order: the folder's own files first (sorted), then sub-folders (sorted)
    want = hashlib.sha256(b"b.png\x005\nsub/a.png\x002\n").hexdigest()
    assert fingerprint_path(tmp_path) == {"path": str(tmp_path), "files": 2, "digest": want}
    (tmp_path / "sub" / "a.png").write_bytes(b"21")  # same name and size: not read, not seen
    assert fingerprint_path(tmp_path)["digest"] == want


def test_changes_name_each_changed_input_and_read_the_older_one_folder_form(tmp_path):
    folder, file = tmp_path / "images", tmp_path / "oracle.npz"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"x")
    file.write_bytes(b"first")
    saved = tmp_path / "data.json"
    saved.write_text(json.dumps(fingerprint([folder, file])))
    assert changes(saved, fingerprint([folder, file])) == []
    (folder / "b.png").write_bytes(b"y")
    file.write_bytes(b"second")
    found = changes(saved, fingerprint([folder, file]))
    assert found[0] == f"the data in {folder} changed since the run started (1 files then, 2 now)"
    assert found[1].startswith(f"the data file {file} changed since the run started (sha256 "
                               f"{hashlib.sha256(b'first').hexdigest()[:12]}... then")
    file.unlink()
    assert changes(saved, fingerprint([folder]))[1] == f"{file} is gone since the run started"
    old = tmp_path / "old.json"  # a single folder's fingerprint, as older runs recorded it
    old.write_text(json.dumps(fingerprint_path(folder)))
    assert read_saved(old) == [fingerprint_path(folder)]
    old.write_text("{oops")
    with pytest.raises(ValueError, match="old.json is unreadable"):
        read_saved(old)


def ganforge(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganforge", *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


def sets(**overrides) -> list[str]:
    return [a for k, v in overrides.items() for a in ("--set", f"{k}={v}")]


QUIET = {"train.progress": "false", "train.log_every": 1, "train.sample_every": 2,
         "train.checkpoint_every": 2, "optim.lr_decay": "none"}


def oracle_case(tmp_path: Path):
    path = tmp_path / "oracle.npz"

    def write(seed: int) -> None:
        net = SequenceLSTM(10, 3, 4, 5, generator=torch.Generator().manual_seed(seed))
        np.savez(path, **{k: v.detach().numpy() for k, v in net.state_dict().items()})

    write(0)
    over = sets(**{"data.oracle_path": path, "seq.length": 5, "seq.train_size": 32,
                   "seq.test_size": 16, "seq.emb": 8, "seq.hidden": 8, "data.batch_size": 8})
    return "oracle-mle", over, path, lambda: write(1), ["--metrics", "nll_oracle", "--n", "8"]


def text_case(tmp_path: Path):
    path = tmp_path / "lines.txt"
    path.write_text("ab\nabc\nba\ncab\nbb\naa\nacb\nbca\n")
    over = sets(**{"data.name": "text", "data.path": path, "seq.length": 5, "seq.emb": 8,
                   "seq.hidden": 8, "data.batch_size": 4})
    return "names-mle", over, path, lambda: path.write_text(path.read_text() + "ccc\n"), \
        ["--metrics", "nll_test"]


def points_case(tmp_path: Path):
    path = tmp_path / "points.csv"
    path.write_text("x0,x1\n0,0\n1,0\n0,1\n")
    over = sets(**{"data.name": "points", "data.path": path, "model.g_width": 8,
                   "model.d_width": 8, "data.batch_size": 16})
    return "toy-ring", over, path, lambda: path.write_text("x0,x1\n0,0\n1,0\n0,2\n"), []


def folder_case(tmp_path: Path):
    path = tmp_path / "pictures"
    path.mkdir()
    for i in range(12):
        Image.new("RGB", (16, 16), (i * 20, 0, 0)).save(path / f"{i}.png")
    over = sets(**{"data.path": path, "data.image_size": 16, "data.batch_size": 4,
                   "model.g_width": 4, "model.d_width": 4})
    return "folder-dcgan", over, path, \
        lambda: Image.new("RGB", (16, 16)).save(path / "new.png"), \
        ["--metrics", "kid", "--features", "raw", "--n", "12"]


@pytest.mark.slow
@pytest.mark.parametrize("case", [oracle_case, text_case, points_case, folder_case],
                         ids=["oracle", "text", "points", "folder"])
def test_a_changed_data_file_is_reported_by_sample_and_eval_and_stops_a_resume(tmp_path, case):
    preset, over, path, change, eval_args = case(tmp_path)
    run = tmp_path / "run"
    proc = ganforge("train", preset, "--out", run, *over, *sets(**QUIET, **{"train.steps": 2}))
    assert proc.returncode == 0, proc.stderr
    [saved] = json.loads((run / "data.json").read_text())["inputs"]
    assert saved == fingerprint_path(path.resolve())

    change()
    said = "changed since the run started"
    out = tmp_path / ("samples.txt" if preset.endswith("-mle") else "samples.npz")  # tokens: text
    proc = ganforge("sample", run, "-n", "4", "--out", out)
    assert proc.returncode == 0 and said in proc.stderr and str(path) in proc.stderr, proc.stderr
    proc = ganforge("eval", run, *eval_args)
    assert proc.returncode == 0 and said in proc.stderr, proc.stderr

    before = {p.name: p.read_bytes() for p in (run / "checkpoint").iterdir()}
    proc = ganforge("train", "--resume", run, "--set", "train.steps=4")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1 and said in lines[0] and "--force" in lines[0], proc.stderr
    assert {p.name: p.read_bytes() for p in (run / "checkpoint").iterdir()} == before

    proc = ganforge("train", "--resume", run, "--set", "train.steps=4", "--force")
    assert proc.returncode == 0 and said in proc.stderr, proc.stderr
    assert json.loads((run / "checkpoint" / "state.json").read_text())["step"] == 4
