"""Semi-supervised GANs: how well does the discriminator classify?

The semi-supervised D (Salimans et al. 2016, sec. 5; ``model.head=classifier``) is a (K+1)-way
classifier whose fake-class logit is fixed at 0. Its K class logits l_1(x) .. l_K(x) classify a
real image as

    y_hat(x) = argmax_k l_k(x)          (p(y = k | x, real) = softmax_k l(x))

and during training it sees the labels of only ``data.labelled_per_class`` examples per class
(the rest of the training split is unlabelled). The question the paper asks is whether the
unlabelled data and the generated data help: we compare its test accuracy with the SAME
architecture trained as a plain K-way classifier, cross-entropy ``-log softmax_y l(x)``, on the
labelled examples alone (the same examples: ``labelled_examples`` picks them exactly as the
training stream does, from the config's seed).

Protocol: accuracy on the held-out test split of the data set (mnist5k: 100 per class, the fixed
per-class split of ``ganforge.data.images``), D in eval mode, every number stamped with it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.config import Config, load_config
from ganforge.data import Data, data_set_of
from ganforge.data.sets.images import semi_supervised_labels
from ganforge.nets import build_gan_nets

BASELINE_PRESET = "digits-ssgan"


def class_logits(D: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The K class logits l_k(x) of a classifier head ((N, K)) or of an ACGAN head's tuple."""
    out = D(x)
    if isinstance(out, tuple):  # ACGAN: (adversarial logit, class logits)
        out = out[1]
    if out.dim() != 2:
        raise ValueError(f"D returned outputs of shape {tuple(out.shape)}, not class logits "
                         "(N, K): classification needs model.head=classifier (or acgan)")
    return out


@torch.no_grad()
def classifier_accuracy(D: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                        batch_size: int = 500) -> float:
    """Fraction of ``images`` with argmax_k l_k(x) == label, D in eval mode (restored after)."""
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    if len(images) == 0:
        raise ValueError("classifier_accuracy needs at least one image")
    device = next(D.parameters()).device
    was_training = D.training
    D.eval()
    correct = 0
    try:
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size].to(device)
            predicted = class_logits(D, x).argmax(dim=1).cpu()
            correct += int((predicted == labels[start : start + batch_size].cpu()).sum())
    finally:
        D.train(was_training)
    return correct / len(images)


def labelled_examples(cfg: Config) -> tuple[torch.Tensor, torch.Tensor]:
    """(images, labels) of the examples whose labels a semi-supervised run of ``cfg`` sees.

    Chosen as ``ganforge.data.build_data`` chooses them: ``data.labelled_per_class`` per class of
    the training split, drawn with ``cfg.seed`` (0 means every training example)."""
    d = cfg.data
    train = data_set_of(cfg).image_set(cfg, "train", labels=True)
    if train.labels is None:
        raise ValueError(f"data.name={d.name} has no class labels")
    labels = train.labels
    if d.labelled_per_class > 0:
        labels = semi_supervised_labels(labels, d.labelled_per_class, cfg.seed)
    keep = labels >= 0
    return train.images[keep], labels[keep]


def held_out_split(cfg: Config):
    """The held-out split (an ImageSet with labels) of the config's data set."""
    return data_set_of(cfg).image_set(cfg, "test", labels=True)


def _protocol(cfg: Config, n_test: int, **extra: Any) -> dict[str, Any]:
    d = cfg.data
    return {"data": d.name, "split": "test", "n_test": n_test, "image_size": d.image_size,
            "channels": d.channels, "labelled_per_class": d.labelled_per_class,
            "label_seed": cfg.seed, "prediction": "argmax_k l_k(x), D in eval mode", **extra}


def supervised_baseline(n_per_class: int = 10, seed: int = 0, steps: int = 1000,
                        config: Config | None = None, batch_size: int = 64,
                        device: str = "cpu") -> dict[str, Any]:
    """Train the semi-supervised run's D architecture as a plain K-way classifier.

    Minimises the cross-entropy -log softmax_y(l(x)) over the n_per_class * K labelled examples
    alone (the ones a run with ``seed`` sees), for ``steps`` Adam steps (the config's lr_d and
    betas) on minibatches of ``batch_size`` drawn with replacement; returns
    {"protocol": {...}, "metrics": {"accuracy": test accuracy}}. ``config`` defaults to the
    digits-ssgan preset; its data and model sections define the data set and D.
    """
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be >= 1, got {n_per_class}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    cfg = load_config(BASELINE_PRESET) if config is None else config
    cfg = replace(cfg, seed=seed, data=replace(cfg.data, labelled_per_class=n_per_class))
    if cfg.model.head != "classifier":
        raise ValueError(f"the baseline trains a classifier D (model.head=classifier), "
                         f"the config has model.head={cfg.model.head}")
    images, labels = labelled_examples(cfg)
    num_classes = int(labels.max()) + 1
    torch.manual_seed(seed)
    data = Data(stream=None, kind="images", shape=tuple(images.shape[1:]),
                num_classes=num_classes)
    _, D = build_gan_nets(cfg.model, data)
    D = D.to(device).train()
    o = cfg.optim
    optimizer = torch.optim.Adam(D.parameters(), lr=o.lr_d, betas=(o.beta1, o.beta2))
    draw = torch.Generator().manual_seed(seed)
    m = min(batch_size, len(images))
    for _ in range(steps):
        idx = torch.randint(len(images), (m,), generator=draw)
        loss = F.cross_entropy(class_logits(D, images[idx].to(device)), labels[idx].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    test = held_out_split(cfg)
    accuracy = classifier_accuracy(D, test.images, test.labels)
    protocol = _protocol(cfg, len(test), model=f"{cfg.model.arch} D, head classifier, "
                         f"d_width {cfg.model.d_width}, d_norm {cfg.model.d_norm}",
                         training=f"cross-entropy on {len(images)} labelled examples only, "
                                  f"{steps} Adam steps, batch {m}")
    return {"protocol": protocol, "metrics": {"accuracy": accuracy}}


def evaluate_ssgan_run(run_dir: Path | str, baseline_steps: int = 0,
                       device: str | None = None) -> dict[str, Any]:
    """Test accuracy of a semi-supervised run's D; with ``baseline_steps > 0`` also that of
    ``supervised_baseline`` on the same labelled examples and architecture.

    Returns {"protocol": {...}, "metrics": {"accuracy": ..., ["baseline_accuracy": ...]}}.
    """
    from ganforge.run import load_run

    run = load_run(run_dir, device=device)
    cfg = run.cfg
    if cfg.model.head != "classifier":
        raise ValueError(f"{run_dir} is not a semi-supervised run (model.head={cfg.model.head}; "
                         "expected classifier)")
    test = held_out_split(cfg)
    metrics = {"accuracy": classifier_accuracy(run.family.D, test.images, test.labels)}
    protocol = _protocol(cfg, len(test), run=str(run.path), step=run.step)
    if baseline_steps > 0:
        if cfg.data.labelled_per_class < 1:
            raise ValueError(f"{run_dir} saw every label (data.labelled_per_class=0): there is no "
                             "labelled-only baseline to compare with; use baseline_steps=0")
        baseline = supervised_baseline(cfg.data.labelled_per_class, cfg.seed, baseline_steps,
                                       config=cfg, device=cfg.device)
        metrics["baseline_accuracy"] = baseline["metrics"]["accuracy"]
        protocol["baseline"] = baseline["protocol"]["training"]
    return {"protocol": protocol, "metrics": metrics}
