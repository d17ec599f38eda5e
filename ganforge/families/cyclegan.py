"""CycleGAN (Zhu et al. 2017): two generators, two PatchGANs, cycle and identity losses.

G: A -> B and F: B -> A (`model.arch=resnet-translator`), PatchGAN D_B judges domain B (real
b against G(a)) and D_A judges domain A (real a against F(b)):

    D_B minimises L_D(D_B(b), D_B(pool_B(G(a))))       D_A likewise with a and pool_A(F(b))
    G, F minimise L_G(D_B(G(a))) + L_G(D_A(F(b)))
                  + lambda_cyc (s_fwd E||F(G(a)) - a||_1 + E||G(F(b)) - b||_1)
                  + lambda_id lambda_cyc (E||G(b) - b||_1 + E||F(a) - a||_1)

with lambda_cyc = cyclegan.cycle_weight (10), s_fwd = cyclegan.forward_cycle_scale (1),
lambda_id = cyclegan.identity_weight (0.5) and the LSGAN objective in the presets
(loss.name=lsgan). s_fwd < 1 eases the forward cycle a -> G(a) -> F(G(a)) where G loses
information (thickening a stroke): with full weight that cycle pays G to hide the input in
faint marks of its output (Chu et al. 2017, "CycleGAN, a master of steganography").

ganforge's LSGAN G loss is Mao et al.'s 1/2 E[(D(G(a)) - 1)^2]; the CycleGAN paper writes
E[(D(G(a)) - 1)^2], so against the same lambda_cyc the adversarial terms here weigh half as
much. pool_A, pool_B are histories of `cyclegan.pool_size` generated images
(`ganforge.families.image_pool`); their contents and coin-flip generators are part of the
checkpoint, so a resumed run draws exactly what an uninterrupted one would. One Adam holds G
and F, another D_A and D_B, as in the reference code. Logged: loss_d (D_A + D_B), loss_g
(both adversarial terms), loss_cycle (both directions, unweighted), loss_cycle_forward (the
A -> B -> A term alone, unweighted), loss_identity (both, unweighted; when used).
"""

from __future__ import annotations

import itertools
from contextlib import nullcontext

import torch
from torch import nn

from ganforge import objectives
from ganforge.families.base import EMA, ema_copy, frozen
from ganforge.families.image_pool import ImagePool
from ganforge.families.translation import NOT_CONDITIONAL, TranslationFamily, patch_logits
from ganforge.nets import build_patch_discriminator, build_translator
from ganforge.train.distributed import unwrap

#: seeds of the two image pools' coin flips, offset from the run's seed
POOL_SEED_OFFSETS = {"A": 101, "B": 202}


