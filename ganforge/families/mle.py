"""Maximum likelihood by teacher forcing: the baseline every text GAN paper compares with.

G step:  minimise -1/(N T) sum_n sum_t log G(y_t | y_<t) on a minibatch of training
         sequences (the true previous tokens as inputs), gradient norm clipped to
         seq.grad_clip. There is no D; the loop's D step does nothing.
Logged: loss_g = the minibatch's NLL per token (nats) before the update.
"""

from __future__ import annotations

from ganforge.families.sequence import SequenceFamily


class MLEFamily(SequenceFamily):
    name = "mle"
    trainable = ("G",)

    @classmethod
    def check(cls, cfg) -> None:
        super().check(cfg)
        if cfg.train.d_steps != 1:
            raise ValueError(f"train.family=mle has no D: train.d_steps must be 1, got "
                             f"{cfg.train.d_steps}")

    def __init__(self, cfg, data, device):
        super().__init__(cfg, data, device)
        self.set_optimizers({"G": self.G.parameters()})

    def d_step(self, batch, step, before_g=True):
        self.begin(step)
        return {}

    def g_step(self, batch, step):
        loss = self.mle_step(batch, "G")
        self.ema.update(step)
        return {"loss_g": loss}
