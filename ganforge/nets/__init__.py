"""Network builders: a config's model section -> (G, D).

One builder per architecture, registered by name; image size and channels come
from the data, never from a file per size.
"""

from __future__ import annotations

from torch import nn

from ganforge.registry import Registry

ARCHS: Registry = Registry("model.arch")


@ARCHS.register("mlp")
def _mlp(m, data) -> tuple[nn.Module, nn.Module]:
    from ganforge.nets.mlp import MLPDiscriminator, MLPGenerator

    if data.kind != "toy":
        raise ValueError("model.arch=mlp is for the toy data sets (gauss1d, mog1d, ring8, ...)")
    dim = data.shape[0]
    norm = lambda n: "none" if n in ("none", "instance") else n  # noqa: E731
    g = MLPGenerator(m.z_dim, dim, m.g_width, m.depth, m.activation, norm(m.g_norm))
    d = MLPDiscriminator(dim, m.d_width, m.depth, "leaky_relu", norm(m.d_norm),
                         spectral_norm=m.spectral_norm, pack=m.pack,
                         minibatch_std=m.minibatch_std)
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


@ARCHS.register("dcgan")
def _dcgan(m, data):
    from ganforge.nets.dcgan import DCGANDiscriminator, DCGANGenerator

    size, channels = _image_shape(data)
    g = DCGANGenerator(m.z_dim, size, channels, m.g_width, num_classes=_g_classes(m))
    d = DCGANDiscriminator(size, channels, m.d_width, spectral_norm=m.spectral_norm,
                           norm=m.d_norm, num_classes=_d_classes(m, data), head=_d_head(m),
                           minibatch_std=m.minibatch_std, pack=m.pack)
    return g, d


@ARCHS.register("resnet")
def _resnet(m, data):
    from ganforge.nets.resnet import ResNetDiscriminator, ResNetGenerator

    size, channels = _image_shape(data)
    g = ResNetGenerator(m.z_dim, size, channels, m.g_width, num_classes=_g_classes(m))
    d = ResNetDiscriminator(size, channels, m.d_width, num_classes=_d_classes(m, data),
                            spectral_norm=m.spectral_norm, head=_d_head(m))
    return g, d


@ARCHS.register("began")
def _began(m, data):
    from ganforge.nets.began import BEGANDiscriminator, BEGANGenerator

    size, channels = _image_shape(data)
    g = BEGANGenerator(m.z_dim, size, channels, m.g_width)
    d = BEGANDiscriminator(size, channels, m.d_width, m.hidden)
    return g, d


def build_gan_nets(model_cfg, data) -> tuple[nn.Module, nn.Module]:
    """(G, D) for `model_cfg.arch` on `data` (a ganforge.data.Data)."""
    return ARCHS.get(model_cfg.arch)(model_cfg, data)
