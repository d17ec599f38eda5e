"""Semi-supervised evaluation: accuracy arithmetic, the labelled subset, the supervised baseline,
a trained run scored on the test split."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from ganforge.config import load_config
from ganforge.eval.semisupervised import (
    class_logits,
    classifier_accuracy,
    evaluate_ssgan_run,
    labelled_examples,
    supervised_baseline,
)
from ganforge.families import load_data
from ganforge.train.loop import train

SMALL_D = {"model.d_width": 8, "model.g_width": 8}


class PixelVote(nn.Module):
    """Predicts the class written in pixel (0, 0, 0): logits = one_hot(that value) * 5.
    Records whether it ran in training mode."""

    def __init__(self, num_classes: int = 4, acgan: bool = False):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(5.0))
        self.num_classes, self.acgan, self.seen_training = num_classes, acgan, []

    def forward(self, x):
        self.seen_training.append(self.training)
        votes = x[:, 0, 0, 0].long()
        logits = self.scale * nn.functional.one_hot(votes, self.num_classes).float()
        return (torch.zeros(len(x)), logits) if self.acgan else logits


def images_voting(votes: list[int]) -> torch.Tensor:
    x = torch.zeros(len(votes), 1, 4, 4)
    x[:, 0, 0, 0] = torch.tensor(votes, dtype=torch.float32)
    return x


@pytest.mark.parametrize("acgan", [False, True])
def test_accuracy_counts_argmax_hits_in_eval_mode(acgan):
    D = PixelVote(acgan=acgan).train()
    votes = [0, 1, 2, 3, 0, 1, 2]
    labels = torch.tensor([0, 1, 2, 0, 0, 3, 2])  # 5 of 7 agree
    accuracy = classifier_accuracy(D, images_voting(votes), labels, batch_size=3)
    assert abs(accuracy - 5 / 7) < 1e-12
    assert D.seen_training == [False, False, False]  # three batches, all in eval mode
    assert D.training  # restored


def test_plain_logits_are_refused():
    class Plain(nn.Module):
        def forward(self, x):
            return x.flatten(1).sum(1)

    with pytest.raises(ValueError, match="head=classifier"):
        class_logits(Plain(), torch.zeros(2, 1, 4, 4))


def test_labelled_examples_are_the_ones_the_training_stream_labels():
    cfg = load_config("digits-ssgan", {"data.labelled_per_class": 3, "seed": 4})
    images, labels = labelled_examples(cfg)
    assert torch.equal(torch.bincount(labels, minlength=10), torch.full((10,), 3))
    stream = load_data(cfg).stream.tensors
    keep = stream["y"] >= 0
    assert int(keep.sum()) == 30
    assert torch.equal(images, stream["x"][keep]) and torch.equal(labels, stream["y"][keep])


def test_baseline_learns_from_ten_labels_per_class():
    torch.manual_seed(0)
    config = load_config("digits-ssgan", SMALL_D)
    report = supervised_baseline(n_per_class=10, seed=0, steps=60, config=config)
    protocol = report["protocol"]
    assert protocol["n_test"] == 1000 and protocol["labelled_per_class"] == 10
    assert "100 labelled examples" in protocol["training"]
    assert report["metrics"]["accuracy"] > 0.4  # chance is 0.1


def test_baseline_needs_a_classifier_head():
    config = load_config("digits-dcgan")
    with pytest.raises(ValueError, match="model.head=classifier"):
        supervised_baseline(10, 0, 1, config=config)


def test_ssgan_run_is_evaluated_on_the_test_split(tmp_path):
    overrides = {**SMALL_D, "data.batch_size": 8, "train.steps": 2, "train.log_every": 1,
                 "train.sample_every": 2, "train.checkpoint_every": 2, "train.progress": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tensorboard chatter
        train(load_config("digits-ssgan", overrides), tmp_path / "run")
    report = evaluate_ssgan_run(tmp_path / "run")
    assert report["protocol"]["n_test"] == 1000
    assert report["protocol"]["labelled_per_class"] == 10
    assert 0.0 <= report["metrics"]["accuracy"] <= 1.0
