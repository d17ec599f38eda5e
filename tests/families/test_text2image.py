"""The text-to-image family: a short run learns to tell right captions from wrong ones and to
draw the digit a caption names; `ganforge sample --text` refuses words it cannot read."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from ganforge.config import load_config
from ganforge.data.captions import VOCAB, plain_caption
from ganforge.metrics.digits_classifier import load_digits_classifier
from ganforge.run import build

SMALL = {"data.batch_size": 32, "model.g_width": 16, "model.d_width": 16, "model.z_dim": 16,
         "train.progress": False}


def short_run(mode_seeking: float):
    """(config, data, family) after 200 steps (about 20 s of one core) of small nets."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    cfg = load_config("digits-text2image", {**SMALL, "text2image.pretrain_steps": 100,
                                            "text2image.mode_seeking": mode_seeking,
                                            "optim.lr_g": 1e-3, "optim.lr_d": 1e-3})
    data, family = build(cfg)
    for step in range(200):
        family.d_step(data.stream.next(), step)
        family.g_step(data.stream.next(), step)
    family.G_ema.load_state_dict(family.G.state_dict())  # the EMA lags a run this short
    family.G_ema.eval()
    return cfg, data, family


@pytest.fixture(scope="module")
def plain_run():
    # without mode seeking: it trades some agreement for variety, which 200 steps cannot afford
    return short_run(mode_seeking=0.0)


def test_a_short_run_matches_images_and_words(plain_run):
    cfg, data, family = plain_run
    test = data.test
    # D: real test digits score higher with their own caption than with one of another digit
    other = torch.roll(torch.arange(len(test["y"])), 1)
    differ = test["y"] != test["y"][other]
    d = family.D.eval()
    with torch.no_grad():
        h = family.text(test["tokens"][:, 0])
        phi = d.features(test["x"])
        right, wrong = d.score(phi, h), d.score(phi, h[other])
    assert float((right > wrong)[differ].float().mean()) > 0.8
    # G: the classifier reads the caption's digit far above chance (10 %)
    tokens = torch.stack([VOCAB.encode(plain_caption(i % 10, 1, 1), 11) for i in range(200)])
    images = family.generate(torch.randn(200, cfg.model.z_dim), family.text(tokens))
    with torch.no_grad():
        digits = load_digits_classifier()(images).argmax(1)
    assert float((digits == torch.arange(200) % 10).float().mean()) > 0.3


def spread_over_noise(family, z_dim: int) -> float:
    """Mean |G(z, h) - G(z', h)| over 10 captions x 20 pairs of noises."""
    tokens = torch.stack([VOCAB.encode(plain_caption(d, 1, 1), 11) for d in range(10)])
    h = family.text(tokens).repeat_interleave(20, 0)
    g = torch.Generator().manual_seed(1)
    z_a, z_b = torch.randn(200, z_dim, generator=g), torch.randn(200, z_dim, generator=g)
    return float((family.generate(z_a, h) - family.generate(z_b, h)).abs().mean())


def test_mode_seeking_makes_g_draw_different_images_for_different_noise(plain_run):
    cfg, _, plain = plain_run
    seeking = short_run(mode_seeking=1.0)[2]
    assert spread_over_noise(seeking, cfg.model.z_dim) > 1.5 * spread_over_noise(
        plain, cfg.model.z_dim)


def test_sample_inputs_drawn_in_slices_equal_one_draw():
    family = build(load_config("digits-text2image", SMALL))[1]
    for n, batch in ((1, 500), (15, 500), (1017, 16), (3000, 999)):
        expected = family.fixed_inputs(n, seed=3)
        batches = list(family.input_batches(n, 3, batch))
        for key, value in expected.items():
            assert torch.equal(torch.cat([b[key] for b in batches]), value), (n, key)
    grid = family.fixed_inputs(120, seed=0)  # captions x noise: image 10 r + k, row 11 here
    assert VOCAB.decode(grid["tokens"][112]) == plain_caption(1, 1, 0) == "a regular one leaning left"
    assert torch.equal(grid["z"][112], grid["z"][2]) and not torch.equal(grid["z"][112], grid["z"][3])


