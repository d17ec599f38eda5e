"""Variational estimates of divergences between 1-D Gaussians, the way a GAN discriminator
makes them, against the exact values of ``ganforge.theory.gaussians``.

* ``estimate_f_divergence``: trains a small MLP V(x) alone (P and Q fixed, fresh samples every
  step, Adam) to maximise the f-GAN bound (Nowozin et al. 2016, eq. 6)
  F(V) = E_P[g_f(V(x))] - E_Q[f*(g_f(V(x)))] <= D_f(P||Q),
  then reports the bound reached by the trained V.
* ``estimate_w1``: the estimate E_P[D(x)] - E_Q[D(x)] of W1(P, Q) by a critic trained with the
  WGAN-GP objective (Gulrajani et al. 2017).
* ``divergence_checks`` runs every check on one pair, for ``ganforge theory``.

The default pair P = N(0, 1), Q = N(1, 1.2^2) keeps every divergence finite and every estimate
well behaved: Pearson chi^2(P||Q) is finite because 2 sigma_q^2 > sigma_p^2, and the reverse-KL
term E_P[q/p] has finite variance because 2 sigma_p^2 > sigma_q^2 (with Q = N(1, 1.5^2) that
variance is infinite and the estimates wander).  With sigma_q > sigma_p every optimal raw output
V*(x), where g_f(V*) = f'(p/q), is tame: a quadratic in x (log p/q up to constants) for KL,
reverse KL, squared Hellinger, JS and GAN, and bounded for Pearson (2 (p/q - 1), p/q bounded).
A 2x32 MLP fits them in a few hundred Adam steps.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
from scipy import integrate
from torch import Tensor, nn

from ganforge.objectives import F_DIVERGENCES, get_f_divergence, get_objective, gradient_penalty
from ganforge.theory.gaussians import (
    Gaussian,
    check_gaussian,
    density,
    exact_f_divergence,
    exact_w1,
    sample,
    span,
)

DEFAULT_P: Gaussian = (0.0, 1.0)
DEFAULT_Q: Gaussian = (1.0, 1.2)


def _mlp(hidden: int) -> nn.Sequential:
    """V: R -> R, two hidden layers of ``hidden`` units with ELU (smooth, so V can bend).

    The output layer starts at zero, so V starts constant.  For the WGAN-GP critic this matters:
    in 1-D the slope D'(x) cannot change sign without passing |D'| = 0, where the two-sided
    penalty costs lambda, so a critic whose random initial slope points the wrong way gets
    stuck near -W1.  Starting from D' = 0 lets the Wasserstein term pick the sign.
    """
    output = nn.Linear(hidden, 1)
    nn.init.zeros_(output.weight)
    nn.init.zeros_(output.bias)
    return nn.Sequential(
        nn.Linear(1, hidden), nn.ELU(), nn.Linear(hidden, hidden), nn.ELU(), output
    )


def _column(g: Gaussian, n: int, generator: torch.Generator, device: torch.device) -> Tensor:
    """n samples of ``g`` as an (n, 1) column on ``device``, the input the MLPs take."""
    return sample(g, n, generator).unsqueeze(1).to(device)


def _grid(p: Gaussian, q: Gaussian, points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x on the integration span with the densities p(x), q(x) (float64)."""
    x = np.linspace(*span(p, q), points)
    return x, density(x, p), density(x, q)


@torch.no_grad()
def _on_grid(net: nn.Module, x: np.ndarray, device: torch.device) -> Tensor:
    inputs = torch.as_tensor(x, dtype=torch.float32, device=device).unsqueeze(1)
    return net(inputs).squeeze(1).double()


@contextmanager
def _torch_threads(num_threads: int | None) -> Iterator[None]:
    """Run the block with ``num_threads`` intra-op threads (None: unchanged), then restore.

    A 2x32 MLP gains nothing from a second thread, and on a busy 2-core machine two threads
    contend so badly that a step takes 20 times longer.
    """
    previous = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _train(net: nn.Module, loss_fn: Callable[[], Tensor], steps: int, lr: float) -> None:
    """Adam on ``loss_fn()``, the learning rate decayed linearly to 5% over the last half."""
    if steps < 1:
        raise ValueError(f"steps must be a positive number of training steps, got {steps}")
    optimiser = torch.optim.Adam(net.parameters(), lr=lr, betas=(0.5, 0.999))
    half = steps // 2

    def factor(step: int) -> float:
        return 1.0 if step < half else max(0.05, 1.0 - (step - half) / max(1, steps - half))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, factor)
    for _ in range(steps):
        optimiser.zero_grad(set_to_none=True)
        loss_fn().backward()
        optimiser.step()
        schedule.step()


def _relative_error(estimate: float, exact: float) -> float:
    return abs(estimate - exact) / abs(exact)


