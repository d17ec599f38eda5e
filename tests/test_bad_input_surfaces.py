"""What the user meets at the edges of sample, eval, export, explore and resume, each case
through the real command: an existing file is replaced only with --force, counts are bounded
by the memory or disk they need, every family exports or says why not, captions are read
strictly, and bad input gets one line (exit 2) with nothing of the user's lost."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.api import train
from ganforge.cli import main
from ganforge.config import load_config

SHORT = {"train.steps": 2, "train.log_every": 1, "train.sample_every": 2,
         "train.checkpoint_every": 2, "train.progress": False, "train.sample_count": 4}
SMALL = {"data.batch_size": 8, "model.g_width": 8, "model.d_width": 8}
TINY_ORACLE = {"seq.vocab": 20, "seq.length": 6, "seq.train_size": 64, "seq.test_size": 32,
               "seq.oracle_emb": 8, "seq.oracle_hidden": 8, "seq.emb": 8, "seq.hidden": 8,
               "data.batch_size": 16}
RUNS = {
    "toy": ("toy-ring", {}),
    "images": ("digits-dcgan", {**SMALL, "data.clusters": 0, "model.num_classes": 0,
                                "model.head": "plain"}),
    "vae": ("digits-vae", SMALL),
    "text": ("digits-text2image", {**SMALL, "text2image.pretrain_steps": 1}),
    "tokens": ("oracle-mle", TINY_ORACLE),
    # tracks a metric from step 10, stopped at step 2: no best checkpoint yet
    "tracked": ("toy-ring", {"train.eval_every": 10, "train.eval_metrics": "modes"}),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, (preset, overrides) in RUNS.items():
            train(load_config(preset, {**SHORT, **overrides}), root / name)
    return {name: root / name for name in RUNS}


def ganforge(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganforge", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def refusal(proc: subprocess.CompletedProcess, verb: str) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"ganforge {verb}: error: "), proc.stderr
    return lines[0]


def refused(args: list, capsys) -> str:
    """The one line of a refusal of `ganforge ARGS` in this process (a process costs seconds)."""
    capsys.readouterr()
    assert main([str(a) for a in args]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"ganforge {args[0]}: error: "), lines
    return lines[0]


# ----------------------------------------------------------------------------- nothing replaced


def test_sample_refuses_an_existing_out_file_unless_forced(runs, tmp_path):
    mine = tmp_path / "mine.png"
    mine.write_bytes(b"the user's picture")
    line = refusal(ganforge("sample", runs["images"], "-n", "4", "--out", mine), "sample")
    assert f"--out {mine} exists; pass --force" in line
    assert mine.read_bytes() == b"the user's picture"
    proc = ganforge("sample", runs["images"], "-n", "4", "--out", mine, "--force")
    assert proc.returncode == 0, proc.stderr
    assert mine.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("run, name, extra", [
    ("toy", "points.csv", []), ("toy", "points.npz", []), ("images", "grid.png", ["--interpolate"]),
    ("tokens", "lines.txt", []), ("text", "twos.png", ["--text", "a two"]),
    ("text", "twos.npz", ["--text", "a two"]), ("vae", "pairs.png", ["--reconstruct"]),
])
def test_every_output_of_sample_keeps_an_existing_file(run, name, extra, runs, tmp_path, capsys):
    mine = tmp_path / name
    mine.write_text("keep me")
    line = refused(["sample", runs[run], "-n", "4", *extra, "--out", mine], capsys)
    assert "exists; pass --force" in line and mine.read_text() == "keep me"
    assert main(["sample", str(runs[run]), "-n", "4", *extra, "--out", str(mine), "--force"]) == 0
    assert mine.read_bytes() != b"keep me"


def test_the_default_pictures_have_names_of_their_own_and_are_kept(runs, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(runs["images"], run)
    assert main(["sample", str(run), "-n", "4"]) == 0
    assert main(["sample", str(run), "-n", "4", "--interpolate"]) == 0
    grid, walk = run / "sample_seed0.png", run / "interpolate_seed0.png"
    assert grid.is_file() and walk.is_file() and grid.read_bytes() != walk.read_bytes()
    before = walk.read_bytes()
    line = refused(["sample", run, "-n", "6", "--interpolate"], capsys)
    assert f"--out {walk} exists" in line and walk.read_bytes() == before


def test_translating_a_folder_into_a_folder_that_holds_files_is_refused(tmp_path, capsys):
    from PIL import Image

    run = tmp_path / "p2p"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(load_config("pix2pix-edges", {**SHORT, **SMALL}), run)
    (tmp_path / "in").mkdir()
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "in" / "a.png")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.png").write_text("mine")
    line = refused(["sample", run, "--input", tmp_path / "in", "--out", tmp_path / "out"], capsys)
    assert "not empty" in line and (tmp_path / "out" / "a.png").read_text() == "mine"


# ----------------------------------------------------------------------------- --text outputs


def test_text_samples_stream_to_npz_and_a_folder_as_the_picture_draws_them(runs, tmp_path):
    from ganforge.run import load_run

    out = tmp_path / "twos.npz"
    proc = ganforge("sample", runs["text"], "--text", "a thin two", "-n", "20", "--out", out)
    assert proc.returncode == 0, proc.stderr
    run = load_run(runs["text"])
    expected = run.family.snapshot(run.family.text_inputs("a thin two", 20, 0))
    assert np.allclose(np.load(out)["samples"], expected.numpy(), atol=1e-6)
    assert main(["sample", str(runs["text"]), "--text", "a thin two", "-n", "5",
                 "--out", f"{tmp_path}/pngs/"]) == 0
    assert len(list((tmp_path / "pngs").glob("*.png"))) == 5


# ----------------------------------------------------------------------------- bounded counts


def test_counts_beyond_what_memory_or_disk_holds_are_refused_with_the_reason(runs, tmp_path,
                                                                              capsys):
    line = refusal(ganforge("eval", runs["vae"], "--metrics", "iwae_ll", "--iwae-k", 10 ** 30),
                   "eval")
    assert "--iwae-k 1,000,000,000,000,000,000,000,000,000,000 needs about" in line
    assert "of memory" in line and "at most" in line
    line = refused(["eval", runs["vae"], "--metrics", "iwae_ll", "--iwae-k", 3_000_000_000 * 64],
                   capsys)
    assert "of memory" in line
    line = refused(["sample", runs["toy"], "-n", 10 ** 18, "--out", tmp_path / "x.npz"], capsys)
    assert "-n 1,000,000,000,000,000,000 needs about" in line and "on disk" in line
    line = refused(["sample", runs["tokens"], "-n", 10 ** 15], capsys)
    assert "of memory" in line
    line = refused(["eval", runs["images"], "--n", 10 ** 12], capsys)
    assert "--n 1,000,000,000,000 needs about" in line
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------------------- export


def test_a_text_to_image_run_exports_with_its_caption_input(runs, tmp_path):
    from ganforge.data.captions import VOCAB, max_length
    from ganforge.export import CONTRACT_KEY
    from ganforge.run import load_run

    out = tmp_path / "t2i.pt"
    proc = ganforge("export", runs["text"], "--format", "torchscript", "--out", out)
    assert proc.returncode == 0, proc.stderr
    extra = {CONTRACT_KEY: ""}
    module = torch.jit.load(str(out), _extra_files=extra)
    names = [spec["name"] for spec in json.loads(extra[CONTRACT_KEY])["inputs"]]
    assert names == ["z", "tokens"]
    run = load_run(runs["text"])
    inputs = run.family.text_inputs("a thick seven leaning right", 3, 5)
    tokens = VOCAB.encode("a thick seven leaning right", max_length()).expand(3, -1)
    with torch.no_grad():
        got = module(inputs["z"], tokens)
    assert torch.allclose(got, run.family.snapshot(inputs), atol=1e-5)


def test_a_token_run_is_not_exported_and_says_why(runs, tmp_path):
    line = refusal(ganforge("export", runs["tokens"], "--format", "torchscript",
                            "--out", tmp_path / "G.pt"), "export")
    assert "token-sequence run" in line and "token by token" in line and "--out FILE.txt" in line
    assert not list(tmp_path.iterdir())


def test_export_into_a_folder_it_cannot_write_names_the_path(runs, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):  # root writes anywhere: the folder is made to read as locked
        real = os.access
        monkeypatch.setattr("ganforge.export.os.access",
                            lambda p, mode: False if Path(p) == folder else real(p, mode))
    line = refused(["export", runs["toy"], "--format", "torchscript", "--out", folder / "G.pt"],
                   capsys)
    assert f"--out {folder / 'G.pt'}" in line and "not writable" in line
    folder.chmod(0o755)


# ----------------------------------------------------------------------------- explore


def test_the_websocket_answers_messages_that_are_no_object_and_goes_on(tmp_path):
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    from starlette.testclient import TestClient

    from ganforge.explore.server import create_app

    with TestClient(create_app(None, fps=50.0, measure_every=0.05)) as client, \
            client.websocket_connect("/ws") as ws:
        for bad in ("null", "3", "-1.5", "[]", "[1, 2]", '"step"', "true"):
            ws.send_text(bad)
            for _ in range(50):  # frames may come first
                reply = json.loads(ws.receive_text())
                if reply["type"] == "error":
                    break
            assert "a message is a JSON object" in reply["message"], bad
        ws.send_text(json.dumps({"type": "step"}))
        for _ in range(50):
            reply = json.loads(ws.receive_text())
            if reply["type"] == "frame" and reply["step"] >= 1:
                break
        assert reply["type"] == "frame" and reply["step"] >= 1  # the connection lives


def test_explore_on_a_port_in_use_makes_no_folder(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = refusal(ganforge("explore", "--port", port, "--run", tmp_path / "runs"), "explore")
    assert f"--port {port}" in line and "cannot listen there" in line
    assert not (tmp_path / "runs").exists()


# ----------------------------------------------------------------------------- captions


def test_a_full_width_caption_reads_as_its_plain_words(runs, tmp_path, capsys):
    assert main(["sample", str(runs["text"]), "--text", "ＴＷＯ", "-n", "2",
                 "--out", str(tmp_path / "a.png")]) == 0
    assert main(["sample", str(runs["text"]), "--text", "two", "-n", "2",
                 "--out", str(tmp_path / "b.png")]) == 0
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


@pytest.mark.parametrize("text, why", [
    ("a thin thick two seven", "names 2 digits (two, seven); it names 2 thicknesses (thin, thick)"),
    ("a the in and", "names no digit"),
    ("a 2 leaning left, leaning right", "names 2 slants (leaning left, leaning right)"),
    ("a small big nine", "names 2 sizes"),
])
def test_a_caption_that_contradicts_itself_or_names_no_digit_is_refused(text, why, runs, tmp_path,
                                                                          capsys):
    line = refused(["sample", runs["text"], "--text", text, "--out", tmp_path / "x.png"], capsys)
    assert line.startswith(f"ganforge sample: error: --text {text!r}: ") and why in line
    assert not (tmp_path / "x.png").exists()


# ----------------------------------------------------------------------------- checkpoints


def test_best_before_the_first_tracked_evaluation_says_so(runs, capsys):
    line = refused(["sample", runs["tracked"], "--best"], capsys)
    assert "no best checkpoint yet" in line and "stopped at step 2" in line
    assert "train.eval_every=10" in line
    line = refused(["eval", runs["toy"], "--best"], capsys)
    assert "tracked no metric (train.eval_every=0)" in line


@pytest.mark.parametrize("edit, message", [
    (lambda text: "", "config.yaml is empty"),
    (lambda text: text.replace("family: vae", "family: gan"),
     "the checkpoint holds the nets E, E_ema, G, G_ema, but this config's family (gan) has D, G, "
     "G_ema"),
])
def test_resuming_a_run_whose_config_was_emptied_or_edited_says_so(edit, message, runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs["vae"], run)
    config = run / "config.yaml"
    config.write_text(edit(config.read_text()))
    before = sorted(p.name for p in (run / "checkpoint").iterdir())
    line = refusal(ganforge("train", "--resume", run, "--set", "train.steps=4"), "train")
    assert message in line
    assert sorted(p.name for p in (run / "checkpoint").iterdir()) == before


@pytest.mark.parametrize("key, shown", [
    ("seq.vocab=21", "its vocabulary differs (seq.vocab=20 there, 21 here)"),
    ("seq.length=7", "its length differs (seq.length=6 there, 7 here)"),
])
def test_init_from_a_run_of_another_vocabulary_is_refused_before_the_folder(key, shown, runs,
                                                                            tmp_path, capsys):
    sets = [x for k, v in {**SHORT, **TINY_ORACLE, "seq.pretrain_g": 1}.items()
            for x in ("--set", f"{k}={v}")]
    out = tmp_path / "gan"
    capsys.readouterr()
    assert main(["train", "oracle-gumbel", "--out", str(out), *sets, "--set",
                 f"seq.init_from={runs['tokens']}", "--set", key]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after what it trains, the refusal
    assert last.startswith("ganforge train: error: ") and shown in last
    assert not out.exists()


def test_init_from_is_saved_as_an_absolute_path(runs, tmp_path, monkeypatch):
    monkeypatch.chdir(runs["tokens"].parent)
    cfg = load_config("oracle-mle", {**SHORT, **TINY_ORACLE, "seq.init_from": "tokens"})
    train(cfg, tmp_path / "run")
    saved = (tmp_path / "run" / "config.yaml").read_text()
    assert f"init_from: {runs['tokens'].resolve()}" in saved
