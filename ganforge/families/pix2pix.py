"""pix2pix (Isola et al. 2017): a conditional PatchGAN plus lambda * L1.

G: x -> y is a U-Net (`model.arch=unet`), D a PatchGAN that sees the pair (x, y) stacked on
the channel axis and returns one logit per patch:

    D minimises  1/2 [ L_D(D(x, y), D(x, G(x))) ]                 (the paper halves D's loss)
    G minimises  L_G(D(x, G(x))) + lambda E[ ||y - G(x)||_1 ]       (lambda = pix2pix.l1_weight)

with L_D, L_G the adversarial objective `loss.name` (ns by default: -E[log D(x, y)] -
E[log(1 - D(x, G(x)))] and -E[log D(x, G(x))]), averaged over every patch of every image.
On a task with class labels c (the digit tasks), `model.head=acgan` adds ACGAN's auxiliary
classifier C to D (on the pooled features of the pair): D adds aux_weight * CE(C(x, y), c)
(+ CE(C(x, G(x)), c) when loss.aux_on_fakes) and G adds aux_weight * CE(C(x, G(x)), c), so G
is pushed to draw a translation of the source's class, not a blend of likely classes.
The D step before the G step computes G(x) with gradients, and the G step on the same batch
back-propagates through that same output (no second forward pass of G).
"""

from __future__ import annotations

from contextlib import nullcontext

import torch
import torch.nn.functional as F
from torch import nn

from ganforge import objectives
from ganforge.families.base import EMA, ema_copy, frozen
from ganforge.families.translation import NOT_CONDITIONAL, TranslationFamily, patch_logits
from ganforge.nets import build_patch_discriminator, build_translator
from ganforge.train.distributed import unwrap


class Pix2PixFamily(TranslationFamily):
    """`adversarial=False` trains the same generator on lambda * L1 alone (the regression
    baseline of the benchmarks): no D is built and d_step only computes G(a) for the
    following g_step."""

    name = "pix2pix"
    data_kind = "paired"
    ema_names = {"G": "G_ema"}

    @classmethod
    def check(cls, cfg) -> None:
        super().check(cfg)
        m = cfg.model
        if m.head not in ("plain", "acgan") or (m.head == "plain" and m.num_classes):
            raise ValueError(NOT_CONDITIONAL.format(m.head, m.num_classes))
        if m.head == "acgan" and m.num_classes < 2:
            raise ValueError(f"model.head=acgan gives the PatchGAN a classifier of "
                             f"model.num_classes classes; set it (10 for the digit tasks), got "
                             f"{m.num_classes}")

    @classmethod
    def reads(cls, cfg) -> set[str]:
        keys = super().reads(cfg) | {"pix2pix.l1_weight", "model.head", "data.input_draws"}
        if cfg.model.head == "acgan":
            keys |= {"model.num_classes", "loss.aux_weight", "loss.aux_on_fakes"}
        return keys

    def __init__(self, cfg, data, device: torch.device, adversarial: bool = True):
        self.start(cfg, device, data)
        m = cfg.model
        self.adversarial = adversarial
        self.l1_weight = cfg.pix2pix.l1_weight
        self.class_head = adversarial and m.head == "acgan"
        self.aux_weight, self.aux_on_fakes = cfg.loss.aux_weight, cfg.loss.aux_on_fakes
        if self.class_head and data.num_classes != m.num_classes:
            have = (f"{data.num_classes} classes" if data.num_classes else
                    "no class labels (the bundled digit tasks edges, denoise, inpaint and "
                    "superres have them)")
            raise ValueError(f"model.head=acgan classifies the pairs into model.num_classes="
                             f"{m.num_classes} classes, but data.name={cfg.data.name} has {have}")
        self.G = build_translator(m, self.in_shape, self.out_shape).to(device)
        self.G_ema = ema_copy(self.G)
        self.nets = {"G": self.G, "G_ema": self.G_ema}
        self.trainable = ("G",)
        self.d_params: list[torch.Tensor] = []
        if adversarial:
            pair_channels = self.in_shape[0] + self.out_shape[0]
            self.D = build_patch_discriminator(m, pair_channels, self.in_shape[-1],
                                               m.num_classes if self.class_head else 0).to(device)
            self.nets["D"] = self.D
            self.d_params = list(self.D.parameters())
            self.trainable = ("G", "D")
        self.ema = EMA([(self.G_ema, self.G)], cfg.train)
        self.set_optimizers({"G": self.G.parameters(), "D": self.d_params} if adversarial
                            else {"G": self.G.parameters()})

    def d_step(self, batch, step, before_g=True):
        a, b = self._to_device(batch["a"]), self._to_device(batch["b"])
        with nullcontext() if before_g else torch.no_grad():
            fake = (self.G if before_g else unwrap(self.G))(a)
        if before_g:
            self.keep_for_g_step(batch, a=a, b=b, fake=fake)
        if not self.adversarial:
            return {}
        real_out, real_cls = self._judge(self.D, a, b)
        fake_out, fake_cls = self._judge(self.D, a, fake.detach())
        loss = 0.5 * self.objective.d_loss(real_out, fake_out, self.real_target)
        logs = {"d_real": real_out.detach().mean(), "d_fake": fake_out.detach().mean()}
        if self.class_head:
            y = self._to_device(batch["y"])
            aux = F.cross_entropy(real_cls, y)
            if self.aux_on_fakes:
                aux = aux + F.cross_entropy(fake_cls, y)
            loss = loss + self.aux_weight * aux
            logs["loss_aux_d"] = aux.detach()
        self.update("D", loss)
        return {"loss_d": loss.detach(), **logs}

    def _judge(self, d: nn.Module, a: torch.Tensor,
               b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """D's flattened patch logits of the pair (a, b), and its class logits (N, K) when it
        has a class head (else None)."""
        pair = torch.cat([a, b], 1)
        if not self.class_head:
            return patch_logits(d, pair), None
        patches, classes = d(pair, classes=True)
        return patches.reshape(-1), classes

    def _translation_of(self, batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(a, b, G(a)) for `batch`: G(a) from the D step on this same batch when there was one
        (it kept its graph), else a fresh forward pass."""
        kept = self.kept_for(batch)
        if kept is not None:
            return kept["a"], kept["b"], kept["fake"]
        a, b = self._to_device(batch["a"]), self._to_device(batch["b"])
        return a, b, self.G(a)

    def g_step(self, batch, step):
        a, b, fake = self._translation_of(batch)
        with frozen(self.d_params):  # D's gradients are not needed; its DDP wrapper bypassed
            l1 = objectives.l1_loss(fake, b)
            loss = self.l1_weight * l1
            logs = {"loss_l1": l1.detach()}
            if self.adversarial:
                fake_out, fake_cls = self._judge(unwrap(self.D), a, fake)
                adversarial = self.objective.g_loss(fake_out)
                loss = loss + adversarial
                logs["loss_g"] = adversarial.detach()
                if self.class_head:  # G: make D's classifier see the source digit's class
                    aux = F.cross_entropy(fake_cls, self._to_device(batch["y"]))
                    loss = loss + self.aux_weight * aux
                    logs["loss_aux_g"] = aux.detach()
            self.update("G", loss)
        self.ema.update(step)
        return logs
