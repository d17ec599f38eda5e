"""`--top-by-d Q` (ganforge.selection): the n draws that the run's own D ranks highest of
n / Q, checked against a ranking done here from ganforge.sample and D; on a ring GAN part-way
through training, the kept samples, like those that --langevin-by-d moves (ganforge.langevin),
are more often on a mode and still cover all 8."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import ganforge
from ganforge.config import load_config
from ganforge.run import load_run
from ganforge.selection import kept_draws, pool_size
from ganforge.train.loop import train


def ganforge_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganforge", *map(str, args)], env=dict(os.environ),
                          capture_output=True, text=True, timeout=600)


def test_the_pool_is_the_fewest_draws_that_hold_n_at_the_share():
    assert pool_size(5000, 0.6) == 8334  # 8333.3 draws
    assert pool_size(100, 0.5) == 200 and pool_size(100, 1.0) == 100 and pool_size(7, 0.01) == 700
    assert pool_size(3, 0.3) == 10  # 3 / 0.3 is 10.000000000000002 in floats


def test_without_labels_the_kept_draws_are_the_n_highest_logits():
    logits = torch.randn(1000, generator=torch.Generator().manual_seed(0))
    by_value = sorted(range(1000), key=lambda i: -logits[i].item())[:300]
    assert kept_draws(logits, None, 300).tolist() == sorted(by_value)


def test_with_labels_each_label_keeps_its_own_best_draws_in_its_share():
    rng = torch.Generator().manual_seed(1)
    labels = torch.multinomial(torch.tensor([0.6, 0.3, 0.1]), 3000, replacement=True, generator=rng)
    logits = torch.randn(3000, generator=rng) + 2.0 * (labels == 0)  # label 0 scores higher
    kept = kept_draws(logits, labels, 1500)
    assert len(kept) == 1500 and len(set(kept.tolist())) == 1500
    chosen = torch.zeros(3000, dtype=torch.bool)
    chosen[kept] = True
    for label in range(3):
        members = labels == label
        # half of each label kept, to within the one draw that rounding moves ...
        assert abs(chosen[members].sum().item() - members.sum().item() / 2) <= 1
        # ... and those are the label's best: none left out scores above one kept
        assert logits[members & chosen].min() >= logits[members & ~chosen].max()


def test_the_samples_are_the_pool_draws_with_the_highest_d_logits(ring_run):
    run = load_run(ring_run)
    pool = ganforge.sample(run, n=400, seed=5)  # the draws the selection ranks
    with torch.no_grad():
        logits = run.family.D(pool).reshape(-1)
    best = torch.sort(torch.argsort(logits, descending=True)[:100]).values
    kept = ganforge.sample(run, n=100, seed=5, top_by_d=0.25)
    assert kept.shape == (100, 2)
    assert torch.allclose(kept, pool[best], atol=1e-6)


def test_share_one_keeps_every_draw_so_the_samples_are_the_plain_ones(ring_run, tmp_path):
    plain, ranked = tmp_path / "plain.npz", tmp_path / "ranked.npz"
    for out, extra in ((plain, []), (ranked, ["--top-by-d", "1"])):
        proc = ganforge_cli("sample", ring_run, "-n", "1200", "--seed", "2", "--out", out, *extra)
        assert proc.returncode == 0, proc.stderr
    with np.load(plain) as a, np.load(ranked) as b:
        assert np.array_equal(a["samples"], b["samples"])


@pytest.mark.parametrize("flags, protocol", [
    (["--top-by-d", "0.5"], {"top_by_d": {"draws": 5000}}),
    # weight 1: D's density ratio as it stands (ganforge.langevin)
    (["--langevin-by-d", "30", "--langevin-weight", "1"], {"langevin_by_d": {"weight": 1.0}})])
def test_eval_of_d_s_samplers_finds_more_samples_on_a_mode_and_keeps_every_mode(flags, protocol,
                                                                                ring_run):
    scores = {}
    for extra in ([], flags):
        proc = ganforge_cli("eval", ring_run, "--json", *extra)
        assert proc.returncode == 0, proc.stderr
        scores[bool(extra)] = json.loads(proc.stdout)
    plain, chosen = scores[False]["metrics"], scores[True]["metrics"]
    assert plain["modes"] == 8 and chosen["modes"] == 8
    # 2,500 samples: a share's standard error is at most 0.5 / 50 = 0.01, so a gain of 0.05 is
    # five of them; the gains measured are about 0.15 (top half) and 0.13 (Langevin)
    assert 0.1 < plain["hq_fraction"] < 0.9
    assert chosen["hq_fraction"] - plain["hq_fraction"] > 0.05
    for key, values in protocol.items():
        assert key not in scores[False]["protocol"]
        assert {k: scores[True]["protocol"][key][k] for k in values} == values


def test_a_cluster_run_ranks_each_draw_within_its_cluster(image_run, tmp_path):
    run = load_run(image_run)
    inputs = run.family.fixed_inputs(600, 3)
    with torch.no_grad():
        logits = run.family.discriminate(run.family.snapshot(inputs), inputs["y"])[0].reshape(-1)
    expected = run.family.snapshot({k: v[kept_draws(logits, inputs["y"], 300)]
                                    for k, v in inputs.items()})
    out = tmp_path / "kept.npz"
    proc = ganforge_cli("sample", image_run, "-n", "300", "--seed", "3", "--top-by-d", "0.5",
                        "--out", out)
    assert proc.returncode == 0, proc.stderr
    with np.load(out) as archive:
        assert archive["samples"].shape == (300, 1, 28, 28)
        assert np.allclose(archive["samples"], expected.numpy(), atol=1e-5)


@pytest.mark.parametrize("verb, share", [("sample", "0"), ("eval", "1.5"), ("sample", "0.001")])
def test_a_share_out_of_range_is_refused_in_one_line(verb, share, ring_run):
    before = sorted(p.name for p in ring_run.iterdir())
    proc = ganforge_cli(verb, ring_run, "--top-by-d", share)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"--top-by-d {float(share)}: the share of draws kept" in lines[0]
    assert "from 0.01" in lines[0] and "to 1" in lines[0]
    assert sorted(p.name for p in ring_run.iterdir()) == before


@pytest.mark.parametrize("setting, because", [
    ({"model.pack": 2}, "whose D scores packs of model.pack=2 samples"),
    ({"model.minibatch_std": True},
     "whose D gives every logit a statistic of its batch (model.minibatch_std=true)")])
def test_a_d_that_scores_samples_together_is_refused(setting, because, tmp_path):
    run = tmp_path / "run"
    cfg = load_config("toy-ring", {"train.steps": 2, "train.progress": False,
                                   "train.checkpoint_every": 2, "train.sample_every": 2, **setting})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(cfg, run)
    for flag, value in (("--top-by-d", "0.5"), ("--langevin-by-d", "3")):  # D judges both
        proc = ganforge_cli("eval", run, flag, value)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and f"{flag} is for GAN runs" in lines[0]
        assert "model.pack=1, model.minibatch_std=false" in lines[0] and str(run) in lines[0]
        assert lines[0].endswith(because)
