"""The `ganforge` command: verbs, --json contracts and error messages (run in-process)."""

import json

import pytest

from ganforge.cli import main

TINY = ["--set", "train.steps=12", "--set", "model.g_width=16", "--set", "model.d_width=16",
        "--set", "train.progress=false", "--set", "train.checkpoint_every=6",
        "--set", "data.batch_size=32", "--set", "train.sample_every=12"]


def test_presets_lists_descriptions(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "toy-ring" in out and "digits-dcgan" in out and "8 Gaussians" in out


@pytest.mark.parametrize("argv, message", [
    (["train", "no-such"], "unknown preset 'no-such'; valid presets:"),
    (["train", "toy-ring", "--set", "loss.name=nope"], "unknown objective 'nope'"),
    (["train", "toy-ring", "--set", "train.bogus=1"], "valid keys: train.family"),
    (["train", "--resume", "/nonexistent/run"], "no ganforge run there"),
    (["sample", "/nonexistent/run"], "is not a ganforge run"),
])
def test_bad_input_exits_2_with_a_message(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_train_sample_eval_json(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "toy-ring", "--out", str(run), *TINY]) == 0
    assert (run / "checkpoint" / "state.json").is_file()
    assert main(["sample", str(run), "-n", "100", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").stat().st_size > 0
    capsys.readouterr()
    assert main(["eval", str(run), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)  # stdout holds exactly one JSON object
    assert set(result["metrics"]) == {"modes", "hq_fraction", "mode_kl"}
    assert 0 <= result["metrics"]["modes"] <= 8
    assert result["protocol"]["num_fake"] == 2500
    assert json.loads((run / "eval.json").read_text())["metrics"] == result["metrics"]


def test_resume_via_cli_refuses_changed_config(tmp_path, capsys):
    run = tmp_path / "run"  # a constant learning rate, so the budget may grow on resume
    assert main(["train", "toy-ring", "--out", str(run), *TINY, "--set", "optim.lr_decay=none"]) == 0
    assert main(["train", "--resume", str(run), "--set", "loss.name=hinge"]) == 2
    assert "loss.name: 'ns' -> 'hinge'" in capsys.readouterr().err
    assert main(["train", "--resume", str(run), "--set", "train.steps=18"]) == 0


def test_theory_quick_json(capsys, tmp_path):
    assert main(["theory", "--quick", "--json", "--out", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["d_star_max_abs_error"] < 0.03
    assert report["value_identity_abs_error"] < 1e-3
    assert report["final_jsd"] < 0.01 and abs(report["final_d_mean"] - 0.5) < 0.05
    assert (tmp_path / "figure1.png").is_file()


def test_eval_refuses_what_it_would_ignore_and_keeps_results_it_cannot_save(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "toy-ring", "--out", str(run), *TINY]) == 0
    capsys.readouterr()
    assert main(["eval", str(run), "--n", "0"]) == 2
    assert "--n must be at least 2 samples, got 0" in capsys.readouterr().err
    assert main(["eval", str(run), "--features", "inception"]) == 2
    assert "toy runs are scored on their points" in capsys.readouterr().err
    (run / "eval.json").mkdir()  # a path that cannot be written as a file
    assert main(["eval", str(run), "--json", "--n", "200"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["protocol"]["num_fake"] == 200
    assert "the results above were not saved to" in captured.err
