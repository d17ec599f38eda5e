"""Image-to-image translation families: pix2pix (paired) and CycleGAN (unpaired).

pix2pix (Isola et al. 2017). G: x -> y is a U-Net (`model.arch=unet`), D a PatchGAN that sees
the pair (x, y) stacked on the channel axis and returns one logit per patch:

    D minimises  1/2 [ L_D(D(x, y), D(x, G(x))) ]                 (the paper halves D's loss)
    G minimises  L_G(D(x, G(x))) + lambda E[ ||y - G(x)||_1 ]       (lambda = loss.l1_weight)

with L_D, L_G the adversarial objective `loss.name` (ns by default: -E[log D(x, y)] -
E[log(1 - D(x, G(x)))] and -E[log D(x, G(x))]), averaged over every patch of every image.
On a task with class labels c (the digit tasks), `model.head=acgan` adds ACGAN's auxiliary
classifier C to D (on the pooled features of the pair): D adds aux_weight * CE(C(x, y), c)
(+ CE(C(x, G(x)), c) when loss.aux_on_fakes) and G adds aux_weight * CE(C(x, G(x)), c), so G
is pushed to draw a translation of the source's class, not a blend of likely classes.
A D step computes G(x) once, with gradients, and the G step that follows on the same batch
back-propagates through that same output (no second forward pass of G).

CycleGAN (Zhu et al. 2017). G: A -> B and F: B -> A (`model.arch=resnet-translator`), PatchGAN
D_B judges domain B (real b against G(a)) and D_A judges domain A (real a against F(b)):

    D_B minimises L_D(D_B(b), D_B(pool_B(G(a))))       D_A likewise with a and pool_A(F(b))
    G, F minimise L_G(D_B(G(a))) + L_G(D_A(F(b)))
                  + lambda_cyc (E||F(G(a)) - a||_1 + E||G(F(b)) - b||_1)
                  + lambda_id lambda_cyc (E||G(b) - b||_1 + E||F(a) - a||_1)

with lambda_cyc = loss.cycle_weight (10), lambda_id = loss.identity_weight (0.5) and the LSGAN
objective in the presets (loss.name=lsgan). ganforge's LSGAN G loss is Mao et al.'s
1/2 E[(D(G(a)) - 1)^2]; the CycleGAN paper writes E[(D(G(a)) - 1)^2], so against the same
lambda_cyc the adversarial terms here weigh half as much. pool_A, pool_B are histories of
`loss.pool_size` generated images (`ganforge.train.image_pool`); their contents and coin-flip
generators are part of the checkpoint, so a resumed run draws exactly what an uninterrupted one
would. Learning rates decay linearly to 0 with `optim.lr_decay=linear` from
`optim.decay_start * train.steps`.

Both families keep an exponential moving average of their generator(s) (`train.ema`; 0 makes
the copy follow G exactly) in eval mode; snapshots, `translate` and evaluation use it.
"""

from __future__ import annotations

import copy
import itertools
from contextlib import nullcontext

import torch
import torch.nn.functional as F
from torch import nn

from ganforge import objectives
from ganforge.nets.cyclegan import ResnetGenerator
from ganforge.nets.pix2pix import (
    NORMS,
    LumaChromaGenerator,
    PatchDiscriminator,
    UNetGenerator,
    patch_output_size,
)
from ganforge.registry import Registry
from ganforge.train.image_pool import ImagePool
from ganforge.train.steps import FAMILIES, Family, ema_update, make_adam, make_scheduler, unwrap
from ganforge.translate import evenly_spaced

#: objectives whose losses are functions of D's outputs alone (no penalty, no clipping)
PLAIN_OBJECTIVES_EXCLUDED = ("wasserstein", "wgan-gp")
#: the ResNet generator halves the image side this many times (2 in the CycleGAN paper)
RESNET_DOWNSAMPLING = 2
#: seeds of the two image pools' coin flips, offset from the run's seed
POOL_SEED_OFFSETS = {"A": 101, "B": 202}

TRANSLATORS: Registry = Registry("model.arch for translation")


# ----------------------------------------------------------------------------- networks


def _check_norm(key: str, norm: str) -> None:
    if norm not in NORMS:
        raise ValueError(f"{key}={norm} is not available for translation networks; valid: "
                         f"{', '.join(NORMS)}")


