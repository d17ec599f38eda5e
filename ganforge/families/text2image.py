"""Text-to-image: G(z, h) and a matching-aware D(x, h), h the sentence vector of a caption.

On data.name=captioned-digits (ganforge.data.captions). Before the first GAN step the sentence
encoder (nets/text.py: words -> GRU -> h, or text2image.encoder_arch=bag: an attention-weighted
bag of words, blind to word order) is pre-trained for text2image.pretrain_steps with the
symmetric image-text contrastive loss against a small image encoder (pairs of the same digit,
thickness and slant count as matches; with text2image.word_dropout = q each word of a caption is
dropped with probability q, as in Iyyer et al.'s deep averaging networks, so that the sentence
vector rests on no single filler word); then it is frozen (text2image.encoder=frozen) or trained
further by D's loss (joint).

D step (GAN-CLS, Reed et al. 2016):  minimise softplus(-s_r) + (softplus(s_w) + softplus(s_f))/2
    s_r = D(x, h), s_w = D(x, h_hat) with h_hat the text of another image of the batch,
    s_f = D(G(z, c), h);
G step:  minimise softplus(-s_f) + lambda_KL KL(N(mu(h), sigma(h)^2) || N(0, I))
    with c = mu(h) + sigma(h) * eps (conditioning augmentation, StackGAN), plus with
    text2image.mode_seeking = lambda_ms > 0 MSGAN's lambda_ms / (mean |G(z, c) - G(z', c)| /
    mean |z - z'| + 1e-5) (another noise z', the same c: G must not ignore z), plus with GAN-INT
    (text2image.interpolate = w > 0) w softplus(-D(G(z', c'), h')) on h' = (1 - beta) h +
    beta h_hat, texts between those of the data: Reed et al.'s beta = 0.5, or with
    text2image.interpolate_spread = s > 0 beta ~ U(0.5 - s, 0.5 + s) per row (s = 0.5: the
    whole segment).
Sampling uses the EMA G with c = mu(h): the noise z carries the variety.
"""

from __future__ import annotations

import torch

from ganforge.data import data_set_of
from ganforge.data.captions import NAME, VOCAB, drop_words, grid_caption, max_length, read_caption
from ganforge.families.base import EMA, Family, batch_sizes, ema_copy, frozen
from ganforge.nets.text import TEXT_ENCODERS, ImageEncoder, TextMatchingD, TextToImageG
from ganforge.objectives.matching import (
    ca_kl,
    contrastive_loss,
    matching_d_loss,
    matching_g_loss,
    mode_seeking_loss,
)
from ganforge.train.distributed import launched_world, unwrap

PRETRAIN_BATCH, PRETRAIN_LR = 128, 1e-3
MODEL_KEYS = ("model.z_dim", "model.g_width", "model.d_width", "model.d_norm",
              "model.spectral_norm")


