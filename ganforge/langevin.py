"""Samples moved in latent space toward what the run's D finds real: `ganforge sample / eval
RUN --langevin-by-d STEPS` (discriminator-driven latent sampling, Che et al. 2020).

D ends training as a density-ratio estimator, logit d(x) ~ log p_data(x) / p_g(x), so the
latents of G, z ~ N(0, I), reweighted by exp(d(G(z))) are draws of p_data. Langevin dynamics
samples that in z, with the energy

    E(z) = ||z||^2 / 2 - beta * d(G(z)),
    z_{t+1} = z_t - (eps / 2) grad E(z_t) + sqrt(eps) xi_t,    xi_t ~ N(0, I),

for `steps` steps of size eps from G's own draws. beta = 1 is the ratio as D states it; a
spectral-norm D's logits spread too little for that to move its samples (the reason
ganforge.selection ranks rather than rejects), so beta, the weight of D's logit, is a knob: on
the unconditional digits 20 does best, with 30 steps of 0.02 (benchmarks/README.md). Unlike
keeping the top share by D, every draw is kept and moved a little, so the sample count costs no
extra draws, at `steps` forward and backward passes of G and D a batch.

For runs whose G draws clusters too (data.clusters) each draw keeps its cluster and D judges it
as of that cluster. Reproducible from the seed: the start is the draws of plain sampling, the
Langevin noise comes from its own generator, seeded from the same seed, drawn batch by batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

#: bounds of each setting, checked before a run loads
MAX_STEPS = 10_000
MAX_STEP_SIZE = 1.0  # there the chain's variance on the prior alone is already 1 / (1 - 1/4)
MAX_WEIGHT = 1_000.0
#: the Langevin noise of seed s comes from a generator seeded s + NOISE_SEED_OFFSET, so that it
#: is never the noise that plain sampling draws for a nearby seed
NOISE_SEED_OFFSET = 1 << 40


@dataclass(frozen=True)
class LangevinByD:
    """`steps` Langevin steps of size `step_size` on E(z) = ||z||^2 / 2 - weight * d(G(z))."""

    steps: int
    step_size: float = 0.02
    weight: float = 20.0

    def check(self) -> None:
        """Refuse a setting out of range (NaN included) in one line that names its flag."""
        if not 1 <= self.steps <= MAX_STEPS:
            raise ValueError(f"--langevin-by-d {self.steps}: the Langevin steps, from 1 to "
                             f"{MAX_STEPS:,}")
        if not 0 < self.step_size <= MAX_STEP_SIZE:
            raise ValueError(f"--langevin-step {self.step_size}: the step size eps, above 0 and "
                             f"at most {MAX_STEP_SIZE:g}")
        if not 0 <= self.weight <= MAX_WEIGHT:
            raise ValueError(f"--langevin-weight {self.weight}: the weight beta of D's logit, "
                             f"from 0 (the prior alone) to {MAX_WEIGHT:g}")

    def protocol(self) -> dict:
        """How the samples were drawn, for eval.json."""
        return {"steps": self.steps, "step_size": self.step_size, "weight": self.weight,
                "rule": "z_{t+1} = z_t - (step_size / 2) grad E(z_t) + sqrt(step_size) xi_t, "
                        "E(z) = |z|^2 / 2 - weight * logit_D(G(z)), from the plain draws of "
                        "`seed`"}


def refuse_with_top_by_d(top_by_d: float | None, setting: LangevinByD | None) -> None:
    """The two samplers by D do not combine: one keeps some draws, the other moves them all."""
    if top_by_d is not None and setting is not None:
        raise ValueError("--top-by-d keeps the best of many draws and --langevin-by-d moves "
                         "every draw: give one of them")


def check_langevin(run, setting: LangevinByD) -> None:
    """Refuse a setting out of range, or a run whose draws D cannot judge (the runs of
    --top-by-d, ganforge.selection.RANKED_RUNS)."""
    from ganforge.selection import refuse_unranked

    setting.check()
    refuse_unranked(run, "--langevin-by-d")


def langevin(z: torch.Tensor, logit: Callable[[torch.Tensor], torch.Tensor],
             setting: LangevinByD, noise: torch.Generator) -> torch.Tensor:
    """z after setting.steps steps of the module docstring's dynamics; `logit(z)`: D's logit
    of G(z), one per row, differentiable in z; `noise`: the generator of xi (on the CPU)."""
    eps, weight = setting.step_size, setting.weight
    z = z.detach()
    for _ in range(setting.steps):
        z.requires_grad_(True)
        energy = 0.5 * z.square().sum() - weight * logit(z).sum()
        (grad,) = torch.autograd.grad(energy, z)
        xi = torch.randn(z.shape, generator=noise).to(z.device, z.dtype)
        z = (z - 0.5 * eps * grad + eps ** 0.5 * xi).detach()
    return z


def langevin_batches(run, n: int, seed: int, setting: LangevinByD, cls: int | None = None,
                     batch: int = 500) -> Iterator[torch.Tensor]:
    """The n samples of plain sampling's draws after the Langevin steps, in batches of about
    `batch`; every draw labelled `cls` when given (a cluster run)."""
    family = run.family
    noise = torch.Generator().manual_seed(seed + NOISE_SEED_OFFSET)
    for inputs in family.input_batches(n, seed, batch):
        if cls is not None:
            inputs["y"] = torch.full((len(inputs["z"]),), cls, dtype=torch.long)
        y = inputs["y"].to(family.device) if "y" in inputs else None

        def logit(z, y=y):
            x = family.generate(family.G_ema, z, y)
            return family.discriminate(x, y)[0].float().reshape(-1)

        with torch.enable_grad():
            z = langevin(inputs["z"].to(family.device), logit, setting, noise)
        yield family.snapshot({**inputs, "z": z})
