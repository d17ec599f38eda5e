"""Can D's verdict, or a narrower prior, repair a trained unconditional digits G after the fact?

    python benchmarks/digits_sampling.py RUN [--pool 20000] [--samples 5000] [--finetune-steps 0 1000]
                                             [--out FILE]
    python benchmarks/digits_sampling.py RUN --inception-top 0.6 [--out FILE]

RUN is a finished unconditional run on mnist5k (e.g. `ganforge train digits-sndcgan-long`).
Every row scores --samples (5,000) samples with the bundled `digits` classifier against the 5,000 real
digits (digit FID, confident, class_kl, precision, recall), as `ganforge eval RUN --features
digits` does. The samples are drawn from a pool of --pool draws of the EMA generator (seed 123):

- plain: the first --samples of the pool;
- top share q by D: the pool ranked by D's logit, the best q kept, --samples of them at random;
- rejection (DRS, Azadi et al. 2019): for the D that is optimal against p_g,
  D/(1 - D) = p_data/p_g, so x ~ p_g kept with probability exp(logit(x) - M) (M >= every
  logit) follows p_data exactly. M is the pool's q-quantile of the logit (q = 1: the
  theory's bound; q < 1 keeps more and caps the ratio of the top 1 - q);
- truncation psi: z ~ N(0, psi^2 I) instead of N(0, I) (BigGAN's trick, psi < 1).

D is the run's own, as training left it, and, for each --finetune-steps N > 0, a copy trained N
more steps (non-saturating D loss, Adam 2e-4, beta (0.5, 0.999), 64 + 64 a step) on the
training digits against the EMA G: DRS's calibration of D to the G that is sampled. Rows go to
--out as JSON lines and a table is printed.

--inception-top Q scores two rows only, plain and the top share Q by the run's own D, with the
Inception FID as well (`inception_fid`: FID Inception-v3 features, the protocol of `ganforge
eval RUN --metrics fid --features inception`; ~13 min of one core a row on a CPU).
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import torch

from ganforge.data import data_set_of
from ganforge.metrics import evaluate
from ganforge.objectives.losses import bce_d_loss
from ganforge.run import load_run
from ganforge.train.checkpoint import CheckpointError

METRICS = ["fid", "confident", "class_kl", "precision", "recall"]
BATCH = 500


def generate(g_ema, z: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([g_ema(z[i:i + BATCH]).float() for i in range(0, len(z), BATCH)])


def logits_of(d, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([d(x[i:i + BATCH]).float() for i in range(0, len(x), BATCH)])


def finetuned(d, g_ema, real: torch.Tensor, z_dim: int, steps: int, seed: int = 1):
    """A copy of D trained `steps` more steps on `real` against the frozen EMA G."""
    d = copy.deepcopy(d).train().requires_grad_(True)
    opt = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    rng = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x_real = real[torch.randint(len(real), (64,), generator=rng)]
        with torch.no_grad():
            x_fake = g_ema(torch.randn(64, z_dim, generator=rng))
        loss = bce_d_loss(d(x_real), d(x_fake))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return d.eval()


def rejection_keep(logits: torch.Tensor, quantile: float, rng: torch.Generator) -> torch.Tensor:
    """Indices of the pool kept with probability exp(logit - M), M its `quantile`-quantile."""
    bound = torch.quantile(logits, quantile)
    accept = torch.exp((logits - bound).clamp(max=0.0))
    return torch.nonzero(torch.rand(len(logits), generator=rng) < accept).squeeze(1)


def top_keep(logits: torch.Tensor, share: float, rng: torch.Generator) -> torch.Tensor:
    kept = torch.argsort(logits, descending=True)[: int(share * len(logits))]
    return kept[torch.randperm(len(kept), generator=rng)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--pool", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--finetune-steps", type=int, nargs="+", default=None,
                        help="D's extra calibration steps, one set of rows each (default 0 1000; "
                        "not with --inception-top, which scores the run's own D only)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--inception-top", type=float, default=None, metavar="Q")
    args = parser.parse_args()
    if args.inception_top is not None and args.finetune_steps is not None:
        parser.error("--finetune-steps does not apply to --inception-top, which scores the plain "
                     "samples and the top share by the run's own D: leave one out")
    if args.pool < 2 * args.samples:
        parser.error(f"--pool {args.pool}: at least twice --samples ({2 * args.samples}), so "
                     f"that a rejection keeping half of the pool still leaves {args.samples:,}")

    try:
        run = load_run(args.run)
    except (OSError, ValueError, CheckpointError) as err:
        parser.error(str(err))
    family = run.family
    if family.conditional_g or getattr(family, "head", None) != "plain":
        parser.error(f"{args.run}: a run of train.family=gan with an unconditional G and a "
                     "plain D head is needed (no labels, clusters or codes)")
    data_set = data_set_of(run.cfg, family.data_kind)
    real = data_set.reference_images(run.cfg)
    train_real = data_set.image_set(run.cfg, "train", labels=False).images
    z = torch.randn(args.pool, family.z_dim, generator=torch.Generator().manual_seed(123))
    pool = generate(family.G_ema, z)

    rows = []

    def score(method: str, kept: torch.Tensor | None, **about) -> None:
        samples = pool[kept][: args.samples] if kept is not None else about.pop("samples")
        result = evaluate(METRICS, real, samples, features="digits")["metrics"]
        if args.inception_top is not None:
            fid = evaluate(["fid"], real, samples, features="inception")["metrics"]["fid"]
            result["inception_fid"] = fid
        rows.append({"run": str(args.run), "method": method, "samples": len(samples), **about,
                     **{k: None if v is None else round(v, 4) for k, v in result.items()}})
        print(json.dumps(rows[-1]), flush=True)

    score("plain", torch.arange(args.samples))
    if args.inception_top is not None:
        logits = logits_of(family.D, pool)
        score(f"top {args.inception_top} by D", top_keep(logits, args.inception_top,
                                                         torch.Generator().manual_seed(0)),
              d_steps=0, logit_sd=round(logits.std().item(), 4))
    finetune_steps = [] if args.inception_top is not None else args.finetune_steps or [0, 1000]
    psis = () if args.inception_top is not None else (0.9, 0.8)
    for steps in finetune_steps:
        d = family.D if steps == 0 else finetuned(family.D, family.G_ema, train_real,
                                                  family.z_dim, steps)
        logits = logits_of(d, pool)
        spread = {"d_steps": steps, "logit_sd": round(logits.std().item(), 4)}
        rng = torch.Generator().manual_seed(0)
        for share in (0.8, 0.6):
            score(f"top {share} by D", top_keep(logits, share, rng), **spread)
        for quantile in (0.9, 1.0):
            kept = rejection_keep(logits, quantile, rng)
            score(f"rejection, M at q {quantile}", kept, kept_share=round(len(kept) / args.pool, 4),
                  **spread)
    for psi in psis:
        score(f"truncation {psi}", None, samples=generate(family.G_ema, psi * z[: args.samples]))

    if args.out:
        with open(args.out, "a") as f:
            f.writelines(json.dumps(row) + "\n" for row in rows)
    print("\n| method | D steps | digit FID | confident | class KL | precision | recall | "
          "Inception FID |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        cells = [r["method"], r.get("d_steps", "-")] + [
            "-" if r.get(key) is None else f"{r[key]:.{digits}f}" for key, digits in
            (("fid", 1), ("confident", 3), ("class_kl", 4), ("precision", 3), ("recall", 3),
             ("inception_fid", 2))]
        print("| " + " | ".join(map(str, cells)) + " |")


if __name__ == "__main__":
    main()
