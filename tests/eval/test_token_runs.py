"""`ganforge sample` and `ganforge eval` of a token-sequence run through the real command:
text out, one sequence a line, and the stamped metrics; the held-out rows' own figures."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ganforge.api import load_run
from ganforge.config import load_config
from ganforge.eval.tokens import evaluate_tokens, generate
from ganforge.train.loop import train


def ganforge(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganforge", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("text")
    lines = folder / "lines.txt"
    words = ["anna", "bob", "carl", "dora", "emil", "fina", "gus", "hana", "ivo", "jan"] * 8
    lines.write_text("\n".join(f"{w}{i % 7}" for i, w in enumerate(words)) + "\n")
    cfg = load_config("names-mle", {"data.name": "text", "data.path": str(lines),
                                    "seq.length": 6, "seq.hidden": 16, "train.steps": 30,
                                    "data.batch_size": 16, "train.progress": False})
    train(cfg, folder / "run")
    return folder / "run"


def test_sample_writes_text_lines_that_decode_the_run_samples(text_run, tmp_path):
    out = tmp_path / "s.txt"
    proc = ganforge("sample", text_run, "-n", 7, "--seed", 2, "--out", out)
    assert proc.returncode == 0, proc.stderr
    run = load_run(text_run)
    assert out.read_text().splitlines() == run.data.tokens.decode(generate(run, 7, 2))
    refused = ganforge("sample", text_run, "--out", tmp_path / "s.png")
    assert refused.returncode == 2 and "give --out FILE.txt" in refused.stderr


def test_eval_prints_stamped_text_metrics_and_the_held_out_figures(text_run):
    proc = ganforge("eval", text_run, "--json", "--n", 40)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert {"nll_test", "bleu2", "bleu5", "self_bleu3", "novelty"} <= set(result["metrics"])
    assert result["protocol"]["metrics"]["bleu"]["smoothing"].startswith("nltk method 1")
    assert len(result["samples"]) == 10
    held_out = result["held_out"]  # the same figures of held-out rows in place of samples
    assert set(held_out) == set(result["metrics"]) - {"nll_test"}
    assert all(0 <= v <= 1 for v in held_out.values())


def test_nll_oracle_needs_an_oracle(text_run):
    with pytest.raises(ValueError, match="nll_oracle needs data.name=oracle"):
        evaluate_tokens(load_run(text_run), ["nll_oracle"], n=10)


def test_a_temperature_below_one_sharpens_samples_and_scores_the_tempered_g(text_run, tmp_path):
    run = load_run(text_run)
    plain, cold = (evaluate_tokens(run, ["nll_test"], n=60, temperature=t) for t in (1.0, 0.3))
    assert cold["protocol"]["temperature"] == 0.3
    assert cold["protocol"]["metrics"]["nll_test"]["temperature"] == 0.3
    # sharper samples repeat each other more; the tempered G covers the held-out rows worse
    distinct = [len(set(map(tuple, generate(run, 200, 0, t).tolist()))) for t in (1.0, 0.3)]
    assert distinct[1] < distinct[0]
    assert cold["metrics"]["nll_test"] > plain["metrics"]["nll_test"]
    out = tmp_path / "cold.txt"
    proc = ganforge("sample", text_run, "-n", 5, "--temperature", 0.3, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().splitlines() == run.data.tokens.decode(generate(run, 5, 0, 0.3))


@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan"])
def test_a_temperature_that_is_not_a_positive_number_is_refused(text_run, value):
    for verb in ("sample", "eval"):
        proc = ganforge(verb, text_run, f"--temperature={value}")
        assert proc.returncode == 2 and "--temperature must be a number > 0" in proc.stderr
        assert "Traceback" not in proc.stderr
