"""Metrics tracked during training: logged like the losses, the best checkpoint kept through
a resume, and no effect on what the run trains."""

import json

import torch
from safetensors.torch import load_file

import ganforge
from ganforge.config import load_config
from ganforge.run import load_run
from ganforge.train import checkpoint
from ganforge.train.loop import train

TOY = {"model.g_width": 32, "model.d_width": 32, "model.depth": 2, "data.batch_size": 64,
       "train.log_every": 50, "train.sample_every": 1000, "train.checkpoint_every": 1000,
       "train.progress": False, "optim.lr_decay": "none", "train.steps": 240}
TRACKED = {"train.eval_every": 40, "train.eval_metrics": "hq_fraction,modes",
           "train.eval_samples": 400}


def rows(run):
    return [json.loads(r) for r in (run / "metrics.jsonl").read_text().splitlines()]


def nets(path):
    return load_file(str(path))


def test_tracking_logs_keeps_the_best_and_changes_nothing_else(tmp_path):
    plain = train(load_config("toy-ring", TOY), tmp_path / "plain")
    tracked = train(load_config("toy-ring", {**TOY, **TRACKED}), tmp_path / "tracked")
    a = nets(plain / "checkpoint" / "nets-0000240.safetensors")
    b = nets(tracked / "checkpoint" / "nets-0000240.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)  # scoring drew from no training stream
    scored = {r["step"]: r["eval_hq_fraction"] for r in rows(tracked) if "eval_hq_fraction" in r}
    assert sorted(scored) == [40, 80, 120, 160, 200, 240]
    assert all("eval_modes" in r for r in rows(tracked) if "eval_hq_fraction" in r)
    best_step = max(scored, key=lambda s: (scored[s], -s))  # the first of the highest
    best = checkpoint.read_best(tracked / "checkpoint")
    assert (best["step"], best["metric"]) == (best_step, "hq_fraction")
    assert abs(best["value"] - scored[best_step]) < 1e-12
    assert checkpoint.read_state(tracked / "checkpoint")["best"] == best
    # the best nets are the weights the run had at that step: score them again
    again = ganforge.evaluate(load_run(tracked, best=True), ["hq_fraction"], 400)
    assert abs(again["metrics"]["hq_fraction"] - best["value"]) < 1e-12


def test_the_best_checkpoint_survives_a_resume(tmp_path):
    straight = train(load_config("toy-ring", {**TOY, **TRACKED}), tmp_path / "straight")
    half = load_config("toy-ring", {**TOY, **TRACKED, "train.steps": 120})
    train(half, tmp_path / "resumed")
    train(load_config("toy-ring", {**TOY, **TRACKED}), tmp_path / "resumed", resume=True)
    assert checkpoint.read_best(straight / "checkpoint") == \
        checkpoint.read_best(tmp_path / "resumed" / "checkpoint")
    a = nets(straight / "checkpoint" / "best-nets.safetensors")
    b = nets(tmp_path / "resumed" / "checkpoint" / "best-nets.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_sample_and_eval_take_the_best_checkpoint(tmp_path, capsys):
    from ganforge.cli import main

    run = train(load_config("toy-ring", {**TOY, **TRACKED}), tmp_path / "run")
    best = checkpoint.read_best(run / "checkpoint")
    assert main(["eval", str(run), "--best", "--json", "--metrics", "hq_fraction",
                 "--n", "400"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert abs(result["metrics"]["hq_fraction"] - best["value"]) < 1e-12
    assert result["protocol"]["step"] == best["step"]
    assert main(["sample", str(run), "--best", "-n", "10", "--out", str(tmp_path / "b.npz")]) == 0
    plain = train(load_config("toy-ring", TOY), tmp_path / "plain")
    assert main(["sample", str(plain), "--best"]) == 2
    assert "holds no best checkpoint" in capsys.readouterr().err
