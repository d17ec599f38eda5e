"""A sentence-to-sentence translator: the G of text style transfer (one per direction).

Tokens are ids of a ganforge.data.text_styles.Vocabulary: <pad> 0, <unk> 1, <bos> 2, <eos> 3;
a sentence is a row (L,) that ends with <eos>, then <pad>. The encoder is a bidirectional GRU
over the source's embeddings; the decoder a GRU whose input at step t is the embedding of
token t - 1 (<bos> first) and whose output attends to the encoder states (Luong et al. 2015,
"general" scores, masked at <pad>):

    a_t = softmax_s(h_t^T W_a e_s),   c_t = sum_s a_ts e_s,
    p(y_t | y_<t, x) = softmax(W_o tanh(W_c [h_t; c_t]))   (never <pad> or <bos>)

A sentence has at most max_len words: the token after them is <eos> with probability 1, so
the model is a distribution over those sentences. `log_prob(x, y)` is log p(y | x) summed over
y's tokens up to and including its first <eos> (the cycle's content reward, and
teacher-forced training); `decode` draws a sentence
greedily or by sampling and returns the summed log-probability of what it drew, with its
graph, for a policy gradient (the rewrites are discrete: nothing else carries a gradient).
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


class Translator(nn.Module):
    def __init__(self, vocab: int, emb: int = 128, hidden: int = 256, max_len: int = 16):
        super().__init__()
        self.vocab, self.hidden, self.max_len = vocab, hidden, max_len
        self.embed = nn.Embedding(vocab, emb, padding_idx=PAD)
        self.encoder = nn.GRU(emb, hidden // 2, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(hidden, hidden)
        self.decoder = nn.GRUCell(emb, hidden)
        self.score = nn.Linear(hidden, hidden, bias=False)  # W_a
        self.combine = nn.Linear(2 * hidden, hidden)  # W_c
        self.out = nn.Linear(hidden, vocab)  # W_o
        # tokens a sentence never holds: <pad> (after it) and <bos> (before it)
        self.register_buffer("never", torch.tensor([PAD, BOS]), persistent=False)

    def encode(self, src: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(memory (N, S, H), mask (N, S) of real tokens, the decoder's first state (N, H))."""
        mask = src != PAD
        lengths = mask.sum(dim=1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(self.embed(src), lengths, batch_first=True,
                                                   enforce_sorted=False)
        memory, _ = self.encoder(packed)
        memory, _ = nn.utils.rnn.pad_packed_sequence(memory, batch_first=True,
                                                     total_length=src.shape[1])
        mean = (memory * mask.unsqueeze(2)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
        return memory, mask, torch.tanh(self.bridge(mean))

    def step(self, token: Tensor, state: Tensor, memory: Tensor, mask: Tensor,
             ) -> tuple[Tensor, Tensor]:
        """Logits (N, V) of the next token after `token` (N,), and the new state."""
        state = self.decoder(self.embed(token), state)
        scores = torch.einsum("nh,nsh->ns", self.score(state), memory)
        weights = scores.masked_fill(~mask, float("-inf")).softmax(dim=1)
        context = torch.einsum("ns,nsh->nh", weights, memory)
        logits = self.out(torch.tanh(self.combine(torch.cat([state, context], dim=1))))
        return logits.index_fill(1, self.never, float("-inf")), state

    def forward(self, src: Tensor, tgt: Tensor) -> Tensor:
        """Teacher-forced logits (N, T, V) of tgt's tokens given src."""
        memory, mask, state = self.encode(src)
        token = torch.full((len(src),), BOS, dtype=torch.long, device=src.device)
        logits = []
        for t in range(tgt.shape[1]):
            step_logits, state = self.step(token, state, memory, mask)
            logits.append(step_logits)
            token = tgt[:, t]
        return torch.stack(logits, dim=1)

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
                probs = F.softmax(logits.detach() / temperature, dim=1)
                token = torch.multinomial(probs, 1, generator=generator).squeeze(1)
            if t < self.max_len:
                logp = F.log_softmax(logits, dim=1).gather(1, token.unsqueeze(1)).squeeze(1)
                total = total + torch.where(done, 0.0, logp)
            token = torch.where(done, torch.full_like(token, PAD), token)
            tokens.append(token)
            done = done | (token == EOS)
        return torch.stack(tokens, dim=1), total
