"""Metrics that tell a good GAN from a collapsed one, each carrying its protocol.

Entry points (ganforge.metrics.evaluation, ganforge.metrics.sources):

    evaluate(metric_names, real, fake, features="inception", ...) -> {"protocol", "metrics"}
    fid_from_sources(a, b, features="inception", ...)              -> {"protocol", "metrics"}
    METRICS                                                       name -> metric function

Building blocks, each a small pure function of features or probabilities:
fid (frechet_distance, feature_statistics, load/save_statistics), kid, inception_score,
prdc (precision/recall, density/coverage), modes, parzen, image_quality (l1, psnr, ssim),
and features (FEATURES: inception, digits, raw; extract_features, class_probabilities).
"""

from .evaluation import (
    DEFAULT_CACHE_DIR,
    METRICS,
    Evaluation,
    MetricOptions,
    cached_features,
    evaluate,
)
from .features import FEATURES, class_probabilities, extract_features, get_extractor
from .fid import feature_statistics, frechet_distance, load_statistics, save_statistics
from .sources import fid_from_sources, source_statistics
from .stacked import PROTOCOL_SAMPLES as STACKED_SAMPLES  # registers the stacked_* metrics

__all__ = [
    "DEFAULT_CACHE_DIR",
    "FEATURES",
    "METRICS",
    "STACKED_SAMPLES",
    "Evaluation",
    "MetricOptions",
    "cached_features",
    "class_probabilities",
    "evaluate",
    "extract_features",
    "feature_statistics",
    "fid_from_sources",
    "frechet_distance",
    "get_extractor",
    "load_statistics",
    "save_statistics",
    "source_statistics",
]
