"""What a metric function of `ganforge.metrics.evaluation.METRICS` reads: an `Evaluation`,
the two sample sets with the run's settings (`MetricOptions` among them), which computes the
features, probabilities and results that several metrics share once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .feature_cache import cached_features
from .features import ImageBatches, class_probabilities, extract_features, get_extractor
from .parzen import DEFAULT_SIGMAS


@dataclass
class MetricOptions:
    """Settings of individual metrics (all recorded in the result's protocol).

    kid_subsets, kid_subset_size: KID subsets (clipped to the sample counts).
    is_splits, classifier: Inception Score splits and the classifier giving p(y|x); the
    classifier also labels each channel of stacked digits for `modes` / `mode_kl`.
    k_precision_recall, k_density_coverage: k of the k-NN radii (3 and 5 as in the papers).
    mixture_centers (K, d), mixture_std: a Gaussian mixture's modes for modes / hq_fraction /
    mode_kl; without them, 3-channel images are scored as stacked digits (1000 modes).
    mode_n_std: a sample is high quality within mode_n_std * mixture_std of its nearest centre.
    parzen_sigmas: the bandwidth grid; parzen_validation_fraction: the share of real samples
    (a seeded random subset) used to choose sigma, the rest being the test set.
    """

    kid_subsets: int = 100
    kid_subset_size: int = 1000
    is_splits: int = 10
    classifier: str = "digits"
    confidence_threshold: float = 0.9  # `confident`: share of samples with max p(y|x) above it
    k_precision_recall: int = 3
    k_density_coverage: int = 5
    mixture_centers: np.ndarray | None = None
    mixture_std: float | None = None
    mode_n_std: float = 3.0
    parzen_sigmas: tuple[float, ...] = DEFAULT_SIGMAS
    parzen_validation_fraction: float = 0.5


def as_samples(x: ImageBatches | None, which: str) -> torch.Tensor | None:
    """Arrays become tensors; an iterable of batches is concatenated once."""
    if x is None:
        return None
    if isinstance(x, torch.Tensor | np.ndarray):
        t = torch.as_tensor(x)
    else:
        t = torch.cat([torch.as_tensor(b) for b in x])
    if t.ndim < 2 or t.shape[0] == 0:
        raise ValueError(f"{which} samples must be a non-empty (N, ...) array, got {tuple(t.shape)}")
    return t


@dataclass
class Evaluation:
    """Two sample sets and the run settings; computes shared intermediate results once."""

    real: torch.Tensor | None
    fake: torch.Tensor
    features: str = "inception"
    device: str = "cpu"
    batch_size: int = 64
    seed: int = 0
    cache_dir: str | Path | None = None
    progress: bool = False
    options: MetricOptions = field(default_factory=MetricOptions)
    _memo: dict = field(default_factory=dict, repr=False)

    def _once(self, key: str, compute: Callable):
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def need_real(self, metric: str) -> torch.Tensor:
        if self.real is None:
            raise ValueError(f"metric {metric!r} compares with real data; give real samples")
        return self.real

    def real_features(self) -> np.ndarray:
        real = self.need_real("features")
        return self._once(
            "real_features",
            lambda: cached_features(
                self.features, real, self.cache_dir, self.batch_size, self.device, self.progress
            ),
        )

    def fake_features(self) -> np.ndarray:
        return self._once(
            "fake_features",
            lambda: extract_features(self.features, self.fake, self.batch_size, self.device, self.progress),
        )

    def fake_probabilities(self) -> np.ndarray:
        """p(y|x) of the generated samples under options.classifier (IS, confident, class_kl)."""
        o = self.options
        return self._once("fake_probs", lambda: class_probabilities(
            o.classifier, self.fake, self.batch_size, self.device, self.progress))

    def feature_protocol(self) -> dict:
        return get_extractor(self.features, self.device).protocol()
