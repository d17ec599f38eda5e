"""The interface between the training loop and a model family, and what every family shares.

A family owns its nets, optimisers and schedules and turns minibatches into parameter
updates. Per iteration of Algorithm 1 the loop (train/loop.py) calls

    k times:  family.d_step(batch, step, before_g)   (before_g: the last of the k D steps)
    once:     family.g_step(batch, step)             (batch: that last D step's minibatch)

and each returns a dict of detached scalar tensors to log. Everything the loop, the speed
switches, the CLI and the data layer need to know of a family is declared below.

Shared by all: `EMA` (the moving average of the generators), `frozen` (D's parameters leave
the autograd graph while G learns), `update` (one optimiser step through the family's
precision) and `keep_for_g_step` / `kept_for` (a G step reusing its D step's forward pass).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterable, Iterator
from typing import ClassVar

import torch
from torch import nn

from ganforge.train import speed

#: what build_data delivers for a family
DATA_KINDS = ("samples", "paired", "unpaired", "tokens", "styles")


class Family:
    """A model family: the class attributes say what it is, an instance trains it.

    Declared by each family class:
      name            its train.family
      data_kind       "samples" (toy points or images), "paired" or "unpaired" (translation)
      speed_switches  which of speed.amp, speed.reuse_fake, speed.joint_d_forward it honours
                      (speed.compile, channels_last, fused and on_device work for every family)
      translates      its outputs are translations of inputs, not draws from noise

    Set by each instance:
      nets            every module to checkpoint, by name ("G", "D", "G_ema", ...)
      optimizers      every optimiser to checkpoint, by name
      schedulers      learning-rate schedules, stepped once per iteration
      trainable       nets that DDP wraps
      double_backward_nets  nets a penalty differentiates twice (left out of torch.compile)
      conditional_g, num_classes, class_rows   G takes a class (of num_classes); sample grids
                      show one row per class
    """

    name: ClassVar[str]
    data_kind: ClassVar[str]
    speed_switches: ClassVar[frozenset[str]] = frozenset()
    translates: ClassVar[bool] = False

    nets: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler]
    trainable: tuple[str, ...] = ("G", "D")
    double_backward_nets: tuple[str, ...] = ()
    conditional_g: bool = False
    num_classes: int = 0
    class_rows: bool = False
    rank, world = 0, 1  # this process's slice of the global batch

    # -- what validation asks before any data loads ------------------------------------------
    @classmethod
    def check(cls, cfg) -> None:
        """Refuse settings this family cannot honour (config only; data facts come later)."""

    @classmethod
    def reads(cls, cfg) -> set[str]:
        """The config keys this family reads besides the ones every run reads
        (ganforge.validate.COMMON_KEYS); a key outside both that differs from its default is
        refused, so that nothing is silently ignored."""
        return set()

    @classmethod
    def budget_schedules(cls, cfg) -> dict[str, int]:
        """The schedules that follow train.steps, each with the step from which its values
        depend on train.steps: a resume may change the budget only before it."""
        return {"optim.lr_decay=linear": decay_begins(cfg)} if cfg.optim.lr_decay == "linear" else {}

    # -- training ------------------------------------------------------------------------------
    def start(self, cfg, device: torch.device) -> None:
        """The state every family keeps: its config, device and precision."""
        self.cfg, self.device = cfg, device
        amp = cfg.speed.amp if "amp" in self.speed_switches else "none"
        self.precision = speed.Precision(amp, device)
        self._kept: tuple[dict, dict] | None = None

    def d_step(self, batch: dict[str, torch.Tensor], step: int,
               before_g: bool = True) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def g_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def set_optimizers(self, params: dict[str, Iterable[torch.Tensor]]) -> None:
        """One Adam per player, "G" at optim.lr_g and "D" at optim.lr_d, with its schedule."""
        lrs = {"G": self.cfg.optim.lr_g, "D": self.cfg.optim.lr_d}
        self.optimizers = {name: make_adam(p, lrs[name], self.cfg) for name, p in params.items()}
        self.schedulers = {name: make_scheduler(o, self.cfg) for name, o in self.optimizers.items()}

    def update(self, name: str, loss: torch.Tensor) -> None:
        """One step of optimiser `name` on `loss` (scaled and unscaled under fp16)."""
        optimizer = self.optimizers[name]
        optimizer.zero_grad(set_to_none=True)
        self.precision.backward(name, loss)
        self.precision.step(name, optimizer)

    def keep_for_g_step(self, batch: dict, **tensors: torch.Tensor) -> None:
        """Keep tensors of a D step (G's outputs with their graph) for the G step on `batch`."""
        self._kept = (batch, tensors)

    def kept_for(self, batch: dict) -> dict[str, torch.Tensor] | None:
        """What the D step on this same `batch` kept, once; None when it kept nothing."""
        kept, self._kept = self._kept, None
        return kept[1] if kept is not None and kept[0] is batch else None

    def wrap_nets(self, wrap) -> None:
        """Replace each trainable net by `wrap(net)` (DistributedDataParallel)."""
        for name in self.trainable:
            setattr(self, name, wrap(getattr(self, name)))
            self.nets[name] = getattr(self, name)

    def global_sum(self, values: torch.Tensor) -> torch.Tensor:
        """`values` summed over the processes of a distributed run (themselves on one), so
        that every process takes the same decision from them (BEGAN's k_t, ADA's p)."""
        dist = torch.distributed
        if self.world > 1 and dist.is_available() and dist.is_initialized():
            values = values.to(self.device, copy=True)
            dist.all_reduce(values)
        return values

    # -- the global batch's randomness ------------------------------------------------------
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

    def phase(self, step: int) -> str:
        """The name of the training phase at `step`, shown on the progress bar ("": one
        phase). Families that pre-train before the adversarial game say which."""
        return ""

    # -- checkpoint and pictures -------------------------------------------------------------
    def extra_state(self) -> dict[str, torch.Tensor]:
        """Tensors besides nets and optimisers that a resume needs (BEGAN's k_t, image pools)."""
        return {}

    def load_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        pass

    def fixed_inputs(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        """Inputs for the snapshot grids; the same for the whole run."""
        raise NotImplementedError

    def input_batches(self, n: int, seed: int, batch: int) -> Iterator[dict[str, torch.Tensor]]:
        """fixed_inputs(n, seed) in consecutive slices of about `batch` rows (see batch_sizes),
        each drawn when it is needed: `ganforge sample` writes millions of samples in memory
        bounded by the batch. Families whose generators draw noise implement it."""
        raise NotImplementedError

    @torch.no_grad()
    def snapshot(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Samples (or translations) of the EMA generator for `inputs`."""
        raise NotImplementedError


class NoiseFamily(Family):
    """A family whose EMA generator maps noise z ~ N(0, I) of size `self.z_dim` alone to samples
    (BEGAN, the VAE's decoder): the pictures' inputs and the snapshot are the same for all."""

    z_dim: int

    def fixed_inputs(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        return {"z": torch.randn(n, self.z_dim, generator=g)}

    def input_batches(self, n, seed, batch):
        noise = torch.Generator().manual_seed(seed)
        for size in batch_sizes(n, batch):
            yield {"z": torch.randn(size, self.z_dim, generator=noise)}

    @torch.no_grad()
    def snapshot(self, inputs):
        return self.G_ema(inputs["z"].to(self.device)).float().cpu()


# ----------------------------------------------------------------------------- shared parts


def batch_sizes(n: int, batch: int) -> Iterator[int]:
    """Sizes of consecutive slices of n rows, about `batch` each, whose draws from one seeded
    torch.Generator equal a single draw of all n rows.

    On the CPU, torch.randn fills blocks of 16 values and redraws the last 16 of a tensor whose
    size is no multiple of 16, and torch.multinomial takes another path for a single sample.
    So every slice but the last holds a multiple of 16 rows and the last at least 16 (or all
    n): each slice then covers the same blocks as the single draw.
    """
    rows = max(16, batch // 16 * 16)
    full, rest = divmod(n, rows)
    if full and 0 < rest < 16:
        full, rest = full - 1, rows + rest
    for _ in range(full):
        yield rows
    if rest:
        yield rest


def make_adam(params, lr: float, cfg) -> torch.optim.Adam:
    """Adam with optim.beta1/beta2; `speed.fused` runs one fused kernel over all parameters
    (else foreach)."""
    o = cfg.optim
    return torch.optim.Adam(params, lr=lr, betas=(o.beta1, o.beta2),
                            fused=True if cfg.speed.fused else None)


def decay_begins(cfg) -> int:
    """The step where optim.lr_decay=linear starts to lower the rate."""
    return int(cfg.optim.decay_start * cfg.train.steps)


def make_scheduler(opt, cfg) -> torch.optim.lr_scheduler.LambdaLR:
    """Constant, or linear decay to 0 from `decay_start * steps` to `steps` (CycleGAN style)."""
    steps = cfg.train.steps
    if cfg.optim.lr_decay == "none":
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    start = decay_begins(cfg)
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: max(0.0, 1.0 - max(0, step - start) / max(1, steps - start))
    )


def ema_copy(net: nn.Module) -> nn.Module:
    """The EMA generator: a copy in eval mode that autograd never tracks."""
    return copy.deepcopy(net).eval().requires_grad_(False)


class EMA:
    """theta_ema <- beta_t theta_ema + (1 - beta_t) theta for (ema, net) pairs; buffers (BN
    statistics) are copied. beta_t is 0 (a plain copy) before train.ema_start, then, with
    t = step - ema_start + 1 the updates averaged so far and r = train.ema_rampup,

        beta_t = min(train.ema, 0.5 ** (1 / (r t)))      (r = 0: beta_t = train.ema)

    i.e. the average's half-life (in steps) is at most r times the steps it has seen: the
    ramp of StyleGAN2-ADA (ema_nimg = min(ema_nimg, cur_nimg * ema_rampup), r = 0.05), in
    steps. Without it, train.ema = 0.999 from step 0 keeps 0.999^500 = 61% of the initial
    weights after 500 steps; with r = 0.05 the average spans the last ~5% of the run until
    its half-life reaches that of train.ema (ln 0.5 / ln 0.999 = 693 steps at t = 13,856).

    The tensor lists are gathered once: walking a module tree for its parameters every step
    costs a small MLP a few per cent of its step (the tensors never change identity: loading
    a checkpoint or wrapping a net in DDP keeps them)."""

    def __init__(self, pairs: Iterable[tuple[nn.Module, nn.Module]], train_cfg):
        self.ema_params, self.params, self.ema_buffers, self.buffers = [], [], [], []
        for ema, net in pairs:
            self.ema_params += list(ema.parameters())
            self.params += list(net.parameters())
            self.ema_buffers += list(ema.buffers())
            self.buffers += list(net.buffers())
        self.beta, self.start = train_cfg.ema, train_cfg.ema_start
        self.rampup = train_cfg.ema_rampup

    def decay(self, step: int) -> float:
        """beta_t of the update at (0-based) `step`; see the class docstring."""
        if step < self.start:
            return 0.0
        if self.rampup <= 0:
            return self.beta
        t = step - self.start + 1
        return min(self.beta, 0.5 ** (1.0 / (self.rampup * t)))

    @torch.no_grad()
    def update(self, step: int) -> None:
        beta = self.decay(step)
        # one multi-tensor call each, not a Python loop over tensors
        torch._foreach_lerp_(self.ema_params, self.params, 1.0 - beta)
        if self.ema_buffers:
            torch._foreach_copy_(self.ema_buffers, self.buffers)


@contextlib.contextmanager
def frozen(params: list[torch.Tensor]) -> Iterator[None]:
    """D's parameters out of the graph while G's loss is computed and back-propagated: G's
    update needs no gradient of D's weights."""
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)
