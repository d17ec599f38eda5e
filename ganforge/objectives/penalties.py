"""Penalties and tricks that act on D's inputs, weights or outputs around a loss.

None of them is an objective of its own: the training step decides when to apply each one and
with what weight.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn


def _per_sample_uniform(n: int, like: Tensor, generator: torch.Generator | None) -> Tensor:
    """n draws from U[0, 1) made with ``generator`` (on its device), moved to ``like``'s device."""
    device = generator.device if generator is not None else like.device
    return torch.rand(n, generator=generator, device=device, dtype=like.dtype).to(like.device)


def _input_gradient_norms(outputs: Tensor, inputs: Tensor) -> Tensor:
    """||grad_x D(x)||_2 per sample, differentiable (create_graph=True)."""
    (gradients,) = torch.autograd.grad(outputs=outputs.sum(), inputs=inputs, create_graph=True)
    # the tiny constant keeps the derivative of the norm finite where a gradient is exactly 0
    return torch.sqrt(gradients.flatten(1).pow(2).sum(dim=1) + 1e-12)


def gradient_penalty(
    critic: Callable[[Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    generator: torch.Generator | None = None,
    target: float = 1.0,
) -> Tensor:
    """WGAN-GP gradient penalty (Gulrajani et al. 2017, Algorithm 1):

    E_{x_hat}[(||grad_{x_hat} D(x_hat)||_2 - target)^2],  x_hat = eps x + (1 - eps) x~,
    eps ~ U[0, 1] drawn once per sample, x real, x~ = G(z) fake (both detached: this is a D term).
    The graph is kept (create_graph=True) so the penalty can be back-propagated into D; the caller
    multiplies by lambda (10 in the paper).  ``generator`` makes eps reproducible.
    """
    if real.shape != fake.shape:
        raise ValueError(
            f"real and fake batches must have the same shape, got {tuple(real.shape)} and {tuple(fake.shape)}"
        )
    eps = _per_sample_uniform(real.shape[0], real, generator)
    eps = eps.view(-1, *([1] * (real.dim() - 1)))
    interpolates = (eps * real.detach() + (1.0 - eps) * fake.detach()).requires_grad_(True)
    norms = _input_gradient_norms(critic(interpolates), interpolates)
    return (norms - target).pow(2).mean()


def r1_penalty(real_out: Tensor, real_inputs: Tensor) -> Tensor:
    """R1 penalty (Mescheder et al. 2018): E_{x ~ p_data}[||grad_x D(x)||_2^2].

    ``real_inputs`` must have had requires_grad set before ``real_out = D(real_inputs)`` was
    computed.  The graph is kept so the penalty can be back-propagated; the caller multiplies by
    gamma / 2.
    """
    if not real_inputs.requires_grad:
        raise ValueError("r1_penalty needs real_inputs.requires_grad_(True) before D is applied to them")
    (gradients,) = torch.autograd.grad(outputs=real_out.sum(), inputs=real_inputs, create_graph=True)
    return gradients.flatten(1).pow(2).sum(dim=1).mean()


@torch.no_grad()
def clip_weights_(module: nn.Module, c: float) -> None:
    """Clamp every parameter of ``module`` to [-c, c] in place (WGAN, Arjovsky et al. 2017)."""
    if not c > 0:
        raise ValueError(f"the weight-clipping bound c must be positive, got {c}")
    for parameter in module.parameters():
        parameter.clamp_(-c, c)


def flip_labels(
    real: Tensor, fake: Tensor, p: float, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """Label flipping: swap real[i] and fake[i] with probability p, independently for each i.

    Works on samples or on D's outputs (shape (N, ...) each, same N): a swapped pair means that
    real sample is scored as fake and that fake as real.  Returns new tensors (no in-place).
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"the label-flip probability p must be in [0, 1], got {p}")
    if real.shape[0] != fake.shape[0]:
        raise ValueError(
            f"real and fake batches must have the same size, got {real.shape[0]} and {fake.shape[0]}"
        )
    swap = _per_sample_uniform(real.shape[0], real, generator) < p
    swap = swap.view(-1, *([1] * (real.dim() - 1)))
    return torch.where(swap, fake, real), torch.where(swap, real, fake)


def instance_noise_std(step: int, initial_std: float, anneal_steps: int) -> float:
    """Instance-noise std annealed linearly to 0 (Sonderby et al. 2017; Arjovsky & Bottou 2017):

    sigma(step) = initial_std * max(0, 1 - step / anneal_steps).
    """
    if anneal_steps <= 0:
        raise ValueError(f"anneal_steps must be a positive number of steps, got {anneal_steps}")
    if initial_std < 0:
        raise ValueError(f"initial_std must be >= 0, got {initial_std}")
    return initial_std * max(0.0, 1.0 - step / anneal_steps)


def add_instance_noise(x: Tensor, std: float, generator: torch.Generator | None = None) -> Tensor:
    """x + std * N(0, I): the same noise law for real and fake inputs of D."""
    if std == 0:
        return x
    device = generator.device if generator is not None else x.device
    noise = torch.randn(x.shape, generator=generator, device=device, dtype=x.dtype)
    return x + std * noise.to(x.device)


def top_k_count(step: int, batch: int, final_fraction: float, anneal_steps: int) -> int:
    """k of top-k training (Sinha et al. 2020): how many of G's m samples its loss uses.

    k(step) = ceil(m * max(nu, 1 - (1 - nu) * step / anneal_steps)), nu = final_fraction:
    all m samples at the start (when D's ranking is still uninformative), then a linear
    anneal to the best nu * m.
    """
    if not 0 < final_fraction <= 1:
        raise ValueError(f"loss.top_k must be a fraction in (0, 1], got {final_fraction}")
    if anneal_steps <= 0:
        raise ValueError(f"anneal_steps must be a positive number of steps, got {anneal_steps}")
    fraction = max(final_fraction, 1.0 - (1.0 - final_fraction) * step / anneal_steps)
    return max(1, math.ceil(batch * fraction - 1e-9))


def top_k_outputs(fake_out: Tensor, k: int) -> Tensor:
    """The k outputs D scores as most real (largest logit or critic value): G's loss then
    ignores the samples D rates least real (top-k training, Sinha et al. 2020)."""
    if k >= fake_out.shape[0]:
        return fake_out
    return torch.topk(fake_out, k, sorted=False).values
