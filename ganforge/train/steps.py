"""One step function per model family.

The loop (train/loop.py) knows no model family: it asks the family for k
discriminator steps and one generator step per iteration (Algorithm 1) and does
the bookkeeping. A family owns its nets and optimisers and turns minibatches into
parameter updates; each `d_step` / `g_step` returns a dict of detached scalar
tensors to log.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ganforge import objectives
from ganforge.augment import diff_augment, parse_policy
from ganforge.nets import build_gan_nets
from ganforge.nets.began import (
    began_convergence,
    began_losses,
    began_update_k,
    reconstruction_loss,
)
from ganforge.registry import Registry
from ganforge.train import speed

FAMILIES: Registry = Registry("train.family")


def make_adam(params, lr: float, optim_cfg) -> torch.optim.Adam:
    """Adam; `optim.fused=true` runs one fused kernel over all parameters (else foreach)."""
    return torch.optim.Adam(params, lr=lr, betas=(optim_cfg.beta1, optim_cfg.beta2),
                            fused=True if optim_cfg.fused else None)


def make_scheduler(opt, cfg) -> torch.optim.lr_scheduler.LambdaLR:
    """Constant, or linear decay to 0 from `decay_start * steps` to `steps` (CycleGAN style)."""
    o, steps = cfg.optim, cfg.train.steps
    if o.lr_decay == "none":
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    if o.lr_decay != "linear":
        raise ValueError(f"unknown optim.lr_decay {o.lr_decay!r}; valid: none, linear")
    start = int(o.decay_start * steps)
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: 1.0 - max(0, step - start) / max(1, steps - start)
    )


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, beta: float) -> None:
    """theta_ema <- beta * theta_ema + (1 - beta) * theta; buffers (BN statistics) are copied."""
    EMA(ema, model).update(beta)


class EMA:
    """ema_update over tensor lists gathered once: walking a module tree for its parameters
    every step costs a small MLP a few per cent of its step (the tensors never change
    identity: loading a checkpoint copies into them)."""

    def __init__(self, ema: nn.Module, model: nn.Module):
        self.ema_params, self.params = list(ema.parameters()), list(model.parameters())
        self.ema_buffers, self.buffers = list(ema.buffers()), list(model.buffers())

    @torch.no_grad()
    def update(self, beta: float) -> None:
        # one multi-tensor call each, not a Python loop over tensors
        torch._foreach_lerp_(self.ema_params, self.params, 1.0 - beta)
        if self.ema_buffers:
            torch._foreach_copy_(self.ema_buffers, self.buffers)


def set_requires_grad(params: list[torch.Tensor], flag: bool) -> None:
    for p in params:
        p.requires_grad_(flag)


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel wrapper (or the module itself)."""
    return getattr(module, "module", module)


