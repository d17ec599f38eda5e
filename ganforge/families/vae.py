"""The variational auto-encoder (Kingma & Welling 2014) in the DCGAN shapes of `digits-dcgan`.

Encoder E: the DCGAN discriminator's body -> (mu, log sigma^2) of q(z|x) = N(mu, diag sigma^2);
decoder G: the DCGAN generator -> the logits of Bernoulli pixels p(b|z) (ganforge.nets.vae).
Prior p(z) = N(0, I), z_dim = model.z_dim.

Pixel likelihood: Bernoulli, on digits binarised afresh at every step (b ~ Bernoulli of the
grey level, "dynamic binarisation"), as the VAE and IWAE papers train on MNIST. Chosen over the
discretised logistic because it trains: with the same nets and Adam settings as digits-dcgan,
a discretised-logistic VAE spent its first hundreds of steps on the pixel scales and stalled
at the mean digit (-ELBO ~1,400 nats, KL ~20, reconstructions that ignore z, 1,100 steps),
while the Bernoulli VAE reconstructed its own inputs within 75 steps. It is a proper
likelihood of binarised digits, so log p(x) is a number of nats comparable with the published
ones (IWAE paper: about -85 to -87 nats on binarised MNIST); it is not a density of grey
levels, so it does not compare with the Parzen estimate on [0, 1] pixels.

One training iteration, in the loop's interface (base.Family): `d_step` does nothing (a VAE has
no discriminator; train.d_steps must be 1) and `g_step` takes one Adam step of E and G together
(optimiser "G", optim.lr_g) on the minibatch, minimising the one-sample negative ELBO

    -ELBO = KL(q(z|x) || p(z)) - log p(x|z),  z = mu + sigma * eps,  eps ~ N(0, I)

(ganforge.objectives.likelihood), then moves the EMA copies of E and G. Logged: loss_g =
-ELBO, kl, recon = -log p(b|z) (nats per image, averaged over the batch).

Samples are the EMA decoder's means G(z) = 2 E[b|z] - 1, z ~ p(z) (grey images; the pixels'
coin flips are not drawn, as usual). `reconstruct(x)` decodes the posterior mean;
`log_likelihood(x, k)` is the IWAE estimate L_k of log p(x) (`ganforge eval RUN --metrics
iwae_ll`); `elbo(x)` the ELBO on held-out images, part of a VAE run's default `ganforge eval`.
"""

from __future__ import annotations

import torch

from ganforge.data import data_set_of
from ganforge.families.base import EMA, NoiseFamily, ema_copy, make_adam, make_scheduler
from ganforge.nets.vae import build_vae_nets
from ganforge.objectives.likelihood import (
    bernoulli_log_likelihood,
    binarise,
    gaussian_kl,
    iwae_bound,
    log_importance_weights,
    negative_elbo,
    reparameterise,
)

#: the model.* keys of the VAE's nets
VAE_MODEL_KEYS = ("model.z_dim", "model.g_width", "model.d_width", "model.d_norm")


def check_vae_config(cfg, family: str) -> None:
    """What a VAE-style family cannot honour: other nets, class conditioning, toy data."""
    model = cfg.model
    if model.arch != "dcgan":
        raise ValueError(f"train.family={family} builds its encoder and decoder from the DCGAN "
                         f"nets: set model.arch=dcgan (got {model.arch})")
    if data_set_of(cfg).points:
        raise ValueError(f"train.family={family} models images; data.name={cfg.data.name} is a "
                         f"toy set of points: use mnist5k, stacked or another image set")
    if model.num_classes or model.head != "plain" or model.latent_code:
        raise ValueError(f"train.family={family} is unconditional: set model.num_classes=0, "
                         f"model.head=plain and model.latent_code=0")
    if cfg.data.labels or cfg.data.clusters or cfg.data.labelled_per_class:
        raise ValueError(f"train.family={family} reads no labels: set data.labels=false, "
                         f"data.clusters=0 and data.labelled_per_class=0")