class TextToImageFamily(Family):
    name = "text2image"
    data_kind = "samples"
    num_classes = 10  # sample grids: ten captions (one per digit) a row of noise each
    class_rows = True

    @classmethod
    def check(cls, cfg) -> None:
        if not data_set_of(cfg).captioned:
            raise ValueError(f"train.family=text2image needs captions: data.name={NAME}, got "
                             f"data.name={cfg.data.name}")
        if cfg.model.arch != "dcgan":
            raise ValueError(f"train.family=text2image builds on the DCGAN nets: model.arch="
                             f"dcgan, got {cfg.model.arch}")
        if cfg.text2image.encoder == "joint" and launched_world() > 1:  # before the run folder
            raise ValueError("text2image.encoder=joint trains the sentence encoder outside "
                             "DistributedDataParallel, so processes would drift apart; on several "
                             "processes use text2image.encoder=frozen")

    @classmethod
    def reads(cls, cfg) -> set[str]:
        return {*MODEL_KEYS, *(f"text2image.{k}" for k in (
            "emb", "hidden", "text_dim", "cond_dim", "kl_weight", "interpolate",
            "pretrain_steps", "temperature", "word_dropout", "mode_seeking", "encoder",
            "encoder_arch"))} | (
            {"text2image.interpolate_spread"} if cfg.text2image.interpolate > 0 else set())

    def __init__(self, cfg, data, device: torch.device):
        if data.captions is None:
            raise ValueError(f"train.family=text2image needs data.name={NAME}")
        self.start(cfg, device)
        m, t = cfg.model, cfg.text2image
        channels, size, _ = data.shape
        self.captions, self.t, self.z_dim = data.captions, t, m.z_dim
        self.text = TEXT_ENCODERS[t.encoder_arch](len(VOCAB), t.emb, t.hidden,
                                                  t.text_dim).to(device)
        self.G = TextToImageG(m.z_dim, t.text_dim, t.cond_dim, size, channels,
                              m.g_width).to(device)
        self.D = TextMatchingD(size, channels, m.d_width, t.text_dim, m.d_norm,
                               m.spectral_norm).to(device)
        self.G_ema = ema_copy(self.G)
        self.nets = {"G": self.G, "D": self.D, "G_ema": self.G_ema, "text": self.text}
        self.ema, self.d_params = EMA([(self.G_ema, self.G)], cfg.train), list(self.D.parameters())
        self.joint = t.encoder == "joint"
        d_params = [*self.D.parameters(), *(self.text.parameters() if self.joint else ())]
        self.set_optimizers({"G": self.G.parameters(), "D": d_params})
        self.aux_rng = torch.Generator().manual_seed(cfg.seed + 7)  # caption picks, mismatches
        self.text_ready = t.pretrain_steps == 0
        self.text.requires_grad_(self.joint or not self.text_ready)

    # -- the sentence encoder --------------------------------------------------------------
    def pretrain_text(self) -> float:
        """text2image.pretrain_steps of the contrastive loss; returns the last loss."""
        t, cap = self.t, self.captions
        with torch.random.fork_rng(devices=[]):  # the image encoder's init leaves z's RNG be
            torch.manual_seed(self.cfg.seed + 11)
            images = ImageEncoder(t.text_dim).to(self.device)
        g = torch.Generator().manual_seed(self.cfg.seed + 11)
        opt = torch.optim.Adam([*self.text.parameters(), *images.parameters()], lr=PRETRAIN_LR)
        key = cap.labels * 9 + cap.bins[:, 0] * 3 + cap.bins[:, 1]  # what a caption states
        self.text.requires_grad_(True)
        loss = torch.zeros(())
        # minutes before the first training step: a bar of its own (the main process's)
        bar = None
        if self.cfg.train.progress and self.rank == 0:
            from tqdm import tqdm

            bar = tqdm(total=t.pretrain_steps, desc="text encoder pre-training", unit="step",
                       leave=False, dynamic_ncols=True)
        for _ in range(t.pretrain_steps):
            idx = torch.randint(len(cap.images), (PRETRAIN_BATCH,), generator=g)
            which = torch.randint(cap.tokens.shape[1], (PRETRAIN_BATCH,), generator=g)
            same = (key[idx][:, None] == key[idx][None, :]).to(self.device)
            tokens = drop_words(cap.tokens[idx, which], t.word_dropout, g)
            loss = contrastive_loss(images(cap.images[idx].to(self.device)),
                                    self.text(tokens.to(self.device)), t.temperature, same)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        self.text.requires_grad_(self.joint)
        self.text_ready = True
        return float(loss.detach())

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """h for (N, L) word ids; with gradients only when the encoder trains with D."""
        tokens = tokens.to(self.device)
        if self.joint:
            return self.text(tokens)
        with torch.no_grad():
            return self.text(tokens)

    def _captions(self, batch) -> torch.Tensor:
        """One of each image's K captions, drawn from the auxiliary stream."""
        tokens = batch["tokens"]
        which = torch.randint(tokens.shape[1], (tokens.shape[0],), generator=self.aux_rng)
        return tokens[torch.arange(len(tokens)), which]

    def _mismatch(self, h: torch.Tensor) -> torch.Tensor:
        """Another row's text for every row: the batch rolled by 1..n-1 places."""
        shift = int(torch.randint(1, max(2, len(h)), (1,), generator=self.aux_rng))
        return h.roll(shift, 0)

    def _between(self, h: torch.Tensor, h_hat: torch.Tensor) -> torch.Tensor:
        """GAN-INT's texts (1 - beta) h + beta h_hat: beta = 0.5, or per row U(0.5 - s, 0.5 + s)
        with a spread s, so that G also learns the texts near either caption."""
        s = self.t.interpolate_spread
        if s == 0:
            return 0.5 * (h + h_hat)
        u = torch.rand(len(h), 1, generator=self.aux_rng).to(self.device)
        return torch.lerp(h, h_hat, 0.5 - s + 2 * s * u)

    # -- training ------------------------------------------------------------------------------
    def d_step(self, batch, step, before_g=True):
        logs = {}
        if not self.text_ready:
            logs["loss_text"] = torch.tensor(self.pretrain_text())
        real = batch["x"].to(self.device, non_blocking=True)
        n = real.shape[0]
        h = self.embed(self._captions(batch))
        h_wrong = self._mismatch(h)
        with torch.no_grad():
            eps = self.global_randn(n, self.t.cond_dim)
            fake = unwrap(self.G)(self.noise(n), h.detach(), eps)[0]
        s_r, s_w = self.D(real, h, h_wrong)  # through DDP's forward: D's gradients are synced
        s_f = self.D(fake, h)
        loss = matching_d_loss(s_r, s_w, s_f)
        self.update("D", loss)
        return {**logs, "loss_d": loss.detach(), "d_real_right": s_r.detach().mean(),
                "d_real_wrong": s_w.detach().mean(), "d_fake": s_f.detach().mean()}

    def noise(self, n: int) -> torch.Tensor:
        return self.global_randn(n, self.z_dim)

    def g_step(self, batch, step):
        n = batch["x"].shape[0]
        h = self.embed(self._captions(batch)).detach()
        d = unwrap(self.D)
        with frozen(self.d_params):
            z = self.noise(n)
            eps = self.global_randn(n, self.t.cond_dim)
            fake, mu, logvar = self.G(z, h, eps)
            adv = matching_g_loss(d(fake, h))
            kl = ca_kl(mu, logvar)
            loss = adv + self.t.kl_weight * kl
            logs = {"loss_g": adv.detach(), "kl": kl.detach()}
            if self.t.mode_seeking > 0:  # MSGAN: another z, the same caption and c
                z_b = self.noise(n)
                ms = mode_seeking_loss(fake, self.G(z_b, h, eps)[0], z, z_b)
                loss = loss + self.t.mode_seeking * ms
                logs["loss_ms"] = ms.detach()
            if self.t.interpolate > 0:  # GAN-INT: texts between two captions
                h_mid = self._between(h, self._mismatch(h))
                fake_mid, _, _ = self.G(self.noise(n), h_mid,
                                        self.global_randn(n, self.t.cond_dim))
                mid = matching_g_loss(d(fake_mid, h_mid))
                loss = loss + self.t.interpolate * mid
                logs["loss_int"] = mid.detach()
            self.update("G", loss)
        self.ema.update(step)
        return logs

    def extra_state(self):
        return {"aux_rng": self.aux_rng.get_state(),
                "text_ready": torch.tensor([int(self.text_ready)])}

    def load_extra_state(self, state):
        self.aux_rng.set_state(state["aux_rng"])
        self.text_ready = bool(state["text_ready"][0])
        self.text.requires_grad_(self.joint or not self.text_ready)

    # -- pictures ------------------------------------------------------------------------------
    @staticmethod
    def grid_tokens(start: int, size: int) -> torch.Tensor:
        """Captions of grid images start..start+size-1: image i shows grid_caption(i // 10)."""
        rows = {r: VOCAB.encode(grid_caption(r), max_length())
                for r in range(start // 10, (start + size - 1) // 10 + 1)}
        return torch.stack([rows[i // 10] for i in range(start, start + size)])

    def fixed_inputs(self, n, seed):
        """A grid of captions x noise: ten noise vectors, image i has z_(i mod 10) and the
        caption of row i // 10."""
        base = torch.randn(10, self.z_dim, generator=torch.Generator().manual_seed(seed))
        return {"z": base[torch.arange(n) % 10], "tokens": self.grid_tokens(0, n)}

    def input_batches(self, n, seed, batch):
        base = torch.randn(10, self.z_dim, generator=torch.Generator().manual_seed(seed))
        start = 0
        for size in batch_sizes(n, batch):
            yield {"z": base[torch.arange(start, start + size) % 10],
                   "tokens": self.grid_tokens(start, size)}
            start += size

    def text_inputs(self, text: str, n: int, seed: int) -> dict[str, torch.Tensor]:
        """n draws for one caption (refused with the nearest words if any word is unknown)."""
        tokens = read_caption(text)
        z = torch.randn(n, self.z_dim, generator=torch.Generator().manual_seed(seed))
        return {"z": z, "tokens": tokens.expand(n, -1)}

    @torch.no_grad()
    def generate(self, z: torch.Tensor, h: torch.Tensor,
                 eps: torch.Tensor | None = None) -> torch.Tensor:
        """EMA G's images for noise z and sentence vectors h, with c = mu(h), or with
        c = mu(h) + sigma(h) eps when eps is given (StackGAN's sampling)."""
        eps = None if eps is None else eps.to(self.device)
        return self.G_ema(z.to(self.device), h.to(self.device), eps)[0].float().cpu()

    @torch.no_grad()
    def snapshot(self, inputs):
        z = inputs["z"]
        tokens = inputs["tokens"] if "tokens" in inputs else self.grid_tokens(0, 1).expand(
            len(z), -1)  # a noise walk (--interpolate): the first grid caption
        return self.generate(z, self.text(tokens.to(self.device)))
