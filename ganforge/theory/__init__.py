"""The original paper's theory and the divergence family, checked on 1-D Gaussians.

  gaussians    densities, samples and exact divergences (KL, JSD, f-divergences, W1)
  game         D*, Theorem 1's value identity, Algorithm 1 on a 1-D toy, Figure 1, run_all
  divergences  f-GAN variational bounds and the WGAN-GP estimate of W1, trained and compared
"""

from ganforge.theory.divergences import divergence_checks, estimate_f_divergence, estimate_w1
from ganforge.theory.game import (
    check_optimal_discriminator,
    check_value_identity,
    draw_figure1,
    run_all,
    train_game,
)
from ganforge.theory.gaussians import exact_f_divergence, exact_w1, jsd_gaussians

__all__ = [
    "check_optimal_discriminator",
    "check_value_identity",
    "divergence_checks",
    "draw_figure1",
    "estimate_f_divergence",
    "estimate_w1",
    "exact_f_divergence",
    "exact_w1",
    "jsd_gaussians",
    "run_all",
    "train_game",
]