def estimate_f_divergence(
    name: str,
    p: Gaussian = DEFAULT_P,
    q: Gaussian = DEFAULT_Q,
    steps: int = 800,
    seed: int = 0,
    batch_size: int = 512,
    hidden: int = 32,
    lr: float = 2e-3,
    eval_samples: int = 1 << 18,
    device: str | torch.device = "cpu",
    num_threads: int | None = 1,
) -> dict:
    """Train V alone to maximise F(V) = E_P[g_f(V(x))] - E_Q[f*(g_f(V(x)))] and compare.

    P and Q stay fixed; every step draws ``batch_size`` fresh samples of each.  The returned dict:
      bound:     F(V) of the trained V, integrated against the known densities on a fine grid
                 (deterministic; by the Fenchel-Young inequality q f(p/q) >= p T - q f*(T)
                 pointwise, so bound <= exact up to quadrature error),
      bound_mc:  the same F(V) estimated from ``eval_samples`` fresh samples of P and Q,
      exact:     D_f(P||Q) by ``gaussians.exact_f_divergence``,
      rel_error: |bound - exact| / |exact|,
      plus name, p, q, steps, seed and seconds (wall time of training and evaluation).
    The global torch RNG is left as it was (the initialisation runs under a forked RNG), and so
    is the number of torch threads (``num_threads`` applies to this call only; None: unchanged).
    """
    divergence = get_f_divergence(name)
    p, q = check_gaussian("p", p), check_gaussian("q", q)
    exact = exact_f_divergence(name, p, q)
    if not math.isfinite(exact):
        raise ValueError(
            f"the {name} divergence between p={p} and q={q} is infinite; choose sigma_q with "
            "2 sigma_q^2 > sigma_p^2"
        )
    device = torch.device(device)
    start = time.perf_counter()
    with _torch_threads(num_threads):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = _mlp(hidden).to(device)
        generator = torch.Generator().manual_seed(seed)

        def loss() -> Tensor:
            v_p = net(_column(p, batch_size, generator, device)).squeeze(1)
            v_q = net(_column(q, batch_size, generator, device)).squeeze(1)
            return -divergence.variational_bound(v_p, v_q)

        _train(net, loss, steps, lr)

        x, density_p, density_q = _grid(p, q, 20001)
        v = _on_grid(net, x, device)
        integrand = torch.as_tensor(density_p, device=v.device) * divergence.activation(
            v
        ) - torch.as_tensor(density_q, device=v.device) * divergence.conjugate_of_activation(v)
        bound = float(integrate.trapezoid(integrand.cpu().numpy(), x))

        with torch.no_grad():
            v_p = net(_column(p, eval_samples, generator, device)).squeeze(1).double()
            v_q = net(_column(q, eval_samples, generator, device)).squeeze(1).double()
            bound_mc = float(divergence.variational_bound(v_p, v_q))
    return {
        "name": name,
        "p": list(p),
        "q": list(q),
        "steps": steps,
        "seed": seed,
        "exact": exact,
        "bound": bound,
        "bound_mc": bound_mc,
        "rel_error": _relative_error(bound, exact),
        "seconds": time.perf_counter() - start,
    }


def estimate_w1(
    p: Gaussian = DEFAULT_P,
    q: Gaussian = DEFAULT_Q,
    steps: int = 800,
    seed: int = 0,
    batch_size: int = 512,
    hidden: int = 32,
    lr: float = 2e-3,
    gp_weight: float = 10.0,
    eval_samples: int = 1 << 18,
    device: str | torch.device = "cpu",
    num_threads: int | None = 1,
) -> dict:
    """Train a WGAN-GP critic D alone and compare E_P[D(x)] - E_Q[D(x)] with W1(P, Q).

    The critic minimises E_Q[D(x)] - E_P[D(x)] + gp_weight * E[(||grad D(x_hat)|| - 1)^2]
    (the ``wgan-gp`` objective plus ``gradient_penalty``).  The penalty is soft: where
    |F_P - F_Q| is large compared with the density of interpolates, a slope a little above 1
    pays, so the estimate lies a few percent above W1 (about +5% on the default pair with
    lambda = 10).  Returned dict: estimate (from ``eval_samples`` fresh samples of each),
    estimate_grid (the same difference integrated against the known densities), exact
    (``gaussians.exact_w1``), rel_error = |estimate - exact| / exact, name "w1", p, q, steps,
    seed, seconds.
    The global torch RNG and thread count are left as they were (see estimate_f_divergence).
    """
    p, q = check_gaussian("p", p), check_gaussian("q", q)
    objective = get_objective("wgan-gp")
    exact = exact_w1(p, q)
    device = torch.device(device)
    start = time.perf_counter()
    with _torch_threads(num_threads):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = _mlp(hidden).to(device)
        generator = torch.Generator().manual_seed(seed)

        def critic(x: Tensor) -> Tensor:
            return net(x).squeeze(1)

        def loss() -> Tensor:
            real = _column(p, batch_size, generator, device)
            fake = _column(q, batch_size, generator, device)
            penalty = gradient_penalty(critic, real, fake, generator=generator)
            return objective.d_loss(critic(real), critic(fake)) + gp_weight * penalty

        _train(net, loss, steps, lr)

        x, density_p, density_q = _grid(p, q, 20001)
        d = _on_grid(net, x, device).cpu().numpy()
        estimate_grid = float(integrate.trapezoid((density_p - density_q) * d, x))
        with torch.no_grad():
            d_p = critic(_column(p, eval_samples, generator, device)).double().mean()
            d_q = critic(_column(q, eval_samples, generator, device)).double().mean()
        estimate = float(d_p - d_q)
    return {
        "name": "w1",
        "p": list(p),
        "q": list(q),
        "steps": steps,
        "seed": seed,
        "exact": exact,
        "estimate": estimate,
        "estimate_grid": estimate_grid,
        "rel_error": _relative_error(estimate, exact),
        "seconds": time.perf_counter() - start,
    }


def divergence_checks(
    p: Gaussian = DEFAULT_P,
    q: Gaussian = DEFAULT_Q,
    steps: int = 800,
    seed: int = 0,
    device: str | torch.device = "cpu",
    starting: Callable[[str], None] | None = None,
) -> list[dict]:
    """Every f-divergence estimate (in F_DIVERGENCES order) followed by the W1 estimate;
    `starting(name)` is called before each (a progress bar's hook)."""
    results = []
    for name in (*F_DIVERGENCES, "w1"):
        if starting is not None:
            starting(name)
        if name == "w1":
            results.append(estimate_w1(p, q, steps=steps, seed=seed, device=device))
        else:
            results.append(estimate_f_divergence(name, p, q, steps=steps, seed=seed,
                                                 device=device))
    return results