@TRANSLATORS.register("unet")
def build_unet(m, in_channels: int, out_channels: int, image_size: int) -> nn.Module:
    """pix2pix's U-Net: width model.g_width, norm model.g_norm, decoder dropout model.dropout."""
    _check_norm("model.g_norm", m.g_norm)
    return UNetGenerator(in_channels, out_channels, image_size, width=m.g_width, norm=m.g_norm,
                         dropout=m.dropout)


@TRANSLATORS.register("resnet-translator")
def build_resnet_translator(m, in_channels: int, out_channels: int,
                            image_size: int) -> nn.Module:
    """CycleGAN's ResNet generator: width model.g_width, model.blocks residual blocks, norm
    model.g_norm, two stride-2 down/up-samplings (image sides must be multiples of 4)."""
    _check_norm("model.g_norm", m.g_norm)
    factor = 2**RESNET_DOWNSAMPLING
    if image_size % factor:
        raise ValueError(f"model.arch=resnet-translator halves the image {RESNET_DOWNSAMPLING} "
                         f"times, so data.image_size must be a multiple of {factor}, got "
                         f"{image_size}; use e.g. {image_size - image_size % factor + factor} or "
                         f"model.arch=unet")
    return ResnetGenerator(in_channels, out_channels, width=m.g_width, n_blocks=m.blocks,
                           norm=m.g_norm, n_downsampling=RESNET_DOWNSAMPLING)


G_OUTPUTS = ("image", "chroma")


