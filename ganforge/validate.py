"""One check of a config before any data loads: ranges, names, the family's own refusals, and
no setting silently ignored.

    validate(cfg)
      1. every numeric key in its range (RANGES) and every named choice known (CHOICES);
      2. the device exists; the family's and the data set's `check(cfg)` and the speed
         switches: combinations they cannot honour;
      3. a key that differs from its default but that nothing in this run reads (not in
         COMMON_KEYS, the data set's `reads(cfg)` or the family's) is refused.

Types were checked when the config was built (`ganforge.config.apply_overrides`). Checks that
need facts of the data (its classes, its image shape) run when the family is built.
"""

from __future__ import annotations

import math
import re

from ganforge.config import Config, ConfigError, flatten
from ganforge.data import data_set_of
from ganforge.families import FAMILIES
from ganforge.nets import ARCHS
from ganforge.objectives import OBJECTIVES
from ganforge.registry import Registry
from ganforge.train import speed

#: keys every run reads, whatever its family
COMMON_KEYS = frozenset({
    "description", "seed", "device", "data.name", "data.batch_size", "model.arch",
    *(f"train.{k}" for k in ("family", "steps", "d_steps", "ema", "ema_start", "ema_rampup",
                             "log_every", "sample_every", "checkpoint_every", "sample_count",
                             "progress", "sync_bn", "keep_checkpoints", "eval_every")),
    "optim.lr_g", "optim.lr_d", "optim.beta1", "optim.beta2", "optim.lr_decay", "optim.decay_start",
    "speed.compile", "speed.channels_last", "speed.fused", "speed.on_device",
})

#: key -> accepted interval: ">= a", "> a", "[a, b)", "(a, b]", "[a, b]" or "(a, b)"
RANGES = {
    "data.batch_size": ">= 1", "data.image_size": ">= 4", "data.channels": "[1, 4]",
    "data.labelled_per_class": ">= 0", "data.clusters": ">= 0", "data.input_draws": ">= 1",
    "data.max_len": ">= 1", "data.min_count": ">= 1",
    "model.z_dim": ">= 1", "model.g_width": ">= 1", "model.d_width": ">= 1",
    "model.depth": ">= 1", "model.num_classes": ">= 0", "model.latent_code": ">= 0",
    "model.pack": ">= 1", "model.dropout": "[0, 1)", "model.blocks": ">= 0",
    "model.patch_layers": ">= 1", "model.hidden": ">= 1",
    "loss.gp_weight": ">= 0", "loss.r1_weight": ">= 0", "loss.clip": "> 0",
    "loss.label_smoothing": "[0, 0.5)", "loss.label_flip": "[0, 0.5)",
    "loss.instance_noise": ">= 0", "loss.instance_noise_steps": ">= 0", "loss.top_k": "(0, 1]",
    "loss.top_k_steps": ">= 0", "loss.aux_weight": ">= 0", "loss.ada_target": "[0, 1)",
    "loss.ada_kimg": "> 0", "loss.ada_interval": ">= 1",
    "optim.lr_g": "> 0", "optim.lr_d": "> 0", "optim.beta1": "[0, 1)", "optim.beta2": "[0, 1)",
    "optim.decay_start": "[0, 1)",
    "train.steps": ">= 1", "train.d_steps": ">= 1", "train.ema": "[0, 1)",
    "train.ema_start": ">= 0", "train.ema_rampup": ">= 0", "train.log_every": ">= 1",
    "train.sample_every": ">= 1",
    "train.checkpoint_every": ">= 1", "train.sample_count": ">= 1",
    "train.keep_checkpoints": ">= 1", "train.eval_every": ">= 0", "train.eval_samples": ">= 2",
    "began.gamma": "(0, 1]", "began.lambda_k": ">= 0",
    "pix2pix.l1_weight": ">= 0",
    "cyclegan.cycle_weight": ">= 0", "cyclegan.identity_weight": ">= 0",
    "cyclegan.forward_cycle_scale": ">= 0",
    "cyclegan.pool_size": ">= 0",
    "vaegan.gamma": ">= 0",
    "seq.length": ">= 1", "seq.vocab": ">= 2", "seq.oracle_emb": ">= 1",
    "seq.oracle_hidden": ">= 1", "seq.train_size": ">= 1", "seq.test_size": ">= 1",
    "seq.test_share": "(0, 1)", "seq.emb": ">= 1", "seq.hidden": ">= 1", "seq.grad_clip": ">= 0",
    "seq.lr_mle": "> 0", "seq.d_emb": ">= 1", "seq.d_filters": ">= 1", "seq.d_dropout": "[0, 1)",
    "seq.pretrain_g": ">= 0", "seq.pretrain_d": ">= 0", "seq.rollouts": ">= 1",
    "seq.rollout_rate": "[0, 1]", "seq.g_steps": ">= 1", "seq.tau_start": "> 0",
    "seq.tau_end": "> 0",
    "text2image.emb": ">= 1", "text2image.hidden": ">= 1", "text2image.text_dim": ">= 1",
    "text2image.cond_dim": ">= 1", "text2image.kl_weight": ">= 0", "text2image.interpolate": ">= 0",
    "text2image.interpolate_spread": "[0, 0.5]",
    "text2image.pretrain_steps": ">= 0", "text2image.temperature": "> 0",
    "text2image.word_dropout": "[0, 1)",
    "text2image.mode_seeking": ">= 0",
    "style.emb": ">= 1", "style.hidden": ">= 2", "style.gamma": "> 1", "style.marker_count": ">= 1",
    "style.pretrain": ">= 0", "style.beta": "> 0", "style.back_translation": ">= 0",
    "style.pseudo_mle": ">= 0", "style.d_fake": ">= 0", "style.d_emb": ">= 1",
    "style.d_filters": ">= 1", "style.tau": "> 0", "style.lr_mle": "> 0", "style.init_step": ">= 0",
    "style.samples": ">= 1",
}

