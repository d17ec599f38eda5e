"""The OBJECTIVES and F_DIVERGENCES registries: their names, flags and look-up errors."""

from __future__ import annotations

import pytest

from ganforge.objectives import F_DIVERGENCES, OBJECTIVES, get_f_divergence, get_objective


def test_registry_holds_exactly_the_documented_objectives():
    expected = {
        "minimax", "ns", "lsgan", "hinge", "wasserstein", "wgan-gp",
        "fgan-kl", "fgan-reverse-kl", "fgan-pearson", "fgan-hellinger", "fgan-js", "fgan-gan",
    }  # fmt: skip
    assert set(OBJECTIVES) == expected
    assert set(F_DIVERGENCES) == {"kl", "reverse-kl", "pearson", "hellinger", "js", "gan"}
    for name in expected:
        assert get_objective(name).name == name


def test_unknown_objective_lists_valid_names():
    with pytest.raises(KeyError) as excinfo:
        get_objective("wgan-gpp")
    message = str(excinfo.value)
    assert "wgan-gpp" in message
    for name in ("minimax", "ns", "hinge", "wgan-gp", "fgan-kl", "fgan-gan"):
        assert name in message


def test_unknown_f_divergence_lists_valid_names():
    with pytest.raises(KeyError) as excinfo:
        get_f_divergence("total-variation")
    assert "reverse-kl" in str(excinfo.value) and "hellinger" in str(excinfo.value)


def test_flags():
    critics = {name for name, o in OBJECTIVES.items() if o.critic}
    probabilistic = {name for name, o in OBJECTIVES.items() if o.probabilistic}
    smoothable = {name for name, o in OBJECTIVES.items() if o.accepts_real_target}
    assert critics == {"wasserstein", "wgan-gp"}
    assert probabilistic == {"minimax", "ns", "fgan-gan"}
    assert smoothable == {"minimax", "ns", "fgan-gan", "lsgan"}
