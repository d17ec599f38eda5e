"""`ganforge eval` and `ganforge fid`: from a run (or folders, statistics) to metrics.

Samples come from the run's EMA generator; the metric math lives in ganforge.metrics.
What is measured by default depends on the data:

  toy mixtures (ring8, grid25, mog1d, gauss1d)   modes, hq_fraction, mode_kl   (2,500 samples)
  spiral                                         precision, recall, density, coverage (raw)
  digit images (1 channel, mnist5k/digits/mnist) fid, kid, is, confident, class_kl,
                                                 precision, recall, density, coverage with the
                                                 bundled digits classifier; conditional
                                                 runs add class_accuracy
  other images                                   fid, kid, precision, recall (inception)
  translation runs (pix2pix, cyclegan)           l1, psnr, ssim (+ class accuracy on digits)
  stacked digits (data.name=stacked)             stacked_modes, stacked_kl, stacked_kl_channels
                                                 (26,000 samples)
  text style transfer (train.family=style-transfer)  acc, ref_bleu, multi_bleu, self_bleu, ppl,
                                                 g, source_acc (ganforge.eval.styles)

Runs with a likelihood (train.family=vae) add `elbo`, the ELBO of the held-out images
(ganforge.eval.elbo); `iwae_ll`, the IWAE bound with k importance samples on them
(ganforge.eval.likelihood), is asked for by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ganforge.data import data_set_of
from ganforge.eval.translation import class_accuracy, evaluate_translation
from ganforge.langevin import LangevinByD
from ganforge.rundir import RunDir

#: metrics of a likelihood model on held-out images (ganforge.eval.elbo, .likelihood)
HELD_OUT_METRICS = ("elbo", "iwae_ll")


def _generate(run, n: int, seed: int, batch: int = 500, progress: bool = False) -> torch.Tensor:
    """n samples from the EMA generator, in batches, reproducible from `seed`; a tqdm bar
    on stderr with `progress` (an image G draws thousands for a few minutes on a CPU)."""
    inputs = run.family.fixed_inputs(n, seed)
    parts = (run.family.snapshot({k: v[start : start + batch] for k, v in inputs.items()})
             for start in range(0, n, batch))
    return _collect(parts, n, "sampling", progress)


def _collect(batches, n: int, desc: str, progress: bool) -> torch.Tensor:
    """The n samples that `batches` yields, in one tensor; a tqdm bar on stderr with
    `progress`."""
    chunks = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n, desc=desc, unit="sample")
    for batch in batches:
        chunks.append(batch)
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    return torch.cat(chunks)


def default_plan(run) -> tuple[list[str], str, int]:
    """(metric names, feature extractor, number of samples) for the run's data."""
    cfg, data = run.cfg, run.data
    if data.kind == "tokens":
        from ganforge.eval.tokens import default_plan as token_plan

        names, n = token_plan(run)
        return names, "", n
    if data.kind == "toy":
        if hasattr(data.toy, "centers"):
            return ["modes", "hq_fraction", "mode_kl"], "raw", 2500
        return ["precision", "recall", "density", "coverage"], "raw", 2500
    scoring = data_set_of(cfg, run.family.data_kind).scoring
    if scoring == "stacked":
        from ganforge.metrics import STACKED_SAMPLES

        return ["stacked_modes", "stacked_kl", "stacked_kl_channels"], "digits", STACKED_SAMPLES
    if scoring == "digits" and data.shape[0] == 1:
        return (["fid", "kid", "is", "confident", "class_kl", "precision", "recall", "density",
                 "coverage"], "digits", 5000)
    return ["fid", "kid", "precision", "recall"], "inception", 1000


def _real_images(run) -> torch.Tensor:
    """What the samples are compared with: the real images its data set names."""
    return data_set_of(run.cfg, run.family.data_kind).reference_images(run.cfg)


