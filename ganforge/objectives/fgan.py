"""f-divergences and the f-GAN family (Nowozin, Cseke & Tomioka 2016).

The ``F_DIVERGENCES`` table is shared with ``ganforge.theory``, which evaluates the divergences
themselves; every entry also registers its f-GAN objective ``fgan-<name>`` in ``OBJECTIVES``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ganforge.objectives.base import OBJECTIVES, Objective, _check_outputs, _refuse_real_target
from ganforge.objectives.losses import bce_d_loss
from ganforge.registry import Registry

LOG2 = math.log(2.0)


@dataclass(frozen=True)
class FDivergence:
    """An f-divergence D_f(P||Q) = integral q(x) f(p(x)/q(x)) dx with its f-GAN parametrisation.

    f(u): the convex generator (Table 1 of the f-GAN paper); f(1) = 0, except for the GAN
        divergence, whose f(1) = -log 4 makes D_f(P||P) = -log 4.
    activation(v) = g_f(v): maps D's raw output v onto dom f* (Table 2 / 6); T(x) = g_f(V(x)).
    conjugate(t) = f*(t) = sup_u [t u - f(u)], finite for t in ``conjugate_domain``.
    conjugate_of_activation(v) = f*(g_f(v)), written in v directly to stay finite and accurate
        (softplus, expm1) where composing the two functions would overflow or cancel.
    conjugate_domain: the open interval (low, high) of t where f* is finite.
    divergence: the divergence in the usual notation, for documentation.
    """

    name: str
    f: Callable[[Tensor], Tensor]
    activation: Callable[[Tensor], Tensor]
    conjugate: Callable[[Tensor], Tensor]
    conjugate_of_activation: Callable[[Tensor], Tensor]
    conjugate_domain: tuple[float, float]
    divergence: str

    def variational_bound(self, v_p: Tensor, v_q: Tensor) -> Tensor:
        """The f-GAN objective F(V) = E_P[g_f(V(x))] - E_Q[f*(g_f(V(x)))] <= D_f(P||Q).

        v_p: V's raw outputs on samples of P (the data), v_q: on samples of Q (the model).
        """
        return self.activation(v_p).mean() - self.conjugate_of_activation(v_q).mean()


F_DIVERGENCES: Registry[FDivergence] = Registry("f-divergence")


def get_f_divergence(name: str) -> FDivergence:
    """The f-divergence registered under ``name`` (kl, reverse-kl, pearson, hellinger, js, gan)."""
    return F_DIVERGENCES.get(name)


def _xlogx(u: Tensor) -> Tensor:
    """u log u with the limit 0 at u = 0."""
    return torch.where(u > 0, u * torch.log(torch.where(u > 0, u, torch.ones_like(u))), 0.0 * u)


def _register_f(divergence: FDivergence) -> None:
    F_DIVERGENCES.register(divergence.name)(divergence)


_INF = math.inf

_register_f(
    FDivergence(
        name="kl",
        f=_xlogx,
        activation=lambda v: v,
        conjugate=lambda t: torch.exp(t - 1.0),
        conjugate_of_activation=lambda v: torch.exp(v - 1.0),
        conjugate_domain=(-_INF, _INF),
        divergence="KL(P||Q) = int p log(p/q) dx;  f(u) = u log u, g_f(v) = v, f*(t) = exp(t - 1)",
    )
)

_register_f(
    FDivergence(
        name="reverse-kl",
        f=lambda u: -torch.log(u),
        activation=lambda v: -torch.exp(-v),
        conjugate=lambda t: -1.0 - torch.log(-t),
        # f*(-exp(-v)) = -1 - log(exp(-v)) = v - 1
        conjugate_of_activation=lambda v: v - 1.0,
        conjugate_domain=(-_INF, 0.0),
        divergence=("KL(Q||P) = int q log(q/p) dx;  f(u) = -log u, g_f(v) = -exp(-v), f*(t) = -1 - log(-t)"),
    )
)

_register_f(
    FDivergence(
        name="pearson",
        f=lambda u: (u - 1.0).pow(2),
        activation=lambda v: v,
        conjugate=lambda t: 0.25 * t.pow(2) + t,
        conjugate_of_activation=lambda v: 0.25 * v.pow(2) + v,
        conjugate_domain=(-_INF, _INF),
        divergence=(
            "Pearson chi^2(P||Q) = int (p - q)^2 / q dx;  f(u) = (u - 1)^2, g_f(v) = v, f*(t) = t^2/4 + t"
        ),
    )
)

_register_f(
    FDivergence(
        name="hellinger",
        f=lambda u: (torch.sqrt(u) - 1.0).pow(2),
        activation=lambda v: -torch.expm1(-v),
        conjugate=lambda t: t / (1.0 - t),
        # g_f(v) = 1 - exp(-v): f*(g_f(v)) = (1 - exp(-v)) / exp(-v) = exp(v) - 1
        conjugate_of_activation=torch.expm1,
        conjugate_domain=(-_INF, 1.0),
        divergence=(
            "squared Hellinger H^2(P||Q) = int (sqrt(p) - sqrt(q))^2 dx;  f(u) = (sqrt(u) - 1)^2, "
            "g_f(v) = 1 - exp(-v), f*(t) = t / (1 - t)"
        ),
    )
)

_register_f(
    FDivergence(
        name="js",
        f=lambda u: _xlogx(u) - (u + 1.0) * torch.log((u + 1.0) / 2.0),
        activation=lambda v: LOG2 - F.softplus(-v),
        conjugate=lambda t: -torch.log(2.0 - torch.exp(t)),
        # exp(g_f(v)) = 2 sigmoid(v), so 2 - exp(g_f(v)) = 2 sigmoid(-v):
        # f*(g_f(v)) = -log 2 - log sigmoid(-v) = softplus(v) - log 2
        conjugate_of_activation=lambda v: F.softplus(v) - LOG2,
        conjugate_domain=(-_INF, LOG2),
        divergence=(
            "2 JSD(P||Q) = int p log(2p/(p+q)) + q log(2q/(p+q)) dx;  "
            "f(u) = u log u - (u + 1) log((u + 1)/2), g_f(v) = log 2 - log(1 + exp(-v)), "
            "f*(t) = -log(2 - exp(t)).  The paper's Table 1 writes a factor 1/2 in front of the "
            "integral, but its generator and conjugate pair gives twice the Jensen-Shannon "
            "divergence; we follow the pair"
        ),
    )
)

_register_f(
    FDivergence(
        name="gan",
        f=lambda u: _xlogx(u) - (u + 1.0) * torch.log(u + 1.0),
        activation=lambda v: -F.softplus(-v),
        conjugate=lambda t: -torch.log(-torch.expm1(t)),
        # 1 - exp(g_f(v)) = 1 - sigmoid(v) = sigmoid(-v): f*(g_f(v)) = softplus(v)
        conjugate_of_activation=F.softplus,
        conjugate_domain=(-_INF, 0.0),
        divergence=(
            "GAN: 2 JSD(P||Q) - log 4 = int p log(2p/(p+q)) + q log(2q/(p+q)) dx - log 4;  "
            "f(u) = u log u - (u + 1) log(u + 1), g_f(v) = -log(1 + exp(-v)), "
            "f*(t) = -log(1 - exp(t))"
        ),
    )
)


def _fgan_objective(divergence: FDivergence) -> Objective:
    """The f-GAN objective for one divergence.

    D (the variational function V) maximises F(V) = E_P[g_f(V(x))] - E_Q[f*(g_f(V(G(z))))],
    so d_loss = -F(V).  G uses the paper's alternative update (Nowozin et al. 2016, sec. 3.2):
    it maximises E_Q[g_f(V(G(z)))], so g_loss = -E_Q[g_f(V(G(z)))]; for the GAN divergence this
    is exactly the non-saturating loss -E[log D(G(z))].  (The saddle-point update
    -E_Q[f*(g_f(V))] has the same fixed point but saturates like the minimax loss.)
    """
    objective_name = f"fgan-{divergence.name}"
    is_gan = divergence.name == "gan"

    def d_loss(real_out: Tensor, fake_out: Tensor, real_target: float = 1.0) -> Tensor:
        _check_outputs(real_out, fake_out)
        if is_gan:  # -F(V) is exactly the cross-entropy loss; honour smoothing as minimax does
            return bce_d_loss(real_out, fake_out, real_target)
        _refuse_real_target(objective_name, real_target)
        return -divergence.variational_bound(real_out, fake_out)

    def g_loss(fake_out: Tensor) -> Tensor:
        _check_outputs(fake_out=fake_out)
        return -divergence.activation(fake_out).mean()

    d_loss.__doc__ = (
        f"f-GAN discriminator loss for {divergence.name}: "
        "-(E_P[g_f(V(x))] - E_Q[f*(g_f(V(G(z))))]).  " + divergence.divergence
    )
    g_loss.__doc__ = f"f-GAN generator loss for {divergence.name}: -E_Q[g_f(V(G(z)))]."
    return Objective(
        name=objective_name,
        d_loss=d_loss,
        g_loss=g_loss,
        lipschitz="none",
        probabilistic=is_gan,
        accepts_real_target=is_gan,
    )


for _divergence in F_DIVERGENCES.values():
    _objective = _fgan_objective(_divergence)
    OBJECTIVES.register(_objective.name)(_objective)
