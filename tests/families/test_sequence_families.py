"""The token-sequence families: SeqGAN's REINFORCE estimator against the exact gradient of
E_{Y~G}[D(Y)] enumerated over a tiny vocabulary, its rollout rewards, and short runs of mle,
seqgan and gumbel that must lower the oracle NLL, raise the expected reward or resume exactly."""

from __future__ import annotations

import itertools
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from ganforge.api import load_run
from ganforge.config import load_config
from ganforge.eval.tokens import evaluate_tokens
from ganforge.families.seqgan import policy_gradient_loss, rollout_rewards
from ganforge.nets.sequence import SequenceLSTM
from ganforge.run import Run, build
from ganforge.train.loop import train

V, T = 3, 3
ALL = torch.tensor(list(itertools.product(range(V), repeat=T)))  # all 27 sequences
TINY = {"seq.vocab": 20, "seq.length": 6, "seq.train_size": 512, "seq.test_size": 256,
        "seq.oracle_emb": 8, "seq.oracle_hidden": 8, "seq.emb": 16, "seq.hidden": 16,
        "data.batch_size": 32, "train.progress": False, "train.log_every": 10,
        "train.sample_count": 4}


def score_table() -> torch.Tensor:
    """A fixed D(Y) in (0, 1) for each of the V^T sequences."""
    return torch.rand(len(ALL), generator=torch.Generator().manual_seed(3), dtype=torch.float64)


def table_score(table: torch.Tensor):
    def score(tokens: torch.Tensor) -> torch.Tensor:
        index = (tokens * torch.tensor([V * V, V, 1])).sum(1)
        return table[index].to(torch.float32)
    return score


def exact_q(g: SequenceLSTM, table: torch.Tensor) -> torch.Tensor:
    """Q(Y_1:t) = E[D(Y) | Y_1:t] under g, enumerated: (27, T)."""
    p = g.log_probs(ALL).detach().exp()  # per position, (27, T)
    q = torch.empty(len(ALL), T, dtype=torch.float64)
    for i, y in enumerate(ALL):
        for t in range(1, T + 1):
            same = (ALL[:, :t] == y[:t]).all(1)
            weight = p[same, t:].prod(1)  # p of the completion given the prefix
            q[i, t - 1] = (weight * table[same]).sum()
    return q


def tiny_policy(seed: int = 0) -> SequenceLSTM:
    torch.manual_seed(seed)
    return SequenceLSTM(V, 4, 4, T, std=0.7).double()


def test_the_expected_reinforce_estimate_is_the_exact_gradient():
    g, table = tiny_policy(), score_table()
    params = list(g.parameters())
    # exact: grad of J = sum_Y p(Y) D(Y)
    j = (g.log_probs(ALL).sum(1).exp() * table).sum()
    exact = torch.autograd.grad(j, params)
    # the estimator's expectation: sum_Y p(Y) sum_t Q_t grad log G(y_t | ...), i.e. minus the
    # gradient of the surrogate with rewards p(Y) Q (the surrogate averages over the batch)
    p = g.log_probs(ALL).sum(1).exp().detach()
    surrogate = policy_gradient_loss(g.log_probs(ALL), exact_q(g, table) * p[:, None] * len(ALL))
    estimate = torch.autograd.grad(-surrogate, params)
    for a, b in zip(exact, estimate):
        assert abs(a - b).max() < 1e-12


def test_monte_carlo_rollouts_estimate_the_action_values_and_end_on_d():
    g, table = tiny_policy(), score_table()
    score = table_score(table)
    torch.manual_seed(1)
    with torch.no_grad():
        q = rollout_rewards(g.float(), score, ALL, n=4000)
    want = exact_q(g.double(), table)
    assert abs(q[:, :-1].double() - want[:, :-1]).max() < 0.03  # sd of a mean of 4000 <= 0.008
    assert torch.equal(q[:, -1], score(ALL))  # a complete sequence: D's own score


def test_the_sampled_reinforce_gradient_points_along_the_exact_one():
    g, table = tiny_policy(), score_table()
    params = list(g.parameters())
    exact = torch.cat([x.flatten() for x in torch.autograd.grad(
        (g.log_probs(ALL).sum(1).exp() * table).sum(), params)])
    torch.manual_seed(2)
    with torch.no_grad():
        tokens = g.float().sample(torch.rand(20_000, T))
        g.double()
        rewards = rollout_rewards(g.float(), table_score(table), tokens, n=8)
    g.double()
    loss = policy_gradient_loss(g.log_probs(tokens), rewards.double())
    sampled = torch.cat([x.flatten() for x in torch.autograd.grad(-loss, params)])
    cosine = float(exact @ sampled / (exact.norm() * sampled.norm()))
    assert cosine > 0.98 and abs(float(sampled.norm() / exact.norm()) - 1) < 0.1


