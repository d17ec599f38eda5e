"""Model families, one per file, behind the interface of `base.Family`.

    gan.py        unconditional, conditional, InfoGAN and semi-supervised GANs
    began.py      BEGAN (auto-encoder D, equilibrium k_t)
    pix2pix.py    paired image-to-image translation
    cyclegan.py   unpaired image-to-image translation

A new family is one file with a `Family` subclass, a line below and a preset.
"""

from __future__ import annotations

from ganforge.data import Data, build_data
from ganforge.families.base import Family
from ganforge.families.began import BEGANFamily
from ganforge.families.cyclegan import CycleGANFamily
from ganforge.families.gan import GANFamily
from ganforge.families.pix2pix import Pix2PixFamily
from ganforge.registry import Registry

__all__ = ["FAMILIES", "BEGANFamily", "CycleGANFamily", "Family", "GANFamily", "Pix2PixFamily",
           "build_family", "load_data"]

FAMILIES: Registry[type[Family]] = Registry("train.family")
for _family in (GANFamily, BEGANFamily, Pix2PixFamily, CycleGANFamily):
    FAMILIES.register(_family.name)(_family)


def build_family(cfg, data, device) -> Family:
    return FAMILIES.get(cfg.train.family)(cfg, data, device)


def load_data(cfg, rank: int = 0, world: int = 1) -> Data:
    """The data that `cfg`'s family trains on (this process's slice of each global batch)."""
    return build_data(cfg, FAMILIES.get(cfg.train.family).data_kind, rank, world)
