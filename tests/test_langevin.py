"""`--langevin-by-d STEPS` (ganforge.langevin): the dynamics against the Gaussian whose tilted
density is known in closed form; the run's samples against the same steps composed here from
G, D and the seeded draws; every bad setting refused in one line. (On a ring GAN part-way
through training the moved samples are more often on a mode and still cover all 8:
tests/test_selection.py, beside the top share's.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ganforge
from ganforge.cli import main
from ganforge.langevin import NOISE_SEED_OFFSET, LangevinByD, langevin
from ganforge.run import load_run


@pytest.mark.parametrize("weight", [1.0, 3.0])
def test_the_steps_sample_the_prior_tilted_by_the_weighted_log_ratio(weight):
    # D's logit as the exact log ratio of N(mu, I) to G's N(0, I): d(z) = mu.z - |mu|^2 / 2 with
    # G(z) = z. Then exp(-|z|^2 / 2 + weight * d(z)) is N(weight * mu, I): at weight 1, the data.
    # The discretised chain z' = (1 - eps/2) z + (eps/2) weight mu + sqrt(eps) xi keeps the mean
    # and has variance eps / (1 - (1 - eps/2)^2) = 1 / (1 - eps/4) a coordinate (8/7 at 0.5).
    mu = torch.tensor([1.5, -0.5])
    eps, n = 0.5, 40_000
    start = torch.randn(n, 2, generator=torch.Generator().manual_seed(0))
    moved = langevin(start, lambda z: z @ mu - mu.square().sum() / 2,
                     LangevinByD(steps=200, step_size=eps, weight=weight),
                     torch.Generator().manual_seed(1))
    # from the start's mean 0 the gap shrinks by (1 - eps/2)^200 < 1e-24: gone. Standard errors
    # of n draws: 1 / sqrt(n) = 0.005 for a mean, sqrt(2 / n) * 8/7 = 0.008 for a variance;
    # the bounds are five of them
    assert (moved.mean(0) - weight * mu).abs().max() < 0.03
    assert (moved.var(0) - 1 / (1 - eps / 4)).abs().max() < 0.04


def test_weight_zero_leaves_g_s_prior_where_it_was():
    start = torch.randn(40_000, 3, generator=torch.Generator().manual_seed(2))
    moved = langevin(start, lambda z: 1e3 * z.sum(1), LangevinByD(50, 0.1, weight=0.0),
                     torch.Generator().manual_seed(3))
    assert moved.mean(0).abs().max() < 0.03  # 6 standard errors of 0.005
    assert (moved.var(0) - 1 / (1 - 0.1 / 4)).abs().max() < 0.04


def test_the_samples_are_the_seeded_draws_after_the_steps_on_d_of_g(image_run, tmp_path, capsys):
    """A cluster run, every draw asked for cluster 2: the CLI's samples are the plain draws of
    the seed moved by `langevin` on D's logit of G_ema's image of that cluster."""
    run = load_run(image_run)
    family, setting = run.family, LangevinByD(steps=4, step_size=0.05, weight=5.0)
    inputs = family.fixed_inputs(40, 7)
    inputs["y"] = torch.full((40,), 2, dtype=torch.long)
    z = langevin(inputs["z"], lambda z: family.discriminate(
        family.generate(family.G_ema, z, inputs["y"]), inputs["y"])[0].reshape(-1),
        setting, torch.Generator().manual_seed(7 + NOISE_SEED_OFFSET))
    expected = family.snapshot({**inputs, "z": z})
    assert not torch.allclose(expected, family.snapshot(inputs), atol=1e-3)  # the steps moved it
    out = tmp_path / "moved.npz"
    assert main(["sample", str(image_run), "-n", "40", "--seed", "7", "--class", "2",
                 "--langevin-by-d", "4", "--langevin-step", "0.05", "--langevin-weight", "5",
                 "--out", str(out)]) == 0, capsys.readouterr().err
    with np.load(out) as archive:
        assert archive["samples"].shape == (40, 1, 28, 28)
        assert np.allclose(archive["samples"], expected.numpy(), atol=1e-5)


def test_the_api_draws_what_the_command_writes(ring_run, tmp_path, capsys):
    out = tmp_path / "moved.npz"
    assert main(["sample", str(ring_run), "-n", "700", "--seed", "4", "--langevin-by-d", "6",
                 "--out", str(out)]) == 0, capsys.readouterr().err
    moved = ganforge.sample(ring_run, n=700, seed=4, langevin=LangevinByD(6))
    with np.load(out) as archive:  # 700 draws: two batches, the second's noise after the first's
        assert np.allclose(archive["samples"], moved.numpy(), atol=1e-6)


@pytest.mark.parametrize("extra, message", [
    (["--langevin-by-d", "0"], "--langevin-by-d 0: the Langevin steps, from 1 to 10,000"),
    (["--langevin-by-d", "20001"], "--langevin-by-d 20001: the Langevin steps, from 1 to 10,000"),
    (["--langevin-by-d", "5", "--langevin-step", "0"], "--langevin-step 0.0: the step size eps"),
    (["--langevin-by-d", "5", "--langevin-step", "2"], "--langevin-step 2.0: the step size eps"),
    (["--langevin-by-d", "5", "--langevin-weight", "-1"],
     "--langevin-weight -1.0: the weight beta of D's logit, from 0"),
    (["--langevin-by-d", "5", "--langevin-weight", "nan"], "--langevin-weight nan: the weight"),
    (["--langevin-step", "0.1"],
     "--langevin-step sets the dynamics of --langevin-by-d STEPS, which was not given"),
    (["--langevin-weight", "3"],
     "--langevin-weight sets the dynamics of --langevin-by-d STEPS, which was not given"),
    (["--langevin-by-d", "5", "--top-by-d", "0.5"],
     "--top-by-d keeps the best of many draws and --langevin-by-d moves every draw"),
])
@pytest.mark.parametrize("verb", ["sample", "eval"])
def test_a_bad_setting_is_refused_in_one_line(verb, extra, message, ring_run, capsys):
    before = sorted(p.name for p in ring_run.iterdir())
    capsys.readouterr()
    assert main([verb, str(ring_run), *extra]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"ganforge {verb}: error: "), lines
    assert message in lines[0], lines
    assert sorted(p.name for p in ring_run.iterdir()) == before  # nothing written
