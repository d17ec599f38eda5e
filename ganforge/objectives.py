"""Adversarial objectives as pure functions of the discriminator's outputs.

Nothing here calls ``backward`` or steps an optimiser: a loss takes D's raw outputs (logits or
critic values, shape ``(N,)``) and returns a scalar that one player *minimises*.  The training step
decides what to back-propagate.

Notation (Goodfellow et al. 2014): x ~ p_data are real samples, z ~ p_z noise, G(z) fakes,
D(x) = sigmoid(v(x)) the probability that x is real, v the raw logit D's network returns.

Contents

* ``Objective`` records and the ``OBJECTIVES`` registry (``get_objective(name)``):
  minimax, ns, lsgan, hinge, wasserstein, wgan-gp and the f-GAN family fgan-kl, fgan-reverse-kl,
  fgan-pearson, fgan-hellinger, fgan-js, fgan-gan.
* ``FDivergence`` records (generator f, output activation g_f, Fenchel conjugate f*) and the
  ``F_DIVERGENCES`` registry, shared with ``ganforge.theory``.
* Penalties and tricks: ``gradient_penalty`` (WGAN-GP), ``r1_penalty``, ``clip_weights_``,
  ``flip_labels``, ``instance_noise_std`` / ``add_instance_noise``.
* Image-to-image translation: ``l1_loss``, ``cycle_consistency_loss``, ``identity_loss``.

Label smoothing.  ``Objective.d_loss(real_out, fake_out, real_target=1.0)`` takes the target for
real samples explicitly (one-sided smoothing, Salimans et al. 2016: real_target = 0.9, fakes keep
0).  Only objectives whose ``accepts_real_target`` is True honour a value other than 1 (minimax,
ns, fgan-gan: binary cross-entropy towards the target; lsgan: b = real_target); the others raise
a ValueError saying so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.registry import Registry

__all__ = [
    "F_DIVERGENCES",
    "OBJECTIVES",
    "FDivergence",
    "Objective",
    "add_instance_noise",
    "clip_weights_",
    "cycle_consistency_loss",
    "flip_labels",
    "get_f_divergence",
    "get_objective",
    "gradient_penalty",
    "identity_loss",
    "instance_noise_std",
    "l1_loss",
    "r1_penalty",
]

LOG2 = math.log(2.0)


# --------------------------------------------------------------------------------------------
# The Objective record and its registry
# --------------------------------------------------------------------------------------------


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


def get_objective(name: str) -> Objective:
    """The objective registered under ``name``; unknown names raise listing the valid ones."""
    return OBJECTIVES.get(name)


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


# --------------------------------------------------------------------------------------------
# f-divergences and the f-GAN family (Nowozin, Cseke & Tomioka 2016)
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Penalties and tricks
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Image-to-image translation
# --------------------------------------------------------------------------------------------


def l1_loss(a: Tensor, b: Tensor) -> Tensor:
    """Mean absolute error E[|a - b|] (the pix2pix L1 term, Isola et al. 2017)."""
    if a.shape != b.shape:
        raise ValueError(f"l1_loss needs equal shapes, got {tuple(a.shape)} and {tuple(b.shape)}")
    return (a - b).abs().mean()


def cycle_consistency_loss(x: Tensor, x_reconstructed: Tensor) -> Tensor:
    """CycleGAN cycle loss (Zhu et al. 2017, eq. 2), one direction: E_x[||F(G(x)) - x||_1].

    Averaged per element, as the reference implementation does; the caller adds both directions
    and multiplies by lambda (10 in the paper).
    """
    return l1_loss(x_reconstructed, x)


def identity_loss(y: Tensor, g_of_y: Tensor) -> Tensor:
    """CycleGAN identity loss (Zhu et al. 2017, sec. 5.2): E_y[||G(y) - y||_1], per element."""
    return l1_loss(g_of_y, y)