class VAEFamily(NoiseFamily):
    name = "vae"
    data_kind = "samples"
    trainable = ("E", "G")
    has_likelihood = True  # log_likelihood(x, k) estimates log p(x)

    @classmethod
    def check(cls, cfg) -> None:
        check_vae_config(cfg, cls.name)
        if cfg.train.d_steps != 1:
            raise ValueError(f"train.family=vae has no discriminator steps: set "
                             f"train.d_steps=1 (got {cfg.train.d_steps})")

    @classmethod
    def reads(cls, cfg) -> set[str]:
        return set(VAE_MODEL_KEYS)

    def __init__(self, cfg, data, device: torch.device):
        self.start(cfg, device)
        self.z_dim = cfg.model.z_dim
        e, g = build_vae_nets(cfg.model, data)
        self.E, self.G = e.to(device), g.to(device)
        self.E_ema, self.G_ema = ema_copy(self.E), ema_copy(self.G)
        self.nets = {"E": self.E, "G": self.G, "E_ema": self.E_ema, "G_ema": self.G_ema}
        self.ema = EMA([(self.E_ema, self.E), (self.G_ema, self.G)], cfg.train)
        # one optimiser: E and G minimise the same -ELBO
        params = [*self.E.parameters(), *self.G.parameters()]
        self.optimizers = {"G": make_adam(params, cfg.optim.lr_g, cfg)}
        self.schedulers = {"G": make_scheduler(self.optimizers["G"], cfg)}

    def d_step(self, batch, step, before_g=True):
        return {}  # no discriminator: the whole update is the g_step

    def g_step(self, batch, step):
        bits = binarise(batch["x"].to(self.device, non_blocking=True))  # a fresh draw each time
        mu, logvar = self.E(2.0 * bits - 1.0)
        z = reparameterise(mu, logvar, self.global_randn(bits.shape[0], self.z_dim))
        log_px = bernoulli_log_likelihood(bits, self.G.logits(z))
        loss, kl = negative_elbo(log_px, mu, logvar)
        self.update("G", loss)
        self.ema.update(step)
        return {"loss_g": loss.detach(), "kl": kl.detach(), "recon": -log_px.detach().mean()}

    # -- what a likelihood model adds ----------------------------------------------------------
    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """G_ema(mu(x)): the EMA decoder's means at the EMA encoder's posterior mean of x (grey
        levels: the encoder was trained on binarised draws of them, whose mean they are)."""
        mu, _ = self.E_ema(x.to(self.device))
        return self.G_ema(mu).float().cpu()

    @torch.no_grad()
    def log_likelihood(self, x: torch.Tensor, k: int, generator: torch.Generator,
                       chunk: int = 256) -> torch.Tensor:
        """L_k(b) per image under the EMA nets, (N,): log 1/k sum_i p(b|z_i) p(z_i) / q(z_i|b),
        z_i ~ q(z|b), for b a binarisation of x drawn first from `generator` (nats on binarised
        digits). About `chunk` decoder rows a pass: chunk // k images at once when k < chunk,
        else one image in pieces of `chunk` samples."""
        bits = binarise(x, generator).to(self.device)
        mu, logvar = self.E_ema(2.0 * bits - 1.0)
        per_pass = max(1, chunk // k)
        pieces = [chunk] * (k // chunk) + [k % chunk] if k > chunk else [k]
        bounds = []
        for start in range(0, len(bits), per_pass):
            b, m, lv = (t[start : start + per_pass] for t in (bits, mu, logvar))
            log_w = []
            for size in filter(None, pieces):
                eps = torch.randn(size, len(b), self.z_dim, generator=generator).to(self.device)
                z = reparameterise(m, lv, eps)  # (size, images, z_dim)
                logits = self.G_ema.logits(z.flatten(0, 1)).unflatten(0, (size, len(b)))
                log_px = bernoulli_log_likelihood(b.expand_as(logits).flatten(0, 1),
                                                  logits.flatten(0, 1))
                log_w.append(log_importance_weights(log_px.view(size, len(b)), z, m, lv))
            bounds.append(iwae_bound(torch.cat(log_w)))
        return torch.cat(bounds).cpu()

    @torch.no_grad()
    def elbo(self, x: torch.Tensor, generator: torch.Generator, chunk: int = 500) -> torch.Tensor:
        """The ELBO per image under the EMA nets, (N,): for b a binarisation of x drawn from
        `generator` and one z = mu + sigma eps ~ q(z|b), eps from `generator`,

            ELBO(b) = log p(b|z) - KL(q(z|b) || p(z))     (the KL in closed form)

        an unbiased estimate of E_q[log p(b|z)] - KL <= log p(b): the training objective on
        held-out images, one decoder pass each (L_1 of log_likelihood, with the exact KL)."""
        bits = binarise(x, generator)
        eps = torch.randn(len(bits), self.z_dim, generator=generator)
        values = []
        for start in range(0, len(bits), chunk):
            b = bits[start : start + chunk].to(self.device)
            mu, logvar = self.E_ema(2.0 * b - 1.0)
            z = reparameterise(mu, logvar, eps[start : start + chunk].to(self.device))
            log_px = bernoulli_log_likelihood(b, self.G_ema.logits(z))
            values.append((log_px - gaussian_kl(mu, logvar)).float().cpu())
        return torch.cat(values)

    # -- pictures --------------------------------------------------------------------------------
