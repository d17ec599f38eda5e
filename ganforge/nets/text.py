"""Nets of the text-to-image family: a sentence encoder, G(z, h) and a matching-aware D(x, h).

    TextEncoder       words -> embeddings -> bidirectional GRU -> linear -> unit sentence
                      vector h (N, k)
    BagOfWordsEncoder words -> embeddings -> attention-weighted mean of per-word vectors -> h:
                      blind to word order by construction
    ImageEncoder      a small CNN to unit vectors (N, k): the image side of the contrastive
                      pre-training of the TextEncoder (not used by the GAN)
    TextToImageG      conditioning augmentation c = mu(h) + sigma(h) * eps, then the DCGAN
                      generator on [z, c] with batch norms modulated by c
    TextMatchingD     the DCGAN discriminator's features phi(x) with a projection head for a
                      continuous condition: D(x, h) = psi(phi(x)) + phi(x) . V h
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ganforge.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from ganforge.nets.layers import apply_spectral_norm_


class TextEncoder(nn.Module):
    """(N, L) word ids (0 pads, at least one word a row) -> (N, out) unit sentence vectors:
    the outputs of a bidirectional GRU averaged over the words, beside the mean of the word
    embeddings, through a linear map. Means over positions (not the last state) keep a phrase's
    meaning wherever it stands, so that a new word order ("leaning left, a thin two") still
    reads."""

    def __init__(self, vocab_size: int, emb: int, hidden: int, out: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, emb, padding_idx=0)
        self.gru = nn.GRU(emb, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden + emb, out)
        self.dim = out

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        lengths = (tokens != 0).sum(1).clamp(min=1).cpu()
        words = self.embed(tokens)  # padding rows are 0
        packed = pack_padded_sequence(words, lengths, batch_first=True, enforce_sorted=False)
        outputs, _ = pad_packed_sequence(self.gru(packed)[0], batch_first=True)  # 0 past the end
        count = lengths.to(words.device, words.dtype)[:, None]
        mean = torch.cat([outputs.sum(1), words.sum(1)], dim=1) / count
        return F.normalize(self.out(mean), dim=1)


class BagOfWordsEncoder(nn.Module):
    """(N, L) word ids (0 pads, at least one word a row) -> (N, out) unit sentence vectors

        h = normalize(sum_i a_i v(e_i)),  a = softmax_i(w . e_i),  v an MLP (emb -> hidden -> out),

    e_i the embedding of word i. The sum over words makes h the same for any order of the same
    words ("leaning left, a thin two" = "a thin two leaning left"), and the learnt weights a
    let words that say nothing ("a", "hand", "small") drop out, so a new mix of such words
    leaves h where the words that matter put it."""

    def __init__(self, vocab_size: int, emb: int, hidden: int, out: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, emb, padding_idx=0)
        self.weight = nn.Linear(emb, 1)
        self.value = nn.Sequential(nn.Linear(emb, hidden), nn.ReLU(), nn.Linear(hidden, out))
        self.dim = out

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        words = self.embed(tokens)
        a = self.weight(words).squeeze(-1).masked_fill(tokens == 0, float("-inf")).softmax(1)
        return F.normalize((a[:, :, None] * self.value(words)).sum(1), dim=1)


TEXT_ENCODERS = {"gru": TextEncoder, "bag": BagOfWordsEncoder}


class ImageEncoder(nn.Module):
    """(N, 1, 28, 28) -> (N, out) unit vectors: two stride-2 convolutions and a linear map."""

    def __init__(self, out: int, channels: int = 1, width: int = 32):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(2 * width * 16, out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.body(x), dim=1)


class TextBatchNorm2d(nn.Module):
    """Batch norm whose gain and bias are linear in the condition c:
    (1 + W_g c) * (x - mu_B) / sqrt(var_B + eps) + W_b c (W = 0 at the start: plain BN)."""

    def __init__(self, num_features: int, cond_dim: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(num_features, affine=False)
        self.gain = nn.Linear(cond_dim, num_features)
        self.bias = nn.Linear(cond_dim, num_features)
        for linear in (self.gain, self.bias):
            nn.init.zeros_(linear.weight)
            nn.init.zeros_(linear.bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return (1 + self.gain(c))[:, :, None, None] * self.norm(x) + self.bias(c)[:, :, None, None]


class TextToImageG(nn.Module):
    """G(z, h, eps): c = mu(h) + exp(logvar(h) / 2) * eps (eps None: c = mu(h)); then the
    DCGAN generator on [z, c] whose batch norms take their gain and bias from c (as the
    class-conditional G takes a one-hot label at the input and in every norm). Returns
    (image, mu, logvar)."""

    def __init__(self, z_dim: int, text_dim: int, cond_dim: int, image_size: int,
                 channels: int, width: int):
        super().__init__()
        self.z_dim, self.cond_dim = z_dim, cond_dim
        self.ca = nn.Linear(text_dim, 2 * cond_dim)
        self.net = DCGANGenerator(z_dim + cond_dim, image_size, channels, width)
        # the DCGAN G's norms, each replaced by one that reads c
        self.net.norms = nn.ModuleList(TextBatchNorm2d(n.num_features, cond_dim)
                                       for n in self.net.norms)

    def forward(self, z: torch.Tensor, h: torch.Tensor, eps: torch.Tensor | None = None):
        mu, logvar = self.ca(h).chunk(2, dim=1)
        c = mu if eps is None else mu + (0.5 * logvar).exp() * eps
        net = self.net
        x = net.norms[0](net.project(torch.cat([z, c], dim=1)[:, :, None, None]), c).relu()
        for up, norm in zip(net.ups, net.norms[1:]):
            x = norm(up(x), c).relu()
        return torch.tanh(net.to_image(x)), mu, logvar


class TextMatchingD(nn.Module):
    """D(x, h) = psi(phi(x)) + phi(x) . V h: the projection discriminator (Miyato & Koyama
    2018) with the class embedding replaced by a linear map V of the sentence vector.
    `features` and `score` split it so that phi(real) serves both the right and wrong text;
    forward(x, h, h_wrong) does that too, through DistributedDataParallel's forward."""

    def __init__(self, image_size: int, channels: int, width: int, text_dim: int,
                 norm: str = "batch", spectral_norm: bool = False):
        super().__init__()
        self.body = DCGANDiscriminator(image_size, channels, width, spectral_norm=spectral_norm,
                                       norm=norm)
        self.project = nn.Linear(text_dim, self.body.head.linear.in_features, bias=False)
        nn.init.xavier_uniform_(self.project.weight)
        if spectral_norm:
            apply_spectral_norm_(self.project)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body.features(x)

    def score(self, phi: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return self.body.head(phi) + (phi * self.project(h)).sum(1)

    def forward(self, x: torch.Tensor, h: torch.Tensor,
                h_wrong: torch.Tensor | None = None) -> torch.Tensor:
        """(N,) D(x, h); with h_wrong (2, N): D(x, h) and D(x, h_wrong) from one phi(x)."""
        phi = self.features(x)
        if h_wrong is None:
            return self.score(phi, h)
        return torch.stack([self.score(phi, h), self.score(phi, h_wrong)])
