"""The GAN family: unconditional, conditional (projection, ACGAN), InfoGAN and semi-supervised.

D step: minimise the objective's D loss on a minibatch of m real and m generated samples
(+ gradient penalty / R1 / auxiliary classifier); G step: minimise the G loss on m fresh
samples (with speed.reuse_fake: on the D step's m samples, as the PyTorch DCGAN example
does). Every loss is a pure function from `ganforge.objectives`; the forward passes run under
`speed.amp`'s autocast (speed.Precision).

D's head (model.head) decides what D returns and which terms join the losses:
  plain       one logit per sample
  projection  one logit, with the class projected onto D's features (Miyato & Koyama 2018)
  acgan       one logit and K class logits; D and G add aux_weight * CE(class logits, y)
  classifier  K class logits; D(x) = Z(x) / (Z(x) + 1) with Z = sum exp (Salimans et al. 2016),
              labelled real samples add CE on the K classes (semi-supervised)
and model.latent_code = K > 0 is InfoGAN: G takes a code c ~ U{0..K-1}, D's Q head recovers it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganforge import objectives
from ganforge.augment import AdaptiveAugment, diff_augment, parse_policy
from ganforge.families.base import EMA, Family, batch_sizes, ema_copy, frozen
from ganforge.families.gan_checks import check_gan_config
from ganforge.nets import ARCHS, build_gan_nets
from ganforge.objectives.penalties import top_k_count, top_k_outputs
from ganforge.train.distributed import unwrap


class GANFamily(Family):
    name = "gan"
    data_kind = "samples"
    speed_switches = frozenset({"amp", "reuse_fake", "joint_d_forward"})

    @classmethod
    def check(cls, cfg) -> None:
        check_gan_config(cfg)

    @classmethod
    def reads(cls, cfg) -> set[str]:
        loss, model = cfg.loss, cfg.model
        keys = {*ARCHS.get(model.arch).keys, *objectives.get_objective(loss.name).keys,
                "loss.name", "loss.label_smoothing", "loss.label_flip", "loss.instance_noise",
                "loss.top_k", "loss.diffaugment", "loss.ada_target", "loss.r1_weight",
                "data.labels", "data.labelled_per_class", "data.clusters", "speed.amp",
                "speed.reuse_fake", "speed.joint_d_forward"}
        if loss.instance_noise > 0:
            keys.add("loss.instance_noise_steps")
        if loss.top_k < 1:
            keys.add("loss.top_k_steps")
        if loss.ada_target > 0:
            keys.update({"loss.ada_kimg", "loss.ada_interval"})
        if model.head == "acgan" or model.latent_code > 0:
            keys.add("loss.aux_weight")
        if model.head == "acgan":
            keys.add("loss.aux_on_fakes")
        return keys

    @classmethod
    def budget_schedules(cls, cfg) -> dict[str, int]:
        schedules = super().budget_schedules(cfg)
        if cfg.loss.instance_noise > 0 and not cfg.loss.instance_noise_steps:  # _instance_noise
            schedules["loss.instance_noise (annealed over train.steps)"] = 0
        if cfg.loss.top_k < 1 and not cfg.loss.top_k_steps:  # _top_k
            schedules["loss.top_k (annealed over train.steps / 2)"] = 0
        return schedules

    def __init__(self, cfg, data, device: torch.device):
        self.start(cfg, device)
        model = cfg.model
        self.objective = objectives.get_objective(cfg.loss.name)
        if model.num_classes > 0 and data.num_classes and model.num_classes != data.num_classes:
            what = "clusters (data.clusters)" if cfg.data.clusters else "classes"
            raise ValueError(f"model.num_classes={model.num_classes} but the data "
                             f"({cfg.data.name}) has {data.num_classes} {what}: set "
                             f"model.num_classes={data.num_classes}")
        penalised = self.objective.lipschitz == "penalty" or cfg.loss.r1_weight > 0
        # the penalties differentiate D twice, which compiled graphs cannot
        self.double_backward_nets = ("D",) if penalised else ()
        g, d = build_gan_nets(model, data)
        self.G, self.D = g.to(device), d.to(device)
        if cfg.speed.joint_d_forward and any(
                isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.D.modules()):
            raise ValueError("speed.joint_d_forward would give D's batch norm one batch of real "
                             "and generated samples instead of one of each; use it with "
                             "model.d_norm=none, layer or instance, or spectral norm")
        self.G_ema = ema_copy(self.G)
        self.z_dim = model.z_dim
        self.num_classes = data.num_classes if model.num_classes or model.head != "plain" \
            else model.latent_code
        # G's input y: a class label, or InfoGAN's code c (then "y" is c throughout this class)
        self.conditional_g = model.num_classes > 0 or model.latent_code > 0
        self.head = "infogan" if model.latent_code > 0 else model.head
        # data.clusters: G draws clusters in their shares of the data; else classes uniformly
        self.label_prior = None if data.label_prior is None else data.label_prior.to(device)
        # sample grids: one row per class, except for clusters (then y follows the prior)
        self.class_rows = self.conditional_g and self.label_prior is None
        self.nets = {"G": self.G, "D": self.D, "G_ema": self.G_ema}
        self.ema, self.d_params = EMA([(self.G_ema, self.G)], cfg.train), list(self.D.parameters())
        self.set_optimizers({"G": self.G.parameters(), "D": self.D.parameters()})
        # flip/instance-noise randomness has its own stream so it never shifts the noise z
        self.aux_rng = torch.Generator(device="cpu").manual_seed(cfg.seed + 7)
        self.augment = parse_policy(cfg.loss.diffaugment)  # () when off
        self.ada = None  # ADA: the policy applies with a probability p steered by D's overfitting
        if cfg.loss.ada_target > 0:
            self.ada = AdaptiveAugment(cfg.loss.ada_target, cfg.loss.ada_kimg,
                                       cfg.loss.ada_interval, self.global_sum)

    # -- sampling -----------------------------------------------------------------
    def noise(self, n: int) -> torch.Tensor:
        return self.global_randn(n, self.z_dim)

    def fake_labels(self, n: int) -> torch.Tensor | None:
        if not self.conditional_g:
            return None
        if self.label_prior is not None:
            return self.global_categorical(self.label_prior, n)
        return self.global_randint(self.num_classes, n)

    def generate(self, net: nn.Module, z, y):
        return net(z, y) if self.conditional_g else net(z)

    # -- D's view of a batch ----------------------------------------------------------
    def discriminate(self, x, y, net: nn.Module | None = None):
        """(adversarial output (N,), class logits or None) for the configured head."""
        net = self.D if net is None else net
        if self.head == "plain":
            return net(x), None
        if self.head == "projection":
            return net(x, y), None
        if self.head in ("acgan", "infogan"):
            return net(x)
        # semi-supervised: K class logits; D(x) = Z(x) / (Z(x) + 1), so logit = log Z(x)
        class_logits = net(x)
        return torch.logsumexp(class_logits, dim=1), class_logits

    def _instance_noise(self, x: torch.Tensor, step: int) -> torch.Tensor:
        loss = self.cfg.loss
        if loss.instance_noise <= 0:
            return x
        anneal = loss.instance_noise_steps or self.cfg.train.steps
        std = objectives.instance_noise_std(step, loss.instance_noise, anneal)
        return objectives.add_instance_noise(x, std, self.aux_rng)

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        """T(x) of DiffAugment (loss.diffaugment), on everything D sees while training."""
        if not self.augment:
            return x
        return diff_augment(x, self.augment, self.aux_rng, 1.0 if self.ada is None else self.ada.p)

    def d_step(self, batch, step, before_g=True):
        with self.precision.autocast():
            loss, logs = self.d_loss(batch, step, keep=before_g and self.cfg.speed.reuse_fake)
        self.update("D", loss)
        if self.ada is not None:
            self.ada.step()
            logs.update(ada_p=torch.tensor(self.ada.p), ada_rt=torch.tensor(self.ada.sign_mean))
        if self.objective.lipschitz == "clip":
            objectives.clip_weights_(self.D, self.cfg.loss.clip)
        return logs

    def d_loss(self, batch, step, keep: bool = False):
        """(D's total loss, logs) on one minibatch of m real and m generated samples; `keep`:
        G(z) keeps its graph for the G step on this batch (speed.reuse_fake)."""
        cfg = self.cfg.loss
        real = batch["x"].to(self.device, non_blocking=True)
        y_real = batch["y"].to(self.device) if "y" in batch else None
        n = real.shape[0]
        y_fake = self.fake_labels(n)
        if keep:
            fake = self.generate(self.G, self.noise(n), y_fake)
            self.keep_for_g_step(batch, fake=fake, y=y_fake)
            fake = fake.detach()
        else:
            with torch.no_grad():  # no gradient to G here, so no DDP wrapper either
                fake = self.generate(unwrap(self.G), self.noise(n), y_fake)
        y_d_fake = y_fake if y_fake is not None else y_real  # projection D on unconditional G
        if cfg.label_flip > 0:
            real, fake = objectives.flip_labels(real, fake, cfg.label_flip, self.aux_rng)
        real_in = self._augment(self._instance_noise(real, step))
        fake_in = self._augment(self._instance_noise(fake, step))
        if self.cfg.speed.joint_d_forward:  # one pass over 2m samples: fewer, larger ops
            y_both = torch.cat([y_real, y_d_fake]) if self.head == "projection" else None
            out, cls = self.discriminate(torch.cat([real_in, fake_in]), y_both)
            real_out, fake_out = out.split(n)
            real_cls, fake_cls = cls.split(n) if cls is not None else (None, None)
        else:
            real_out, real_cls = self.discriminate(real_in, y_real)
            fake_out, fake_cls = self.discriminate(fake_in, y_d_fake)
        adv = self.objective.d_loss(real_out, fake_out, 1.0 - cfg.label_smoothing)
        if self.ada is not None:
            self.ada.observe(real_out)
        loss = adv
        logs = {"loss_d": adv.detach(), "d_real": real_out.detach().mean(),
                "d_fake": fake_out.detach().mean()}
        if self.objective.lipschitz == "penalty":
            gp = objectives.gradient_penalty(
                lambda x: self.discriminate(self._augment(x), y_real)[0], real, fake)
            loss = loss + cfg.gp_weight * gp
            logs["gp"] = gp.detach()
        if cfg.r1_weight > 0:
            real_in = real.detach().requires_grad_(True)
            r1 = objectives.r1_penalty(self.discriminate(self._augment(real_in), y_real)[0],
                                       real_in)
            loss = loss + 0.5 * cfg.r1_weight * r1
            logs["r1"] = r1.detach()
        if self.head == "acgan":
            aux = F.cross_entropy(real_cls, y_real)
            if cfg.aux_on_fakes:
                aux = aux + F.cross_entropy(fake_cls, y_fake)
            loss = loss + cfg.aux_weight * aux
            logs["loss_aux"] = aux.detach()
        if self.head == "infogan":  # Q learns c from G(z, c) only; real data carry no code
            info = F.cross_entropy(fake_cls, y_fake)
            loss = loss + cfg.aux_weight * info
            logs["loss_info"] = info.detach()
        if self.head == "classifier":
            labelled = y_real >= 0
            if labelled.any():
                sup = F.cross_entropy(real_cls[labelled], y_real[labelled])
                loss = loss + sup
                logs["loss_sup"] = sup.detach()
        return loss, logs

    def g_step(self, batch, step):
        # D's gradients are not needed for G's update: freeze it and bypass its DDP wrapper
        with frozen(self.d_params):
            with self.precision.autocast():
                loss, logs = self.g_loss(batch, unwrap(self.D), step)
            self.update("G", loss)
        self.ema.update(step)
        return logs

    def _top_k(self, fake_out: torch.Tensor, step: int) -> torch.Tensor:
        cfg = self.cfg.loss
        if cfg.top_k >= 1:
            return fake_out
        anneal = cfg.top_k_steps or max(1, self.cfg.train.steps // 2)
        k = top_k_count(step, fake_out.shape[0], cfg.top_k, anneal)
        return top_k_outputs(fake_out, k)

    def g_loss(self, batch, d: nn.Module, step: int = 0):
        """(G's loss, logs) on m fresh samples (or the D step's, with reuse_fake) scored by d."""
        kept = self.kept_for(batch)
        if kept is not None:
            fake, y_fake = kept["fake"], kept["y"]
        else:
            y_fake = self.fake_labels(batch["x"].shape[0])
            fake = None
        if y_fake is None and self.head == "projection":
            y_fake = batch["y"].to(self.device)
        if fake is None:
            fake = self.generate(self.G, self.noise(batch["x"].shape[0]), y_fake)
        fake_out, fake_cls = self.discriminate(self._augment(fake), y_fake, net=d)
        loss = self.objective.g_loss(self._top_k(fake_out, step))
        logs = {"loss_g": loss.detach()}
        if self.head in ("acgan", "infogan"):  # InfoGAN: -L_I(G, Q) up to the constant H(c)
            aux = F.cross_entropy(fake_cls, y_fake)
            loss = loss + self.cfg.loss.aux_weight * aux
        return loss, logs

    def extra_state(self):
        state = {"aux_rng": self.aux_rng.get_state(), **self.precision.state()}
        if self.label_prior is not None:  # G's clusters, kept with the weights that learnt them
            state["label_prior"] = self.label_prior.cpu()
        if self.ada is not None:
            state["ada"] = self.ada.state()
        return state

    def load_extra_state(self, state):
        self.aux_rng.set_state(state["aux_rng"])
        self.precision.load_state(state)
        if self.label_prior is not None and "label_prior" in state:
            self.label_prior = state["label_prior"].to(self.device)
        if self.ada is not None and "ada" in state:
            self.ada.load_state(state["ada"])

    def fixed_inputs(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        inputs = {"z": torch.randn(n, self.z_dim, generator=g)}
        if self.label_prior is not None:
            inputs["y"] = torch.multinomial(self.label_prior.cpu(), n, replacement=True,
                                            generator=g)
        elif self.conditional_g:  # grid rows of num_classes images; row r shows class r mod K
            inputs["y"] = (torch.arange(n) // self.num_classes) % self.num_classes
        return inputs

    def input_batches(self, n, seed, batch):
        noise = torch.Generator().manual_seed(seed)
        labels = None
        if self.label_prior is not None:
            # fixed_inputs draws the labels after all n noise vectors: a second generator
            # passes over those first
            labels = torch.Generator().manual_seed(seed)
            for size in batch_sizes(n, batch):
                torch.randn(size, self.z_dim, generator=labels)
        start = 0
        for size in batch_sizes(n, batch):
            inputs = {"z": torch.randn(size, self.z_dim, generator=noise)}
            if labels is not None:
                inputs["y"] = torch.multinomial(self.label_prior.cpu(), size, replacement=True,
                                                generator=labels)
            elif self.conditional_g:
                inputs["y"] = (torch.arange(start, start + size) // self.num_classes) % \
                    self.num_classes
            yield inputs
            start += size

    @torch.no_grad()
    def snapshot(self, inputs):
        z = inputs["z"].to(self.device)
        y = inputs["y"].to(self.device) if "y" in inputs else None
        return self.generate(self.G_ema, z, y).float().cpu()
