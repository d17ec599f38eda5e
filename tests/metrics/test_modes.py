"""Mode statistics on hand-placed points and hand-made digit labels."""

import math

import numpy as np
import pytest
import torch

from ganforge.data.toy import TOYS
from ganforge.metrics.modes import (
    class_recognisability,
    kl_to_uniform,
    mixture_mode_stats,
    stacked_mode_stats,
)

RING = np.array([[math.cos(2 * math.pi * i / 8), math.sin(2 * math.pi * i / 8)] for i in range(8)])


def test_hand_placed_points_on_a_ring():
    std = 0.1  # high quality: within 0.3 of the nearest centre
    points = np.array(
        [
            RING[0],
            RING[0] + [0.05, 0.0],
            RING[0] + [0.0, -0.29],  # three HQ at mode 0
            RING[1] + [0.2, 0.0],  # HQ at mode 1
            RING[2] * 1.5,  # 0.5 from mode 2: not HQ
            [0.0, 0.0],  # 1.0 from every centre: not HQ
        ]
    )
    stats = mixture_mode_stats(points, RING, std)
    assert stats["modes"] == 2
    assert abs(stats["hq_fraction"] - 4 / 6) < 1e-12
    expected_kl = 0.75 * math.log(0.75 * 8) + 0.25 * math.log(0.25 * 8)
    assert abs(stats["mode_kl"] - expected_kl) < 1e-12


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_the_data_itself_scores_the_chi_square_ceiling(name):
    """A sample of the mixture is HQ when |x - c|^2 / std^2 <= 9, a chi-square with 2 degrees
    of freedom: P = 1 - exp(-9 / 2) = 0.98889. So no generator that matches the data scores
    more on average; the tolerance is 5 binomial standard deviations of the share over n draws."""
    mix, n = TOYS[name](), 200_000
    points = mix.sample(n, torch.Generator().manual_seed(0)).numpy()
    stats = mixture_mode_stats(points, mix.centers.numpy(), mix.std)
    ceiling = 1 - math.exp(-4.5)
    assert abs(stats["hq_fraction"] - ceiling) < 5 * math.sqrt(ceiling * (1 - ceiling) / n)
    assert stats["modes"] == len(mix.centers)


def test_one_sample_per_mode_is_uniform():
    stats = mixture_mode_stats(RING + 0.01, RING, 0.05)
    assert stats == {"modes": 8, "hq_fraction": 1.0, "mode_kl": 0.0}


def test_min_count_and_n_std_change_the_rule():
    points = np.concatenate([np.repeat(RING[:1], 3, axis=0), RING[1:2] + [0.25, 0.0]])
    assert mixture_mode_stats(points, RING, 0.1, min_count=2)["modes"] == 1
    assert mixture_mode_stats(points, RING, 0.1, n_std=2.0)["hq_fraction"] == 0.75


def test_no_high_quality_sample_gives_nan_kl():
    stats = mixture_mode_stats(np.zeros((5, 2)), RING, 0.01)
    assert stats["modes"] == 0 and stats["hq_fraction"] == 0.0
    assert math.isnan(stats["mode_kl"])


def test_kl_to_uniform_by_hand():
    assert abs(kl_to_uniform([2, 0, 0, 2]) - math.log(2)) < 1e-12
    assert kl_to_uniform([1, 1, 1]) == 0.0


def test_stacked_modes_all_triples_and_collapse():
    triples = np.array([[i // 100, (i // 10) % 10, i % 10] for i in range(1000)])
    assert stacked_mode_stats(triples) == {"modes": 1000, "mode_kl": 0.0, "channel_kl": 0.0}
    collapsed = stacked_mode_stats(np.tile([3, 1, 4], (50, 1)))
    assert collapsed["modes"] == 1 and abs(collapsed["mode_kl"] - math.log(1000)) < 1e-12
    half = stacked_mode_stats(np.array([[0, 0, 1], [0, 0, 1], [9, 9, 9], [9, 9, 9]]))
    assert half["modes"] == 2 and abs(half["mode_kl"] - math.log(500)) < 1e-12


def test_stacked_kl_splits_into_the_channels_digits_and_their_dependence():
    pairs = np.array([[3, i // 10, i % 10] for i in range(100)])  # red always 3, the rest free
    free = stacked_mode_stats(pairs)
    assert abs(free["mode_kl"] - math.log(10)) < 1e-12  # 100 equal modes of 1000
    assert abs(free["channel_kl"] - math.log(10)) < 1e-12  # all of it the red channel's
    same = stacked_mode_stats(np.array([[d, d, d] for d in range(10)] * 3))
    assert abs(same["mode_kl"] - math.log(100)) < 1e-12  # 10 modes
    assert same["channel_kl"] == 0.0  # every channel uniform: all of it dependence
    # the identity KL(q||u) = sum_c KL(q_c||u_10) + KL(q||q_R q_G q_B) on random labels
    labels = np.random.default_rng(0).integers(0, 10, (500, 3)) * np.array([1, 1, 0]) + \
        np.random.default_rng(1).integers(0, 3, (500, 1))
    labels = labels.clip(0, 9)
    stats = stacked_mode_stats(labels)
    q = np.bincount(labels[:, 0] * 100 + labels[:, 1] * 10 + labels[:, 2], minlength=1000) / 500
    marg = [np.bincount(labels[:, c], minlength=10) / 500 for c in range(3)]
    product = np.einsum("i,j,k->ijk", *marg).ravel()
    dependence = float(np.sum(q[q > 0] * np.log(q[q > 0] / product[q > 0])))
    assert abs(stats["mode_kl"] - (stats["channel_kl"] + dependence)) < 1e-9 and dependence > 0


def test_stacked_labels_are_checked():
    with pytest.raises(ValueError, match="0..9"):
        stacked_mode_stats(np.array([[0, 10, 1]]))
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        stacked_mode_stats(np.zeros((4, 2), dtype=int))


def test_class_recognisability_by_hand():
    # 4 samples over K = 2 classes: predicted 0, 0, 0, 1; max probs 0.95, 0.6, 0.99, 0.91
    probs = np.array([[0.95, 0.05], [0.6, 0.4], [0.99, 0.01], [0.09, 0.91]])
    stats = class_recognisability(probs, threshold=0.9)
    assert stats["confident"] == 0.75
    # q = (3/4, 1/4): KL = 3/4 log(3/2) + 1/4 log(1/2)
    expected = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    assert abs(stats["class_kl"] - expected) < 1e-12
    one_class = class_recognisability(np.tile([[0.0, 1.0, 0.0]], (5, 1)))
    assert abs(one_class["class_kl"] - math.log(3)) < 1e-12
    with pytest.raises(ValueError, match=r"\(N, K\)"):
        class_recognisability(np.zeros(3))
