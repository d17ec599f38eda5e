"""Samples that the run's own D ranks highest: `ganforge sample / eval RUN --top-by-d Q`.

D ends training as a (rough) density-ratio estimator: its logit(x) grows with
p_data(x) / p_g(x). Keeping the share Q of G's draws that D scores highest is a sampler of
its own, q(x) proportional to p_g(x) [logit(x) >= t_Q], and drops first the draws D finds
least real: on the unconditional digits G, blends of two digits (benchmarks/README.md). It
is the hard-threshold cousin of discriminator rejection sampling (Azadi et al. 2019), which
keeps x with probability exp(logit(x) - M). That is exact for an optimal D, but a
spectral-norm D's logits spread too little for it to reject much, while their ranking still
carries the information.

The n samples are the best n of a pool of ceil(n / Q) draws, the pool being the draws of
seed `seed` that plain sampling would make for that many samples. Two passes over the pool,
batch by batch, so memory holds one batch and the pool's logits, never the pool: the first
scores every draw with D, the second draws again and keeps the chosen ones, in draw order.
For runs whose G draws clusters too (data.clusters), draws are ranked within their cluster
(by their share of it), so that the kept samples keep G's cluster shares. Q = 1 keeps the
whole pool: exactly the plain samples.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch

#: the smallest share accepted: a pool of 100 draws a kept sample
MIN_SHARE = 0.01

#: the runs whose draws their own D can rank (ranks_by_d), in words; --langevin-by-d
#: (ganforge.langevin) takes the same runs
RANKED_RUNS = ("GAN runs (train.family=gan) whose G draws all its inputs, unconditional or "
               "with data.clusters, and whose D scores one sample at a time (model.pack=1, "
               "model.minibatch_std=false): D judges the draws, so no class or code may be "
               "asked of G")


def check_share(share: float) -> None:
    """Refuse a share outside [MIN_SHARE, 1] (NaN included) in one line."""
    if not MIN_SHARE <= share <= 1:
        raise ValueError(f"--top-by-d {share}: the share of draws kept, from {MIN_SHARE} (the "
                         "best of 100 draws a sample) to 1 (every draw, plain sampling)")


def pool_size(n: int, share: float) -> int:
    """The draws that hold n at the share: ceil(n / share)."""
    return math.ceil(n / share - 1e-9)  # 3 / 0.3 is 10.000000000000002 in floats: 10, not 11


def ranks_by_d(run) -> bool:
    """Whether D can rank this run's draws (see unranked_because)."""
    return unranked_because(run) is None


def unranked_because(run) -> str | None:
    """None for a run whose draws D can rank: a GAN (train.family=gan) whose G draws all of
    its inputs itself, noise and perhaps a cluster, so no class or code is asked of it, and
    whose D scores each sample on its own. Else why not, as the end of a sentence about it."""
    from ganforge.families.gan import GANFamily

    model = run.cfg.model
    if not isinstance(run.family, GANFamily):
        return ""
    if run.family.class_rows:
        return ", whose G is asked for a class or code"
    if model.pack > 1:  # PacGAN's D scores packs of samples
        return f", whose D scores packs of model.pack={model.pack} samples"
    if model.minibatch_std:
        return ", whose D gives every logit a statistic of its batch (model.minibatch_std=true)"
    return None


def refuse_unranked(run, flag: str) -> None:
    """Refuse `flag` for a run whose draws D cannot judge (see ranks_by_d), in one line."""
    because = unranked_because(run)
    if because is not None:
        raise ValueError(f"{flag} is for {RANKED_RUNS}; {run.path} is a run of "
                         f"train.family={run.cfg.train.family}{because}")


def check_ranked(run, share: float) -> None:
    """Refuse a share out of range, or a run whose draws D cannot rank (see ranks_by_d)."""
    check_share(share)
    refuse_unranked(run, "--top-by-d")


@torch.no_grad()
def d_logits(family, inputs: dict[str, torch.Tensor], samples: torch.Tensor) -> torch.Tensor:
    """D's logit of each sample, given the label G drew it for (if any)."""
    y = inputs["y"].to(family.device) if "y" in inputs else None
    return family.discriminate(samples.to(family.device), y)[0].float().reshape(-1).cpu()


def kept_draws(logits: torch.Tensor, labels: torch.Tensor | None, n: int) -> torch.Tensor:
    """Indices, ascending, of the n draws to keep: the highest logits; with labels, the
    highest fraction of their own label's draws (rank within the label / its count)."""
    if labels is None:
        order = torch.argsort(logits, descending=True, stable=True)
        return torch.sort(order[:n]).values
    standing = torch.empty(len(logits), dtype=torch.float64)
    for label in labels.unique():
        members = torch.nonzero(labels == label).squeeze(1)
        order = members[torch.argsort(logits[members], descending=True, stable=True)]
        standing[order] = (torch.arange(len(order), dtype=torch.float64) + 0.5) / len(order)
    return torch.sort(torch.argsort(standing, stable=True)[:n]).values


def top_by_d_batches(run, n: int, seed: int, share: float, cls: int | None = None,
                     batch: int = 500) -> Iterator[torch.Tensor]:
    """The n samples of the share `share` of draws that D ranks highest (module docstring),
    in batches of at most `batch`; every draw labelled `cls` when given (a cluster run)."""
    family = run.family
    pool = pool_size(n, share)

    def draws():
        for inputs in family.input_batches(pool, seed, batch):
            if cls is not None:
                inputs["y"] = torch.full((len(inputs["z"]),), cls, dtype=torch.long)
            yield inputs

    logits, labels = [], []
    for inputs in draws():
        logits.append(d_logits(family, inputs, family.snapshot(inputs)))
        if "y" in inputs:
            labels.append(inputs["y"].cpu())
    keep = kept_draws(torch.cat(logits), torch.cat(labels) if labels else None, n)
    start = 0
    for inputs in draws():
        size = len(inputs["z"])
        rows = keep[(keep >= start) & (keep < start + size)] - start
        start += size
        if len(rows) == size:  # the whole batch, drawn as plain sampling draws it
            yield family.snapshot(inputs)
        elif len(rows):
            yield family.snapshot({k: v[rows] for k, v in inputs.items()})
