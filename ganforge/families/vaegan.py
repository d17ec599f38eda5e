"""VAE-GAN (Larsen, Sønderby, Larochelle & Winther 2016): a VAE whose decoder doubles as the
GAN's generator and whose pixel reconstruction loss is replaced by one on D's features.

Nets: encoder E and decoder G of the VAE family (DCGAN shapes, ganforge.nets.vae), and the
DCGAN discriminator D (model.d_width, model.d_norm). Dis_l(x) = D.features(x), the flattened
last feature map before D's head. With x~ = G(z), z ~ q(z|x), and x_p = G(z_p), z_p ~ p(z):

    L_prior      = KL(q(z|x) || p(z))
    L_llike^Dis  = -E_q[log p(Dis_l(x) | z)] = 1/2 ||Dis_l(x~) - Dis_l(x)||^2 + const
    L_GAN        = log D(x) + log(1 - D(x~)) + log(1 - D(x_p))     (loss.name's version)

and the paper's three updates (Algorithm 1):

    E:  minimise L_prior + L_llike^Dis
    G:  minimise gamma * L_llike^Dis - L_GAN   (G's part: loss.name's G loss on x~ and x_p)
    D:  maximise L_GAN                         (loss.name's D loss, x~ and x_p both fake)

gamma = vaegan.gamma weighs reconstruction against fooling D. In the loop's interface,
`d_step` is D's update on real x against x~ and x_p (E and G held fixed) and `g_step` the
updates of E and G (optimisers "E" and "G", both at optim.lr_g) with D frozen; each net's
gradient comes from its own loss only (backward with `inputs=`).

D's features must be a function of each image alone for L_llike to compare x with its
reconstruction: model.d_norm=batch (statistics of the batch) is refused; use layer or none.
"""

from __future__ import annotations

import torch

from ganforge import objectives
from ganforge.families.base import EMA, ema_copy, frozen, make_adam, make_scheduler
from ganforge.families.vae import VAE_MODEL_KEYS, VAEFamily, check_vae_config
from ganforge.nets.dcgan import DCGANDiscriminator
from ganforge.nets.vae import build_vae_nets
from ganforge.objectives.likelihood import (
    feature_reconstruction_loss,
    gaussian_kl,
    reparameterise,
)
from ganforge.train.distributed import unwrap

#: objectives with real/fake labels, which score x~ and x_p as fakes without a penalty
VAEGAN_LOSSES = ("ns", "minimax", "lsgan", "hinge")


class VAEGANFamily(VAEFamily):
    """Samples, reconstructions and pictures as the VAE's; no pixel likelihood, so no
    log p(x) (its decoder is trained on D's features, not on pixels)."""

    name = "vaegan"
    trainable = ("E", "G", "D")
    has_likelihood = False

    @classmethod
    def check(cls, cfg) -> None:
        check_vae_config(cfg, cls.name)
        if cfg.loss.name not in VAEGAN_LOSSES:
            raise ValueError(f"train.family=vaegan scores reconstructions and prior samples as "
                             f"fakes with loss.name in {', '.join(VAEGAN_LOSSES)}; got "
                             f"{cfg.loss.name}")
        if cfg.model.d_norm == "batch":
            raise ValueError("train.family=vaegan compares D's features of each image with "
                             "those of its reconstruction, which batch statistics would mix: "
                             "set model.d_norm=layer (or none)")

    @classmethod
    def reads(cls, cfg) -> set[str]:
        return {*VAE_MODEL_KEYS, "loss.name", "vaegan.gamma"}

    def __init__(self, cfg, data, device: torch.device):
        self.start(cfg, device)
        self.z_dim, self.gamma = cfg.model.z_dim, cfg.vaegan.gamma
        self.objective = objectives.get_objective(cfg.loss.name)
        e, g = build_vae_nets(cfg.model, data)
        channels, size, _ = data.shape
        d = DCGANDiscriminator(size, channels, cfg.model.d_width, norm=cfg.model.d_norm)
        self.E, self.G, self.D = e.to(device), g.to(device), d.to(device)
        self.E_ema, self.G_ema = ema_copy(self.E), ema_copy(self.G)
        self.nets = {"E": self.E, "G": self.G, "D": self.D,
                     "E_ema": self.E_ema, "G_ema": self.G_ema}
        self.ema = EMA([(self.E_ema, self.E), (self.G_ema, self.G)], cfg.train)
        self.d_params = list(self.D.parameters())
        lrs = {"E": cfg.optim.lr_g, "G": cfg.optim.lr_g, "D": cfg.optim.lr_d}
        self.optimizers = {name: make_adam(getattr(self, name).parameters(), lr, cfg)
                           for name, lr in lrs.items()}
        self.schedulers = {name: make_scheduler(o, cfg) for name, o in self.optimizers.items()}

    def _encode_decode(self, x: torch.Tensor, net_e, net_g):
        """(x~ = G(z), z ~ q(z|x); x_p = G(z_p), z_p ~ p(z); mu; logvar)."""
        mu, logvar = net_e(x)
        n = x.shape[0]
        recon = net_g(reparameterise(mu, logvar, self.global_randn(n, self.z_dim)))
        prior = net_g(self.global_randn(n, self.z_dim))
        return recon, prior, mu, logvar

    def d_step(self, batch, step, before_g=True):
        x = batch["x"].to(self.device, non_blocking=True)
        with torch.no_grad():  # E and G fixed: no graph, no DDP wrapper
            recon, prior, _, _ = self._encode_decode(x, unwrap(self.E), unwrap(self.G))
        real_out = self.D(x)
        fake_out = self.D(torch.cat([recon, prior]))
        loss = self.objective.d_loss(real_out, fake_out)
        self.update("D", loss)
        return {"loss_d": loss.detach(), "d_real": real_out.detach().mean(),
                "d_fake": fake_out.detach().mean()}

    def g_step(self, batch, step):
        x = batch["x"].to(self.device, non_blocking=True)
        recon, prior, mu, logvar = self._encode_decode(x, self.E, self.G)
        with frozen(self.d_params):
            d = unwrap(self.D)
            with torch.no_grad():
                real_features = d.features(x)
            features = d.features(torch.cat([recon, prior]))  # one pass serves both losses
            llike = feature_reconstruction_loss(features[: x.shape[0]], real_features)
            gan = self.objective.g_loss(d.head(features, None))
            kl = gaussian_kl(mu, logvar).mean()
            loss_e, loss_g = kl + llike, self.gamma * llike + gan
            for name in ("E", "G"):
                self.optimizers[name].zero_grad(set_to_none=True)
            # each player's gradient from its own loss only (the paper's Algorithm 1)
            loss_e.backward(inputs=list(self.E.parameters()), retain_graph=True)
            loss_g.backward(inputs=list(self.G.parameters()))
            for name in ("E", "G"):
                self.precision.step(name, self.optimizers[name])
        self.ema.update(step)
        return {"loss_g": gan.detach(), "kl": kl.detach(), "llike": llike.detach()}

