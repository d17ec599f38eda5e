"""The ``Objective`` record, the ``OBJECTIVES`` registry and the argument checks every loss shares.

Kept out of the package ``__init__`` so that the loss modules can register their objectives
without importing the package that imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

from ganforge.registry import Registry


@dataclass(frozen=True)
class Objective:
    """One adversarial objective: the two scalars the players minimise.

    d_loss(real_out, fake_out, real_target=1.0) -> scalar D minimises; real_out = D's outputs on
        real samples, fake_out = D's outputs on G(z), both shape (N,).  ``real_target`` is the
        one-sided label-smoothing target; see ``accepts_real_target``.
    g_loss(fake_out) -> scalar G minimises.
    lipschitz: how D is kept Lipschitz: "none", "clip" (weights clipped to [-loss.clip,
        loss.clip] after every D step: wasserstein) or "penalty" (loss.gp_weight * the gradient
        penalty added to D's loss: wgan-gp). Such a D is an unbounded critic (``critic``): no
        probabilities, so label smoothing and flipping are meaningless.
    probabilistic: D's output is the logit of P(real) (minimax, ns, fgan-gan), so label smoothing
        and label flipping have their usual meaning.
    accepts_real_target: d_loss honours real_target != 1 (minimax, ns, fgan-gan, lsgan); for the
        other objectives a real_target other than 1 raises ValueError.
    """

    name: str
    d_loss: Callable[..., Tensor]
    g_loss: Callable[[Tensor], Tensor]
    lipschitz: str
    probabilistic: bool
    accepts_real_target: bool

    @property
    def critic(self) -> bool:
        return self.lipschitz != "none"

    @property
    def keys(self) -> tuple[str, ...]:
        """The loss.* settings that only this objective's constraint reads."""
        return {"clip": ("loss.clip",), "penalty": ("loss.gp_weight",)}.get(self.lipschitz, ())


OBJECTIVES: Registry[Objective] = Registry("objective")

_SMOOTHING_OBJECTIVES = "minimax, ns, fgan-gan and lsgan"


def _check_outputs(real_out: Tensor | None = None, fake_out: Tensor | None = None) -> None:
    for label, out in (("real_out", real_out), ("fake_out", fake_out)):
        if out is not None and out.dim() != 1:
            raise ValueError(f"{label} must be D's outputs of shape (N,), got shape {tuple(out.shape)}")


def _check_real_target(real_target: float) -> None:
    if not 0.0 < real_target <= 1.0:
        raise ValueError(f"real_target must be in (0, 1], got {real_target}")


def _refuse_real_target(objective_name: str, real_target: float) -> None:
    if real_target != 1.0:
        raise ValueError(
            f"label smoothing (real_target={real_target}) applies to {_SMOOTHING_OBJECTIVES} only, "
            f"not to {objective_name!r}"
        )
