"""Evaluating trained runs; the metric math itself lives in ganforge.metrics.

  run             `ganforge eval` and `ganforge fid`: the default metrics for a run's data,
                  conditional class accuracy, FID between folders, statistics or runs
  translation     pix2pix and CycleGAN runs: L1, PSNR, SSIM and class accuracy on the held-out
                  pairs; translating a folder of images
  semisupervised  the semi-supervised D's test accuracy and its labelled-only baseline
"""

from ganforge.eval.run import conditional_accuracy, default_plan, evaluate_run, fid_between
from ganforge.eval.semisupervised import evaluate_ssgan_run, supervised_baseline
from ganforge.eval.translation import evaluate_translation, translate_folder, translation_metrics

__all__ = [
    "conditional_accuracy",
    "default_plan",
    "evaluate_run",
    "evaluate_ssgan_run",
    "evaluate_translation",
    "fid_between",
    "supervised_baseline",
    "translate_folder",
    "translation_metrics",
]