@pytest.mark.parametrize("spread, low, high", [(0.0, 0.5, 0.5), (0.5, 0.0, 1.0), (0.2, 0.3, 0.7)])
def test_gan_int_texts_lie_on_the_segment_between_two_captions(spread, low, high):
    family = build(load_config("digits-text2image", {
        **SMALL, "text2image.interpolate": 1.0, "text2image.interpolate_spread": spread}))[1]
    h, h_hat = torch.zeros(4000, 3), torch.ones(4000, 3) * torch.tensor([1.0, 2.0, -4.0])
    mixed = family._between(h, h_hat)
    beta = mixed[:, 0]  # h = 0, so the first coordinate is beta itself
    assert abs(mixed - beta[:, None] * h_hat).max() < 1e-6  # on the segment
    assert float(beta.min()) >= low - 1e-6 and float(beta.max()) <= high + 1e-6
    if spread:  # uniform on [0.5 - s, 0.5 + s]: its quarters hold a quarter each
        share = float(((beta > 0.5 - spread / 2) & (beta < 0.5)).float().mean())
        assert abs(share - 0.25) < 0.03 and abs(float(beta.mean()) - 0.5) < 0.02


def test_pretraining_reads_captions_with_words_dropped_at_the_configured_rate(monkeypatch):
    from ganforge.families import text2image

    seen = []

    def spy(tokens, rate, generator):
        out = text2image_drop_words(tokens, rate, generator)
        seen.append((rate, int((tokens != 0).sum()), int((out != 0).sum())))
        return out

    text2image_drop_words = text2image.drop_words
    monkeypatch.setattr(text2image, "drop_words", spy)
    family = build(load_config("digits-text2image", {
        **SMALL, "text2image.pretrain_steps": 20, "text2image.word_dropout": 0.2}))[1]
    family.pretrain_text()
    assert len(seen) == 20 and all(rate == 0.2 for rate, _, _ in seen)
    before, after = sum(b for _, b, _ in seen), sum(a for _, _, a in seen)
    assert abs(after / before - 0.8) < 0.02  # 20 x 128 captions of ~7 words: ~0.007 sd


def test_mode_seeking_draws_a_second_image_of_the_same_caption_and_condition_noise():
    data, family = build(load_config("digits-text2image", {
        **SMALL, "text2image.pretrain_steps": 0, "text2image.interpolate": 0.0,
        "text2image.interpolate_spread": 0.0, "text2image.mode_seeking": 1.0}))
    calls = []
    family.G.register_forward_hook(lambda module, inputs, output: calls.append(
        (inputs, output[0].detach())))
    logs = family.g_step(data.stream.next(), 0)
    assert len(calls) == 2
    (z_a, h_a, eps_a), fake_a = calls[0]
    (z_b, h_b, eps_b), fake_b = calls[1]
    assert torch.equal(h_a, h_b) and torch.equal(eps_a, eps_b) and not torch.equal(z_a, z_b)
    expected = 1 / ((fake_a - fake_b).abs().mean() / (z_a - z_b).abs().mean() + 1e-5)
    assert abs(float(logs["loss_ms"]) - float(expected)) < 1e-4 * float(expected)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from ganforge.train.loop import train

    out = tmp_path_factory.mktemp("t2i") / "run"
    cfg = load_config("digits-text2image", {
        **SMALL, "text2image.pretrain_steps": 1, "train.steps": 1, "train.sample_count": 10,
        "train.sample_every": 1, "train.checkpoint_every": 1})
    train(cfg, out)
    return out


def ganforge_sample(run, *args):
    return subprocess.run([sys.executable, "-m", "ganforge", "sample", str(run), *args],
                          capture_output=True, text=True, timeout=600)


def test_sample_text_refuses_unknown_words_and_empty_text(tiny_run, tmp_path):
    for text, expected in (("a thinn tow leaning left",
                            ("'thinn' (closest: thin", "'tow' (closest: to, two)")),
                           ("  , ", ("has no words",))):
        proc = ganforge_sample(tiny_run, "--text", text, "-n", "4", "--out", tmp_path / "x.png")
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ganforge sample: error: --text"), lines
        assert all(e in lines[0] for e in expected), lines[0]
    assert not (tmp_path / "x.png").exists()


def test_sample_text_draws_one_grid(tiny_run, tmp_path, capsys):
    from PIL import Image

    from ganforge.cli import main
    from ganforge.viz import grid_size

    assert main(["sample", str(tiny_run), "--text", "a thin two leaning left", "-n", "4",
                 "--out", str(tmp_path / "twos.png")]) == 0
    height, width = grid_size(4, (1, 28, 28))
    assert Image.open(tmp_path / "twos.png").size == (width, height)
