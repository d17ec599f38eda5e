"""Network builders: a config's model section -> networks, one registry for every arch.

An `Arch` says what its builder makes and which `model.*` keys it reads (the rest of the
model section it ignores, and `ganforge.validate` refuses them when set). Image size and
channels come from the data, never from a file per size.

    kind "gan"         build(m, data) -> (G, D)                       mlp, dcgan, resnet, began
    kind "translator"  build(m, in_channels, out_channels, size) -> G  unet, resnet-translator
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from ganforge.registry import Registry

#: the ResNet translator halves the image side this many times (2 in the CycleGAN paper)
RESNET_DOWNSAMPLING = 2
#: what a translation generator predicts: the image, or only the chroma of a grey input
G_OUTPUTS = ("image", "chroma")


@dataclass(frozen=True)
class Arch:
    kind: str  # "gan" or "translator"
    build: Callable
    keys: tuple[str, ...]  # the model.* keys the builder reads


ARCHS: Registry[Arch] = Registry("model.arch")


def register_arch(name: str, kind: str, keys: tuple[str, ...]):
    def add(build: Callable) -> Callable:
        ARCHS.register(name)(Arch(kind, build, tuple(f"model.{k}" for k in keys)))
        return build

    return add


# ----------------------------------------------------------------------------- G and D pairs


@register_arch("mlp", "gan", ("z_dim", "g_width", "d_width", "depth", "activation", "g_norm",
                              "d_norm", "spectral_norm", "pack", "minibatch_std", "num_classes",
                              "head"))
def _mlp(m, data) -> tuple[nn.Module, nn.Module]:
    from ganforge.nets.mlp import MLPDiscriminator, MLPGenerator

    if data.kind != "toy":
        raise ValueError("model.arch=mlp is for the toy data sets (gauss1d, mog1d, ring8, ...)")
    dim = data.shape[0]
    norm = lambda n: "none" if n in ("none", "instance") else n  # noqa: E731
    g = MLPGenerator(m.z_dim, dim, m.g_width, m.depth, m.activation, norm(m.g_norm),
                     num_classes=m.num_classes)
    d = MLPDiscriminator(dim, m.d_width, m.depth, "leaky_relu", norm(m.d_norm),
                         spectral_norm=m.spectral_norm, pack=m.pack,
                         minibatch_std=m.minibatch_std, num_classes=_d_classes(m, data),
                         head=m.head)
    return g, d


def _image_shape(data) -> tuple[int, int]:
    if data.kind != "images":
        raise ValueError("this model.arch needs image data (mnist5k, digits, faces, folder, mnist)")
    channels, size, _ = data.shape
    return size, channels


def _d_classes(m, data) -> int:
    """K for D's head: model.num_classes, InfoGAN's code categories, or the data's classes for a
    class-aware head on an unconditional G (semi-supervised classifier, projection D with
    model.num_classes = 0)."""
    if m.latent_code > 0:
        return m.latent_code
    if m.num_classes > 0 or m.head == "plain":
        return m.num_classes
    return data.num_classes


def _d_head(m) -> str:
    """InfoGAN's Q shares D's body: an ACGAN-style head (real/fake logit, K code logits)."""
    return "acgan" if m.latent_code > 0 else m.head


def _g_classes(m) -> int:
    """G is conditioned the same way on a class label and on InfoGAN's categorical code."""
    return m.num_classes or m.latent_code


CONDITIONAL_KEYS = ("num_classes", "head", "latent_code")


@register_arch("dcgan", "gan", ("z_dim", "g_width", "d_width", "d_norm", "spectral_norm",
                                "minibatch_std", "pack") + CONDITIONAL_KEYS)
def _dcgan(m, data):
    from ganforge.nets.dcgan import DCGANDiscriminator, DCGANGenerator

    size, channels = _image_shape(data)
    g = DCGANGenerator(m.z_dim, size, channels, m.g_width, num_classes=_g_classes(m))
    d = DCGANDiscriminator(size, channels, m.d_width, spectral_norm=m.spectral_norm,
                           norm=m.d_norm, num_classes=_d_classes(m, data), head=_d_head(m),
                           minibatch_std=m.minibatch_std, pack=m.pack)
    return g, d


@register_arch("resnet", "gan", ("z_dim", "g_width", "d_width", "spectral_norm")
               + CONDITIONAL_KEYS)
def _resnet(m, data):
    from ganforge.nets.resnet import ResNetDiscriminator, ResNetGenerator

    size, channels = _image_shape(data)
    g = ResNetGenerator(m.z_dim, size, channels, m.g_width, num_classes=_g_classes(m))
    d = ResNetDiscriminator(size, channels, m.d_width, num_classes=_d_classes(m, data),
                            spectral_norm=m.spectral_norm, head=_d_head(m))
    return g, d


@register_arch("began", "gan", ("z_dim", "g_width", "d_width", "hidden"))
def _began(m, data):
    from ganforge.nets.began import BEGANDiscriminator, BEGANGenerator

    size, channels = _image_shape(data)
    g = BEGANGenerator(m.z_dim, size, channels, m.g_width)
    d = BEGANDiscriminator(size, channels, m.d_width, m.hidden)
    return g, d


