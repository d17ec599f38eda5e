"""`ganforge eval` and `ganforge sample` for token-sequence runs (mle, seqgan, gumbel).

Metrics (TOKEN_METRICS), each with its protocol stamped in the result:

  nll_oracle  oracle runs: -1/(n T) sum log p_oracle(Y) over n sequences Y from G (nats per
              token; SeqGAN's measure of sample quality, n = 10,000 by default)
  nll_test    -1/(M T) sum log G(x) over the M held-out sequences (nats per token: how much of
              the data G covers; a G collapsed onto a few likely sequences scores a low
              nll_oracle and a bad nll_test)
  bleu        bleu2..bleu5: mean BLEU-N of n samples against the held-out references
  self_bleu   self_bleu2..self_bleu5: of the samples against each other (diversity)
  novelty     the share of samples that are no training sequence

With a sampling temperature T (`ganforge eval RUN --temperature T`), every metric is of G's
tempered distribution p_T(y_t | y_<t) = softmax(logits / T): T < 1 trades coverage (nll_test
rises) for sample quality (nll_oracle falls), the trade-off a GAN's gains must be read against
(Caccia et al. 2020, "Language GANs falling short").

Text runs are scored with <eos> and the padding after it removed (BLEU on characters or
words); the result also holds `held_out`: the same text metrics for m held-out sequences in
place of G's samples, against the same references (the rest of the held-out set), the figures
a perfect G would reach, and `samples`, the first decoded samples.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ganforge.metrics.text import bleu, novelty, self_bleu
from ganforge.registry import Registry

ORDERS = (2, 3, 4, 5)
SHOWN_SAMPLES = 10
TokenMetric = Callable[["Scoring"], tuple[dict[str, float], dict]]
TOKEN_METRICS: Registry[TokenMetric] = Registry("metric")
#: metrics for which a smaller value is better
LOWER_IS_BETTER = frozenset({"nll_oracle", "nll_test", "self_bleu"})


class Scoring:
    """The run, its n samples and the reference split, shared by the metrics."""

    def __init__(self, run, samples: torch.Tensor, temperature: float = 1.0):
        self.run, self.tokens, self.samples = run, run.data.tokens, samples
        self.temperature = temperature
        test = self.tokens.test
        self.m = min(len(samples), len(test) // 2)  # held-out rows standing in for samples
        self.references = test[self.m :]

    def text(self, rows: torch.Tensor) -> list[list]:
        """Token lists as BLEU reads them: text without <eos> and padding, ids as they are."""
        if self.tokens.itos is None:
            return rows.tolist()
        return [row[: row.index(0)] if 0 in row else row for row in rows.tolist()]


def _nll_per_token(logp: Callable[[torch.Tensor], torch.Tensor], rows: torch.Tensor,
                   device, batch: int = 1000) -> float:
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(rows), batch):
            total -= float(logp(rows[i : i + batch].to(device)).double().sum())
    return total / rows.numel()


@TOKEN_METRICS.register("nll_oracle")
def _nll_oracle(sc: Scoring) -> tuple[dict, dict]:
    oracle = sc.tokens.oracle
    if oracle is None:
        raise ValueError(f"nll_oracle needs data.name=oracle (a known data distribution); "
                         f"this run trained on {sc.run.cfg.data.name}")
    value = _nll_per_token(oracle.log_probs, sc.samples, "cpu")
    return {"nll_oracle": value}, {"samples": len(sc.samples), "unit": "nats per token",
                                   "oracle": sc.tokens.source}


@TOKEN_METRICS.register("nll_test")
def _nll_test(sc: Scoring) -> tuple[dict, dict]:
    g = sc.run.family.G_ema
    value = _nll_per_token(lambda rows: g.log_probs(rows, sc.temperature), sc.tokens.test,
                           sc.run.cfg.device)
    return {"nll_test": value}, {"held_out": len(sc.tokens.test), "unit": "nats per token",
                                 "generator": "G_ema (G itself when train.ema=0)",
                                 "temperature": sc.temperature}


def _bleu_protocol(sc: Scoring) -> dict:
    return {"references": f"held-out sequences {sc.m}..{len(sc.tokens.test) - 1} "
                          f"({len(sc.references)})",
            "smoothing": "nltk method 1 (epsilon 0.1)", "mean": "over hypotheses"}


@TOKEN_METRICS.register("bleu")
def _bleu(sc: Scoring) -> tuple[dict, dict]:
    scores = bleu(sc.text(sc.samples), sc.text(sc.references), ORDERS)
    return {f"bleu{n}": v for n, v in scores.items()}, {"hypotheses": len(sc.samples),
                                                       **_bleu_protocol(sc)}


@TOKEN_METRICS.register("self_bleu")
def _self_bleu(sc: Scoring) -> tuple[dict, dict]:
    scores = self_bleu(sc.text(sc.samples), ORDERS)
    return {f"self_bleu{n}": v for n, v in scores.items()}, {
        "samples": len(sc.samples), "references": "the other samples (leave-one-out)"}


@TOKEN_METRICS.register("novelty")
def _novelty(sc: Scoring) -> tuple[dict, dict]:
    value = novelty(sc.text(sc.samples), sc.text(sc.tokens.train))
    return {"novelty": value}, {"rule": "share of samples that are no training sequence"}


def default_plan(run) -> tuple[list[str], int]:
    """(metric names, number of samples) for the run's data."""
    if run.data.tokens.oracle is not None:
        return ["nll_oracle", "nll_test"], 10_000
    return ["nll_test", "bleu", "self_bleu", "novelty"], 2000


