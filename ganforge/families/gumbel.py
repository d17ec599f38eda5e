"""A GAN on token sequences through the Gumbel-softmax (Jang et al. 2017; as RelGAN, Nie et
al. 2019, uses it): D's gradient reaches G directly.

At each step G's logits o_t and Gumbel noise g_t give the token y_t = argmax(o_t + g_t), an
exact draw from softmax(o_t), and its relaxation

    y~_t = softmax((o_t + g_t) / tau),

a point of the simplex that is differentiable in G's parameters; D reads the rows y~ of fakes
and the one-hot rows of real sequences. The next step reads the embedding of the hard y_t.
tau falls geometrically from seq.tau_start to seq.tau_end over the adversarial steps:
tau_i = tau_start (tau_end / tau_start)^(i / (train.steps - seq.pretrain_g)).

Phases: [0, seq.pretrain_g) MLE pre-training (teacher forcing, lr seq.lr_mle), then per step
train.d_steps D steps and one G step of the objective loss.name (ns, hinge, wgan-gp, ...):
D minimises d_loss(D(one_hot(x)), D(y~)) (+ loss.gp_weight * the gradient penalty for
wgan-gp; weights clipped to loss.clip for wasserstein), G minimises g_loss(D(y~)).
Logged: loss_g, loss_d, tau.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganforge import objectives
from ganforge.families.base import frozen, make_adam, make_scheduler
from ganforge.families.sequence import SequenceFamily


def temperature(step: int, start_step: int, steps: int, tau_start: float, tau_end: float) -> float:
    """tau_start (tau_end / tau_start)^progress, progress = the share of adversarial steps done."""
    progress = min(1.0, max(0, step - start_step) / max(1, steps - start_step))
    return tau_start * (tau_end / tau_start) ** progress


class GumbelFamily(SequenceFamily):
    name = "gumbel"

    @classmethod
    def check(cls, cfg) -> None:
        super().check(cfg)
        if cfg.seq.tau_end > cfg.seq.tau_start:
            raise ValueError(f"seq.tau_end={cfg.seq.tau_end} must not exceed seq.tau_start="
                             f"{cfg.seq.tau_start}: the temperature is annealed down")

    @classmethod
    def reads(cls, cfg) -> set[str]:
        return {*super().reads(cfg), "seq.lr_mle", "seq.d_emb", "seq.d_widths", "seq.d_filters",
                "seq.d_dropout", "seq.pretrain_g", "seq.tau_start", "seq.tau_end", "loss.name",
                *objectives.get_objective(cfg.loss.name).keys}

    @classmethod
    def budget_schedules(cls, cfg) -> dict[str, int]:
        schedules = super().budget_schedules(cfg)
        if cfg.seq.tau_end != cfg.seq.tau_start:
            # step pretrain_g samples at tau_start under any budget; the next one's tau does not
            schedules["the temperature seq.tau_start -> seq.tau_end"] = cfg.seq.pretrain_g + 1
        return schedules

    def __init__(self, cfg, data, device):
        super().__init__(cfg, data, device)
        self.objective = objectives.get_objective(cfg.loss.name)
        self.D = self.build_d()
        self.nets["D"] = self.D
        self.d_params = list(self.D.parameters())
        if self.objective.lipschitz == "penalty":
            self.double_backward_nets = ("D",)
        self.set_optimizers({"G": self.G.parameters(), "D": self.D.parameters()})
        self.optimizers["G_mle"] = make_adam(self.G.parameters(), cfg.seq.lr_mle, cfg)
        self.schedulers["G_mle"] = make_scheduler(self.optimizers["G_mle"], cfg)
        self.idle_steps()

    def phase(self, step: int) -> str:
        return "MLE pre-training" if step < self.cfg.seq.pretrain_g else "adversarial"

    def tau(self, step: int) -> float:
        s = self.cfg.seq
        return temperature(step, s.pretrain_g, self.cfg.train.steps, s.tau_start, s.tau_end)

    def d_step(self, batch, step, before_g=True):
        self.begin(step)
        if step < self.cfg.seq.pretrain_g:
            return {}
        real = F.one_hot(batch["x"].to(self.device, non_blocking=True), self.tokens.vocab).float()
        with torch.no_grad():
            fake = self.G.gumbel_sample(len(real), self.tau(step))[1]
        loss = self.objective.d_loss(self.D(real), self.D(fake))
        logs = {"loss_d": loss.detach()}
        if self.objective.lipschitz == "penalty":
            gp = objectives.gradient_penalty(self.D, real, fake)
            loss = loss + self.cfg.loss.gp_weight * gp
            logs["gp"] = gp.detach()
        self.update("D", loss)
        if self.objective.lipschitz == "clip":
            objectives.clip_weights_(self.D, self.cfg.loss.clip)
        return logs

    def g_step(self, batch, step):
        if step < self.cfg.seq.pretrain_g:
            loss = self.mle_step(batch, "G_mle")
        else:
            tau = self.tau(step)
            with frozen(self.d_params):
                relaxed = self.G.gumbel_sample(len(batch["x"]), tau)[1]
                loss = self.objective.g_loss(self.D(relaxed))
                self.clipped_update("G", loss)
            loss = loss.detach()
        self.ema.update(step)
        return {"loss_g": loss, "tau": torch.tensor(self.tau(step))}
