"""Model families, one per file, behind the interface of `base.Family`.

    gan.py        unconditional, conditional, InfoGAN and semi-supervised GANs
    began.py      BEGAN (auto-encoder D, equilibrium k_t)
    pix2pix.py    paired image-to-image translation
    cyclegan.py   unpaired image-to-image translation
    vae.py        variational auto-encoder (ELBO, IWAE log-likelihood)
    vaegan.py     VAE-GAN: the VAE's decoder as G, D's features as reconstruction loss
    mle.py        token sequences by teacher-forced maximum likelihood (sequence.py: shared)
    seqgan.py     SeqGAN: policy gradient with Monte Carlo rollouts on token sequences
    gumbel.py     a token-sequence GAN through the Gumbel-softmax
    text2image.py G(z, text) with a matching-aware D (GAN-CLS) on captioned digits
    style_transfer.py  two sentence translators with a cycle, trained by RL (text style transfer)

A new family is one file with a `Family` subclass, a line below and a preset.
"""

from __future__ import annotations

from ganforge.data import Data, build_data
from ganforge.families.base import Family
from ganforge.families.began import BEGANFamily
from ganforge.families.cyclegan import CycleGANFamily
from ganforge.families.gan import GANFamily
from ganforge.families.gumbel import GumbelFamily
from ganforge.families.mle import MLEFamily
from ganforge.families.pix2pix import Pix2PixFamily
from ganforge.families.seqgan import SeqGANFamily
from ganforge.families.style_transfer import StyleTransferFamily
from ganforge.families.text2image import TextToImageFamily
from ganforge.families.vae import VAEFamily
from ganforge.families.vaegan import VAEGANFamily
from ganforge.registry import Registry

__all__ = ["FAMILIES", "BEGANFamily", "CycleGANFamily", "Family", "GANFamily", "Pix2PixFamily",
           "VAEFamily", "VAEGANFamily", "build_family", "load_data",
           "GumbelFamily", "MLEFamily", "SeqGANFamily", "StyleTransferFamily", "TextToImageFamily"]

FAMILIES: Registry[type[Family]] = Registry("train.family")
for _family in (GANFamily, BEGANFamily, Pix2PixFamily, CycleGANFamily, VAEFamily, VAEGANFamily,
                MLEFamily, SeqGANFamily, GumbelFamily, TextToImageFamily, StyleTransferFamily):
    FAMILIES.register(_family.name)(_family)


def build_family(cfg, data, device) -> Family:
    return FAMILIES.get(cfg.train.family)(cfg, data, device)


def load_data(cfg, rank: int = 0, world: int = 1) -> Data:
    """The data that `cfg`'s family trains on (this process's slice of each global batch)."""
    return build_data(cfg, FAMILIES.get(cfg.train.family).data_kind, rank, world)
