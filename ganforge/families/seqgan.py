"""SeqGAN (Yu et al. 2017): G is a policy that emits one token per step and learns from D's
verdict on finished sequences by policy gradient (REINFORCE), with Monte Carlo rollouts for the
value of unfinished ones.

Phases, by step:
  [0, seq.pretrain_g)                    MLE pre-training of G (teacher forcing, lr seq.lr_mle)
  [.., + seq.pretrain_d)                 pre-training of D on real sequences against G's
  then, adversarial, per step:           train.d_steps D steps, then seq.g_steps G steps

D step:  minimise -E[log D(x)] - E[log(1 - D(Y))], Y ~ G (D: the CNN of nets.sequence).
G step:  Y = y_1..y_T ~ G, then the action value of each prefix (eq. 4 of the paper)

    Q(Y_1:t-1, y_t) = 1/N sum_n D(Y^n_1:T),  Y^n ~ MC^beta(Y_1:t; N)   for t < T
                    = D(Y_1:T)                                          for t = T

where MC^beta completes the prefix with the rollout policy beta, a delayed copy of G
(after every G step: beta <- r beta + (1 - r) G, r = seq.rollout_rate), N = seq.rollouts;
then minimise the REINFORCE surrogate -1/B sum_b sum_t Q_bt log G(y_bt | Y_b,1:t-1), whose
gradient is minus the estimate of grad_theta E_{Y~G}[D(Y)] (eq. 6).
Logged: loss_g (MLE NLL or the surrogate), loss_d, reward = mean D(Y) of G's samples.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ganforge.families.base import ema_copy, frozen, make_adam, make_scheduler
from ganforge.families.sequence import SequenceFamily
from ganforge.nets.sequence import SequenceLSTM
from ganforge.objectives.losses import bce_d_loss


def policy_gradient_loss(log_probs: Tensor, rewards: Tensor) -> Tensor:
    """-1/B sum_b sum_t Q_bt log G(y_bt | ...): log_probs and rewards (B, T), rewards held
    fixed. Its gradient is the REINFORCE estimate of -grad E[R]."""
    return -(log_probs * rewards.detach()).sum(1).mean()


@torch.no_grad()
def rollout_rewards(rollout: SequenceLSTM, score: Callable[[Tensor], Tensor], tokens: Tensor,
                    n: int) -> Tensor:
    """Q (B, T) of eq. 4: for t < T the mean score of n completions of tokens[:, :t] by the
    rollout policy, for t = T the score of the sequence itself. `score` maps sequences (M, T)
    to D(Y) in (0, 1)."""
    b, steps = tokens.shape
    states = rollout.hidden_states(tokens)
    rewards = torch.empty(b, steps, device=tokens.device)
    for t in range(1, steps):
        # the state that has read the start token and tokens[:, :t-1]: continue_from reads
        # tokens[:, t-1] from it, then draws tokens t..T-1
        h, c = (s[:, t - 1].repeat(n, 1) for s in states)
        uniforms = torch.rand(n * b, steps - t, device=tokens.device)
        completed = rollout.continue_from(tokens[:, :t].repeat(n, 1), (h, c), uniforms)
        rewards[:, t - 1] = score(completed).view(n, b).mean(0)
    rewards[:, steps - 1] = score(tokens)
    return rewards


class SeqGANFamily(SequenceFamily):
    name = "seqgan"

    @classmethod
    def reads(cls, cfg) -> set[str]:
        return {*super().reads(cfg), "seq.lr_mle", "seq.d_emb", "seq.d_widths", "seq.d_filters",
                "seq.d_dropout", "seq.pretrain_g", "seq.pretrain_d", "seq.rollouts",
                "seq.rollout_rate", "seq.g_steps"}

    def __init__(self, cfg, data, device):
        super().__init__(cfg, data, device)
        self.D = self.build_d()
        self.rollout = ema_copy(self.G)  # beta, the delayed copy of G
        self.nets.update({"D": self.D, "rollout": self.rollout})
        self.d_params = list(self.D.parameters())
        self.set_optimizers({"G": self.G.parameters(), "D": self.D.parameters()})
        self.optimizers["G_mle"] = make_adam(self.G.parameters(), cfg.seq.lr_mle, cfg)
        self.schedulers["G_mle"] = make_scheduler(self.optimizers["G_mle"], cfg)
        self.idle_steps()
        s = cfg.seq
        self.adversarial_from = s.pretrain_g + s.pretrain_d

    def phase(self, step: int) -> str:
        if step < self.cfg.seq.pretrain_g:
            return "MLE pre-training"
        return "D pre-training" if step < self.adversarial_from else "adversarial"

    def score(self, tokens: Tensor) -> Tensor:
        """D(Y) = P(real), D without dropout (as SeqGAN's reward)."""
        self.D.eval()
        try:
            return torch.sigmoid(self.D(tokens))
        finally:
            self.D.train()

    def d_step(self, batch, step, before_g=True):
        self.begin(step)
        if step < self.cfg.seq.pretrain_g:
            return {}
        real = batch["x"].to(self.device, non_blocking=True)
        fake = self.draw(self.G, len(real))
        loss = bce_d_loss(self.D(real), self.D(fake))
        self.update("D", loss)
        return {"loss_d": loss.detach()}

    def g_step(self, batch, step):
        s = self.cfg.seq
        if step < s.pretrain_g:
            loss = self.mle_step(batch, "G_mle")
            self._follow(0.0)  # beta = G until the adversarial phase
        elif step < self.adversarial_from:
            return {}
        else:
            for _ in range(s.g_steps):
                loss, reward = self.policy_step(len(batch["x"]))
                self._follow(s.rollout_rate)
        self.ema.update(step)
        logs = {"loss_g": loss}
        if step >= self.adversarial_from:
            logs["reward"] = reward
        return logs

    def policy_step(self, n: int) -> tuple[Tensor, Tensor]:
        """One REINFORCE update of G on n fresh sequences; (surrogate loss, mean D(Y))."""
        tokens = self.draw(self.G, n)
        rewards = rollout_rewards(self.rollout, self.score, tokens, self.cfg.seq.rollouts)
        with frozen(self.d_params):
            loss = policy_gradient_loss(self.G.log_probs(tokens), rewards)
            self.clipped_update("G", loss)
        return loss.detach(), rewards[:, -1].mean()

    @torch.no_grad()
    def _follow(self, rate: float) -> None:
        """beta <- rate * beta + (1 - rate) * G."""
        torch._foreach_lerp_(list(self.rollout.parameters()), list(self.G.parameters()),
                             1.0 - rate)