class Family:
    """What the loop needs from a model family.

    nets:        every module to checkpoint, by name ("G", "D", "G_ema", ...)
    optimizers:  every optimiser to checkpoint, by name
    schedulers:  learning-rate schedules, stepped once per iteration
    """

    nets: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler]
    trainable: tuple[str, ...] = ("G", "D")  # nets that DDP wraps
    rank, world = 0, 1  # this process's slice of the global batch

    def wrap_nets(self, wrap) -> None:
        """Replace each trainable net by `wrap(net)` (DistributedDataParallel)."""
        for name in self.trainable:
            setattr(self, name, wrap(getattr(self, name)))
            self.nets[name] = getattr(self, name)

    def global_randn(self, n: int, *shape: int) -> torch.Tensor:
        """This process's slice of N(0, I) noise drawn for the whole global batch.

        Every process holds the same RNG state, draws n * world rows and keeps rows
        rank, rank + world, ...; so W processes reproduce one process's batch exactly.
        """
        z = torch.randn(n * self.world, *shape, device=self.device)
        return z[self.rank :: self.world]

    def global_randint(self, high: int, n: int) -> torch.Tensor:
        y = torch.randint(high, (n * self.world,), device=self.device)
        return y[self.rank :: self.world]

    def global_categorical(self, probs: torch.Tensor, n: int) -> torch.Tensor:
        """n draws of a class with P(y = c) = probs[c]; the global batch, this rank's slice."""
        y = torch.multinomial(probs, n * self.world, replacement=True)
        return y[self.rank :: self.world]

    def d_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def g_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def extra_state(self) -> dict[str, torch.Tensor]:
        """Tensors besides nets and optimisers that a resume needs (BEGAN's k_t, image pools)."""
        return {}

    def load_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        pass

    def fixed_inputs(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        """Inputs for the snapshot grids; the same for the whole run."""
        raise NotImplementedError

    @torch.no_grad()
    def snapshot(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Samples (or translations) of the EMA generator for `inputs`."""
        raise NotImplementedError


def _check_combination(cfg, objective, data) -> None:
    loss, model = cfg.loss, cfg.model
    if objective.name == "wasserstein" and model.spectral_norm:
        raise ValueError("weight clipping (loss.name=wasserstein) and model.spectral_norm both "
                         "constrain D's Lipschitz constant; use one (e.g. loss.name=hinge or "
                         "wgan-gp with spectral norm)")
    if loss.label_smoothing and not objective.accepts_real_target:
        raise ValueError(f"one-sided label smoothing needs real/fake targets; loss.name="
                         f"{objective.name} has none. Use ns, minimax, lsgan or fgan-gan.")
    if loss.label_flip and objective.critic:
        raise ValueError(f"label flipping needs real/fake labels; loss.name={objective.name} "
                         "trains a Wasserstein critic. Use ns, minimax, lsgan or hinge.")
    if not 0 <= loss.label_smoothing < 0.5:
        raise ValueError(f"loss.label_smoothing must be in [0, 0.5), got {loss.label_smoothing}")
    if not 0 < loss.top_k <= 1:
        raise ValueError(f"loss.top_k must be a fraction in (0, 1], got {loss.top_k}")
    if not 0 <= loss.label_flip < 0.5:
        raise ValueError(f"loss.label_flip must be in [0, 0.5), got {loss.label_flip}")
    if parse_policy(loss.diffaugment) and len(data.shape) != 3:
        raise ValueError(f"loss.diffaugment={loss.diffaugment} augments images; the data "
                         f"({cfg.data.name}) are {len(data.shape)}-D points: set it to ''")
    labelled = cfg.data.labels or cfg.data.clusters > 0
    if model.head in ("projection", "acgan", "classifier") and not labelled:
        raise ValueError(f"model.head={model.head} needs class labels: set data.labels=true "
                         f"(or data.clusters=K for k-means cluster labels)")
    if model.num_classes > 0 and data.num_classes and model.num_classes != data.num_classes:
        what = "clusters (data.clusters)" if cfg.data.clusters else "classes"
        raise ValueError(f"model.num_classes={model.num_classes} but the data ({cfg.data.name}) has "
                         f"{data.num_classes} {what}: set model.num_classes={data.num_classes}")
    if cfg.data.clusters and model.num_classes == 0:
        raise ValueError(f"data.clusters={cfg.data.clusters} labels the images for a G conditioned "
                         f"on the cluster: set model.num_classes={cfg.data.clusters} and "
                         f"model.head=projection (or acgan)")
    if model.num_classes > 0 and not labelled:
        raise ValueError("model.num_classes > 0 makes G class-conditional, which needs labelled "
                         "data: set data.labels=true (or model.num_classes=0)")
    if model.head == "acgan" and model.num_classes < 1:
        raise ValueError("model.head=acgan trains G to produce the class it is given: set "
                         "model.num_classes (e.g. 10) to make G class-conditional")
    if model.latent_code < 0:
        raise ValueError(f"model.latent_code must be >= 0 (0 = off), got {model.latent_code}")
    if model.latent_code > 0 and (model.num_classes or model.head != "plain"):
        raise ValueError("model.latent_code (InfoGAN) gives G an unsupervised categorical code "
                         "and D a Q head of its own: use it with model.num_classes=0 and "
                         "model.head=plain")
    if model.latent_code > 0 and model.arch not in ("dcgan", "resnet"):
        raise ValueError(f"model.latent_code (InfoGAN) needs a conditional image G: "
                         f"model.arch=dcgan or resnet, not {model.arch}")
    if cfg.data.labelled_per_class > 0 and model.head != "classifier":
        raise ValueError("data.labelled_per_class (unlabelled examples get label -1) is for the "
                         "semi-supervised D only: set model.head=classifier or "
                         "data.labelled_per_class=0")
    if model.head == "classifier" and objective.name not in ("ns", "minimax"):
        raise ValueError("the semi-supervised classifier D (model.head=classifier) needs "
                         "loss.name=ns or minimax")


@FAMILIES.register("gan")
class GANFamily(Family):
    """Unconditional, conditional (projection, ACGAN), InfoGAN and semi-supervised GANs.

    D step: minimise the objective's D loss on a minibatch of m real and m generated
    samples (+ gradient penalty / R1 / auxiliary classifier); G step: minimise the
    G loss on m fresh samples (with train.reuse_fake: on the D step's m samples, as the
    PyTorch DCGAN example does). Everything is pure loss functions from `objectives`.
    The forward passes run under `train.amp`'s autocast (speed.Precision).
    """

    supports_amp = supports_reuse_fake = supports_joint_d_forward = True

    def __init__(self, cfg, data, device: torch.device):
        self.cfg, self.device = cfg, device
        self.objective = objectives.get_objective(cfg.loss.name)
        _check_combination(cfg, self.objective, data)
        penalised = self.objective.name == "wgan-gp" or cfg.loss.r1_weight > 0
        # the penalties differentiate D twice, which compiled graphs cannot
        self.double_backward_nets = ("D",) if penalised else ()
        if penalised and cfg.train.amp == "fp16":
            raise ValueError("train.amp=fp16 with a gradient penalty (wgan-gp, R1) is not "
                             "supported: the input gradients would need loss scaling; use "
                             "train.amp=bf16")
        if cfg.train.reuse_fake and cfg.train.d_steps != 1:
            raise ValueError(f"train.reuse_fake needs train.d_steps=1 (the G step reuses the D "
                             f"step's samples), got d_steps={cfg.train.d_steps}")
        if cfg.train.joint_d_forward and cfg.model.minibatch_std:
            raise ValueError("train.joint_d_forward would let minibatch std mix real and "
                             "generated samples; set one of them false")
        self.precision = speed.Precision(cfg.train.amp, device)
        self._reused = None  # (G(z), y) of the last D step, for the G step (reuse_fake)
        g, d = build_gan_nets(cfg.model, data)
        self.G, self.D = g.to(device), d.to(device)
        if cfg.train.joint_d_forward and any(
                isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.D.modules()):
            raise ValueError("train.joint_d_forward would give D's batch norm one batch of real "
                             "and generated samples instead of one of each; use it with "
                             "model.d_norm=none, layer or instance, or spectral norm")
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.z_dim, self.data_shape = cfg.model.z_dim, data.shape
        self.num_classes = data.num_classes if cfg.model.num_classes or cfg.model.head != "plain" \
            else cfg.model.latent_code
        # G's input y: a class label, or InfoGAN's code c (then "y" is c throughout this class)
        self.conditional_g = cfg.model.num_classes > 0 or cfg.model.latent_code > 0
        self.head = "infogan" if cfg.model.latent_code > 0 else cfg.model.head
        # data.clusters: G draws clusters in their shares of the data; else classes uniformly
        self.label_prior = None if data.label_prior is None else data.label_prior.to(device)
        # sample grids: one row per class, except for clusters (then y follows the prior)
        self.class_rows = self.conditional_g and self.label_prior is None
        self.nets = {"G": self.G, "D": self.D, "G_ema": self.G_ema}
        self.ema, self.d_params = EMA(self.G_ema, self.G), list(self.D.parameters())
        self.optimizers = {
            "G": make_adam(self.G.parameters(), cfg.optim.lr_g, cfg.optim),
            "D": make_adam(self.D.parameters(), cfg.optim.lr_d, cfg.optim),
        }
        self.schedulers = {k: make_scheduler(o, cfg) for k, o in self.optimizers.items()}
        # flip/instance-noise randomness has its own stream so it never shifts the noise z
        self.aux_rng = torch.Generator(device="cpu").manual_seed(cfg.seed + 7)
        self.augment = parse_policy(cfg.loss.diffaugment)  # () when off

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
        return diff_augment(x, self.augment, self.aux_rng) if self.augment else x

    def d_step(self, batch, step):
        with self.precision.autocast():
            loss, logs = self.d_loss(batch, step)
        self.optimizers["D"].zero_grad(set_to_none=True)
        self.precision.backward("D", loss)
        self.precision.step("D", self.optimizers["D"])
        if self.objective.name == "wasserstein":
            objectives.clip_weights_(self.D, self.cfg.loss.clip)
        return logs

    def d_loss(self, batch, step):
        """(D's total loss, logs) on one minibatch of m real and m generated samples."""
        cfg = self.cfg.loss
        real = batch["x"].to(self.device, non_blocking=True)
        y_real = batch["y"].to(self.device) if "y" in batch else None
        n = real.shape[0]
        y_fake = self.fake_labels(n)
        if self.cfg.train.reuse_fake:  # G(z) keeps its graph for the G step
            self._reused = (self.generate(self.G, self.noise(n), y_fake), y_fake)
            fake = self._reused[0].detach()
        else:
            with torch.no_grad():  # no gradient to G here, so no DDP wrapper either
                fake = self.generate(unwrap(self.G), self.noise(n), y_fake)
        y_d_fake = y_fake if y_fake is not None else y_real  # projection D on unconditional G
        if cfg.label_flip > 0:
            real, fake = objectives.flip_labels(real, fake, cfg.label_flip, self.aux_rng)
        real_in = self._augment(self._instance_noise(real, step))
        fake_in = self._augment(self._instance_noise(fake, step))
        if self.cfg.train.joint_d_forward:  # one pass over 2m samples: fewer, larger ops
            y_both = torch.cat([y_real, y_d_fake]) if self.head == "projection" else None
            out, cls = self.discriminate(torch.cat([real_in, fake_in]), y_both)
            real_out, fake_out = out.split(n)
            real_cls, fake_cls = cls.split(n) if cls is not None else (None, None)
        else:
            real_out, real_cls = self.discriminate(real_in, y_real)
            fake_out, fake_cls = self.discriminate(fake_in, y_d_fake)
        adv = self.objective.d_loss(real_out, fake_out, 1.0 - cfg.label_smoothing)
        loss = adv
        logs = {"loss_d": adv.detach(), "d_real": real_out.detach().mean(),
                "d_fake": fake_out.detach().mean()}
        if self.objective.name == "wgan-gp":
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
        d = unwrap(self.D)
        set_requires_grad(self.d_params, False)
        with self.precision.autocast():
            loss, logs = self.g_loss(batch, d, step)
        self.optimizers["G"].zero_grad(set_to_none=True)
        self.precision.backward("G", loss)
        set_requires_grad(self.d_params, True)
        self.precision.step("G", self.optimizers["G"])
        t = self.cfg.train
        self.ema.update(0.0 if step < t.ema_start else t.ema)
        return logs

    def _top_k(self, fake_out: torch.Tensor, step: int) -> torch.Tensor:
        cfg = self.cfg.loss
        if cfg.top_k >= 1:
            return fake_out
        anneal = cfg.top_k_steps or max(1, self.cfg.train.steps // 2)
        k = objectives.top_k_count(step, fake_out.shape[0], cfg.top_k, anneal)
        return objectives.top_k_outputs(fake_out, k)

    def g_loss(self, batch, d: nn.Module, step: int = 0):
        """(G's loss, logs) on m fresh samples (or the D step's, with reuse_fake) scored by d."""
        if self._reused is not None:
            fake, y_fake = self._reused
            self._reused = None
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
        return state

    def load_extra_state(self, state):
        self.aux_rng.set_state(state["aux_rng"])
        self.precision.load_state(state)
        if self.label_prior is not None and "label_prior" in state:
            self.label_prior = state["label_prior"].to(self.device)

    def fixed_inputs(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        inputs = {"z": torch.randn(n, self.z_dim, generator=g)}
        if self.label_prior is not None:
            inputs["y"] = torch.multinomial(self.label_prior.cpu(), n, replacement=True,
                                            generator=g)
        elif self.conditional_g:  # grid rows of num_classes images; row r shows class r mod K
            inputs["y"] = (torch.arange(n) // self.num_classes) % self.num_classes
        return inputs

    @torch.no_grad()
    def snapshot(self, inputs):
        z = inputs["z"].to(self.device)
        y = inputs["y"].to(self.device) if "y" in inputs else None
        return self.generate(self.G_ema, z, y).float().cpu()


def build_family(cfg, data, device) -> Family:
    return FAMILIES.get(cfg.train.family)(cfg, data, device)


@FAMILIES.register("began")
class BEGANFamily(Family):
    """BEGAN (Berthelot, Schumm & Metz 2017): D is an auto-encoder, L(v) = E|v - D(v)|.

    D step:  minimise L_D = L(x) - k_t L(G(z_D))   (z_D fresh noise, G held fixed)
    G step:  minimise L_G = L(G(z_G))              (D held fixed), then the equilibrium update
             k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z_G))), 0, 1), k_0 = 0,
    with L(x) from the last D step of the iteration and L(G(z_G)) measured before G's update.
    Logged: loss_d = L_D, loss_g = L_G, loss_real = L(x), loss_fake = L(G(z_G)), k = k_{t+1}
    and the convergence measure m_global = L(x) + |gamma L(x) - L(G(z_G))|. k_t is part of the
    checkpoint (`extra_state`), so a resumed run continues with the same k.
    """

    def __init__(self, cfg, data, device: torch.device):
        m, loss = cfg.model, cfg.loss
        if m.arch != "began":
            raise ValueError(f"train.family=began needs model.arch=began (an auto-encoder D), "
                             f"got model.arch={m.arch}")
        if m.num_classes or m.head != "plain" or m.latent_code:
            raise ValueError("BEGAN is unconditional: use model.num_classes=0, model.head=plain "
                             "and model.latent_code=0")
        if not 0 < loss.began_gamma <= 1:
            raise ValueError(f"loss.began_gamma must be in (0, 1], got {loss.began_gamma}")
        if loss.began_lambda_k < 0:
            raise ValueError(f"loss.began_lambda_k must be >= 0, got {loss.began_lambda_k}")
        self.cfg, self.device = cfg, device
        self.gamma, self.lambda_k = loss.began_gamma, loss.began_lambda_k
        g, d = build_gan_nets(m, data)
        self.G, self.D = g.to(device), d.to(device)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.z_dim, self.data_shape = m.z_dim, data.shape
        self.num_classes, self.conditional_g, self.class_rows = 0, False, False
        self.nets = {"G": self.G, "D": self.D, "G_ema": self.G_ema}
        self.ema, self.d_params = EMA(self.G_ema, self.G), list(self.D.parameters())
        self.optimizers = {
            "G": make_adam(self.G.parameters(), cfg.optim.lr_g, cfg.optim),
            "D": make_adam(self.D.parameters(), cfg.optim.lr_d, cfg.optim),
        }
        self.schedulers = {k: make_scheduler(o, cfg) for k, o in self.optimizers.items()}
        self.k = 0.0  # k_0 = 0: D first learns to reconstruct real images only
        self._loss_real: torch.Tensor | None = None  # L(x) of the last D step

    def noise(self, n: int) -> torch.Tensor:
        return self.global_randn(n, self.z_dim)

    def d_step(self, batch, step):
        real = batch["x"].to(self.device, non_blocking=True)
        n = real.shape[0]
        with torch.no_grad():
            fake = unwrap(self.G)(self.noise(n))
        recon = self.D(torch.cat([real, fake]))  # one pass: BEGAN's D has no batch statistics
        loss_d, _, loss_real, loss_fake = began_losses(real, recon[:n], fake, recon[n:], self.k)
        self.optimizers["D"].zero_grad(set_to_none=True)
        loss_d.backward()
        self.optimizers["D"].step()
        self._loss_real = loss_real.detach()
        return {"loss_d": loss_d.detach(), "loss_real": self._loss_real}

    def _global_mean(self, values: torch.Tensor) -> torch.Tensor:
        """The mean over processes, so every process applies the same k update."""
        dist = torch.distributed
        if self.world > 1 and dist.is_available() and dist.is_initialized():
            values = values.clone()
            torch.distributed.all_reduce(values)
            values /= self.world
        return values

    def g_step(self, batch, step):
        if self._loss_real is None:
            raise RuntimeError("BEGANFamily.g_step needs a d_step first (it uses that step's L(x))")
        n = batch["x"].shape[0]
        fake = self.G(self.noise(n))
        d = unwrap(self.D)  # no D gradients (and no DDP hooks) here
        set_requires_grad(self.d_params, False)
        loss_g = reconstruction_loss(fake, d(fake))  # L(G(z_G))
        self.optimizers["G"].zero_grad(set_to_none=True)
        loss_g.backward()
        set_requires_grad(self.d_params, True)
        self.optimizers["G"].step()
        loss_real, loss_fake = self._global_mean(torch.stack([self._loss_real, loss_g.detach()]))
        loss_real, loss_fake = float(loss_real), float(loss_fake)
        self.k = began_update_k(self.k, self.gamma, loss_real, loss_fake, self.lambda_k)
        t = self.cfg.train
        self.ema.update(0.0 if step < t.ema_start else t.ema)
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

    def fixed_inputs(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        return {"z": torch.randn(n, self.z_dim, generator=g)}

    @torch.no_grad()
    def snapshot(self, inputs):
        return self.G_ema(inputs["z"].to(self.device)).float().cpu()


from ganforge.train import translation  # noqa: E402,F401  (registers pix2pix, cyclegan)
