"""Evaluating and applying image-to-image translation runs (pix2pix, CycleGAN).

``evaluate_translation(run)`` translates the held-out test inputs with the run's EMA generator
and compares them with their ground truth (the targets of a paired task, the known translation
of the CycleGAN stroke task or of a folder whose testA/ and testB/ names match):

    l1    mean |G(a) - b| over pixels, channels and images (images in [-1, 1])
    psnr  mean over images of 10 log10(2^2 / MSE(G(a), b))
    ssim  mean over images of the mean SSIM map (11 x 11 Gaussian window, sigma 1.5)
    identity_l1, identity_psnr, identity_ssim
          the same for the identity map (output = input), when inputs and targets share a shape
    class_accuracy
          digit tasks: the share of translated test digits that the `digits` classifier labels
          with the class of their source digit; class_accuracy_target is the same classifier's
          accuracy on the ground-truth targets (its ceiling on this split)

``translate_folder(run, input_dir, out_dir)`` translates a folder of the user's images and
writes one PNG per readable image, with the same relative name.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ganforge.data import data_set_of
from ganforge.data.select import evenly_spaced

FAMILIES = ("pix2pix", "cyclegan")
SSIM_PROTOCOL = "Gaussian window 11x11, sigma 1.5, K1 0.01, K2 0.03, valid windows only"


def _check_translation_run(run) -> None:
    family = run.cfg.train.family
    if family not in FAMILIES:
        raise ValueError(f"{run.path} is a train.family={family} run; translation needs a "
                         f"{' or '.join(FAMILIES)} run")


def quality_metrics(outputs: torch.Tensor, targets: torch.Tensor,
                    prefix: str = "") -> dict[str, float]:
    """{"l1", "psnr", "ssim"} of `outputs` against `targets` (N, C, H, W) in [-1, 1]."""
    from ganforge.metrics import image_quality

    return {
        f"{prefix}l1": image_quality.l1(outputs, targets),
        f"{prefix}psnr": image_quality.psnr(outputs, targets),
        f"{prefix}ssim": image_quality.ssim(outputs, targets),
    }


def class_accuracy(images: torch.Tensor, labels: torch.Tensor, classifier: Any = "digits",
                   device: str = "cpu") -> float:
    """The share of `images` whose arg-max class under `classifier` (a registry name of
    ganforge.metrics.features or an extractor with `probabilities`) equals `labels`."""
    from ganforge.metrics.features import class_probabilities

    probabilities = class_probabilities(classifier, images, device=device)
    predicted = probabilities.argmax(axis=1)
    return float(np.mean(predicted == labels.cpu().numpy()))


def translation_metrics(outputs: torch.Tensor, targets: torch.Tensor,
                        inputs: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                        classifier: Any = "digits", device: str = "cpu"
                        ) -> tuple[dict[str, float], dict[str, Any]]:
    """(metrics, protocol) of translated `outputs` against their `targets`; with `inputs`, the
    identity-map baseline (when shapes match); with `labels` and a `classifier` (None skips
    it), the classifier accuracies."""
    if outputs.shape != targets.shape:
        raise ValueError(f"outputs {tuple(outputs.shape)} and targets {tuple(targets.shape)} "
                         "must have the same shape")
    metrics = quality_metrics(outputs, targets)
    protocol: dict[str, Any] = {
        "num_images": int(outputs.shape[0]),
        "image_shape": list(outputs.shape[1:]),
        "data_range": 2.0,
        "l1": "mean |output - target| over pixels, channels and images, images in [-1, 1]",
        "psnr": "mean over images of 10 log10(4 / MSE)",
        "ssim": SSIM_PROTOCOL,
    }
    if inputs is not None and inputs.shape == targets.shape:
        metrics.update(quality_metrics(inputs, targets, prefix="identity_"))
        protocol["identity_baseline"] = "output = input"
    if labels is not None and classifier is not None:
        metrics["class_accuracy"] = class_accuracy(outputs, labels, classifier, device)
        metrics["class_accuracy_target"] = class_accuracy(targets, labels, classifier, device)
        extractor = classifier
        if isinstance(classifier, str):
            from ganforge.metrics.features import get_extractor

            extractor = get_extractor(classifier, device)
        protocol["classifier"] = extractor.protocol()
        protocol["class_accuracy"] = ("share of translated test images whose arg-max class is "
                                      "the class of their source digit")
    return metrics, protocol


def held_out_labels(run) -> torch.Tensor | None:
    """Digit classes of the run's test inputs (bundled digit tasks), else None."""
    return run.data.test.get("labels")


