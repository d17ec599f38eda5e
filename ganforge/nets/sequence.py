"""Nets over token sequences: the LSTM of SeqGAN (the oracle and every generator) and the CNN
discriminator of SeqGAN.

LSTM (Yu et al. 2017, the synthetic-data oracle and G), for a token sequence y_1..y_T with the
input at step t the embedding x_t = E[y_{t-1}] (y_0 = the start token 0):

    i = sigmoid(x Wi + h Ui + bi)        f = sigmoid(x Wf + h Uf + bf)
    o = sigmoid(x Wog + h Uog + bog)     c~ = tanh(x Wc + h Uc + bc)
    c = f c + i c~                       h = o tanh(c)
    logits = h Wo + bo,                  p(y_t | y_<t) = softmax(logits)

The parameters keep the names of the published oracle (g_embeddings = E), so a file of them
loads with `load_state_dict`.

CNN discriminator (SeqGAN, after Kim 2014): tokens (or relaxed one-hot rows, for the
Gumbel-softmax GAN) -> embeddings -> one convolution per filter width with ReLU, max over
time -> concatenation -> a highway layer y = t * relu(W_H z) + (1 - t) * z with
t = sigmoid(W_T z) -> dropout -> one logit v, D(x) = sigmoid(v).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

START_TOKEN = 0
GATES = ("i", "f", "og", "c")  # input, forget, output gate and the candidate c~


class SequenceLSTM(nn.Module):
    """The LSTM language model above; parameters drawn from N(0, std^2)."""

    def __init__(self, vocab: int, emb: int, hidden: int, length: int, std: float = 0.1,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.vocab, self.emb, self.hidden, self.length = vocab, emb, hidden, length

        def normal(*shape: int) -> nn.Parameter:
            return nn.Parameter(torch.randn(*shape, generator=generator) * std)

        self.g_embeddings = normal(vocab, emb)
        for gate in GATES:  # the published order: Wi, Ui, bi, Wf, Uf, bf, ...
            setattr(self, f"W{gate}", normal(emb, hidden))
            setattr(self, f"U{gate}", normal(hidden, hidden))
            setattr(self, f"b{gate}", normal(hidden))
        self.Wo, self.bo = normal(hidden, vocab), normal(vocab)

    # -- one step ---------------------------------------------------------------------------
    def _stacked(self) -> tuple[Tensor, Tensor, Tensor]:
        """[Wi Wf Wog Wc], [Ui ...], [bi ...]: the four gates in one matrix product each."""
        w = torch.cat([getattr(self, f"W{g}") for g in GATES], 1)
        u = torch.cat([getattr(self, f"U{g}") for g in GATES], 1)
        b = torch.cat([getattr(self, f"b{g}") for g in GATES])
        return w, u, b

    def cell(self, x: Tensor, h: Tensor, c: Tensor,
             stacked: tuple[Tensor, Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        """(h, c) after one step on input embeddings x (N, emb)."""
        w, u, b = stacked or self._stacked()
        i, f, o, cand = (x @ w + h @ u + b).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(cand)
        return torch.sigmoid(o) * torch.tanh(c), c

    def logits(self, h: Tensor) -> Tensor:
        return h @ self.Wo + self.bo

    def initial_state(self, n: int) -> tuple[Tensor, Tensor]:
        zeros = self.Wo.new_zeros(n, self.hidden)
        return zeros, zeros

    def start_inputs(self, n: int) -> Tensor:
        return self.g_embeddings[START_TOKEN].expand(n, -1)

    # -- teacher forcing --------------------------------------------------------------------
    def hidden_states(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """The states (h, c), each (N, T, hidden), under teacher forcing: position t (from 0)
        has read the start token and tokens[:, :t], and its logits predict tokens[:, t]."""
        n, steps = tokens.shape
        stacked = self._stacked()
        x = F.embedding(tokens, self.g_embeddings)
        h, c = self.initial_state(n)
        inputs = self.start_inputs(n)
        hs, cs = [], []
        for t in range(steps):
            h, c = self.cell(inputs, h, c, stacked)
            hs.append(h)
            cs.append(c)
            inputs = x[:, t]
        return torch.stack(hs, 1), torch.stack(cs, 1)

    def forward(self, tokens: Tensor) -> Tensor:
        """Logits (N, T, V) of p(y_t | y_<t) for every position of `tokens` (N, T)."""
        return self.logits(self.hidden_states(tokens)[0])

    def log_probs(self, tokens: Tensor, temperature: float = 1.0) -> Tensor:
        """log p(y_t | y_<t), (N, T); with a temperature T, of p_T = softmax(logits / T)."""
        logp = F.log_softmax(tempered(self(tokens), temperature), dim=-1)
        return logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)

    def nll(self, tokens: Tensor) -> Tensor:
        """The mean negative log-likelihood per token, in nats (cross-entropy of teacher
        forcing: the MLE loss)."""
        return F.cross_entropy(self(tokens).flatten(0, 1), tokens.flatten())

    # -- sampling ---------------------------------------------------------------------------
    def continue_from(self, prefix: Tensor, state: tuple[Tensor, Tensor] | None,
                      uniforms: Tensor, temperature: float = 1.0) -> Tensor:
        """Complete `prefix` (N, t) to length T, drawing y_{t+1..T} by inverse CDF from the
        uniforms (N, T - t) in [0, 1): y = the first token whose cumulative probability
        exceeds u. `state`: (h, c) after reading the prefix (None for an empty prefix);
        `temperature`: draw from softmax(logits / temperature)."""
        n, t = prefix.shape
        stacked = self._stacked()
        h, c = state if state is not None else self.initial_state(n)
        last = prefix[:, -1] if t else None
        tokens = [prefix]
        for k in range(self.length - t):
            inputs = self.start_inputs(n) if last is None else self.g_embeddings[last]
            h, c = self.cell(inputs, h, c, stacked)
            cdf = torch.softmax(tempered(self.logits(h).float(), temperature), -1).cumsum(-1)
            u = uniforms[:, k : k + 1].contiguous().to(cdf)
            last = torch.searchsorted(cdf, u, right=True).squeeze(1).clamp_(max=self.vocab - 1)
            tokens.append(last.unsqueeze(1))
        return torch.cat(tokens, 1)

    def sample(self, uniforms: Tensor, temperature: float = 1.0) -> Tensor:
        """Sequences (N, T) of token ids drawn with the uniforms (N, T)."""
        empty = torch.zeros(len(uniforms), 0, dtype=torch.long, device=uniforms.device)
        return self.continue_from(empty, None, uniforms, temperature)

    def gumbel_sample(self, n: int, tau: float) -> tuple[Tensor, Tensor]:
        """(tokens (N, T), relaxed one-hot rows (N, T, V)) by the Gumbel-softmax trick:
        y = argmax(o + g) is an exact draw from softmax(o) (g ~ Gumbel(0, 1)); its relaxation
        softmax((o + g) / tau) is differentiable in G's parameters. As in RelGAN, the next
        step reads the embedding of the hard token y."""
        stacked = self._stacked()
        h, c = self.initial_state(n)
        inputs = self.start_inputs(n)
        tokens, relaxed = [], []
        for _ in range(self.length):
            h, c = self.cell(inputs, h, c, stacked)
            logits, noise = self.logits(h), gumbel_noise(n, self.vocab, self.Wo)
            tokens.append((logits + noise).argmax(-1))
            relaxed.append(gumbel_softmax(logits, tau, noise))
            inputs = self.g_embeddings[tokens[-1]]
        return torch.stack(tokens, 1), torch.stack(relaxed, 1)


def tempered(logits: Tensor, temperature: float) -> Tensor:
    """logits / T: T < 1 sharpens the distribution towards its likeliest tokens (better
    samples, less variety), T > 1 flattens it; T = 1 returns the logits themselves."""
    return logits if temperature == 1.0 else logits / temperature


def gumbel_noise(n: int, vocab: int, like: Tensor) -> Tensor:
    """g = -log(-log u), u ~ U(0, 1): standard Gumbel noise (N, V)."""
    u = torch.rand(n, vocab, device=like.device, dtype=like.dtype)
    exponential = -torch.log(u.clamp_min(1e-20))  # ~ Exp(1)
    return -torch.log(exponential.clamp_min(1e-20))


def gumbel_softmax(logits: Tensor, tau: float, noise: Tensor) -> Tensor:
    """softmax((logits + g) / tau) for Gumbel noise g (Jang et al. 2017, eq. 1)."""
    return torch.softmax((logits + noise) / tau, dim=-1)


class Highway(nn.Module):
    """y = t * relu(W_H z + b_H) + (1 - t) * z, t = sigmoid(W_T z + b_T) (Srivastava 2015)."""

    def __init__(self, size: int):
        super().__init__()
        self.transform, self.gate = nn.Linear(size, size), nn.Linear(size, size)

    def forward(self, z: Tensor) -> Tensor:
        t = torch.sigmoid(self.gate(z))
        return t * F.relu(self.transform(z)) + (1 - t) * z


class SequenceCNN(nn.Module):
    """SeqGAN's discriminator: one logit per sequence of token ids (N, T) or of relaxed
    one-hot rows (N, T, V); with `outputs` > 1, that many logits (N, outputs) (a classifier)."""

    def __init__(self, vocab: int, emb: int, widths: tuple[int, ...], filters: int,
                 dropout: float, outputs: int = 1):
        super().__init__()
        self.embedding = nn.Parameter(torch.randn(vocab, emb) * 0.1)
        self.convs = nn.ModuleList(nn.Conv1d(emb, filters, w) for w in widths)
        size = filters * len(widths)
        self.highway, self.dropout = Highway(size), nn.Dropout(dropout)
        self.out = nn.Linear(size, outputs)

    def forward(self, x: Tensor) -> Tensor:
        e = F.embedding(x, self.embedding) if x.dtype == torch.long else x @ self.embedding
        e = e.transpose(1, 2)  # (N, emb, T)
        z = torch.cat([F.relu(conv(e)).amax(dim=2) for conv in self.convs], 1)
        logits = self.out(self.dropout(self.highway(z)))
        return logits.squeeze(1) if logits.shape[1] == 1 else logits


def parse_widths(text: str) -> tuple[int, ...]:
    """'2,3,4' -> (2, 3, 4); the message names seq.d_widths."""
    try:
        widths = tuple(int(w) for w in text.split(",") if w.strip())
    except ValueError:
        widths = ()
    if not widths or min(widths) < 1:
        raise ValueError(f"seq.d_widths must be comma-separated filter widths >= 1 (e.g. "
                         f"2,3,4,5), got {text!r}")
    return widths
