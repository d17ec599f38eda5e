"""The ELBO of a likelihood model (train.family=vae) on held-out images: part of its default
`ganforge eval` (one encoder and decoder pass per image, seconds), where the IWAE bound
(metric `iwae_ll`, ganforge.eval.likelihood) takes k = 1,000 passes and is asked for by name.

    elbo      mean over the held-out images of log p(b|z) - KL(q(z|b) || p(z)), b a
              binarisation of the image and z ~ q(z|b) drawn with `seed` (nats per binarised
              image; a lower bound of log p(b), so of iwae_ll in expectation)
    elbo_se   its standard error over the images
"""

from __future__ import annotations

import math

import torch

from ganforge.eval.likelihood import held_out_images


def held_out_elbo(run, seed: int = 0) -> tuple[dict[str, float], dict]:
    """({"elbo", "elbo_se"}, protocol) on all of the run's held-out images."""
    if not getattr(run.family, "has_likelihood", False):
        raise ValueError(f"elbo needs a model with a likelihood (train.family=vae); "
                         f"train.family={run.cfg.train.family} has none")
    images = held_out_images(run)
    values = run.family.elbo(images, torch.Generator().manual_seed(seed)).double()
    se = float(values.std() / math.sqrt(len(values))) if len(values) > 1 else math.nan
    protocol = {"held_out": len(images), "data": run.cfg.data.name, "seed": seed,
                "nets": "EMA encoder and decoder", "z_samples": 1,
                "units": "nats per image, binarised with the seed (Bernoulli pixels)"}
    return {"elbo": float(values.mean()), "elbo_se": se}, protocol
