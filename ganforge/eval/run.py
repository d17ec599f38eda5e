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

`iwae_ll` (runs with a likelihood: train.family=vae) is asked for by name: the IWAE bound with
k importance samples on the held-out images (ganforge.eval.likelihood).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ganforge.eval.translation import class_accuracy, evaluate_translation
from ganforge.rundir import RunDir

DIGIT_SETS = ("mnist5k", "digits", "mnist", "captioned-digits")


def _generate(run, n: int, seed: int, batch: int = 500) -> torch.Tensor:
    """n samples from the EMA generator, in batches, reproducible from `seed`."""
    chunks = []
    inputs = run.family.fixed_inputs(n, seed)
    for start in range(0, n, batch):
        part = {k: v[start : start + batch] for k, v in inputs.items()}
        chunks.append(run.family.snapshot(part))
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
    if cfg.data.name == "stacked":
        from ganforge.metrics import STACKED_SAMPLES

        return ["stacked_modes", "stacked_kl", "stacked_kl_channels"], "digits", STACKED_SAMPLES
    digits = cfg.data.name in DIGIT_SETS and data.shape[0] == 1
    if digits:
        return (["fid", "kid", "is", "confident", "class_kl", "precision", "recall", "density",
                 "coverage"], "digits", 5000)
    return ["fid", "kid", "precision", "recall"], "inception", 1000


def _real_images(run) -> torch.Tensor:
    from ganforge.data.images import load_image_set

    d = run.cfg.data
    if d.name == "stacked":  # 10,000 triples of mnist5k's train digits
        from ganforge.data.stacked import stacked_images

        return stacked_images(10_000, 0, "train", d.image_size)[0]
    spec = f"{d.name}:{d.path}" if d.name in ("folder", "mnist") else d.name
    if d.name == "captioned-digits":  # the mnist5k digits, captioned
        spec = "mnist5k"
    return load_image_set(spec, "all", d.image_size, d.channels, labels=False).images


def evaluate_run(run, metrics: list[str] | None = None, n: int | None = None,
                 features: str | None = None, seed: int = 0,
                 iwae_k: int | None = None, temperature: float = 1.0) -> dict[str, Any]:
    """{"protocol": {...}, "metrics": {...}} for a loaded run (see ganforge.run.load_run);
    `iwae_k`: importance samples of iwae_ll (default 1,000); `temperature`: token runs'
    sampling temperature."""
    from ganforge.eval.tokens import check_temperature, evaluate_tokens

    check_temperature(temperature, run)
    if run.data.kind in ("paired", "unpaired"):
        return evaluate_translation(run, n)
    if run.data.kind == "tokens":
        return evaluate_tokens(run, metrics, n, seed, temperature)
    from ganforge.metrics import MetricOptions, evaluate

    plan_metrics, plan_features, plan_n = default_plan(run)
    metrics, features, n = metrics or plan_metrics, features or plan_features, n or plan_n
    iwae = None
    if "iwae_ll" in metrics:  # a metric of the model on held-out images, not of samples
        from ganforge.eval.likelihood import DEFAULT_K, iwae_log_likelihood
        from ganforge.metrics import METRICS

        for name in metrics:  # an unknown name fails before the costly bound
            if name != "iwae_ll":
                METRICS.get(name)
        iwae = iwae_log_likelihood(run, iwae_k or DEFAULT_K, seed)
        metrics = [name for name in metrics if name != "iwae_ll"]
        if not metrics:
            return {"metrics": iwae[0], "protocol": {"iwae_ll": iwae[1], **_about(run)}}
    fake = _generate(run, n, seed)
    options = MetricOptions()
    if run.data.kind == "toy":
        real = run.data.toy.sample(n, torch.Generator().manual_seed(seed + 1)).float()
        if hasattr(run.data.toy, "centers"):
            options.mixture_centers = run.data.toy.centers.numpy()
            options.mixture_std = run.data.toy.std
    else:
        real = _real_images(run)
    result = evaluate(metrics, real, fake, features=features, device=run.cfg.device, seed=seed,
                      options=options)
    result["protocol"].update(_about(run))
    if iwae is not None:
        result["metrics"].update(iwae[0])
        result["protocol"]["iwae_ll"] = iwae[1]
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
    """FID between two sources: image folders, .npz statistics (mu, sigma) or runs."""
    from ganforge.metrics import fid_from_sources

    def source(path: str):
        p = Path(path)
        if RunDir(p).is_run() and RunDir(p).checkpoint.is_dir():
            from ganforge.run import load_run

            return _generate(load_run(p, device=device), n, seed=0)
        return path

    result = fid_from_sources(source(a), source(b), features=features, device=device,
                              progress=True)
    for key, path in (("a", a), ("b", b)):
        result["protocol"][key]["source"] = path
    return result
