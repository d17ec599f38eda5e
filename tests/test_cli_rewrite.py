"""A style-transfer run through the real `ganforge` command: `sample --text/--input --to`,
`eval` and `export`, and every bad input refused in one line that loses nothing."""

from __future__ import annotations

import json

import pytest
from conftest import ADJECTIVES

from ganforge.cli import main


@pytest.fixture
def run(style_run):
    """conftest's tiny style-transfer run (pre-training, then RL)."""
    return style_run


def call(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_sample_text_prints_the_rewrite_into_the_other_style(run, capsys):
    code, out, err = call(capsys, "sample", run, "--text", "The Pizza was RUDE!", "--to", "1")
    words = out.split()
    assert code == 0 and words[:3] == ["the", "pizza", "was"] and words[4] == "!"
    assert words[3] in ADJECTIVES[1] and err == ""
    code, out, _ = call(capsys, "sample", run, "--text", "the pizza was great !", "--to", "0")
    assert out.split()[3] in ADJECTIVES[0]


def test_n_sampled_rewrites_are_reproducible_from_the_seed(run, capsys):
    args = ("sample", run, "--text", "the room is cold !", "--to", "1", "-n", "4", "--seed", "3")
    code, first, _ = call(capsys, *args)
    assert code == 0 and len(first.splitlines()) == 4
    assert call(capsys, *args)[1] == first


def test_a_file_is_rewritten_line_by_line(run, tmp_path, capsys):
    source = tmp_path / "in.txt"
    source.write_text("the food was bad .\n\nthe zebra was rude .\n"
                      "our staff was cold today the room was awful today .\n")
    out = tmp_path / "out.txt"
    code, stdout, err = call(capsys, "sample", run, "--input", source, "--to", "1", "--out", out)
    assert code == 0 and stdout.strip() == str(out)
    lines = out.read_text().splitlines()
    assert len(lines) == 4 and lines[1] == ""  # an empty line stays empty
    assert lines[0].split()[3] in ADJECTIVES[1]
    assert lines[2].split()[3] in ADJECTIVES[1]  # read with <unk> for the unknown noun
    warned = [line for line in err.splitlines() if "warning" in line]
    assert len(warned) == 2, err
    assert "1 word this run never saw was read as <unk>: zebra" in warned[0]
    assert "1 line(s) had more than data.max_len=8 words and were cut" in warned[1]
    assert len(lines[3].split()) <= 8
    # the same file to stdout gives the same lines
    assert call(capsys, "sample", run, "--input", source, "--to", "1")[1].splitlines() == lines


def test_an_existing_output_is_kept_unless_forced(run, tmp_path, capsys):
    source, out = tmp_path / "in.txt", tmp_path / "out.txt"
    source.write_text("the food was bad .\n")
    out.write_text("mine\n")
    code, _, err = call(capsys, "sample", run, "--input", source, "--to", "1", "--out", out)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "exists; pass --force" in err
    assert out.read_text() == "mine\n"
    assert call(capsys, "sample", run, "--input", source, "--to", "1", "--out", out,
                "--force")[0] == 0
    assert out.read_text() != "mine\n"


@pytest.mark.parametrize("args, message", [
    (["--text", "the food was bad ."], "--text needs --to STYLE: 0 or 1"),
    (["--text", "the food was bad .", "--to", "2"], "--to 2 is not a style of this run: 0 or 1"),
    ([], "it rewrites sentences; give --text"),
    (["--text", "a", "--input", "IN", "--to", "1"], "give --text or --input, not both"),
    (["--text", "   ", "--to", "1"], "--text is empty"),
    (["--input", "IN", "--to", "1", "-n", "3"], "--input rewrites each line once"),
    (["--input", "IN", "--to", "1", "--seed", "2"], "leave -n, --temperature and --seed out"),
    (["--text", "a", "--to", "1", "--seed", "2"], "--seed draws sampled rewrites"),
    (["--input", "MISSING", "--to", "1"], "no such file"),
    (["--input", "LATIN1", "--to", "1", "--out", "OUT"], "is not UTF-8 text"),
    (["--class", "1", "--text", "a", "--to", "1"], "--class is for class-conditional runs"),
    (["--interpolate"], "--interpolate is for runs that draw from noise"),
    (["--text", "a", "--to", "1", "--temperature", "0"], "--temperature must be a number > 0"),
])
def test_bad_sample_requests_are_refused_in_one_line(run, tmp_path, capsys, args, message):
    (tmp_path / "IN").write_text("the food was bad .\n")
    (tmp_path / "LATIN1").write_bytes(b"caf\xe9 was bad .\n")
    paths = {"IN", "MISSING", "LATIN1", "OUT"}
    args = [str(tmp_path / a) if a in paths else a for a in args]
    before = sorted(p.name for p in run.iterdir())
    code, out, err = call(capsys, "sample", run, *args)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and message in lines[0], lines
    assert not (tmp_path / "OUT").exists() and sorted(p.name for p in run.iterdir()) == before


def test_eval_scores_the_test_rewrites(run, capsys, tmp_path):
    code, out, _ = call(capsys, "eval", run, "--json")
    result = json.loads(out)
    metrics = result["metrics"]
    assert code == 0 and metrics["source_acc"] == 100.0
    # the rewrites flip the adjective (tests/families/test_style_transfer.py): the classifier,
    # which reads the adjectives, reads them as the target style
    assert metrics["acc"] >= 87.5 and 0 < metrics["ref_bleu"] <= 100
    assert abs(metrics["g"] - (metrics["acc"] * metrics["ref_bleu"]) ** 0.5) < 1e-9
    assert {"acc", "ppl", "tokenization"} <= set(result["protocol"])
    for flag, value in (("--metrics", "acc"), ("--seed", "1"), ("--features", "raw")):
        code, _, err = call(capsys, "eval", run, flag, value)
        assert code == 2 and f"{flag} is for" in err and "style-transfer run" in err


def test_export_refuses_in_one_line(run, capsys):
    code, _, err = call(capsys, "export", run)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "is a style-transfer run" in lines[0]
    assert not list(run.glob("*.onnx"))


def test_training_on_a_bad_corpus_is_refused_before_anything_is_written(tmp_path, capsys):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "sentiment.train.0").write_text("the food was bad .\n")
    out = tmp_path / "run"
    code, _, err = call(capsys, "train", "yelp-sentiment", "--set", f"data.path={folder}",
                        "--out", out)
    lines = err.strip().splitlines()
    assert code == 2 and "sentiment.train.1 is missing" in lines[-1] and len(lines) <= 2
    assert not out.exists()
