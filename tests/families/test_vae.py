"""The VAE and VAE-GAN families: training improves the held-out likelihood and the feature
reconstruction, each VAE-GAN player learns from its own loss only, and the `ganforge` command
samples, reconstructs, interpolates and scores them, refusing what they cannot do in one line."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from PIL import Image

from ganforge.cli import main
from ganforge.config import load_config
from ganforge.data.images import load_image_set
from ganforge.eval.likelihood import held_out_images
from ganforge.objectives.likelihood import feature_reconstruction_loss, gaussian_kl
from ganforge.run import build, load_run
from ganforge.train.loop import train

TINY = {"model.z_dim": 8, "model.g_width": 8, "model.d_width": 8, "data.batch_size": 32,
        "train.progress": False, "train.log_every": 1, "train.sample_every": 1000,
        "train.checkpoint_every": 1000, "train.ema": 0.0}  # EMA = the nets: 120 steps show


def ganforge(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganforge", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def refusal(proc: subprocess.CompletedProcess, verb: str) -> str:
    """The one line of a refused command: exit 2, no traceback."""
    assert "Traceback" not in proc.stderr and proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"ganforge {verb}: error: "), proc.stderr
    return lines[0]


def tiny_run(tmp_path_factory, preset: str, steps: int) -> Path:
    run = tmp_path_factory.mktemp(preset) / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(load_config(preset, dict(TINY, **{"train.steps": steps})), run)
    return run


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory) -> Path:
    return tiny_run(tmp_path_factory, "digits-vae", 120)


@pytest.fixture(scope="module")
def vaegan_run(tmp_path_factory) -> Path:
    return tiny_run(tmp_path_factory, "digits-vaegan", 40)


def held_out_bound(family, images: torch.Tensor) -> float:
    return float(family.log_likelihood(images, 4, torch.Generator().manual_seed(0)).mean())


def test_training_raises_the_held_out_iwae_bound(vae_run):
    """The untrained nets against 120 steps: log p(b) of 100 held-out binarised digits, L_4,
    climbs by more than 150 nats (from about -543 to about -337)."""
    run = load_run(vae_run)
    images = held_out_images(run)[::10]
    _, untrained = build(run.cfg)
    for net in untrained.nets.values():
        net.eval()
    before, after = held_out_bound(untrained, images), held_out_bound(run.family, images)
    assert after - before > 150, (before, after)
    rows = [json.loads(line) for line in (vae_run / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["loss_g"] < 0.75 * rows[0]["loss_g"]  # -ELBO of the training batches


def test_vaegan_training_brings_reconstructions_closer(vaegan_run):
    """40 steps: the held-out digits' reconstructions G(mu(x)) are >= 5 % closer to them in
    pixel MSE than the untrained nets' (about 0.92 -> 0.84). D's features, the reconstruction
    target, move while D learns, so their loss is no yardstick."""
    run = load_run(vaegan_run)
    images = held_out_images(run)[::10]
    _, untrained = build(run.cfg)
    for net in untrained.nets.values():
        net.eval()
    before, after = ((f.reconstruct(images) - images).pow(2).mean() for f in (untrained,
                                                                              run.family))
    assert after < 0.95 * before, (float(before), float(after))


def test_vaegan_players_learn_from_their_own_losses_only():
    """g_step moves E and G but not D; E's gradient is that of KL + L_llike alone (no GAN
    term), checked against autograd of that loss on the same draw."""
    cfg = load_config("digits-vaegan", dict(TINY))
    torch.manual_seed(0)
    _, family = build(cfg)
    batch = {"x": load_image_set("mnist5k", "test", 28, 1).images[:8]}
    d_before = [p.clone() for p in family.D.parameters()]
    torch.manual_seed(3)
    family.g_step(batch, 0)
    e_grads = [p.grad.clone() for p in family.E.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(d_before, family.D.parameters()))
    # recompute E's loss alone from the same noise, with the weights before the step
    torch.manual_seed(0)
    _, fresh = build(cfg)
    torch.manual_seed(3)
    x = batch["x"]
    recon, prior, mu, logvar = fresh._encode_decode(x, fresh.E, fresh.G)
    with torch.no_grad():
        real_features = fresh.D.features(x)
    loss_e = gaussian_kl(mu, logvar).mean() + feature_reconstruction_loss(
        fresh.D.features(torch.cat([recon, prior]))[:8], real_features)
    expected = torch.autograd.grad(loss_e, list(fresh.E.parameters()))
    for got, want in zip(e_grads, expected):
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-7)


def test_sample_reconstruct_and_eval_iwae_through_the_command(vae_run, vaegan_run, tmp_path,
                                                                capsys):
    out = tmp_path / "vae.png"
    proc = ganforge("sample", vae_run, "--reconstruct", "-n", "6", "--out", out)
    assert proc.returncode == 0 and proc.stdout.strip() == str(out), proc.stderr
    assert Image.open(out).size == (6 * 30 + 2, 2 * 30 + 2)  # six digits over six
    proc = ganforge("eval", vae_run, "--metrics", "iwae_ll", "--iwae-k", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["protocol"]["iwae_ll"]["k"] == 2 and result["protocol"]["iwae_ll"][
        "held_out"] == 1000
    assert -400 < result["metrics"]["iwae_ll"] < 0
    # the same command in this process (no interpreter start-up): the VAE-GAN, a latent walk
    assert main(["sample", str(vaegan_run), "--reconstruct", "-n", "4", "--out",
                 str(tmp_path / "vaegan.png")]) == 0
    assert main(["sample", str(vae_run), "--interpolate", "-n", "5", "--out",
                 str(tmp_path / "walk.png")]) == 0
    assert Image.open(tmp_path / "walk.png").size == (5 * 30 + 2, 30 + 2)
    capsys.readouterr()


def refused(argv: list[str], capsys) -> str:
    """The one line that `ganforge ARGV` (in this process) prints when it refuses, exit 2."""
    capsys.readouterr()
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"ganforge {argv[0]}: error: "), lines
    return lines[0]


def test_the_command_refuses_what_a_vae_cannot_do(vae_run, vaegan_run, tmp_path, capsys):
    line = refusal(ganforge("eval", vaegan_run, "--metrics", "iwae_ll"), "eval")
    assert "iwae_ll needs a model with a likelihood" in line and "parzen_ll" in line
    vae = str(vae_run)
    line = refused(["eval", vae, "--metrics", "iwae_ll", "--iwae-k", "0"], capsys)
    assert "--iwae-k must be at least 1" in line
    line = refused(["sample", vae, "--reconstruct", "--interpolate"], capsys)
    assert "--reconstruct" in line and "--interpolate" in line
    line = refused(["sample", vae, "--reconstruct", "-n", "5000"], capsys)
    assert "1000 held-out images" in line
    line = refused(["sample", vae, "--reconstruct", "--out", str(tmp_path / "r.npz")], capsys)
    assert "give --out FILE.png" in line
    assert main(["train", "digits-vaegan", "--out", str(tmp_path / "r"), "--set",
                 "model.d_norm=batch"]) == 2  # `train` first says what it trains, then refuses
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("ganforge train: error: ") and "model.d_norm=layer" in last
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("preset, key, message", [
    ("digits-vae", "train.d_steps=2", "train.d_steps=1"),
    ("digits-vae", "model.arch=resnet", "model.arch=dcgan"),
    ("digits-vae", "data.clusters=10", "data.clusters=0"),
    ("digits-vae", "loss.name=hinge", "loss.name=hinge: not used"),
    ("digits-vaegan", "loss.name=wgan-gp", "loss.name in ns"),
])
def test_validation_names_the_key(preset, key, message):
    from ganforge.config import parse_set
    from ganforge.validate import validate

    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        validate(load_config(preset, parse_set([key])))


def test_the_elbo_of_a_coin_flip_decoder_is_minus_784_ln2_minus_the_kl(vae_run):
    """E_ema(x) = (mu, 0) and logits 0 (every pixel a fair coin): log p(b|z) = -784 ln 2 for
    any 28x28 b and z, and KL(N(mu, I) || N(0, I)) = |mu|^2 / 2 = 8 * 0.5^2 / 2 = 1 (z_dim 8)."""
    family = load_run(vae_run).family
    images = held_out_images(load_run(vae_run))[:5]

    class Encoder(torch.nn.Module):
        def forward(self, x):
            return torch.full((len(x), 8), 0.5), torch.zeros(len(x), 8)

    family.E_ema = Encoder()
    family.G_ema.logits = lambda z: torch.zeros(len(z), 1, 28, 28)
    elbo = family.elbo(images, torch.Generator().manual_seed(0))
    assert torch.allclose(elbo, torch.full((5,), -784 * math.log(2) - 1.0), rtol=1e-6)


def test_a_vae_runs_default_eval_includes_the_held_out_elbo(vae_run):
    proc = ganforge("eval", vae_run, "--n", "300", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert {"fid", "elbo", "elbo_se"} <= result["metrics"].keys()
    assert result["protocol"]["elbo"]["held_out"] == 1000
    # a lower bound of log p(b) in nats: 120 tiny steps sit between the coin flip and zero
    assert -784 * math.log(2) < result["metrics"]["elbo"] < 0
    assert 0 < result["metrics"]["elbo_se"] < 5
    # the IWAE bound stays on request, and a named metric list is what is computed
    named = json.loads(ganforge("eval", vae_run, "--metrics", "iwae_ll,elbo", "--iwae-k", "2",
                                "--json").stdout)
    assert named["metrics"].keys() == {"iwae_ll", "iwae_ll_se", "elbo", "elbo_se"}
    assert named["metrics"]["elbo"] == result["metrics"]["elbo"]  # the same seed's draws