def test_policy_gradient_steps_raise_the_expected_reward():
    g, table = tiny_policy(), score_table()
    g.float()
    score = table_score(table)
    opt = torch.optim.Adam(g.parameters(), lr=0.1)

    def expected() -> float:
        with torch.no_grad():
            return float((g.log_probs(ALL).sum(1).exp().double() * table).sum())

    before = expected()
    torch.manual_seed(0)
    for _ in range(60):
        with torch.no_grad():
            tokens = g.sample(torch.rand(64, T))
        rewards = rollout_rewards(g, score, tokens, n=4)
        opt.zero_grad()
        policy_gradient_loss(g.log_probs(tokens), rewards).backward()
        opt.step()
    # from 0.36 to near the best sequence's 0.97: G learns to emit it
    assert expected() > before + 0.8 * (float(table.max()) - before)


def test_seqgan_rewards_a_complete_sequence_with_d_own_score():
    cfg = load_config("oracle-seqgan", {**TINY, "seq.d_widths": "2,3", "seq.d_filters": 8})
    _, family = build(cfg)
    tokens = family.draw(family.G, 8)
    rewards = rollout_rewards(family.rollout, family.score, tokens, 3)
    family.D.eval()
    with torch.no_grad():
        assert torch.equal(rewards[:, -1], torch.sigmoid(family.D(tokens)))


def oracle_nll(run: Run) -> float:
    return evaluate_tokens(run, ["nll_oracle"], n=2000)["metrics"]["nll_oracle"]


MLE_SHORT = {**TINY, "train.steps": 150, "optim.lr_g": 0.02, "train.checkpoint_every": 150,
             "train.sample_every": 150, "train.eval_every": 50}


@pytest.fixture(scope="module")
def mle_run(tmp_path_factory):
    """oracle-mle, 150 steps, nll_test tracked every 50 (the best checkpoint kept)."""
    out = tmp_path_factory.mktemp("mle") / "run"
    train(load_config("oracle-mle", MLE_SHORT), out)
    return out


def test_a_short_mle_run_lowers_the_oracle_nll(tmp_path, mle_run):
    cfg = load_config("oracle-mle", MLE_SHORT)
    data, family = build(cfg)
    before = oracle_nll(Run(tmp_path, cfg, data, family, 0))
    after = oracle_nll(load_run(mle_run))
    assert after < before - 0.3, (before, after)


@pytest.mark.parametrize("best", [False, True])
def test_a_gan_starts_from_the_mle_run_last_or_best_g(mle_run, tmp_path, best):
    folder = tmp_path / "mle"
    shutil.copytree(mle_run, folder)
    best_file = folder / "checkpoint" / "best-nets.safetensors"
    tensors = load_file(str(best_file))  # marked, so that best and last cannot agree
    save_file({k: v + 1 if k.startswith("G/") else v for k, v in tensors.items()}, str(best_file))
    cfg = load_config("oracle-seqgan", {**TINY, "seq.init_from": str(folder),
                                        "seq.init_best": best, "seq.pretrain_g": 0})
    family = build(cfg)[1]
    family.begin(0)
    last = load_file(str(folder / "checkpoint" / "nets-0000150.safetensors"))
    expected = load_file(str(best_file)) if best else last
    for name, value in family.G.state_dict().items():
        assert torch.equal(value, expected[f"G/{name}"]), name
    assert torch.equal(family.G_ema.state_dict()["Wo"], expected["G/Wo"])


@pytest.mark.parametrize("preset, extra", [
    ("oracle-seqgan", {"seq.pretrain_g": 2, "seq.pretrain_d": 2, "seq.rollouts": 2,
                       "train.d_steps": 2}),
    ("oracle-gumbel", {"seq.pretrain_g": 2, "loss.name": "wgan-gp"}),
])
def test_sequence_gans_resume_exactly(tmp_path, preset, extra):
    cfg = {**TINY, **extra, "seq.d_widths": "2,3", "seq.d_filters": 8, "train.steps": 6,
           "train.checkpoint_every": 3, "train.sample_every": 3, "train.log_every": 1}
    train(load_config(preset, cfg), tmp_path / "straight")
    # oracle-gumbel: stopped after step 2 = seq.pretrain_g, the last whose temperature is
    # tau_start under either budget, so check_resumable takes the new budget
    train(load_config(preset, {**cfg, "train.steps": 3}), tmp_path / "split")
    train(load_config(preset, cfg), tmp_path / "split", resume=True)
    a = load_file(str(next((tmp_path / "straight" / "checkpoint").glob("nets-0000006*"))))
    b = load_file(str(next((tmp_path / "split" / "checkpoint").glob("nets-0000006*"))))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (tmp_path / "straight" / "samples").glob("*.txt")
