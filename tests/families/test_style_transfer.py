"""Text style transfer (train.family=style-transfer): the RL estimator against hand-worked
cases, the reward, the lexicon's pseudo-pairs, and training on a corpus whose truth is known
(conftest.style_corpus: the styles differ only in the adjective)."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import ADJECTIVES, NOUNS, TINY_STYLES, train_style_run

from ganforge.api import train
from ganforge.config import load_config
from ganforge.data.text_styles import Vocabulary
from ganforge.families.style_transfer import (
    baseline,
    harmonic_reward,
    lexicon_map,
    self_critical_loss,
)
from ganforge.run import load_run


def test_the_reward_is_the_harmonic_mean_of_style_and_content():
    style, content = torch.tensor([0.8, 0.5, 0.0]), torch.tensor([0.2, 0.5, 0.0])
    # (1 + 1) 0.8 0.2 / (0.2 + 0.8) = 0.32; equal rewards give themselves; both 0 give 0
    assert torch.allclose(harmonic_reward(style, content, 1.0), torch.tensor([0.32, 0.5, 0.0]))
    # beta = 2 leans to content: (1 + 4) 0.16 / (4 * 0.2 + 0.8) = 0.5
    assert abs(float(harmonic_reward(style[:1], content[:1], 2.0)) - 0.5) < 1e-6


def test_the_self_critical_gradient_matches_the_hand_worked_case():
    # a policy softmax(theta) over three rewrites at theta = 0 (p = 1/3 each) draws rewrite 0
    # with reward 1 where the greedy one got 0.25: the gradient of -(1 - 0.25) log p_0 is
    # -(0.75) (e_0 - p) = (-0.5, 0.25, 0.25)
    theta = torch.zeros(3, requires_grad=True)
    log_p = torch.log_softmax(theta, 0)[0].unsqueeze(0)
    self_critical_loss(log_p, torch.tensor([1.0]), torch.tensor([0.25])).backward()
    assert torch.allclose(theta.grad, torch.tensor([-0.5, 0.25, 0.25]))


def test_the_baseline_leaves_the_expected_gradient_that_of_the_expected_reward():
    # E_y[grad loss(y)] summed exactly over the three rewrites equals -grad E[R] for any
    # baseline: the baseline adds variance control, not bias
    theta = torch.tensor([0.3, -1.0, 0.5], requires_grad=True)
    rewards = torch.tensor([1.0, 0.2, 0.6])
    p = torch.softmax(theta, 0)
    (-(p * rewards).sum()).backward()
    want = theta.grad.clone()
    for constant in (0.0, 0.7):
        theta.grad = None
        log_p = torch.log_softmax(theta, 0)
        weights = torch.softmax(theta, 0).detach()
        expected = sum(weights[y] * self_critical_loss(log_p[y].unsqueeze(0), rewards[y:y + 1],
                                                       torch.tensor([constant]))
                       for y in range(3))
        expected.backward()
        assert torch.allclose(theta.grad, want, atol=1e-6)


def test_each_draw_is_baselined_by_the_other_draws_of_its_source_or_by_the_greedy_one():
    drawn = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])  # 3 draws of 2 sources
    # draw 0 of source 0: the mean of draws 1 and 2 of it, (3 + 5) / 2
    assert baseline(drawn, torch.zeros(2)).tolist() == [4.0, 5.0, 3.0, 4.0, 2.0, 3.0]
    greedy = torch.tensor([0.5, 0.7])
    assert torch.equal(baseline(drawn[:1], greedy), greedy)


def test_the_lexicon_maps_word_ids_and_leaves_other_words_alone():
    vocab = Vocabulary([["the", "food", "was", "bad"], ["the", "food", "was", "good"]])
    image = lexicon_map({"bad": "good", "rude": "friendly"}, vocab)  # rude: not in the vocabulary
    ids = torch.tensor([vocab.stoi[w] for w in ("the", "food", "was", "bad")])
    assert [vocab.itos[i] for i in image[ids]] == ["the", "food", "was", "good"]
    assert image[: 4].tolist() == [0, 1, 2, 3]  # the special tokens map to themselves


def style_run_at(folder, tmp_path, **overrides):
    """A TINY_STYLES run with `overrides`, loaded."""
    return load_run(train_style_run(folder, tmp_path / "run", **overrides))


def flipped(source: list[str], rewrite: list[str], target: int) -> bool:
    """The rewrite keeps every word of the source but the adjective, which it turns into one of
    the target style."""
    if len(source) != len(rewrite):
        return False
    changed = [(a, b) for a, b in zip(source, rewrite) if a != b]
    return len(changed) == 1 and changed[0][0] in ADJECTIVES[1 - target] \
        and changed[0][1] in ADJECTIVES[target]


@pytest.mark.parametrize("reward", ["rl", "gumbel", "none"])
def test_a_short_training_flips_the_style_words_and_keeps_the_rest(style_corpus, tmp_path,
                                                                   reward, style_run):
    if reward == "rl":
        run, tmp_path = load_run(style_run), style_run.parent
    else:
        # the preset's draws a sentence (RL only) and beta (RL and Gumbel) back to their defaults
        unread = {"style.samples": 1, **({"style.beta": 1.0} if reward == "none" else {})}
        run = style_run_at(style_corpus, tmp_path, **{"style.reward": reward, **unread})
    corpus, family = run.data.corpus, run.family
    for s in (0, 1):
        rows = torch.stack([family.vocab.encode(x, family.max_len) for x in corpus.test[s]])
        rewrites = [family.vocab.decode(r) for r in family.rewrite(rows, s)]
        good = [flipped(x, y, 1 - s) for x, y in zip(corpus.test[s], rewrites)]
        # the test sentences (a noun with an adjective it never appeared with) are held out
        assert sum(good) >= len(good) - 1, list(zip(corpus.test[s], rewrites))
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text()
            .splitlines()]
    rows = [r for r in rows if "reward" in r]
    assert all(0 <= r["style"] <= 1 and 0 <= r["content"] <= 1 for r in rows)
    assert bool(rows) == (reward != "none")  # without RL there is no reward to log
    assert len(NOUNS) == len(corpus.test[0])


def test_the_rl_phase_raises_the_style_reward_of_the_samples(style_corpus, tmp_path):
    # with the pre-training cut short the translators copy more than they rewrite; the
    # policy gradient alone (no pseudo-pair MLE, no back-translation) must then lift the
    # style reward of their samples
    run = style_run_at(style_corpus, tmp_path, **{
        "style.pretrain": 20, "train.steps": 220, "style.pseudo_mle": 0.0,
        "style.back_translation": 0.0, "optim.lr_g": 3e-3})
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text()
            .splitlines()]
    style = [r["style"] for r in rows if "style" in r]
    assert sum(style[-3:]) / 3 > sum(style[:3]) / 3 + 0.2, style
    assert run.step == 220


def test_a_run_starts_from_another_runs_nets(style_corpus, tmp_path, style_run):
    first = load_run(style_run)
    second = style_run_at(style_corpus, tmp_path / "b", **{
        "style.init_from": str(style_run), "style.init_step": 180,
        "style.pretrain": 0, "train.steps": 1, "optim.lr_g": 1e-9, "optim.lr_d": 1e-9})
    for name in ("G01", "G10", "D"):
        for a, b in zip(first.family.nets[name].parameters(),
                        second.family.nets[name].parameters()):
            assert torch.allclose(a, b, atol=1e-6)
    saved = load_config(str(tmp_path / "b" / "run" / "config.yaml"))
    assert saved.style.init_from == str(style_run.resolve())


@pytest.mark.parametrize("overrides, message", [
    ({"style.init_step": 7}, "style.init_step=7: .* keeps no checkpoint of step 7; it keeps "
                             "steps 90, 180"),
    ({"data.max_len": 6}, "its nets do not fit this run \\(data.max_len=8 there, 6 here\\)"),
    ({"style.init_from": "NOWHERE"}, "is not a finished run"),
])
def test_a_source_run_that_does_not_fit_is_refused(style_corpus, tmp_path, overrides, message,
                                                   style_run):
    cfg = load_config("yelp-sentiment", {**TINY_STYLES, "data.path": str(style_corpus),
                                         "style.init_from": str(style_run),
                                         **overrides})
    if cfg.style.init_from == "NOWHERE":
        cfg.style.init_from = str(tmp_path / "nowhere")
    with pytest.raises(ValueError, match=message):
        train(cfg, tmp_path / "b")
    assert not (tmp_path / "b").exists()


def test_tracking_scores_the_test_rewrites_and_keeps_the_best_g(style_run):
    rows = [json.loads(line) for line in (style_run / "metrics.jsonl").read_text().splitlines()]
    tracked = {r["step"]: r for r in rows if "eval_g" in r}
    assert set(tracked) == {90, 180}
    assert all(0 <= r["eval_acc"] <= 100 and r["eval_source_acc"] == 100 for r in tracked.values())
    best = json.loads((style_run / "checkpoint" / "best.json").read_text())
    assert best["metric"] == "g" and best["value"] == max(r["eval_g"] for r in tracked.values())