class CycleGANFamily(TranslationFamily):
    name = "cyclegan"
    data_kind = "unpaired"
    ema_names = {"G": "G_ema", "F": "F_ema"}
    trainable = ("G", "F", "D_A", "D_B")

    @classmethod
    def check(cls, cfg) -> None:
        super().check(cfg)
        if cfg.model.head != "plain" or cfg.model.num_classes:
            raise ValueError(NOT_CONDITIONAL.format(cfg.model.head, cfg.model.num_classes))
        if cfg.model.g_output != "image":
            raise ValueError(f"model.g_output={cfg.model.g_output} is for pix2pix "
                             f"colourisation; cyclegan needs model.g_output=image")

    @classmethod
    def reads(cls, cfg) -> set[str]:
        return super().reads(cfg) | {"cyclegan.cycle_weight", "cyclegan.forward_cycle_scale",
                                     "cyclegan.identity_weight", "cyclegan.pool_size"}

    def __init__(self, cfg, data, device: torch.device):
        self.start(cfg, device, data)
        m, c = cfg.model, cfg.cyclegan
        self.cycle_weight = c.cycle_weight
        self.forward_cycle_weight = c.forward_cycle_scale * c.cycle_weight
        self.identity_weight = c.identity_weight * c.cycle_weight
        if self.identity_weight > 0 and self.in_shape[0] != self.out_shape[0]:
            raise ValueError(f"the identity loss compares G(b) with b, so it needs domains with "
                             f"the same channels (A has {self.in_shape[0]}, B "
                             f"{self.out_shape[0]}); set cyclegan.identity_weight=0")
        size = self.in_shape[-1]
        self.G = build_translator(m, self.in_shape, self.out_shape).to(device)
        self.F = build_translator(m, self.out_shape, self.in_shape).to(device)
        self.D_A = build_patch_discriminator(m, self.in_shape[0], size).to(device)
        self.D_B = build_patch_discriminator(m, self.out_shape[0], size).to(device)
        self.G_ema, self.F_ema = ema_copy(self.G), ema_copy(self.F)
        self.nets = {"G": self.G, "F": self.F, "D_A": self.D_A, "D_B": self.D_B,
                     "G_ema": self.G_ema, "F_ema": self.F_ema}
        self.ema = EMA([(self.G_ema, self.G), (self.F_ema, self.F)], cfg.train)
        self.d_params = [*self.D_A.parameters(), *self.D_B.parameters()]
        self.set_optimizers({"G": itertools.chain(self.G.parameters(), self.F.parameters()),
                             "D": self.d_params})
        self.pools = {side: ImagePool(c.pool_size, generator=cfg.seed + offset)
                      for side, offset in POOL_SEED_OFFSETS.items()}

    def _translations_of(self, batch) -> tuple[torch.Tensor, ...]:
        """(a, b, G(a), F(b)), reusing the D step's forward passes on this same batch."""
        kept = self.kept_for(batch)
        if kept is not None:
            return kept["a"], kept["b"], kept["fake_b"], kept["fake_a"]
        a, b = self._to_device(batch["a"]), self._to_device(batch["b"])
        return a, b, self.G(a), self.F(b)

    def _d_loss(self, d: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return self.objective.d_loss(patch_logits(d, real), patch_logits(d, fake),
                                     self.real_target)

    def d_step(self, batch, step, before_g=True):
        a, b = self._to_device(batch["a"]), self._to_device(batch["b"])
        with nullcontext() if before_g else torch.no_grad():
            g, f = (self.G, self.F) if before_g else (unwrap(self.G), unwrap(self.F))
            fake_b, fake_a = g(a), f(b)
        if before_g:
            self.keep_for_g_step(batch, a=a, b=b, fake_b=fake_b, fake_a=fake_a)
        loss_b = self._d_loss(self.D_B, b, self.pools["B"].query(fake_b))
        loss_a = self._d_loss(self.D_A, a, self.pools["A"].query(fake_a))
        loss = loss_a + loss_b
        self.update("D", loss)
        return {"loss_d": loss.detach(), "loss_d_a": loss_a.detach(), "loss_d_b": loss_b.detach()}

    def g_objective(self, a, b, fake_b, fake_a) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(the loss G and F minimise, its logged parts); see the module docstring."""
        d_a, d_b = unwrap(self.D_A), unwrap(self.D_B)
        adversarial = (self.objective.g_loss(patch_logits(d_b, fake_b))
                       + self.objective.g_loss(patch_logits(d_a, fake_a)))
        forward = objectives.cycle_consistency_loss(a, self.F(fake_b))
        backward = objectives.cycle_consistency_loss(b, self.G(fake_a))
        loss = adversarial + self.forward_cycle_weight * forward + self.cycle_weight * backward
        logs = {"loss_g": adversarial.detach(), "loss_cycle": (forward + backward).detach(),
                "loss_cycle_forward": forward.detach()}
        if self.identity_weight > 0:
            identity = (objectives.identity_loss(b, self.G(b))
                        + objectives.identity_loss(a, self.F(a)))
            loss = loss + self.identity_weight * identity
            logs["loss_identity"] = identity.detach()
        return loss, logs

    def g_step(self, batch, step):
        with frozen(self.d_params):
            loss, logs = self.g_objective(*self._translations_of(batch))
            self.update("G", loss)
        self.ema.update(step)
        return logs

    def extra_state(self):
        return {f"pool_{side}/{key}": value for side, pool in self.pools.items()
                for key, value in pool.state_dict().items()}

    def load_extra_state(self, state):
        for side, pool in self.pools.items():
            prefix = f"pool_{side}/"
            part = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
            if not part:
                raise ValueError(f"this checkpoint has no image pool {side} (extra/{prefix}...); "
                                 "it is not a CycleGAN run")
            pool.load_state_dict(part)

    def _columns(self, inputs):
        a = inputs["a"]
        fake_b = self.translate(a)
        with torch.no_grad():
            reconstructed = self.F_ema(self._to_device(fake_b)).float().cpu()
        columns = [a, fake_b, reconstructed]
        if "b" in inputs:
            columns.append(inputs["b"])
        return columns
