"""The adversarial losses of fixed form, each registered as an ``Objective``: binary
cross-entropy (minimax, ns), least squares (lsgan), hinge and Wasserstein (wasserstein, wgan-gp).

Notation as in ``ganforge.objectives``.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ganforge.objectives.base import (
    OBJECTIVES,
    Objective,
    _check_outputs,
    _check_real_target,
    _refuse_real_target,
)

# --- binary cross-entropy family ------------------------------------------------------------


def bce_d_loss(real_logits: Tensor, fake_logits: Tensor, real_target: float = 1.0) -> Tensor:
    """Discriminator loss of the original GAN, -E[log D(x)] - E[log(1 - D(G(z)))].

    With D = sigmoid(v): -log D = softplus(-v) and -log(1 - D) = softplus(v).  A one-sided
    smoothed target t for reals gives -E[t log D(x) + (1-t) log(1 - D(x))] - E[log(1 - D(G(z)))].
    """
    _check_outputs(real_logits, fake_logits)
    _check_real_target(real_target)
    real_term = real_target * F.softplus(-real_logits) + (1.0 - real_target) * F.softplus(real_logits)
    return real_term.mean() + F.softplus(fake_logits).mean()


def minimax_g_loss(fake_logits: Tensor) -> Tensor:
    """Saturating generator loss of the minimax game, E[log(1 - D(G(z)))] = -E[softplus(v)].

    Its gradient w.r.t. v is -sigmoid(v): about 0 when D confidently rejects fakes (v << 0).
    """
    _check_outputs(fake_out=fake_logits)
    return -F.softplus(fake_logits).mean()


def ns_g_loss(fake_logits: Tensor) -> Tensor:
    """Non-saturating generator loss, -E[log D(G(z))] = E[softplus(-v)].

    Its gradient w.r.t. v is -sigmoid(-v): about -1 when D confidently rejects fakes.
    """
    _check_outputs(fake_out=fake_logits)
    return F.softplus(-fake_logits).mean()


OBJECTIVES.register("minimax")(
    Objective(
        name="minimax",
        d_loss=bce_d_loss,
        g_loss=minimax_g_loss,
        lipschitz="none",
        probabilistic=True,
        accepts_real_target=True,
    )
)

OBJECTIVES.register("ns")(
    Objective(
        name="ns",
        d_loss=bce_d_loss,
        g_loss=ns_g_loss,
        lipschitz="none",
        probabilistic=True,
        accepts_real_target=True,
    )
)


# --- least squares ----------------------------------------------------------------------------


def lsgan_d_loss(real_out: Tensor, fake_out: Tensor, real_target: float = 1.0) -> Tensor:
    """LSGAN discriminator loss (Mao et al. 2017, eq. 2 with a = 0, b = 1):

    1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2], with b = real_target (one-sided smoothing).
    D(x) here is the raw output, no sigmoid.
    """
    _check_outputs(real_out, fake_out)
    _check_real_target(real_target)
    return 0.5 * (real_out - real_target).pow(2).mean() + 0.5 * fake_out.pow(2).mean()


def lsgan_g_loss(fake_out: Tensor) -> Tensor:
    """LSGAN generator loss (Mao et al. 2017, eq. 2 with c = 1): 1/2 E[(D(G(z)) - c)^2]."""
    _check_outputs(fake_out=fake_out)
    return 0.5 * (fake_out - 1.0).pow(2).mean()


OBJECTIVES.register("lsgan")(
    Objective(
        name="lsgan",
        d_loss=lsgan_d_loss,
        g_loss=lsgan_g_loss,
        lipschitz="none",
        probabilistic=False,
        accepts_real_target=True,
    )
)


# --- hinge ------------------------------------------------------------------------------------


def hinge_d_loss(real_out: Tensor, fake_out: Tensor, real_target: float = 1.0) -> Tensor:
    """Hinge discriminator loss (Lim & Ye 2017; Miyato et al. 2018):

    E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))].
    """
    _check_outputs(real_out, fake_out)
    _refuse_real_target("hinge", real_target)
    return F.relu(1.0 - real_out).mean() + F.relu(1.0 + fake_out).mean()


def critic_g_loss(fake_out: Tensor) -> Tensor:
    """Generator loss of hinge and Wasserstein GANs: -E[D(G(z))]."""
    _check_outputs(fake_out=fake_out)
    return -fake_out.mean()


OBJECTIVES.register("hinge")(
    Objective(
        name="hinge",
        d_loss=hinge_d_loss,
        g_loss=critic_g_loss,
        lipschitz="none",
        probabilistic=False,
        accepts_real_target=False,
    )
)


# --- Wasserstein ------------------------------------------------------------------------------


def wasserstein_d_loss(real_out: Tensor, fake_out: Tensor, real_target: float = 1.0) -> Tensor:
    """Wasserstein critic loss (Arjovsky et al. 2017): E[D(G(z))] - E[D(x)].

    Minimising it maximises E[D(x)] - E[D(G(z))], which for a 1-Lipschitz critic approaches
    W1(p_data, p_g) (Kantorovich-Rubinstein duality).  The Lipschitz constraint is the step's
    business: ``clip_weights_`` after each D step (wasserstein) or ``gradient_penalty`` (wgan-gp).
    """
    _check_outputs(real_out, fake_out)
    _refuse_real_target("a Wasserstein critic", real_target)
    return fake_out.mean() - real_out.mean()


for _name, _constraint in (("wasserstein", "clip"), ("wgan-gp", "penalty")):
    OBJECTIVES.register(_name)(
        Objective(
            name=_name,
            d_loss=wasserstein_d_loss,
            g_loss=critic_g_loss,
            lipschitz=_constraint,
            probabilistic=False,
            accepts_real_target=False,
        )
    )
