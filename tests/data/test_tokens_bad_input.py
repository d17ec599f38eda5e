"""Bad token data through the real `ganforge` command: exit code 2 and one line that names the
file or key and what is accepted, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from ganforge.nets.sequence import SequenceLSTM


def refused(*args) -> str:
    proc = subprocess.run([sys.executable, "-m", "ganforge", "train", *map(str, args),
                           "--set", "train.progress=false"],
                          capture_output=True, text=True, timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if not line.startswith("training")]
    assert len(lines) == 1 and lines[0].startswith("ganforge train: error: "), proc.stderr
    return lines[0]


def oracle_arrays() -> dict[str, np.ndarray]:
    net = SequenceLSTM(10, 3, 4, 5, generator=torch.Generator().manual_seed(0))
    return {k: v.detach().numpy() for k, v in net.state_dict().items()}


@pytest.mark.parametrize("case", ["missing file", "missing key", "misshaped key"])
def test_a_bad_oracle_file_is_refused(tmp_path, case):
    path = tmp_path / "oracle.npz"
    arrays = oracle_arrays()
    if case == "missing key":
        del arrays["bo"]
    if case == "misshaped key":
        arrays["Wi"] = arrays["Wi"][:2]
    if case != "missing file":
        np.savez(path, **arrays)
    line = refused("oracle-mle", "--out", tmp_path / "run", "--set", f"data.oracle_path={path}")
    assert str(path) in line
    want = {"missing file": "is not a file; an oracle file holds arrays g_embeddings, Wi",
            "missing key": "lacks ['bo']",
            "misshaped key": "Wi has shape (2, 4), but g_embeddings 10x3 and Ui 4x4 need Wi "
                             "of shape (3, 4)"}[case]
    assert want in line, line


@pytest.mark.parametrize("case", ["empty", "outside vocabulary", "too long"])
def test_a_bad_text_file_is_refused(tmp_path, case):
    path = tmp_path / "lines.txt"
    text, extra = {"empty": ("\n\n", []),
                   "outside vocabulary": ("1 2 3\n4 7 1\n", ["seq.tokens=ids", "seq.vocab=5"]),
                   "too long": ("abc\nabcdefgh\n", [])}[case]
    path.write_text(text)
    sets = [f"data.path={path}", "data.name=text", "seq.length=3", *extra]
    line = refused("names-mle", "--out", tmp_path / "run", *[a for s in sets for a in ("--set", s)])
    want = {"empty": f"data.path {path} holds 0 sequence(s); give at least 2",
            "outside vocabulary": f"{path} line 2: token 7 is outside the vocabulary 0..4 "
                                  "(seq.vocab=5)",
            "too long": f"{path} line 2 has 8 tokens, more than seq.length=3"}[case]
    assert want in line, line


def test_a_gan_started_from_no_run_or_from_no_best_checkpoint_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()  # a folder that is no run
    line = refused("oracle-seqgan", "--out", tmp_path / "gan", "--set",
                   f"seq.init_from={tmp_path / 'empty'}")
    assert f"seq.init_from={tmp_path / 'empty'} is not a finished run" in line
    done = tmp_path / "mle" / "checkpoint"  # a run that kept no best checkpoint
    done.mkdir(parents=True)
    (done / "state.json").write_text("{}")
    line = refused("oracle-seqgan", "--out", tmp_path / "gan", "--set",
                   f"seq.init_from={tmp_path / 'mle'}", "--set", "seq.init_best=true")
    assert "seq.init_best=true" in line and "kept no best checkpoint" in line
    assert not (tmp_path / "gan").exists()  # refused before the run folder was made
