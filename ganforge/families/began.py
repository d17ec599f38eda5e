"""BEGAN (Berthelot, Schumm & Metz 2017): D is an auto-encoder, L(v) = E|v - D(v)|.

D step:  minimise L_D = L(x) - k_t L(G(z_D))   (z_D fresh noise, G held fixed)
G step:  minimise L_G = L(G(z_G))              (D held fixed), then the equilibrium update
         k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z_G))), 0, 1), k_0 = 0,
with L(x) from the last D step of the iteration and L(G(z_G)) measured before G's update;
gamma = began.gamma, lambda_k = began.lambda_k. Logged: loss_d = L_D, loss_g = L_G,
loss_real = L(x), loss_fake = L(G(z_G)), k = k_{t+1} and the convergence measure
m_global = L(x) + |gamma L(x) - L(G(z_G))|. k_t is part of the checkpoint (`extra_state`), so
a resumed run continues with the same k.
"""

from __future__ import annotations

import torch

from ganforge.families.base import EMA, NoiseFamily, ema_copy, frozen
from ganforge.nets import ARCHS, build_gan_nets
from ganforge.nets.began import (
    began_convergence,
    began_losses,
    began_update_k,
    reconstruction_loss,
)
from ganforge.train.distributed import unwrap


class BEGANFamily(NoiseFamily):
    name = "began"
    data_kind = "samples"

    @classmethod
    def check(cls, cfg) -> None:
        if cfg.model.arch != "began":
            raise ValueError(f"train.family=began needs model.arch=began (an auto-encoder D), "
                             f"got model.arch={cfg.model.arch}")

    @classmethod
    def reads(cls, cfg) -> set[str]:
        return {*ARCHS.get(cfg.model.arch).keys, "began.gamma", "began.lambda_k"}

    def __init__(self, cfg, data, device: torch.device):
        self.start(cfg, device)
        self.gamma, self.lambda_k = cfg.began.gamma, cfg.began.lambda_k
        g, d = build_gan_nets(cfg.model, data)
        self.G, self.D = g.to(device), d.to(device)
        self.G_ema = ema_copy(self.G)
        self.z_dim = cfg.model.z_dim
        self.nets = {"G": self.G, "D": self.D, "G_ema": self.G_ema}
        self.ema, self.d_params = EMA([(self.G_ema, self.G)], cfg.train), list(self.D.parameters())
        self.set_optimizers({"G": self.G.parameters(), "D": self.D.parameters()})
        self.k = 0.0  # k_0 = 0: D first learns to reconstruct real images only
        self._loss_real: torch.Tensor | None = None  # L(x) of the last D step

    def noise(self, n: int) -> torch.Tensor:
        return self.global_randn(n, self.z_dim)

    def d_step(self, batch, step, before_g=True):
        real = batch["x"].to(self.device, non_blocking=True)
        n = real.shape[0]
        with torch.no_grad():
            fake = unwrap(self.G)(self.noise(n))
        recon = self.D(torch.cat([real, fake]))  # one pass: BEGAN's D has no batch statistics
        loss_d, _, loss_real, loss_fake = began_losses(real, recon[:n], fake, recon[n:], self.k)
        self.update("D", loss_d)
        self._loss_real = loss_real.detach()
        return {"loss_d": loss_d.detach(), "loss_real": self._loss_real}

    def g_step(self, batch, step):
        if self._loss_real is None:
            raise RuntimeError("BEGANFamily.g_step needs a d_step first (it uses that step's L(x))")
        fake = self.G(self.noise(batch["x"].shape[0]))
        with frozen(self.d_params):  # no D gradients (and no DDP hooks) here
            loss_g = reconstruction_loss(fake, unwrap(self.D)(fake))  # L(G(z_G))
            self.update("G", loss_g)
        loss_real, loss_fake = self.global_sum(
            torch.stack([self._loss_real, loss_g.detach()])) / self.world
        loss_real, loss_fake = float(loss_real), float(loss_fake)
        self.k = began_update_k(self.k, self.gamma, loss_real, loss_fake, self.lambda_k)
        self.ema.update(step)
        return {
            "loss_g": loss_g.detach(),
            "loss_real": torch.tensor(loss_real),
            "loss_fake": torch.tensor(loss_fake),
            "k": torch.tensor(self.k),
            "m_global": torch.tensor(began_convergence(loss_real, loss_fake, self.gamma)),
        }

    def extra_state(self):
        return {"k": torch.tensor([self.k], dtype=torch.float64)}

    def load_extra_state(self, state):
        if "k" not in state:
            raise ValueError("this BEGAN checkpoint has no k_t (extra/k); it is not a BEGAN run")
        self.k = float(state["k"][0])
