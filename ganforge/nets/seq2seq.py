"""A sentence-to-sentence translator: the G of text style transfer (one per direction).

Tokens are ids of a ganforge.data.text_styles.Vocabulary: <pad> 0, <unk> 1, <bos> 2, <eos> 3;
a sentence is a row (L,) that ends with <eos>, then <pad>. The encoder is a bidirectional GRU
over the source's embeddings; the decoder a GRU whose input at step t is the embedding of
token t - 1 (<bos> first) and whose output attends to the encoder states (Luong et al. 2015,
"general" scores, masked at <pad>):

    a_t = softmax_s(h_t^T W_a e_s),   c_t = sum_s a_ts e_s,
    p(y_t | y_<t, x) = softmax(E P tanh(W_c [h_t; c_t]) + b)   (never <pad> or <bos>)

A sentence has at most max_len words: the token after them is <eos> with probability 1, so
the model is a distribution over those sentences. `log_prob(x, y)` is log p(y | x) summed over
y's tokens up to and including its first <eos> (the cycle's content reward, and
teacher-forced training); `decode` draws a sentence
greedily or by sampling and returns the summed log-probability of what it drew, with its
graph, for a policy gradient (the rewrites are discrete: nothing else carries a gradient).
`gumbel_decode` is the differentiable alternative: straight-through Gumbel-softmax one-hot rows
(N, L, V), which `encode` (and so `log_prob`) also reads as a source.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

PAD, UNK, BOS, EOS = 0, 1, 2, 3


def until_eos(tokens: Tensor) -> Tensor:
    """(N, T) mask of the tokens up to and including each row's first <eos>."""
    is_eos = (tokens == EOS).long()
    after = (is_eos.cumsum(dim=1) - is_eos) > 0  # strictly after the first <eos>
    return ~after & (tokens != PAD)


