"""Text style transfer with two translators and a cycle, trained by RL (the CycleGAN seed's text
case; the reward design of DualRL, Luo et al. 2019): G_01 rewrites style-0 sentences into
style 1, G_10 back (ganforge.nets.seq2seq.Translator), on corpora that hold no pairs.

D is a CNN over tokens with three classes, style 0, style 1 and "a rewrite" (the last weighted
by style.d_fake; at 0, D is the style classifier of DualRL's reward). Per iteration:

D step:  minimise CE(D(x0), 0) + CE(D(x1), 1) + d_fake (CE(D(G_01(x0)), 2) + CE(D(G_10(x1)), 2))

G step, pre-training (steps < style.pretrain): MLE on pseudo-pairs read off the lexicon of
    style markers (ganforge.data.style_markers): G_01 learns x0 -> lex(x0) and lex(x1) -> x1,
    G_10 the reverse, so each translator starts as a smoothed word-for-word rewriter.

G step, RL (style.reward=rl), for each direction s -> t = 1 - s with a source x of style s:
    y ~ G_st(. | x) sampled, y^ = greedy decoding (no gradient),
    R_style(y)   = softmax(D(y))_t                      (how much y reads as style t)
    R_content(y) = exp(log p_ts(x | y) / |x|)           (the cycle: G_ts gets x back from y)
    R = (1 + b^2) R_style R_content / (b^2 R_content + R_style)     (b = style.beta;
        R = R_style with style.cycle=false)
    loss_pg = -(R(y) - R(y^)) log p_st(y | x)           (REINFORCE, self-critical baseline:
                                                        Rennie et al. 2017)
  with style.samples = k > 1 draws of each source, each draw's baseline is instead the mean
  reward of the other k - 1 (leave-one-out, Kool et al. 2019);
  plus back-translation (the dual half of the cycle): style.back_translation x the MLE of G_ts
  on (y^ -> x), and style.pseudo_mle x the pre-training MLE, which keeps G fluent.

G step, style.reward=none (the ablation without RL): the back-translation and pseudo-pair terms
  below alone.

G step, style.reward=gumbel: y is drawn straight-through (Translator.gumbel_decode) and G_st
  minimises -log softmax(D(y))_t - log p_ts(x | y) / |x| directly, both differentiable in y;
  the same back-translation and pseudo-pair terms.

Logged: loss_d, loss_g (pseudo MLE in pre-training, the RL or Gumbel loss after), reward,
style (mean R_style of the samples), content (mean R_content).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from ganforge.data.style_markers import marker_lexicon
from ganforge.families.base import EMA, Family, ema_copy, frozen, make_adam, make_scheduler
from ganforge.nets.seq2seq import PAD, Translator, until_eos
from ganforge.nets.sequence import SequenceCNN

D_WIDTHS = (2, 3, 4, 5)
REWRITE = 2  # D's class of G's rewrites
DIRECTIONS = ((0, "G01"), (1, "G10"))  # (source style, the translator that rewrites it)
#: what `ganforge eval` reports of these runs (ganforge.eval.styles), over both directions
STYLE_METRICS = ("g", "acc", "ref_bleu", "multi_bleu", "self_bleu", "ppl")


def harmonic_reward(style: Tensor, content: Tensor, beta: float) -> Tensor:
    """F_beta of the two rewards: (1 + b^2) s c / (b^2 c + s) (0 where both are 0); b > 1
    weighs the style reward b times as much as the content reward (b -> inf: s; b -> 0: c)."""
    b2 = beta * beta
    return (1 + b2) * style * content / (b2 * content + style).clamp(min=1e-12)


def self_critical_loss(log_prob: Tensor, reward: Tensor, baseline: Tensor) -> Tensor:
    """-1/N sum_n (R(y_n) - R(y^_n)) log p(y_n | x_n): its gradient is the REINFORCE estimate
    of -grad E[R], with the greedy rewrite's reward as the baseline (rewards held fixed)."""
    return -((reward - baseline).detach() * log_prob).mean()


def baseline(drawn: Tensor, greedy: Tensor) -> Tensor:
    """The baseline of each of k draws (k, n) of n sources, flattened: the greedy rewrite's
    reward for k = 1 (self-critical), else the mean reward of the other k - 1 draws of the same
    source (leave-one-out, Kool et al. 2019); neither depends on the draw it baselines."""
    k = len(drawn)
    if k == 1:
        return greedy
    return ((drawn.sum(0, keepdim=True) - drawn) / (k - 1)).flatten()


def lexicon_map(lexicon: dict[str, str], vocab) -> Tensor:
    """(V,) ids: each word's image under the lexicon, itself where it has none (or where a
    side of the pair is not in the vocabulary)."""
    image = torch.arange(len(vocab))
    for word, target in lexicon.items():
        if word in vocab.stoi and target in vocab.stoi:
            image[vocab.stoi[word]] = vocab.stoi[target]
    return image


