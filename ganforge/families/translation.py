"""What the image-to-image families (pix2pix, CycleGAN) share: their checks, PatchGAN logits,
EMA translators, snapshots of input | translation | target strips and `translate`.

Both keep an exponential moving average of their generator(s) (`train.ema`; 0 makes the copy
follow G exactly) in eval mode; snapshots, `translate` and evaluation use it.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge import objectives
from ganforge.data.select import evenly_spaced
from ganforge.families.base import Family
from ganforge.nets import ARCHS, PATCH_KEYS

NOT_CONDITIONAL = ("translation models are not class-conditional: use model.head=plain and "
                   "model.num_classes=0 (pix2pix on a labelled task also takes model.head=acgan), "
                   "got model.head={}, model.num_classes={}")


def patch_logits(d: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """D's patch map (N, 1, h, w) flattened to (N h w,): the objectives' means then average
    over every patch of every image (the paper's "average all responses")."""
    return d(images).reshape(-1)


class TranslationFamily(Family):
    """A generator G: A -> B judged by PatchGANs; subclasses add their losses."""

    translates = True
    #: generator name -> its EMA copy's name
    ema_names: dict[str, str] = {}

    @classmethod
    def check(cls, cfg) -> None:
        loss = cfg.loss
        arch = ARCHS.get(cfg.model.arch)
        if arch.kind != "translator":
            raise ValueError(f"train.family={cls.name} needs a translation generator: "
                             f"model.arch=unet or resnet-translator, got {cfg.model.arch}")
        objective = objectives.get_objective(loss.name)
        if objective.lipschitz != "none":
            raise ValueError(f"loss.name={loss.name} needs weight clipping or a gradient "
                             "penalty, which the translation families do not apply; use lsgan, "
                             "ns, minimax or hinge")
        if loss.label_smoothing and not objective.accepts_real_target:
            raise ValueError(f"loss.label_smoothing needs loss.name ns, minimax, fgan-gan or "
                             f"lsgan, not {loss.name}")

    @classmethod
    def reads(cls, cfg) -> set[str]:
        return {*ARCHS.get(cfg.model.arch).keys, *PATCH_KEYS, "loss.name", "loss.label_smoothing"}

    def start(self, cfg, device: torch.device, data=None) -> None:
        super().start(cfg, device)
        self.objective = objectives.get_objective(cfg.loss.name)
        self.real_target = 1.0 - cfg.loss.label_smoothing
        self.in_shape, self.out_shape = tuple(data.in_shape), tuple(data.shape)
        self.fixed_source = data.test.get("a")
        self.fixed_target = data.test.get("b")
        if self.fixed_source is None or len(self.fixed_source) == 0:
            self.fixed_source, self.fixed_target = _training_inputs(data), None

    def _to_device(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.device, non_blocking=True)

    @property
    def translator(self) -> nn.Module:
        """The EMA copy of the A -> B generator (eval mode), used for every output shown."""
        return self.nets[self.ema_names["G"]]

    @torch.no_grad()
    def translate(self, images: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
        """G_ema(images) for (N, C_A, H, W) images in [-1, 1], in batches; float32 on the CPU."""
        if images.shape[1:] != self.in_shape:
            raise ValueError(f"this run translates {self.in_shape} images, got "
                             f"{tuple(images.shape[1:])}")
        g = self.translator
        outputs = [g(self._to_device(images[i:i + batch_size])).float().cpu()
                   for i in range(0, images.shape[0], batch_size)]
        return torch.cat(outputs) if outputs else images.new_empty((0, *self.out_shape))

    def fixed_inputs(self, n, seed):
        """n held-out inputs evenly spaced over the test split (whose digits are sorted by
        class), with their targets when known; `seed` is unused: translation draws no noise."""
        index = evenly_spaced(len(self.fixed_source), n)
        inputs = {"a": self.fixed_source[index]}
        if self.fixed_target is not None:
            inputs["b"] = self.fixed_target[index]
        return inputs

    def _columns(self, inputs: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        a = inputs["a"]
        columns = [a, self.translate(a)]
        if "b" in inputs:
            columns.append(inputs["b"])
        return columns

    @torch.no_grad()
    def snapshot(self, inputs):
        """One strip per input, side by side along the width: input | G_ema(input) | target
        (CycleGAN adds F_ema(G_ema(input)) before the target). The strips tile a square grid
        with any `nrow`."""
        return side_by_side(self._columns(inputs))


def side_by_side(columns: list[torch.Tensor]) -> torch.Tensor:
    """(N, C, H, k W) strips from k batches (N, C_i, H, W); 1-channel batches are repeated to
    3 channels when another batch has 3."""
    channels = max(c.shape[1] for c in columns)
    expanded = [c.float().cpu().expand(-1, channels, -1, -1) if c.shape[1] == 1 else
                c.float().cpu() for c in columns]
    return torch.cat(expanded, dim=3)


def _training_inputs(data) -> torch.Tensor:
    """Domain-A training images, for snapshots of a data set with no test images."""
    stream = data.stream
    source = stream.streams["a"] if hasattr(stream, "streams") else stream
    tensors = source.tensors
    return tensors["x"] if "x" in tensors else tensors["a"]