def draw(logits: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """One token per row from softmax(logits), by inverse CDF: a uniform u per row against the
    cumulative probabilities (torch.multinomial draws an exponential per entry: 10x slower on
    the CPU for a 10k-word vocabulary)."""
    cdf = F.softmax(logits, dim=1).cumsum(dim=1)
    u = torch.rand(len(logits), 1, device=logits.device, generator=generator) * cdf[:, -1:]
    return torch.searchsorted(cdf, u).squeeze(1).clamp(max=logits.shape[1] - 1)


class Translator(nn.Module):
    def __init__(self, vocab: int, emb: int = 128, hidden: int = 256, max_len: int = 16):
        super().__init__()
        self.vocab, self.hidden, self.max_len = vocab, hidden, max_len
        self.embed = nn.Embedding(vocab, emb, padding_idx=PAD)
        self.encoder = nn.GRU(emb, hidden // 2, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(hidden, hidden)
        self.decoder = nn.GRU(emb, hidden, batch_first=True)
        self.score = nn.Linear(hidden, hidden, bias=False)  # W_a
        self.combine = nn.Linear(2 * hidden, hidden)  # W_c
        # W_o = E P: the output layer shares the word embeddings E (tied, Press & Wolf 2017),
        # which halves the largest matrix product
        self.project = nn.Linear(hidden, emb)
        self.out_bias = nn.Parameter(torch.zeros(vocab))
        # tokens a sentence never holds: <pad> (after it) and <bos> (before it)
        never = torch.zeros(vocab)
        never[[PAD, BOS]] = float("-inf")
        self.register_buffer("never", never, persistent=False)

    def encode(self, src: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(memory (N, S, H), mask (N, S) of real tokens, the decoder's first state (N, H)) of
        token ids (N, S) or one-hot rows (N, S, V) (straight-through: gradients reach them)."""
        if src.is_floating_point():
            embedded, src = src @ self.embed.weight, src.argmax(dim=2)
        else:
            embedded = self.embed(src)
        mask = src != PAD
        lengths = mask.sum(dim=1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(embedded, lengths, batch_first=True,
                                                   enforce_sorted=False)
        memory, _ = self.encoder(packed)
        memory, _ = nn.utils.rnn.pad_packed_sequence(memory, batch_first=True,
                                                     total_length=src.shape[1])
        mean = (memory * mask.unsqueeze(2)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
        return memory, mask, torch.tanh(self.bridge(mean))

    def attend(self, states: Tensor, memory: Tensor, mask: Tensor) -> Tensor:
        """Logits (N, T, V) of the next tokens from decoder states (N, T, H)."""
        scores = torch.bmm(self.score(states), memory.transpose(1, 2))  # (N, T, S)
        weights = scores.masked_fill(~mask.unsqueeze(1), float("-inf")).softmax(dim=2)
        context = torch.bmm(weights, memory)
        mixed = self.project(torch.tanh(self.combine(torch.cat([states, context], dim=2))))
        return F.linear(mixed, self.embed.weight, self.out_bias + self.never)

    def step(self, token: Tensor, state: Tensor, memory: Tensor, mask: Tensor,
             ) -> tuple[Tensor, Tensor]:
        """Logits (N, V) of the next token after `token` (N,) or one-hot row (N, V), and the
        new state (N, H)."""
        embedded = token @ self.embed.weight if token.is_floating_point() else self.embed(token)
        states, state = self.decoder(embedded.unsqueeze(1), state.unsqueeze(0))
        return self.attend(states, memory, mask).squeeze(1), state.squeeze(0)

    def forward(self, src: Tensor, tgt: Tensor) -> Tensor:
        """Teacher-forced logits (N, T, V) of tgt's tokens given src: the decoder reads <bos>
        and tgt[:, :-1] in one pass (its input never depends on its attention)."""
        memory, mask, state = self.encode(src)
        bos = torch.full((len(src), 1), BOS, dtype=torch.long, device=src.device)
        states, _ = self.decoder(self.embed(torch.cat([bos, tgt[:, :-1]], dim=1)),
                                 state.unsqueeze(0))
        return self.attend(states, memory, mask)

    def log_prob(self, src: Tensor, tgt: Tensor) -> Tensor:
        """(N,) log p(tgt | src), over tgt's tokens up to and including its first <eos>."""
        logp = F.log_softmax(self(src, tgt), dim=2).gather(2, tgt.unsqueeze(2)).squeeze(2)
        chosen = until_eos(tgt)
        chosen[:, self.max_len:] = False  # the <eos> after max_len words is certain
        return torch.where(chosen, logp, 0.0).sum(dim=1)  # <pad> after <eos>: log 0, unused

    def decode(self, src: Tensor, greedy: bool = True, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """(tokens (N, max_len + 1): each row ends with <eos> then <pad>, their summed
        log-probability (N,) under the model at temperature 1, with its graph). Greedy takes
        the arg-max token; otherwise tokens are drawn from softmax(logits / temperature)."""
        memory, mask, state = self.encode(src)
        n = len(src)
        token = torch.full((n,), BOS, dtype=torch.long, device=src.device)
        done = torch.zeros(n, dtype=torch.bool, device=src.device)
        tokens, total = [], torch.zeros(n, device=src.device)
        for t in range(self.max_len + 1):
            logits, state = self.step(token, state, memory, mask)
            if t == self.max_len:  # the last place holds <eos>
                token = torch.full((n,), EOS, dtype=torch.long, device=src.device)
            elif greedy:
                token = logits.argmax(dim=1)
            else:
                token = draw(logits.detach() / temperature, generator)
            if t < self.max_len:
                logp = F.log_softmax(logits, dim=1).gather(1, token.unsqueeze(1)).squeeze(1)
                total = total + torch.where(done, 0.0, logp)
            token = torch.where(done, torch.full_like(token, PAD), token)
            tokens.append(token)
            done = done | (token == EOS)
        return torch.stack(tokens, dim=1), total

    def gumbel_decode(self, src: Tensor, tau: float) -> Tensor:
        """One-hot rows (N, max_len + 1, V) of a sentence drawn by the Gumbel-max trick,
        straight-through: the forward value is the hard one-hot of argmax(o_t + g_t), the
        gradient that of softmax((o_t + g_t) / tau) (Jang et al. 2017). Rows after <eos> are
        <pad> and carry no gradient; each next step reads the row it drew."""
        memory, mask, state = self.encode(src)
        n = len(src)
        pad = F.one_hot(torch.full((n,), PAD, device=src.device), self.vocab).float()
        token = F.one_hot(torch.full((n,), BOS, device=src.device), self.vocab).float()
        done = torch.zeros(n, 1, dtype=torch.bool, device=src.device)
        rows = []
        for t in range(self.max_len + 1):
            logits, state = self.step(token, state, memory, mask)
            if t == self.max_len:
                token = F.one_hot(torch.full((n,), EOS, device=src.device), self.vocab).float()
            else:
                token = F.gumbel_softmax(logits.masked_fill(logits == float("-inf"), -1e9),
                                         tau=tau, hard=True)
            token = torch.where(done, pad, token)
            rows.append(token)
            done = done | (token[:, EOS:EOS + 1] > 0.5)
        return torch.stack(rows, dim=1)
