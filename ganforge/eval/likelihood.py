"""What a run with an encoder adds to `ganforge eval` and `ganforge sample`: the IWAE estimate of
log p(x) on held-out images (metric `iwae_ll`) and reconstructions of them (`--reconstruct`).

Held-out images: the test split of the run's data set (mnist5k: 1,000 digits, 100 a class;
data.name=stacked: 1,000 triples of mnist5k's test digits, seed 0); a folder has none.

    iwae_ll     mean over the held-out images of L_k(b) (ganforge.objectives.likelihood), b a
                binarisation of the image drawn with `seed`: nats per binarised image (<= 0)
    iwae_ll_se  its standard error over the images
"""

from __future__ import annotations

import math

import torch

#: importance samples per image, as in the IWAE paper's evaluation
DEFAULT_K = 1000


def held_out_images(run) -> torch.Tensor:
    """The run's held-out images (N, C, S, S) in [-1, 1] (its data set's test split)."""
    from ganforge.data import data_set_of

    return data_set_of(run.cfg, run.family.data_kind).held_out_images(run.cfg)


def check_encoder(run, what: str) -> None:
    if not hasattr(run.family, "reconstruct"):
        raise ValueError(f"{what} needs a run with an encoder (train.family=vae or vaegan); "
                         f"train.family={run.cfg.train.family} has none")


def iwae_log_likelihood(run, k: int = DEFAULT_K, seed: int = 0,
                        n: int | None = None) -> tuple[dict[str, float], dict]:
    """({"iwae_ll", "iwae_ll_se"}, protocol) on all held-out images, or
    on n of them chosen at random with `seed`."""
    if not getattr(run.family, "has_likelihood", False):
        raise ValueError(f"iwae_ll needs a model with a likelihood (train.family=vae); "
                         f"train.family={run.cfg.train.family} has none: use parzen_ll")
    if k < 1:
        raise ValueError(f"--iwae-k must be at least 1 importance sample, got {k}")
    images = held_out_images(run)
    if n:
        images = images[torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:n]]
    bounds = run.family.log_likelihood(images, k, torch.Generator().manual_seed(seed)).double()
    se = float(bounds.std() / math.sqrt(len(bounds))) if len(bounds) > 1 else math.nan
    values = {"iwae_ll": float(bounds.mean()), "iwae_ll_se": se}
    protocol = {"k": k, "held_out": len(images), "data": run.cfg.data.name, "seed": seed,
                "nets": "EMA encoder and decoder",
                "units": "nats per image, binarised with the seed (Bernoulli pixels)"}
    return values, protocol


def reconstructions(run, n: int, seed: int = 0) -> torch.Tensor:
    """A grid's rows: n held-out images (a random choice of `seed`), then their
    reconstructions G(mu(x)), (2n, C, S, S)."""
    check_encoder(run, "--reconstruct")
    images = held_out_images(run)
    if not 1 <= n <= len(images):
        raise ValueError(f"--reconstruct -n {n}: the run's data hold {len(images)} held-out "
                         f"images; use 1 to {len(images)}")
    x = images[torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:n]]
    return torch.cat([x, run.family.reconstruct(x)])