def evaluate_run(run, metrics: list[str] | None = None, n: int | None = None,
                 features: str | None = None, seed: int = 0,
                 iwae_k: int | None = None, temperature: float = 1.0,
                 progress: bool = False, top_by_d: float | None = None,
                 langevin: LangevinByD | None = None) -> dict[str, Any]:
    """{"protocol": {...}, "metrics": {...}} for a loaded run (see ganforge.run.load_run);
    `iwae_k`: importance samples of iwae_ll (default 1,000); `temperature`: token runs'
    sampling temperature; `progress`: bars on stderr for the sampling and feature passes;
    `top_by_d`: the n samples scored are those D ranks highest of n / top_by_d draws
    (ganforge.selection; GAN runs whose G draws its own inputs); `langevin`: a
    ganforge.langevin.LangevinByD, the n draws moved toward what D finds real (the same runs)."""
    from ganforge.eval.tokens import check_temperature, evaluate_tokens
    from ganforge.selection import check_ranked

    check_temperature(temperature, run)
    if top_by_d is not None:
        check_ranked(run, top_by_d)
    if langevin is not None:
        from ganforge.langevin import check_langevin, refuse_with_top_by_d

        refuse_with_top_by_d(top_by_d, langevin)
        check_langevin(run, langevin)
    if run.data.kind in ("paired", "unpaired"):
        return evaluate_translation(run, n)
    if run.data.kind == "styles":
        from ganforge.eval.styles import evaluate_styles

        return evaluate_styles(run)
    if run.data.kind == "tokens":
        return evaluate_tokens(run, metrics, n, seed, temperature)
    from ganforge.metrics import MetricOptions, evaluate

    plan_metrics, plan_features, plan_n = default_plan(run)
    asked = bool(metrics)
    metrics, features, n = metrics or plan_metrics, features or plan_features, n or plan_n
    # metrics of the model on held-out images, not of samples: the ELBO (cheap) by default
    # for a likelihood model, the IWAE bound (k passes an image) by name only
    held_out: dict[str, tuple[dict, dict]] = {}
    wants = [name for name in HELD_OUT_METRICS if name in metrics]
    if not asked and getattr(run.family, "has_likelihood", False):
        wants = ["elbo"]
    if wants:
        from ganforge.metrics import METRICS

        for name in metrics:  # an unknown name fails before the costly bound
            if name not in HELD_OUT_METRICS:
                METRICS.get(name)
        if "elbo" in wants:
            from ganforge.eval.elbo import held_out_elbo

            held_out["elbo"] = held_out_elbo(run, seed)
        if "iwae_ll" in wants:
            from ganforge.eval.likelihood import DEFAULT_K, iwae_log_likelihood

            held_out["iwae_ll"] = iwae_log_likelihood(run, iwae_k or DEFAULT_K, seed)
        metrics = [name for name in metrics if name not in HELD_OUT_METRICS]
        if not metrics:
            return {"metrics": {k: v for values, _ in held_out.values() for k, v in values.items()},
                    "protocol": {**{k: p for k, (_, p) in held_out.items()}, **_about(run)}}
    if langevin is not None:
        from ganforge.langevin import langevin_batches

        # steps forward and backward passes of G and D a batch: minutes for thousands
        fake = _collect(langevin_batches(run, n, seed, langevin), n, "langevin", progress)
    elif top_by_d is None:
        fake = _generate(run, n, seed, progress=progress)
    else:
        from ganforge.selection import pool_size, top_by_d_batches

        fake = torch.cat(list(top_by_d_batches(run, n, seed, top_by_d)))
    options = MetricOptions()
    if run.data.kind == "toy":
        real = run.data.toy.sample(n, torch.Generator().manual_seed(seed + 1)).float()
        if hasattr(run.data.toy, "centers"):
            options.mixture_centers = run.data.toy.centers.numpy()
            options.mixture_std = run.data.toy.std
    else:
        real = _real_images(run)
    result = evaluate(metrics, real, fake, features=features, device=run.cfg.device, seed=seed,
                      options=options, progress=progress)
    result["protocol"].update(_about(run))
    if langevin is not None:
        result["protocol"]["langevin_by_d"] = langevin.protocol()
    if top_by_d is not None:
        result["protocol"]["top_by_d"] = {
            "share": top_by_d, "draws": pool_size(n, top_by_d),
            "rule": "the n draws of the run's D with the highest logits (within their cluster "
                    "for data.clusters runs), of the draws of `seed` for n / share samples"}
    for name, (values, protocol) in held_out.items():
        result["metrics"].update(values)
        result["protocol"][name] = protocol
    model, data = run.cfg.model, run.cfg.data
    if model.num_classes > 0 and not data.clusters and features == "digits":  # real classes only
        result["metrics"]["class_accuracy"] = conditional_accuracy(run, n, seed, fake)
        result["protocol"]["class_accuracy"] = (
            "share of n samples, generated for labels (i // K) mod K, that the digits "
            "classifier assigns to the class they were generated for")
    return result


def _about(run) -> dict[str, Any]:
    return {"run": str(run.path), "step": run.step, "data": run.cfg.data.name,
            "generator": "EMA" if run.cfg.train.ema > 0 else "G"}


def conditional_accuracy(run, n: int, seed: int = 0,
                         samples: torch.Tensor | None = None) -> float:
    """Share of a conditional G's samples that the digits classifier labels with the class
    they were generated for (labels cycle through all K classes, as in the sample grids).
    `samples`: the n samples `_generate(run, n, seed)` already drew, if at hand."""
    labels = run.family.fixed_inputs(n, seed)["y"]
    samples = _generate(run, n, seed) if samples is None else samples
    return class_accuracy(samples, labels, "digits", run.cfg.device)


def fid_between(a: str, b: str, features: str = "inception", n: int = 5000,
                device: str = "cpu") -> dict[str, Any]:
    """FID between two sources: image folders, .npz statistics (mu, sigma) or samples
    (`ganforge sample --out FILE.npz`), or runs (n samples of the EMA generator).

    Both are opened and checked before any sample is drawn or feature computed; a source
    of N <= D samples for D-d features is refused (its covariance is singular; see
    ganforge.metrics.sources.check_sources)."""
    from ganforge.metrics.sources import OpenedSource, check_sources, fid_from_sources, open_source
    from ganforge.run import load_run

    def is_run(path: str) -> bool:
        return RunDir(Path(path)).is_run() and RunDir(Path(path)).checkpoint.is_dir()

    runs = {path: load_run(Path(path), device=device) for path in (a, b) if is_run(path)}
    opened = {path: open_source(path, path) for path in (a, b) if path not in runs}
    for path, run in runs.items():  # n samples of its shape, before drawing them
        if run.data.kind not in ("toy", "images"):
            raise ValueError(f"{path} is a run of {run.data.kind} data; FID compares runs of "
                             "images or toy points")
        shape = tuple(run.data.shape) if run.data.kind == "images" else (run.data.toy.dim,)
        opened[path] = OpenedSource(path, {}, values=torch.zeros(1, *shape).expand(n, *shape))
    check_sources(opened[a], opened[b], features, device, refuse_singular=True)
    for path, run in runs.items():
        opened[path] = open_source(_generate(run, n, seed=0, progress=True), path)
    result = fid_from_sources(opened[a], opened[b], features=features, device=device,
                              progress=True)
    for key, path in (("a", a), ("b", b)):
        result["protocol"][key]["source"] = path
    return result