#: key -> the names it accepts (a registry says so itself when asked for an unknown name)
CHOICES = {
    "train.family": FAMILIES,
    "model.arch": ARCHS,
    "loss.name": OBJECTIVES,
    "optim.lr_decay": ("none", "linear"),
    "speed.amp": speed.AMP_MODES,
    "model.head": ("plain", "projection", "acgan", "classifier"),
    "seq.tokens": ("char", "word", "ids"),
    "text2image.encoder": ("frozen", "joint"),
    "text2image.encoder_arch": ("gru", "bag"),
    "style.reward": ("rl", "gumbel", "none"),
}

_BOUND = re.compile(r"^([\[(])(\S+), (\S+)([\])])$")


def in_range(value: float, rule: str) -> bool:
    """Whether `value` lies in the interval `rule` (see RANGES)."""
    if math.isnan(value):
        return False
    if rule.startswith(">="):
        return value >= float(rule[2:])
    if rule.startswith(">"):
        return value > float(rule[1:])
    opening, low, high, closing = _BOUND.match(rule).groups()
    above = value >= float(low) if opening == "[" else value > float(low)
    below = value <= float(high) if closing == "]" else value < float(high)
    return above and below


def check_ranges(cfg: Config) -> None:
    flat = flatten(cfg.to_dict())
    for key, rule in RANGES.items():
        value = flat[key]
        if not in_range(value, rule):
            where = f"in {rule}" if rule[0] in "[(" else rule
            raise ConfigError(f"{key} must be {where}, got {value}")
    for key, names in CHOICES.items():
        if isinstance(names, Registry):
            names.get(flat[key])
        elif flat[key] not in names:
            raise ConfigError(f"unknown {key} {flat[key]!r}; valid: {', '.join(names)}")


def read_keys(cfg: Config, data_keys: set[str]) -> set[str]:
    """Every key that a run of `cfg` reads, given the keys its data set reads."""
    keys = set(COMMON_KEYS) | FAMILIES.get(cfg.train.family).reads(cfg) | data_keys
    if cfg.train.eval_every > 0:
        keys |= {"train.eval_metrics", "train.eval_samples", "train.eval_features"}
    return keys


def check_ignored(cfg: Config, data_keys: set[str]) -> None:
    """Refuse a key set away from its default that this run would ignore."""
    defaults, values = flatten(Config().to_dict()), flatten(cfg.to_dict())
    read = read_keys(cfg, data_keys)
    ignored = [k for k, v in values.items() if k not in read and v != defaults[k]]
    if ignored:
        c = cfg.train.family, cfg.model.arch, cfg.loss.name
        settings = ", ".join(f"{k}={values[k]}" for k in ignored)
        resets = " ".join(f"{k}={defaults[k]}" for k in ignored)
        raise ConfigError(f"{settings}: not used by train.family={c[0]} with model.arch={c[1]}, "
                          f"loss.name={c[2]} and data.name={cfg.data.name}; remove "
                          f"{'it' if len(ignored) == 1 else 'them'} (defaults: {resets})")


def validate(cfg: Config, check_data: bool = True) -> None:
    """Raise ConfigError (or ValueError from a family's check) for a config that cannot run
    as written; the message names the key and what is accepted. `check_data=False` leaves out
    the data set's own check (files it reads), for data that are still in memory."""
    check_ranges(cfg)
    check_device(cfg.device)
    family = FAMILIES.get(cfg.train.family)
    family.check(cfg)
    source = data_set_of(cfg, family.data_kind)
    if check_data:
        source.check(cfg)
    speed.check_switches(cfg, family)
    check_ignored(cfg, source.reads(cfg))
    check_tracked_metrics(cfg)


def check_tracked_metrics(cfg: Config) -> None:
    from ganforge.eval.tokens import TOKEN_METRICS
    from ganforge.metrics import METRICS
    from ganforge.metrics.features import FEATURES

    for name in cfg.train.eval_metrics.split(","):
        if name.strip() and name.strip() not in TOKEN_METRICS:
            METRICS.get(name.strip())
    if cfg.train.eval_features:
        FEATURES.get(cfg.train.eval_features)


def check_device(device: str) -> None:
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={device}, but this machine has no CUDA GPU that torch can "
                          "use; use device=cpu")
    if device != "cpu" and not device.startswith("cuda"):
        raise ConfigError(f"unknown device {device!r}; valid: cpu, cuda, cuda:N")
