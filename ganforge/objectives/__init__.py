"""Adversarial objectives as pure functions of the discriminator's outputs.

Nothing here calls ``backward`` or steps an optimiser: a loss takes D's raw outputs (logits or
critic values, shape ``(N,)``) and returns a scalar that one player *minimises*.  The training step
decides what to back-propagate.

Notation (Goodfellow et al. 2014): x ~ p_data are real samples, z ~ p_z noise, G(z) fakes,
D(x) = sigmoid(v(x)) the probability that x is real, v the raw logit D's network returns.

Contents

* ``Objective`` records and the ``OBJECTIVES`` registry (``get_objective(name)``):
  minimax, ns, lsgan, hinge, wasserstein, wgan-gp (``losses``) and the f-GAN family fgan-kl,
  fgan-reverse-kl, fgan-pearson, fgan-hellinger, fgan-js, fgan-gan (``fgan``).
* ``FDivergence`` records (generator f, output activation g_f, Fenchel conjugate f*) and the
  ``F_DIVERGENCES`` registry, shared with ``ganforge.theory`` (``fgan``).
* Penalties and tricks (``penalties``, which also holds top-k training): ``gradient_penalty``
  (WGAN-GP), ``r1_penalty``, ``clip_weights_``, ``flip_labels``, ``instance_noise_std`` /
  ``add_instance_noise``.
* Image-to-image translation (``translation``): ``l1_loss``, ``cycle_consistency_loss``,
  ``identity_loss``.

Label smoothing.  ``Objective.d_loss(real_out, fake_out, real_target=1.0)`` takes the target for
real samples explicitly (one-sided smoothing, Salimans et al. 2016: real_target = 0.9, fakes keep
0).  Only objectives whose ``accepts_real_target`` is True honour a value other than 1 (minimax,
ns, fgan-gan: binary cross-entropy towards the target; lsgan: b = real_target); the others raise
a ValueError saying so.
"""

from __future__ import annotations

from ganforge.objectives.base import OBJECTIVES, Objective

# fgan builds on losses, so importing it registers the losses' objectives first and the f-GAN
# family after them: OBJECTIVES keeps the order of the Contents above.
from ganforge.objectives.fgan import F_DIVERGENCES, FDivergence, get_f_divergence
from ganforge.objectives.penalties import (
    add_instance_noise,
    clip_weights_,
    flip_labels,
    gradient_penalty,
    instance_noise_std,
    r1_penalty,
)
from ganforge.objectives.translation import cycle_consistency_loss, identity_loss, l1_loss

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


def get_objective(name: str) -> Objective:
    """The objective registered under ``name``; unknown names raise listing the valid ones."""
    return OBJECTIVES.get(name)
