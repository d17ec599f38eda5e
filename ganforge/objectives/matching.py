"""Losses of text-conditioned image GANs, as pure functions (nothing here steps an optimiser).

Matching-aware discriminator (GAN-CLS, Reed et al. 2016, Algorithm 1), with s = D(x, h) the
logit of D on image x and sentence embedding h:

    s_r = D(x, h)        real image, its own text     -> real
    s_w = D(x, h_hat)    real image, mismatched text  -> fake
    s_f = D(G(z, h), h)  generated image, its text    -> fake

    L_D = log sigma(s_r) + (log(1 - sigma(s_w)) + log(1 - sigma(s_f))) / 2   (maximised), so we
    minimise  softplus(-s_r) + (softplus(s_w) + softplus(s_f)) / 2,
    and G minimises softplus(-s_f) (the non-saturating form).

Conditioning augmentation (StackGAN, Zhang et al. 2017): c ~ N(mu(h), diag sigma(h)^2), with

    D_KL(N(mu, sigma^2) || N(0, I)) = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2),

averaged over the batch, added to G's loss.

Mode seeking (MSGAN, Mao et al. 2019): a conditional G tends to ignore z and draw one image per
condition; for two noises z_a, z_b under the same condition c, G also minimises

    L_ms = 1 / (d_I / d_z + 1e-5),  d_I = mean |G(z_a, c) - G(z_b, c)|,  d_z = mean |z_a - z_b|,

the means over every element of the batch (as in the paper's code).

Image-text matching for the text encoder (a symmetric contrastive loss as in CLIP / DS-SJE):
with unit vectors u_i (images) and v_j (sentences), logits l_ij = u_i . v_j / tau and target
rows t_ij (1 / #positives of row i on its positives, 0 elsewhere: the identity when only the
diagonal pairs match),

    L = 1/2 [ -mean_i sum_j t_ij log softmax_j(l_ij) - mean_j sum_i t_ij log softmax_i(l_ij) ].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def matching_d_loss(real_right: torch.Tensor, real_wrong: torch.Tensor,
                    fake_right: torch.Tensor) -> torch.Tensor:
    """GAN-CLS discriminator loss on logits s_r, s_w, s_f (each (N,))."""
    return F.softplus(-real_right).mean() + 0.5 * (
        F.softplus(real_wrong).mean() + F.softplus(fake_right).mean())


def matching_g_loss(fake_right: torch.Tensor) -> torch.Tensor:
    """-log sigma(s_f): G's non-saturating loss."""
    return F.softplus(-fake_right).mean()


def ca_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Mean over rows of KL(N(mu, exp(logvar)) || N(0, I)) for (N, c) mu and log sigma^2."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()


def mode_seeking_loss(fake_a: torch.Tensor, fake_b: torch.Tensor, z_a: torch.Tensor,
                      z_b: torch.Tensor) -> torch.Tensor:
    """MSGAN's 1 / (mean |G(z_a, c) - G(z_b, c)| / mean |z_a - z_b| + 1e-5)."""
    ratio = (fake_a - fake_b).abs().mean() / (z_a - z_b).abs().mean()
    return 1 / (ratio + 1e-5)


def contrastive_loss(images: torch.Tensor, texts: torch.Tensor, temperature: float,
                     positives: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric image-text InfoNCE on (N, k) unit vectors; `positives` (N, N) bool marks the
    pairs that match (default: the diagonal). Every row and column needs one positive."""
    logits = images @ texts.T / temperature
    if positives is None:
        positives = torch.eye(len(images), dtype=torch.bool, device=images.device)
    target = positives.float()
    rows = -(target / target.sum(1, keepdim=True) * F.log_softmax(logits, 1)).sum(1).mean()
    cols = -(target / target.sum(0, keepdim=True) * F.log_softmax(logits, 0)).sum(0).mean()
    return 0.5 * (rows + cols)
