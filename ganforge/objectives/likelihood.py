"""The variational auto-encoder's objective (Kingma & Welling 2014) and the importance-weighted
bound on log p(x) (Burda, Grosse & Salakhutdinov 2016), as pure functions.

Notation: x an image, z in R^d its latent, p(z) = N(0, I) the prior, q(z|x) =
N(mu(x), diag sigma^2(x)) the encoder's posterior (it returns mu and log sigma^2), p(x|z) the
decoder's pixel likelihood.

    ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z))  <=  log p(x)
    KL      = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2)
    L_k(x)  = E[log 1/k sum_i w_i],  w_i = p(x|z_i) p(z_i) / q(z_i|x),  z_i ~ q(z|x)

L_1 is the ELBO, L_k <= L_{k+1} <= log p(x), and L_k -> log p(x) as k -> infinity.

Pixels: Bernoulli. An 8-bit grey digit x in [-1, 1] is read as the probabilities
(x + 1) / 2 that its pixels are on, and binarised by drawing them (dynamic binarisation, as
the VAE and IWAE papers train on MNIST); the decoder gives each pixel's logit l and

    log p(b|z) = sum_j b_j log sigmoid(l_j) + (1 - b_j) log sigmoid(-l_j),  b in {0, 1}^D.

G(z) = tanh(l / 2) = 2 sigmoid(l) - 1 is the image of the means E[b|z] in [-1, 1].
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def binarise(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """b_j ~ Bernoulli((x_j + 1) / 2) for images x in [-1, 1]: 0/1 pixels of x's dtype, drawn
    from `generator` (a CPU generator) or else torch's global stream on x's device."""
    p = (x.clamp(-1.0, 1.0) + 1.0) / 2.0
    if generator is None:
        return torch.bernoulli(p)
    return torch.bernoulli(p.cpu(), generator=generator).to(x.device)


def bernoulli_log_likelihood(bits: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """log p(b|z) of each image from the decoder's logits, summed over pixels, (N,)."""
    return -F.binary_cross_entropy_with_logits(logits, bits, reduction="none").flatten(1).sum(1)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) of each row, (N,)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)


def log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag exp(logvar)) summed over the last dimension."""
    return -0.5 * (math.log(2 * math.pi) + logvar + (z - mu).pow(2) * torch.exp(-logvar)).sum(-1)


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """z = mu + sigma * eps, eps ~ N(0, I): a sample of q(z|x) that gradients pass through."""
    return mu + torch.exp(0.5 * logvar) * eps


def negative_elbo(log_px_given_z: torch.Tensor, mu: torch.Tensor,
                  logvar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(-ELBO averaged over the batch, KL averaged over the batch) from the one-sample estimate
    log p(x|z), z ~ q(z|x), of each image: the VAE minimises -ELBO = KL - log p(x|z)."""
    kl = gaussian_kl(mu, logvar)
    return (kl - log_px_given_z).mean(), kl.mean()


def log_importance_weights(log_px_given_z: torch.Tensor, z: torch.Tensor, mu: torch.Tensor,
                           logvar: torch.Tensor) -> torch.Tensor:
    """log w = log p(x|z) + log p(z) - log q(z|x) for samples z of q(z|x) = N(mu, exp(logvar))."""
    zeros = torch.zeros_like(z)
    return log_px_given_z + log_normal(z, zeros, zeros) - log_normal(z, mu, logvar)


def iwae_bound(log_weights: torch.Tensor) -> torch.Tensor:
    """L_k = log 1/k sum_i w_i from log w_i, shape (k, N) -> (N,), computed with logsumexp."""
    return torch.logsumexp(log_weights, dim=0) - math.log(log_weights.shape[0])


def feature_reconstruction_loss(features_recon: torch.Tensor,
                                features_real: torch.Tensor) -> torch.Tensor:
    """VAE-GAN's -log p(Dis_l(x) | z) = 1/2 ||Dis_l(x~) - Dis_l(x)||^2 + const (Larsen et al.
    2016, eq. 7: a unit-variance Gaussian on D's l-th layer features), summed over features
    and averaged over the batch."""
    return 0.5 * (features_recon - features_real).pow(2).flatten(1).sum(1).mean()