def generate(run, n: int, seed: int, temperature: float = 1.0,
             batch: int = 500) -> torch.Tensor:
    return torch.cat([run.family.snapshot(inputs, temperature)
                      for inputs in run.family.input_batches(n, seed, batch)])


def check_temperature(temperature: float, run=None) -> None:
    """A sampling temperature is a finite number > 0, and only token runs have one."""
    if not 0 < temperature < float("inf"):
        raise ValueError(f"--temperature must be a number > 0 (1 samples G as trained, below "
                         f"1 sharper, above 1 flatter), got {temperature}")
    if run is not None and temperature != 1.0 and run.data.kind != "tokens":
        raise ValueError(f"--temperature is for token-sequence runs (mle, seqgan, gumbel); "
                         f"{run.path} is train.family={run.cfg.train.family}")


def evaluate_tokens(run, metrics: list[str] | None = None, n: int | None = None,
                    seed: int = 0, temperature: float = 1.0) -> dict[str, Any]:
    """{"protocol", "metrics", "samples"[, "held_out"]} of a token-sequence run; with a
    `temperature` T, of G's distribution p_T = softmax(logits / T) (the samples and nll_test
    alike)."""
    check_temperature(temperature)
    plan_metrics, plan_n = default_plan(run)
    names = list(dict.fromkeys(metrics or plan_metrics))
    for name in names:
        TOKEN_METRICS.get(name)  # fail before any work on an unknown name
    samples = generate(run, n or plan_n, seed, temperature)
    scoring = Scoring(run, samples, temperature)
    values, protocols = {}, {}
    for name in names:
        values_i, protocols[name] = TOKEN_METRICS.get(name)(scoring)
        values.update(values_i)
    result = {"protocol": {"run": str(run.path), "step": run.step, "data": run.cfg.data.name,
                           "source": run.data.tokens.source, "num_fake": len(samples),
                           "seed": seed, "temperature": temperature, "metrics": protocols},
              "metrics": values,
              "samples": run.data.tokens.decode(samples[:SHOWN_SAMPLES])}
    text_names = [name for name in names if name in ("bleu", "self_bleu", "novelty")]
    if text_names and scoring.m >= 2:
        real = Scoring(run, run.data.tokens.test[: scoring.m])
        result["held_out"] = {k: v for name in text_names
                              for k, v in TOKEN_METRICS.get(name)(real)[0].items()}
        result["protocol"]["held_out"] = (f"the same metrics for held-out sequences "
                                          f"0..{scoring.m - 1} in place of G's samples")
    if "nll_oracle" in names:  # the oracle's entropy rate: what samples of the oracle score
        test = run.data.tokens.test
        result["held_out"] = {"nll_oracle": _nll_per_token(run.data.tokens.oracle.log_probs,
                                                           test, "cpu")}
        result["protocol"]["held_out"] = f"nll_oracle of the {len(test)} held-out sequences"
    return result


def write_sequences(run, n: int, seed: int, out: str | None,
                    temperature: float = 1.0) -> Path | None:
    """n sequences of the run as text, one a line (token ids separated by spaces for the
    oracle and ids data): on stdout, or into FILE.txt (written atomically)."""
    from ganforge.train.checkpoint import atomic_write

    check_temperature(temperature)
    lines = run.data.tokens.decode(generate(run, n, seed, temperature))
    text = "\n".join(lines) + "\n"
    if out is None:
        print(text, end="")
        return None
    path = Path(out)
    if path.suffix.lower() != ".txt":
        raise ValueError(f"--out {out}: a token-sequence run writes text, one sequence a line; "
                         "give --out FILE.txt")
    atomic_write(path, lambda tmp: tmp.write_text(text))
    return path
