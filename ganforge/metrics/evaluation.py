"""Evaluation entry points: metrics by name and protocol-stamped results.

    result = evaluate(["fid", "kid", "precision"], real_images, fake_images, features="digits")
    result["metrics"]["fid"], result["protocol"]

`METRICS` maps each metric name of DESIGN.md to a small function of an `Evaluation` (the two
sample sets, which computes features, probabilities and shared results once; see
evaluation_inputs.py). Every function returns (values, protocol): the numbers it adds to
"metrics" and the settings that produced them, which go under protocol["metrics"][name].
Real features are cached on disk (feature_cache.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from ganforge.registry import Registry

from .evaluation_inputs import Evaluation, MetricOptions, as_samples
from .extractor_common import DEFAULT_CACHE_DIR
from .feature_cache import cached_features
from .features import ImageBatches, get_extractor, stacked_digit_labels
from .fid import feature_statistics, frechet_distance
from .image_quality import l1, psnr, ssim
from .inception_score import inception_score
from .kid import kernel_inception_distance
from .modes import class_recognisability, mixture_mode_stats, stacked_mode_stats
from .parzen import parzen_window_log_likelihood
from .prdc import density_coverage, precision_recall

__all__ = ["DEFAULT_CACHE_DIR", "FEATURE_METRICS", "METRICS", "Evaluation", "Metric",
           "MetricOptions", "cached_features", "evaluate"]

Metric = Callable[[Evaluation], tuple[dict[str, float], dict]]
METRICS: Registry[Metric] = Registry("metric")


@METRICS.register("fid")
def _fid(ev: Evaluation) -> tuple[dict, dict]:
    real = feature_statistics(ev.real_features())
    fake = feature_statistics(ev.fake_features())
    return {"fid": frechet_distance(*real, *fake, device=ev.device)}, {"features": ev.features}


@METRICS.register("kid")
def _kid(ev: Evaluation) -> tuple[dict, dict]:
    o = ev.options
    real, fake = ev.real_features(), ev.fake_features()
    mean, std = kernel_inception_distance(real, fake, o.kid_subsets, o.kid_subset_size, ev.seed)
    size = min(o.kid_subset_size, len(real), len(fake))
    protocol = {
        "features": ev.features,
        "subsets": o.kid_subsets,
        "subset_size": size,
        "kernel": "(x.y/d + 1)^3",
        "seed": ev.seed,
    }
    return {"kid": mean, "kid_std": std}, protocol


@METRICS.register("is")
def _is(ev: Evaluation) -> tuple[dict, dict]:
    o = ev.options
    mean, std = inception_score(ev.fake_probabilities(), o.is_splits)
    protocol = {
        "classifier": get_extractor(o.classifier, ev.device).protocol(),
        "splits": o.is_splits,
    }
    return {"is": mean, "is_std": std}, protocol


def _class_metric(name: str) -> Metric:
    def metric(ev: Evaluation) -> tuple[dict, dict]:
        o = ev.options
        stats = class_recognisability(ev.fake_probabilities(), o.confidence_threshold)
        return {name: stats[name]}, {
            "classifier": get_extractor(o.classifier, ev.device).protocol(),
            "confidence_threshold": o.confidence_threshold,
        }

    metric.__doc__ = f"{name} of ganforge.metrics.modes.class_recognisability"
    return metric


METRICS.register("confident")(_class_metric("confident"))
METRICS.register("class_kl")(_class_metric("class_kl"))


def _precision_recall(ev: Evaluation) -> dict:
    k = ev.options.k_precision_recall
    return ev._once(
        "pr", lambda: precision_recall(ev.real_features(), ev.fake_features(), k, device=ev.device)
    )


def _density_coverage(ev: Evaluation) -> dict:
    k = ev.options.k_density_coverage
    return ev._once(
        "dc", lambda: density_coverage(ev.real_features(), ev.fake_features(), k, device=ev.device)
    )


def _knn_metric(name: str, compute: Callable[[Evaluation], dict], k_field: str) -> Metric:
    def metric(ev: Evaluation) -> tuple[dict, dict]:
        return {name: compute(ev)[name]}, {
            "features": ev.features,
            "k": getattr(ev.options, k_field),
        }

    metric.__doc__ = f"{name} of ganforge.metrics.prdc"
    return metric


METRICS.register("precision")(_knn_metric("precision", _precision_recall, "k_precision_recall"))
METRICS.register("recall")(_knn_metric("recall", _precision_recall, "k_precision_recall"))
METRICS.register("density")(_knn_metric("density", _density_coverage, "k_density_coverage"))
METRICS.register("coverage")(_knn_metric("coverage", _density_coverage, "k_density_coverage"))


def _mode_stats(ev: Evaluation) -> tuple[dict, dict]:
    o = ev.options
    if o.mixture_centers is not None:
        if o.mixture_std is None:
            raise ValueError("mixture_centers was given without mixture_std")

        def compute():
            points = ev.fake.reshape(len(ev.fake), -1).double().cpu().numpy()
            return mixture_mode_stats(points, np.asarray(o.mixture_centers), o.mixture_std, o.mode_n_std)

        protocol = {
            "kind": "mixture",
            "num_modes": len(np.asarray(o.mixture_centers)),
            "std": o.mixture_std,
            "n_std": o.mode_n_std,
            "rule": "high quality: within n_std*std of the nearest centre; a mode is "
            "captured with >= 1 high-quality sample",
        }
    elif ev.fake.ndim == 4 and ev.fake.shape[1] == 3:
        if o.classifier != "digits":
            raise ValueError("stacked-digit modes need the digits classifier")

        def compute():
            labels = stacked_digit_labels(ev.fake, ev.batch_size, ev.device, ev.progress)
            return stacked_mode_stats(labels)

        protocol = {
            "kind": "stacked digits",
            "num_modes": 1000,
            "classifier": get_extractor("digits", ev.device).protocol(),
            "rule": "each channel labelled by the digits classifier; a mode is captured with >= 1 sample",
        }
    else:
        raise ValueError(
            "mode statistics need either a Gaussian mixture (options.mixture_centers and "
            "mixture_std) or stacked-digit images (N, 3, H, W)"
        )
    return ev._once("modes", compute), protocol


def _mode_metric(name: str) -> Metric:
    def metric(ev: Evaluation) -> tuple[dict, dict]:
        stats, protocol = _mode_stats(ev)
        if name not in stats:
            raise ValueError(f"{name} is defined for Gaussian mixtures only (give mixture_centers)")
        return {name: stats[name]}, protocol

    metric.__doc__ = f"{name} of ganforge.metrics.modes"
    return metric


for _name in ("modes", "hq_fraction", "mode_kl"):
    METRICS.register(_name)(_mode_metric(_name))


def _parzen_space(x: torch.Tensor) -> tuple[torch.Tensor, str]:
    """Images (4-D, in [-1, 1]) are mapped to [0, 1] as in the paper; points stay as they are."""
    if x.ndim == 4:
        return (x.double() + 1.0) / 2.0, "pixels mapped from [-1, 1] to [0, 1], flattened"
    return x.double(), "raw coordinates"


@METRICS.register("parzen_ll")
def _parzen(ev: Evaluation) -> tuple[dict, dict]:
    o = ev.options
    real, space = _parzen_space(ev.need_real("parzen_ll"))
    fake, _ = _parzen_space(ev.fake)
    order = torch.as_tensor(np.random.default_rng(ev.seed).permutation(len(real)))
    n_val = int(round(len(real) * o.parzen_validation_fraction))
    if not 1 <= n_val <= len(real) - 2:
        raise ValueError(f"parzen_ll needs real samples for validation and test; got {len(real)}")
    result = parzen_window_log_likelihood(
        fake, real[order[:n_val]], real[order[n_val:]], o.parzen_sigmas, device=ev.device
    )
    protocol = {
        "space": space,
        "sigma": result["sigma"],
        "sigma_grid": list(o.parzen_sigmas),
        "num_validation": n_val,
        "num_test": len(real) - n_val,
        "seed": ev.seed,
    }
    return {
        "parzen_ll": result["log_likelihood"],
        "parzen_ll_se": result["standard_error"],
    }, protocol


def _paired(name: str, fn: Callable) -> Metric:
    def metric(ev: Evaluation) -> tuple[dict, dict]:
        real = ev.need_real(name)
        return {name: fn(ev.fake.double(), real.double().to(ev.fake.device))}, {
            "pairs": "fake[i] against real[i]",
            "data_range": 2.0,
        }

    metric.__doc__ = f"{name} of ganforge.metrics.image_quality (paired images in [-1, 1])"
    return metric


METRICS.register("l1")(_paired("l1", l1))
METRICS.register("psnr")(_paired("psnr", psnr))
METRICS.register("ssim")(_paired("ssim", ssim))

FEATURE_METRICS = ("fid", "kid", "precision", "recall", "density", "coverage")


def _json_number(value):
    """NaN and infinities are not JSON; they become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def evaluate(
    metric_names: Sequence[str],
    real: ImageBatches | None,
    fake: ImageBatches,
    features: str = "inception",
    device: str = "cpu",
    batch_size: int = 64,
    seed: int = 0,
    cache_dir: str | Path | None = DEFAULT_CACHE_DIR,
    progress: bool = False,
    options: MetricOptions | None = None,
) -> dict:
    """{"protocol": {...}, "metrics": {...}} for the named metrics (see METRICS).

    real, fake: images (N, C, H, W) in [-1, 1] or points (N, d), as arrays or iterables of
    batches (concatenated once). `features` names the extractor of the feature metrics (fid,
    kid, precision, recall, density, coverage). Real features are cached under `cache_dir`
    (default ~/.cache/ganforge; None: no cache). Non-finite values are reported as None.
    """
    names = list(dict.fromkeys(metric_names))
    for name in names:
        METRICS.get(name)  # fail before any work on an unknown name
    ev = Evaluation(
        real=as_samples(real, "real"),
        fake=as_samples(fake, "fake"),
        features=features,
        device=device,
        batch_size=batch_size,
        seed=seed,
        cache_dir=cache_dir,
        progress=progress,
        options=options or MetricOptions(),
    )
    values: dict = {}
    per_metric: dict = {}
    for name in names:
        result, protocol = METRICS.get(name)(ev)
        values.update({k: _json_number(v) for k, v in result.items()})
        per_metric[name] = protocol
    protocol = {
        "num_real": None if ev.real is None else len(ev.real),
        "num_fake": len(ev.fake),
        "real_shape": None if ev.real is None else list(ev.real.shape[1:]),
        "fake_shape": list(ev.fake.shape[1:]),
        "seed": seed,
        "metrics": per_metric,
    }
    if any(name in FEATURE_METRICS for name in names):
        protocol["features"] = ev.feature_protocol()
    return {"protocol": protocol, "metrics": values}