def build_translator(m, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> nn.Module:
    """A generator (C_in, S, S) -> (C_out, S, S) for model.arch (unet or resnet-translator);
    model.g_output=chroma wraps it to keep the grayscale input's luma and predict Cb, Cr."""
    if in_shape[1:] != out_shape[1:]:
        raise ValueError(f"translation needs inputs and outputs of one size, got "
                         f"{tuple(in_shape)} -> {tuple(out_shape)}")
    build = TRANSLATORS.get(m.arch)
    if m.g_output == "image":
        return build(m, in_shape[0], out_shape[0], in_shape[-1])
    if m.g_output != "chroma":
        raise ValueError(f"model.g_output={m.g_output} is unknown; valid: {', '.join(G_OUTPUTS)}")
    if out_shape[0] != 3 or in_shape[0] not in (1, 3):
        raise ValueError(f"model.g_output=chroma colours grayscale images: it needs 1- or "
                         f"3-channel inputs and 3-channel outputs, got {in_shape[0]} -> "
                         f"{out_shape[0]} channels")
    return LumaChromaGenerator(build(m, in_shape[0], 2, in_shape[-1]))


def build_patch_discriminator(m, in_channels: int, image_size: int,
                              num_classes: int = 0) -> PatchDiscriminator:
    """A PatchGAN with model.patch_layers stride-2 layers, width model.d_width, norm
    model.d_norm (patch_layers=3: 70x70 patches; 2: 34x34, a 5x5 logit map at 28 px), and a
    class head of `num_classes` outputs when > 0."""
    _check_norm("model.d_norm", m.d_norm)
    if m.patch_layers < 1 or patch_output_size(image_size, m.patch_layers) < 1:
        fitting = [n for n in range(1, 7) if patch_output_size(image_size, n) >= 1]
        raise ValueError(f"model.patch_layers={m.patch_layers} does not fit {image_size} px "
                         f"images; valid: {', '.join(map(str, fitting))}")
    return PatchDiscriminator(in_channels, width=m.d_width, n_layers=m.patch_layers,
                              norm=m.d_norm, num_classes=num_classes)


def check_translation_config(cfg) -> None:
    """Refuse settings that a translation family would otherwise silently ignore."""
    m, loss = cfg.model, cfg.loss
    if m.spectral_norm:
        raise ValueError("model.spectral_norm is not implemented for the PatchGAN; set it false")
    if m.latent_code:
        raise ValueError("translation models take no latent code: set model.latent_code=0")
    if m.head == "acgan" and cfg.train.family == "pix2pix":
        if m.num_classes < 2:
            raise ValueError(f"model.head=acgan gives the PatchGAN a classifier of "
                             f"model.num_classes classes; set it (10 for the digit tasks), got "
                             f"{m.num_classes}")
    elif m.head != "plain" or m.num_classes:
        raise ValueError(f"translation models are not class-conditional: use model.head=plain "
                         f"and model.num_classes=0 (pix2pix on a labelled task also takes "
                         f"model.head=acgan), got model.head={m.head}, model.num_classes="
                         f"{m.num_classes}")
    if m.g_output != "image" and cfg.train.family != "pix2pix":
        raise ValueError(f"model.g_output={m.g_output} is for pix2pix colourisation; "
                         f"{cfg.train.family} needs model.g_output=image")
    if loss.name in PLAIN_OBJECTIVES_EXCLUDED:
        raise ValueError(f"loss.name={loss.name} needs weight clipping or a gradient penalty, "
                         "which the translation families do not apply; use lsgan, ns, minimax "
                         "or hinge")
    unsupported = {"loss.label_flip": loss.label_flip, "loss.instance_noise": loss.instance_noise,
                   "loss.r1_weight": loss.r1_weight}
    used = [k for k, v in unsupported.items() if v]
    if used:
        raise ValueError(f"{', '.join(used)} are not used by the translation families; set "
                         f"them to 0")
    if not 0 <= loss.label_smoothing < 0.5:
        raise ValueError(f"loss.label_smoothing must be in [0, 0.5), got {loss.label_smoothing}")
    if loss.label_smoothing and not objectives.get_objective(loss.name).accepts_real_target:
        raise ValueError(f"loss.label_smoothing needs loss.name ns, minimax, fgan-gan or lsgan, not "
                         f"{loss.name}")


def patch_logits(d: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """D's patch map (N, 1, h, w) flattened to (N h w,): the objectives' means then average
    over every patch of every image (the paper's "average all responses")."""
    return d(images).reshape(-1)


# ----------------------------------------------------------------------------- shared parts


class _TranslationFamily(Family):
    """What pix2pix and CycleGAN share: devices, the D-step count, EMA, snapshots, translate."""

    #: generator name -> its EMA copy's name
    ema_names: dict[str, str] = {}

    def _setup(self, cfg, data, device) -> None:
        check_translation_config(cfg)
        self.cfg, self.device = cfg, device
        self.objective = objectives.get_objective(cfg.loss.name)
        self.real_target = 1.0 - cfg.loss.label_smoothing
        self.in_shape, self.out_shape = tuple(data.in_shape), tuple(data.shape)
        self.fixed_source = data.test.get("a")
        self.fixed_target = data.test.get("b")
        if self.fixed_source is None or len(self.fixed_source) == 0:
            self.fixed_source, self.fixed_target = _training_inputs(data), None
        self._d_calls: tuple[int, int] = (-1, 0)  # (step, D steps taken in it)
        self._cache: dict | None = None

    def _to_device(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.device, non_blocking=True)

    def _last_d_step(self, step: int) -> bool:
        """True for the train.d_steps-th D step of `step`: its G output is kept for g_step."""
        previous, count = self._d_calls
        count = count + 1 if previous == step else 1
        self._d_calls = (step, count)
        return count >= self.cfg.train.d_steps

    def _update_ema(self, step: int) -> None:
        t = self.cfg.train
        beta = 0.0 if step < t.ema_start else t.ema
        for name, ema_name in self.ema_names.items():
            ema_update(self.nets[ema_name], unwrap(self.nets[name]), beta)

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


# ----------------------------------------------------------------------------- pix2pix


@FAMILIES.register("pix2pix")
class Pix2PixFamily(_TranslationFamily):
    """pix2pix: a conditional PatchGAN plus lambda * L1 (see the module docstring).

    `adversarial=False` trains the same generator on lambda * L1 alone (the regression baseline
    of the benchmarks): no D is built and d_step only computes G(a) for the following g_step.
    """

    ema_names = {"G": "G_ema"}

    def __init__(self, cfg, data, device: torch.device, adversarial: bool = True):
        self._setup(cfg, data, device)
        m = cfg.model
        self.adversarial = adversarial
        self.l1_weight = cfg.loss.l1_weight
        self.class_head = adversarial and m.head == "acgan"
        self.aux_weight, self.aux_on_fakes = cfg.loss.aux_weight, cfg.loss.aux_on_fakes
        if self.class_head and data.num_classes != m.num_classes:
            have = (f"{data.num_classes} classes" if data.num_classes else
                    "no class labels (the bundled digit tasks edges, denoise, inpaint and "
                    "superres have them)")
            raise ValueError(f"model.head=acgan classifies the pairs into model.num_classes="
                             f"{m.num_classes} classes, but data.name={cfg.data.name} has {have}")
        self.G = build_translator(m, self.in_shape, self.out_shape).to(device)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.nets = {"G": self.G, "G_ema": self.G_ema}
        self.optimizers = {"G": make_adam(self.G.parameters(), cfg.optim.lr_g, cfg.optim)}
        self.trainable = ("G",)
        if adversarial:
            pair_channels = self.in_shape[0] + self.out_shape[0]
            self.D = build_patch_discriminator(m, pair_channels, self.in_shape[-1],
                                               m.num_classes if self.class_head else 0).to(device)
            self.nets["D"] = self.D
            self.optimizers["D"] = make_adam(self.D.parameters(), cfg.optim.lr_d, cfg.optim)
            self.trainable = ("G", "D")
        self.schedulers = {k: make_scheduler(o, cfg) for k, o in self.optimizers.items()}

    def _translation_of(self, batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(a, b, G(a)) for `batch`: G(a) from the D step on this same batch when there was one
        (it kept its graph), else a fresh forward pass."""
        cache, self._cache = self._cache, None
        if cache is not None and cache["batch"] is batch:
            return cache["a"], cache["b"], cache["fake"]
        a, b = self._to_device(batch["a"]), self._to_device(batch["b"])
        return a, b, self.G(a)

    def d_step(self, batch, step):
        a, b = self._to_device(batch["a"]), self._to_device(batch["b"])
        keep = self._last_d_step(step)
        with nullcontext() if keep else torch.no_grad():
            fake = (self.G if keep else unwrap(self.G))(a)
        self._cache = {"batch": batch, "a": a, "b": b, "fake": fake} if keep else None
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
        self.optimizers["D"].zero_grad(set_to_none=True)
        loss.backward()
        self.optimizers["D"].step()
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

    def g_step(self, batch, step):
        a, b, fake = self._translation_of(batch)
        l1 = objectives.l1_loss(fake, b)
        loss = self.l1_weight * l1
        logs = {"loss_l1": l1.detach()}
        d = None
        if self.adversarial:  # D's gradients are not needed: freeze it, bypass its DDP wrapper
            d = unwrap(self.D).requires_grad_(False)
            fake_out, fake_cls = self._judge(d, a, fake)
            adversarial = self.objective.g_loss(fake_out)
            loss = loss + adversarial
            logs["loss_g"] = adversarial.detach()
            if self.class_head:  # G: make D's classifier see the source digit's class
                aux = F.cross_entropy(fake_cls, self._to_device(batch["y"]))
                loss = loss + self.aux_weight * aux
                logs["loss_aux_g"] = aux.detach()
        self.optimizers["G"].zero_grad(set_to_none=True)
        loss.backward()
        if d is not None:
            d.requires_grad_(True)
        self.optimizers["G"].step()
        self._update_ema(step)
        return logs


# ----------------------------------------------------------------------------- CycleGAN


@FAMILIES.register("cyclegan")
class CycleGANFamily(_TranslationFamily):
    """CycleGAN: two generators, two PatchGANs, cycle and identity losses, image pools (see
    the module docstring). One Adam holds G and F, another D_A and D_B, as in the reference
    code; logged: loss_d (D_A + D_B), loss_g (both adversarial terms), loss_cycle (both
    directions, unweighted), loss_identity (both, unweighted; when used)."""

    ema_names = {"G": "G_ema", "F": "F_ema"}
    trainable = ("G", "F", "D_A", "D_B")

    def __init__(self, cfg, data, device: torch.device):
        self._setup(cfg, data, device)
        m, loss = cfg.model, cfg.loss
        if loss.cycle_weight < 0 or loss.identity_weight < 0:
            raise ValueError(f"loss.cycle_weight and loss.identity_weight must be >= 0, got "
                             f"{loss.cycle_weight} and {loss.identity_weight}")
        self.cycle_weight = loss.cycle_weight
        self.identity_weight = loss.identity_weight * loss.cycle_weight
        if self.identity_weight > 0 and self.in_shape[0] != self.out_shape[0]:
            raise ValueError(f"the identity loss compares G(b) with b, so it needs domains with "
                             f"the same channels (A has {self.in_shape[0]}, B "
                             f"{self.out_shape[0]}); set loss.identity_weight=0")
        size = self.in_shape[-1]
        self.G = build_translator(m, self.in_shape, self.out_shape).to(device)
        self.F = build_translator(m, self.out_shape, self.in_shape).to(device)
        self.D_A = build_patch_discriminator(m, self.in_shape[0], size).to(device)
        self.D_B = build_patch_discriminator(m, self.out_shape[0], size).to(device)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.F_ema = copy.deepcopy(self.F).eval().requires_grad_(False)
        self.nets = {"G": self.G, "F": self.F, "D_A": self.D_A, "D_B": self.D_B,
                     "G_ema": self.G_ema, "F_ema": self.F_ema}
        o = cfg.optim
        self.optimizers = {
            "G": make_adam(itertools.chain(self.G.parameters(), self.F.parameters()), o.lr_g, o),
            "D": make_adam(itertools.chain(self.D_A.parameters(), self.D_B.parameters()),
                           o.lr_d, o),
        }
        self.schedulers = {k: make_scheduler(opt, cfg) for k, opt in self.optimizers.items()}
        self.pools = {side: ImagePool(loss.pool_size, generator=cfg.seed + offset)
                      for side, offset in POOL_SEED_OFFSETS.items()}

    def _translations_of(self, batch) -> tuple[torch.Tensor, ...]:
        """(a, b, G(a), F(b)), reusing the D step's forward passes on this same batch."""
        cache, self._cache = self._cache, None
        if cache is not None and cache["batch"] is batch:
            return cache["a"], cache["b"], cache["fake_b"], cache["fake_a"]
        a, b = self._to_device(batch["a"]), self._to_device(batch["b"])
        return a, b, self.G(a), self.F(b)

    def _d_loss(self, d: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return self.objective.d_loss(patch_logits(d, real), patch_logits(d, fake),
                                     self.real_target)

    def d_step(self, batch, step):
        a, b = self._to_device(batch["a"]), self._to_device(batch["b"])
        keep = self._last_d_step(step)
        with nullcontext() if keep else torch.no_grad():
            g, f = (self.G, self.F) if keep else (unwrap(self.G), unwrap(self.F))
            fake_b, fake_a = g(a), f(b)
        self._cache = ({"batch": batch, "a": a, "b": b, "fake_b": fake_b, "fake_a": fake_a}
                       if keep else None)
        loss_b = self._d_loss(self.D_B, b, self.pools["B"].query(fake_b))
        loss_a = self._d_loss(self.D_A, a, self.pools["A"].query(fake_a))
        loss = loss_a + loss_b
        self.optimizers["D"].zero_grad(set_to_none=True)
        loss.backward()
        self.optimizers["D"].step()
        return {"loss_d": loss.detach(), "loss_d_a": loss_a.detach(), "loss_d_b": loss_b.detach()}

    def g_step(self, batch, step):
        a, b, fake_b, fake_a = self._translations_of(batch)
        d_a, d_b = (unwrap(d).requires_grad_(False) for d in (self.D_A, self.D_B))
        adversarial = (self.objective.g_loss(patch_logits(d_b, fake_b))
                       + self.objective.g_loss(patch_logits(d_a, fake_a)))
        cycle = (objectives.cycle_consistency_loss(a, self.F(fake_b))
                 + objectives.cycle_consistency_loss(b, self.G(fake_a)))
        loss = adversarial + self.cycle_weight * cycle
        logs = {"loss_g": adversarial.detach(), "loss_cycle": cycle.detach()}
        if self.identity_weight > 0:
            identity = (objectives.identity_loss(b, self.G(b))
                        + objectives.identity_loss(a, self.F(a)))
            loss = loss + self.identity_weight * identity
            logs["loss_identity"] = identity.detach()
        self.optimizers["G"].zero_grad(set_to_none=True)
        loss.backward()
        d_a.requires_grad_(True)
        d_b.requires_grad_(True)
        self.optimizers["G"].step()
        self._update_ema(step)
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
