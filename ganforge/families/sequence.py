"""What the token-sequence families (mle, seqgan, gumbel) share: G, an LSTM language model
(ganforge.nets.sequence), its teacher-forced MLE step and its samples.

MLE step (teacher forcing): minimise -1/(N T) sum_n sum_t log G(y_t | y_<t) over a minibatch
of training sequences, with G's gradient norm clipped to seq.grad_clip (SeqGAN's 5.0).

Samples are drawn by inverse CDF from uniforms u (N, T): `fixed_inputs` holds the uniforms,
so a seed gives the same sequences however they are batched.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ganforge.families.base import EMA, Family, batch_sizes, ema_copy
from ganforge.nets.sequence import SequenceCNN, SequenceLSTM, parse_widths
from ganforge.train.checkpoint import read_best, read_nets

#: what G's weights mean: the vocabulary (the data's keys), the sequence length and G's shape
INIT_KEYS = {"vocabulary": ("data.name", "data.path", "data.oracle_path", "seq.tokens", "seq.vocab",
                            "seq.oracle_seed"),
             "length": ("seq.length",), "G": ("seq.emb", "seq.hidden")}


def check_init_source(cfg, source: Path) -> None:
    """seq.init_from's run is a token-sequence run over the same vocabulary and length with a G
    of the same shape: otherwise its weights load into the wrong words, or do not load."""
    from ganforge.config import flatten, load_saved_config

    saved = load_saved_config(source / "config.yaml")
    if saved.train.family not in ("mle", "seqgan", "gumbel"):
        raise ValueError(f"seq.init_from={cfg.seq.init_from} is a train.family="
                         f"{saved.train.family} run; give the folder of an mle run (or seqgan, gumbel)")
    theirs, ours = flatten(saved.to_dict()), flatten(cfg.to_dict())
    for what, keys in INIT_KEYS.items():
        differ = [k for k in keys if _same_path(k, theirs[k]) != _same_path(k, ours[k])]
        if differ:
            shown = ", ".join(f"{k}={theirs[k]!r} there, {ours[k]!r} here" for k in differ)
            raise ValueError(f"seq.init_from={cfg.seq.init_from}: its {what} differs ({shown}); "
                             f"G starts from a run with the same {what}")


def _same_path(key: str, value):
    """Paths compare as the files they name."""
    return str(Path(value).expanduser().resolve()) if key.endswith("path") and value else value


class SequenceFamily(Family):
    """A generator G of token sequences, its EMA copy G_ema (what samples and scores come from;
    train.ema=0 makes it G itself) and the MLE step."""

    data_kind = "tokens"

    @classmethod
    def check(cls, cfg) -> None:
        if cfg.seq.init_from:  # before the run folder exists: a refusal leaves nothing behind
            folder = Path(cfg.seq.init_from).expanduser() / "checkpoint"
            if not (folder / "state.json").is_file():
                raise ValueError(f"seq.init_from={cfg.seq.init_from} is not a finished run (no "
                                 f"checkpoint/state.json): give the folder of an mle run")
            if cfg.seq.init_best and read_best(folder) is None:
                raise ValueError(f"seq.init_best=true: {cfg.seq.init_from} kept no best "
                                 f"checkpoint (train.eval_every=0, or it stopped before its "
                                 f"first evaluation); leave seq.init_best out to start from "
                                 f"its last")
            check_init_source(cfg, folder.parent)
            # saved as an absolute path: the run's config names the same G from any directory
            cfg.seq.init_from = str(folder.parent.resolve())

    @classmethod
    def reads(cls, cfg) -> set[str]:
        return {"seq.emb", "seq.hidden", "seq.grad_clip", "seq.init_from",
                *(["seq.init_best"] if cfg.seq.init_from else [])}

    def __init__(self, cfg, data, device: torch.device):
        self.start(cfg, device)
        self.tokens = data.tokens
        s = cfg.seq
        self.length = data.shape[0]
        self.G = SequenceLSTM(data.tokens.vocab, s.emb, s.hidden, self.length).to(device)
        self.G_ema = ema_copy(self.G)
        self.ema = EMA([(self.G_ema, self.G)], cfg.train)
        self.nets = {"G": self.G, "G_ema": self.G_ema}
        self._begun = False

    def begin(self, step: int) -> None:
        """At step 0 of a new run, G (and every copy of it) from seq.init_from's G (its best
        tracked checkpoint with seq.init_best); a resumed run has its weights from its own
        checkpoint."""
        if step != 0 or self._begun or not self.cfg.seq.init_from:
            return
        self._begun = True
        run = Path(self.cfg.seq.init_from).expanduser()
        _, tensors = read_nets(run / "checkpoint", best=self.cfg.seq.init_best)
        weights = {k[2:]: v for k, v in tensors.items() if k.startswith("G/")}
        try:
            self.G.load_state_dict(weights)
        except RuntimeError as err:
            raise ValueError(f"seq.init_from={run}: its G does not fit this run's (seq.emb, "
                             f"seq.hidden and the data's vocabulary must match): {err}") from None
        for net in self.nets.values():
            if isinstance(net, SequenceLSTM) and net is not self.G:
                net.load_state_dict(self.G.state_dict())

    def idle_steps(self) -> None:
        """One step of every optimiser while no parameter has a gradient: it changes nothing.
        seqgan and gumbel train G with one optimiser in pre-training and another after it
        while the loop steps every schedule each step; without this torch warns that a
        schedule stepped before its optimiser ever did."""
        for optimizer in self.optimizers.values():
            optimizer.zero_grad(set_to_none=True)
            optimizer.step()

    def build_d(self) -> SequenceCNN:
        """SeqGAN's CNN discriminator with the seq.d_* settings."""
        s = self.cfg.seq
        widths = parse_widths(s.d_widths)
        if max(widths) > self.length:
            raise ValueError(f"seq.d_widths has a filter of width {max(widths)}, longer than "
                             f"the sequences (seq.length={self.length})")
        return SequenceCNN(self.tokens.vocab, s.d_emb, widths, s.d_filters,
                           s.d_dropout).to(self.device)

    def clipped_update(self, name: str, loss: torch.Tensor) -> None:
        """One step of optimiser `name` on `loss`, G's gradient norm clipped first."""
        optimizer = self.optimizers[name]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.seq.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.G.parameters(), self.cfg.seq.grad_clip)
        optimizer.step()

    def mle_step(self, batch: dict[str, torch.Tensor], optimizer: str) -> torch.Tensor:
        """One teacher-forced MLE update of G; returns the NLL per token before it."""
        loss = self.G.nll(batch["x"].to(self.device, non_blocking=True))
        self.clipped_update(optimizer, loss)
        return loss.detach()

    def draw(self, net: SequenceLSTM, n: int) -> torch.Tensor:
        """n sequences from `net` with the global RNG (training samples)."""
        with torch.no_grad():
            return net.sample(torch.rand(n, self.length, device=self.device))

    # -- samples ----------------------------------------------------------------------------
    def fixed_inputs(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        return {"u": torch.rand(n, self.length, generator=g)}

    def input_batches(self, n, seed, batch):
        g = torch.Generator().manual_seed(seed)
        for size in batch_sizes(n, batch):
            yield {"u": torch.rand(size, self.length, generator=g)}

    @torch.no_grad()
    def snapshot(self, inputs, temperature: float = 1.0):
        """Token ids (N, T) drawn from G_ema (at a sampling temperature)."""
        return self.G_ema.sample(inputs["u"].to(self.device), temperature).cpu()