class StyleTransferFamily(Family):
    name = "style-transfer"
    data_kind = "styles"
    translates = True
    trainable = ("G01", "G10", "D")

    @classmethod
    def check(cls, cfg) -> None:
        if cfg.style.hidden % 2:
            raise ValueError(f"style.hidden={cfg.style.hidden} must be even: the encoder's two "
                             "directions hold half of it each")
        names = [n.strip() for n in cfg.train.eval_metrics.split(",") if n.strip()]
        unknown = [n for n in names if n not in STYLE_METRICS]
        if cfg.train.eval_every and unknown:
            raise ValueError(f"train.eval_metrics={cfg.train.eval_metrics}: a style-transfer run "
                             f"tracks {', '.join(STYLE_METRICS)} (the first picks the best)")
        if cfg.style.d_fake and cfg.style.reward == "gumbel":
            raise ValueError("style.d_fake>0 with style.reward=gumbel is not built: D would read "
                             "relaxed rewrites; use style.reward=rl, or style.d_fake=0")
        if cfg.style.init_from:  # before the run folder exists: a refusal leaves nothing
            check_init_source(cfg)

    @classmethod
    def reads(cls, cfg) -> set[str]:
        keys = {"style.emb", "style.hidden", "style.gamma", "style.marker_count",
                "style.pretrain", "style.reward", "style.cycle", "style.back_translation",
                "style.pseudo_mle", "style.d_fake", "style.d_emb", "style.d_filters",
                "style.lr_mle", "data.max_len", "style.init_from"}
        if cfg.style.reward == "rl":
            keys.add("style.samples")
        if cfg.style.init_from:
            keys.add("style.init_step")
        if cfg.style.cycle and cfg.style.reward != "none":
            keys.add("style.beta")
        if cfg.style.reward == "gumbel":
            keys.add("style.tau")
        return keys

    def __init__(self, cfg, data, device):
        self.start(cfg, device)
        s = cfg.style
        self.vocab, self.corpus, self.test = data.tokens, data.corpus, data.test
        self.max_len = cfg.data.max_len
        size = len(self.vocab)
        self.G01 = Translator(size, s.emb, s.hidden, self.max_len).to(device)
        self.G10 = Translator(size, s.emb, s.hidden, self.max_len).to(device)
        self.D = SequenceCNN(size, s.d_emb, D_WIDTHS, s.d_filters, 0.25, outputs=3).to(device)
        self.G01_ema, self.G10_ema = ema_copy(self.G01), ema_copy(self.G10)
        self.ema = EMA([(self.G01_ema, self.G01), (self.G10_ema, self.G10)], cfg.train)
        self.nets = {"G01": self.G01, "G10": self.G10, "D": self.D,
                     "G01_ema": self.G01_ema, "G10_ema": self.G10_ema}
        self.d_params = list(self.D.parameters())
        translators = list(itertools.chain(self.G01.parameters(), self.G10.parameters()))
        self.set_optimizers({"G": translators, "D": self.D.parameters()})
        self.optimizers["G_mle"] = make_adam(translators, s.lr_mle, cfg)
        self.schedulers["G_mle"] = make_scheduler(self.optimizers["G_mle"], cfg)
        for optimizer in self.optimizers.values():  # see SequenceFamily.idle_steps
            optimizer.zero_grad(set_to_none=True)
            optimizer.step()
        self._begun = False
        self._lexicon: list[Tensor] | None = None

    @property
    def lexicon(self) -> list[Tensor]:
        """The pseudo-pairs' word maps, style 0 -> 1 and 1 -> 0, read off the training
        sentences when training first needs them (rewriting with a trained run does not)."""
        if self._lexicon is None:
            s = self.cfg.style
            lexicon = marker_lexicon(self.corpus.train, s.gamma, s.marker_count)
            self._lexicon = [lexicon_map(lexicon[k], self.vocab).to(self.device) for k in (0, 1)]
        return self._lexicon

    def begin(self, step: int) -> None:
        """At step 0 of a new run, every net from style.init_from's checkpoint (a resumed run
        has its own)."""
        if step != 0 or self._begun or not self.cfg.style.init_from:
            return
        from ganforge.train.checkpoint import load_net_tensors, nets_at, read_nets

        self._begun = True
        folder = Path(self.cfg.style.init_from) / "checkpoint"
        step = self.cfg.style.init_step
        load_net_tensors(self, nets_at(folder, step) if step else read_nets(folder)[1])

    def phase(self, step: int) -> str:
        if step < self.cfg.style.pretrain:
            return "pre-training"
        return {"rl": "RL", "gumbel": "Gumbel", "none": "back-translation"}[self.cfg.style.reward]

    def translator(self, source_style: int, ema: bool = False) -> Translator:
        if source_style == 0:
            return self.G01_ema if ema else self.G01
        return self.G10_ema if ema else self.G10

    # -- D -----------------------------------------------------------------------------------
    def d_step(self, batch, step, before_g=True):
        self.begin(step)
        x = [batch[f"x{k}"].to(self.device, non_blocking=True) for k in (0, 1)]
        logits = self.D(torch.cat(x))
        labels = torch.cat([torch.full((len(x[k]),), k, device=self.device) for k in (0, 1)])
        loss = F.cross_entropy(logits, labels)
        if self.cfg.style.d_fake and step >= self.cfg.style.pretrain:
            with torch.no_grad():
                fakes = torch.cat([self.translator(k).decode(x[k], greedy=False)[0]
                                   for k in (0, 1)])
            rewrite = torch.full((len(fakes),), REWRITE, device=self.device)
            loss = loss + self.cfg.style.d_fake * F.cross_entropy(self.D(fakes), rewrite)
        self.update("D", loss)
        return {"loss_d": loss.detach()}

    def style_reward(self, rewrites: Tensor, target: int) -> Tensor:
        """softmax(D(y))_target, D without dropout."""
        self.D.eval()
        try:
            return F.softmax(self.D(rewrites), dim=1)[:, target]
        finally:
            self.D.train()

    # -- G -----------------------------------------------------------------------------------
    def pseudo_pairs_loss(self, x: list[Tensor]) -> Tensor:
        """Mean per-token NLL of both translators on the lexicon's pseudo-pairs."""
        loss = 0.0
        for s, _ in DIRECTIONS:
            t = 1 - s
            source = torch.cat([x[s], self.lexicon[t][x[t]]])  # x_s and lex(x_t) read as style s
            target = torch.cat([self.lexicon[s][x[s]], x[t]])
            loss = loss + token_nll(self.translator(s), source, target)
        return loss

    def g_step(self, batch, step):
        x = [batch[f"x{k}"].to(self.device, non_blocking=True) for k in (0, 1)]
        s = self.cfg.style
        if step < s.pretrain:
            loss = self.pseudo_pairs_loss(x)
            self.update("G_mle", loss)
            self.ema.update(step)
            return {"loss_g": loss.detach()}
        logs: dict[str, list[Tensor]] = {}
        total = 0.0
        with frozen(self.d_params):
            for source_style, _ in DIRECTIONS:
                loss, parts = self.direction_loss(x[source_style], source_style)
                total = total + loss
                for k, v in parts.items():
                    logs.setdefault(k, []).append(v)
            if s.pseudo_mle:
                total = total + s.pseudo_mle * self.pseudo_pairs_loss(x)
            self.update("G", total)
        self.ema.update(step)
        return {"loss_g": total.detach(), **{k: torch.stack(v).mean() for k, v in logs.items()}}

    def content_reward(self, back: Translator, rewrites: Tensor, source: Tensor) -> Tensor:
        """exp(log p_back(source | rewrite) / |source|): the cycle's per-token probability."""
        lengths = until_eos(source).sum(dim=1).clamp(min=1)
        return torch.exp(back.log_prob(rewrites, source) / lengths)

    def direction_loss(self, source: Tensor, source_style: int) -> tuple[Tensor, dict]:
        """The RL (or Gumbel) loss of the translator out of `source_style`, with the
        back-translation MLE of the translator into it."""
        s, target = self.cfg.style, 1 - source_style
        forward, back = self.translator(source_style), self.translator(target)
        with torch.no_grad():
            greedy, _ = forward.decode(source, greedy=True)
        if s.reward == "none":  # the ablation without RL: back-translation and pseudo-pairs
            loss, parts = torch.zeros((), device=self.device), {}
        elif s.reward == "gumbel":
            rows = forward.gumbel_decode(source, s.tau)
            style = F.softmax(self.D(rows), dim=1)[:, target]
            loss = -torch.log(style.clamp(min=1e-12)).mean()
            content = torch.ones_like(style)
            if s.cycle:
                lengths = until_eos(source).sum(dim=1).clamp(min=1)
                log_content = back.log_prob(rows, source) / lengths
                loss = loss - log_content.mean()
                content = log_content.exp()
            reward = harmonic_reward(style, content, s.beta) if s.cycle else style
            parts = {"reward": reward.detach().mean(), "style": style.detach().mean(),
                     "content": content.detach().mean()}
        else:
            k, n = s.samples, len(source)
            sources = source.repeat(k, 1)  # k draws of each source, the i-th of each in a block
            sampled, log_prob = forward.decode(sources, greedy=False)
            with torch.no_grad():
                both = torch.cat([sampled, greedy])
                style = self.style_reward(both, target)
                if s.cycle:
                    content = self.content_reward(back, both, torch.cat([sources, source]))
                    reward = harmonic_reward(style, content, s.beta)
                else:
                    content, reward = torch.ones_like(style), style
            drawn = reward[: k * n].view(k, n)
            loss = self_critical_loss(log_prob, drawn.flatten(), baseline(drawn, reward[k * n:]))
            parts = {"reward": drawn.mean(), "style": style[: k * n].mean(),
                     "content": content[: k * n].mean()}
        if s.back_translation:
            loss = loss + s.back_translation * token_nll(back, greedy, source)
        return loss, parts

    # -- use ---------------------------------------------------------------------------------
    @torch.no_grad()
    def rewrite(self, tokens: Tensor, source_style: int, greedy: bool = True,
                temperature: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
        """Rewrites (N, max_len + 1) of sentences (N, max_len + 1) of `source_style` by the
        EMA translator out of it."""
        net = self.translator(source_style, ema=True)
        return net.decode(tokens.to(self.device), greedy, temperature, generator)[0].cpu()

    def fixed_inputs(self, n, seed):
        """The first n // 2 test sentences of each style (training ones without a test split);
        "style": each one's own style."""
        pool = self.test if self.test else {f"x{k}": None for k in (0, 1)}
        rows, styles = [], []
        for k in (0, 1):
            side = pool[f"x{k}"]
            if side is None:
                side = torch.stack([self.vocab.encode(w, self.max_len)
                                    for w in self.corpus.train[k][: n]])
            take = side[: (n + 1 - k) // 2]
            rows.append(take)
            styles.append(torch.full((len(take),), k))
        return {"x": torch.cat(rows), "style": torch.cat(styles)}

    @torch.no_grad()
    def snapshot(self, inputs):
        """Each sentence of inputs["x"] rewritten into the other style (greedy, EMA nets)."""
        out = torch.empty_like(inputs["x"])
        for k in (0, 1):
            mine = inputs["style"] == k
            if mine.any():
                out[mine] = self.rewrite(inputs["x"][mine], k)
        return out


#: what the nets' weights mean: the vocabulary (the data's keys) and the nets' shapes
INIT_KEYS = ("data.path", "data.prefix", "data.max_len", "data.min_count", "style.emb",
             "style.hidden", "style.d_emb", "style.d_filters")


def check_init_source(cfg) -> None:
    """style.init_from is a style-transfer run of the same corpus, vocabulary and net shapes,
    with the checkpoint style.init_step asks for; saved as an absolute path."""
    from ganforge.config import flatten, load_saved_config
    from ganforge.train.checkpoint import CheckpointError, nets_at

    source = Path(cfg.style.init_from).expanduser()
    if not (source / "checkpoint" / "state.json").is_file():
        raise ValueError(f"style.init_from={cfg.style.init_from} is not a finished run (no "
                         "checkpoint/state.json): give the folder of a style-transfer run")
    saved = load_saved_config(source / "config.yaml")
    if saved.train.family != "style-transfer":
        raise ValueError(f"style.init_from={cfg.style.init_from} is a train.family="
                         f"{saved.train.family} run; give a style-transfer run")
    theirs, ours = flatten(saved.to_dict()), flatten(cfg.to_dict())
    same = {"data.path": lambda v: str(Path(v).expanduser().resolve())}
    differ = [k for k in INIT_KEYS
              if same.get(k, lambda v: v)(theirs[k]) != same.get(k, lambda v: v)(ours[k])]
    if differ:
        shown = ", ".join(f"{k}={theirs[k]!r} there, {ours[k]!r} here" for k in differ)
        raise ValueError(f"style.init_from={cfg.style.init_from}: its nets do not fit this run "
                         f"({shown})")
    if cfg.style.init_step:
        try:
            nets_at(source / "checkpoint", cfg.style.init_step)
        except CheckpointError as err:
            raise ValueError(f"style.init_step={cfg.style.init_step}: {err}") from None
    cfg.style.init_from = str(source.resolve())


def token_nll(net: Translator, source: Tensor, target: Tensor) -> Tensor:
    """Mean NLL per target token (up to and including <eos>) of `net` given `source`."""
    mask = until_eos(target)
    mask[:, net.max_len + 1:] = False
    logits = net(source, target)  # (N, T, V): flattened, softmax runs over contiguous rows
    nll = F.cross_entropy(logits.flatten(0, 1), target.flatten(), reduction="none",
                          ignore_index=PAD)
    return (nll * mask.flatten()).sum() / mask.sum().clamp(min=1)
