"""Inception Score = exp(E_x KL(p(y|x) || p(y))) on hand-made probabilities."""

import math

import numpy as np
import pytest

from ganforge.metrics.inception_score import inception_score, split_score


def test_confident_uniform_predictions_give_the_number_of_classes():
    k = 5
    probs = np.eye(k)[np.arange(50) % k]  # every split of 5 rows holds each class once
    mean, std = inception_score(probs, num_splits=10)
    assert abs(mean - k) < 1e-12 and std < 1e-12


def test_identical_rows_give_one():
    probs = np.tile([0.2, 0.5, 0.3], (40, 1))
    mean, std = inception_score(probs, num_splits=4)
    assert abs(mean - 1.0) < 1e-12 and std < 1e-12


def test_hand_worked_two_class_example():
    p = [[0.9, 0.1], [0.2, 0.8]]
    marginal = [0.55, 0.45]
    kl = [sum(p[i][y] * math.log(p[i][y] / marginal[y]) for y in range(2)) for i in range(2)]
    expected = math.exp((kl[0] + kl[1]) / 2)
    assert abs(split_score(np.array(p)) - expected) < 1e-12


def test_splits_are_consecutive_and_averaged():
    first = np.eye(4)[[0, 1, 2, 3]]  # IS 4
    second = np.tile([0.5, 0.5, 0.0, 0.0], (4, 1))  # IS 1 (zeros contribute 0)
    mean, std = inception_score(np.concatenate([first, second]), num_splits=2)
    assert abs(mean - 2.5) < 1e-12 and abs(std - 1.5) < 1e-12


def test_invalid_probabilities_are_refused():
    with pytest.raises(ValueError, match="sum to 1"):
        inception_score(np.full((10, 3), 0.5), num_splits=2)
    with pytest.raises(ValueError, match="num_splits"):
        inception_score(np.eye(3), num_splits=5)