def evaluate_translation(run, n: int | None = None, classifier: Any = "digits",
                         ) -> dict[str, Any]:
    """{"protocol": {...}, "metrics": {...}} of the run's EMA generator on `n` held-out test
    pairs evenly spaced over the test split (all of them when None; the bundled digit splits
    are sorted by class, so the first n would hold few classes); see the module docstring for
    the metrics. `classifier`: a feature-extractor name or object for the digit tasks' class
    accuracy; None leaves it out."""
    _check_translation_run(run)
    inputs, targets = run.data.test.get("a"), run.data.test.get("b")
    if inputs is None or len(inputs) == 0:
        raise ValueError(f"{run.path} has no test inputs to evaluate on (a folder needs a test/ "
                         "split for pix2pix, testA/ for CycleGAN)")
    if targets is None:
        raise ValueError(f"{run.path} has no ground truth for its test inputs: CycleGAN folders "
                         "need testB/ images with the same file names as testA/ to be scored")
    index = torch.arange(len(inputs))
    if n is not None:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        index = evenly_spaced(len(inputs), n)
    inputs, targets = inputs[index], targets[index]
    labels = held_out_labels(run)
    if labels is not None:
        labels = labels[index]
    outputs = run.family.translate(inputs)
    metrics, protocol = translation_metrics(outputs, targets, inputs, labels, classifier,
                                            run.cfg.device)
    cfg = run.cfg
    protocol = {
        "task": data_set_of(cfg, run.family.data_kind).protocol(cfg),
        "family": cfg.train.family,
        "split": "test",
        "step": run.step,
        "generator": f"EMA of G (train.ema={cfg.train.ema}), eval mode (no dropout)",
        **protocol,
    }
    return {"protocol": protocol, "metrics": metrics}


def _to_pil(image: torch.Tensor) -> Image.Image:
    pixels = ((image.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    if pixels.shape[2] == 1:
        return Image.fromarray(pixels[:, :, 0], "L")
    return Image.fromarray(pixels, "RGB")


def translate_folder(run, input_dir: Path | str, out_dir: Path | str) -> int:
    """Translate every readable image under `input_dir` (recursive) with the run's EMA
    generator and write `out_dir/<same relative name>.png`; returns how many were written.

    Images are read as the run's training data were: the shorter side resized to
    data.image_size, a centre square crop, the run's input channels (1: grayscale, 3: RGB).
    Unreadable files are skipped with a warning (see ganforge.data.images)."""
    from ganforge.data.images import list_image_files, load_image_set

    _check_translation_run(run)
    root, out = Path(input_dir), Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; translating a folder needs an output folder")
    channels = run.family.in_shape[0]
    images = load_image_set(f"folder:{root}", split="all", image_size=run.cfg.data.image_size,
                            channels=channels, labels=False)
    skipped = set(images.skipped)
    names = [p.relative_to(root).as_posix() for p in list_image_files(root)]
    names = [name for name in names if name not in skipped]
    if len(names) != len(images):
        raise RuntimeError(f"read {len(images)} images but listed {len(names)} names in {root}")
    targets = [out / Path(name).with_suffix(".png") for name in names]
    clashes = sorted(str(t) for t, count in Counter(targets).items() if count > 1)
    if clashes:
        raise ValueError(f"several inputs would be written to the same PNG (names that differ "
                         f"only in extension): {', '.join(clashes[:5])}; rename them")
    outputs = run.family.translate(images.images)
    for image, path in zip(outputs, targets):
        path.parent.mkdir(parents=True, exist_ok=True)
        _to_pil(image).save(path)
    return len(targets)