def build_gan_nets(model_cfg, data) -> tuple[nn.Module, nn.Module]:
    """(G, D) for `model_cfg.arch` on `data` (a ganforge.data.Data)."""
    arch = ARCHS.get(model_cfg.arch)
    if arch.kind != "gan":
        raise ValueError(f"model.arch={model_cfg.arch} builds a translation generator; for a "
                         f"GAN use one of {', '.join(arch_names('gan'))}")
    return arch.build(model_cfg, data)


def arch_names(kind: str) -> list[str]:
    return sorted(name for name, arch in ARCHS.items() if arch.kind == kind)


# ----------------------------------------------------------------------------- translation


def check_translation_norm(key: str, norm: str) -> None:
    from ganforge.nets.pix2pix import NORMS

    if norm not in NORMS:
        raise ValueError(f"{key}={norm} is not available for translation networks; valid: "
                         f"{', '.join(NORMS)}")


@register_arch("unet", "translator", ("g_width", "g_norm", "dropout", "g_output"))
def _unet(m, in_channels: int, out_channels: int, image_size: int) -> nn.Module:
    """pix2pix's U-Net: width model.g_width, norm model.g_norm, decoder dropout model.dropout."""
    from ganforge.nets.pix2pix import UNetGenerator

    check_translation_norm("model.g_norm", m.g_norm)
    return UNetGenerator(in_channels, out_channels, image_size, width=m.g_width, norm=m.g_norm,
                         dropout=m.dropout)


@register_arch("resnet-translator", "translator", ("g_width", "g_norm", "blocks", "g_output"))
def _resnet_translator(m, in_channels: int, out_channels: int, image_size: int) -> nn.Module:
    """CycleGAN's ResNet generator: width model.g_width, model.blocks residual blocks, norm
    model.g_norm, two stride-2 down/up-samplings (image sides must be multiples of 4)."""
    from ganforge.nets.cyclegan import ResNetTranslator

    check_translation_norm("model.g_norm", m.g_norm)
    factor = 2**RESNET_DOWNSAMPLING
    if image_size % factor:
        raise ValueError(f"model.arch=resnet-translator halves the image {RESNET_DOWNSAMPLING} "
                         f"times, so data.image_size must be a multiple of {factor}, got "
                         f"{image_size}; use e.g. {image_size - image_size % factor + factor} or "
                         f"model.arch=unet")
    return ResNetTranslator(in_channels, out_channels, width=m.g_width, n_blocks=m.blocks,
                            norm=m.g_norm, n_downsampling=RESNET_DOWNSAMPLING)


def build_translator(m, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> nn.Module:
    """A generator (C_in, S, S) -> (C_out, S, S) for model.arch (unet or resnet-translator);
    model.g_output=chroma wraps it to keep the grayscale input's luma and predict Cb, Cr."""
    from ganforge.nets.pix2pix import LumaChromaGenerator

    if in_shape[1:] != out_shape[1:]:
        raise ValueError(f"translation needs inputs and outputs of one size, got "
                         f"{tuple(in_shape)} -> {tuple(out_shape)}")
    arch = ARCHS.get(m.arch)
    if arch.kind != "translator":
        raise ValueError(f"model.arch={m.arch} is not a translation generator; valid: "
                         f"{', '.join(arch_names('translator'))}")
    if m.g_output == "image":
        return arch.build(m, in_shape[0], out_shape[0], in_shape[-1])
    if m.g_output != "chroma":
        raise ValueError(f"model.g_output={m.g_output} is unknown; valid: {', '.join(G_OUTPUTS)}")
    if out_shape[0] != 3 or in_shape[0] not in (1, 3):
        raise ValueError(f"model.g_output=chroma colours grayscale images: it needs 1- or "
                         f"3-channel inputs and 3-channel outputs, got {in_shape[0]} -> "
                         f"{out_shape[0]} channels")
    return LumaChromaGenerator(arch.build(m, in_shape[0], 2, in_shape[-1]))


#: the model.* keys of the PatchGAN that judges translations
PATCH_KEYS = ("model.d_width", "model.d_norm", "model.patch_layers")


def build_patch_discriminator(m, in_channels: int, image_size: int, num_classes: int = 0):
    """A PatchGAN with model.patch_layers stride-2 layers, width model.d_width, norm
    model.d_norm (patch_layers=3: 70x70 patches; 2: 34x34, a 5x5 logit map at 28 px), and a
    class head of `num_classes` outputs when > 0."""
    from ganforge.nets.pix2pix import PatchDiscriminator, patch_output_size

    check_translation_norm("model.d_norm", m.d_norm)
    if m.patch_layers < 1 or patch_output_size(image_size, m.patch_layers) < 1:
        fitting = [n for n in range(1, 7) if patch_output_size(image_size, n) >= 1]
        raise ValueError(f"model.patch_layers={m.patch_layers} does not fit {image_size} px "
                         f"images; valid: {', '.join(map(str, fitting))}")
    return PatchDiscriminator(in_channels, width=m.d_width, n_layers=m.patch_layers,
                              norm=m.d_norm, num_classes=num_classes)
