"""Image networks: shapes for every size and channel count, heads, layers, BEGAN arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from ganforge.nets.began import (
    BEGANDiscriminator,
    BEGANGenerator,
    began_convergence,
    began_losses,
    began_update_k,
)
from ganforge.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from ganforge.nets.layers import (
    ConditionalBatchNorm2d,
    MinibatchStdDev,
    pack_samples,
    projection_logits,
    spectral_norm_if,
)
from ganforge.nets.resnet import ResNetDiscriminator, ResNetGenerator

Z = 8
SIZES = [8, 16, 28, 32, 64, 128]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny convolutions run far faster on one thread than on two busy cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def latent(n: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, Z, generator=torch.Generator().manual_seed(seed))


def build(family: str, size: int, channels: int):
    if family == "dcgan":
        return DCGANGenerator(Z, size, channels, width=8), DCGANDiscriminator(size, channels, 8)
    if family == "resnet":
        return ResNetGenerator(Z, size, channels, width=8), ResNetDiscriminator(size, channels, 8)
    return (BEGANGenerator(Z, size, channels, width=8),
            BEGANDiscriminator(size, channels, width=8, hidden=8))


@pytest.mark.parametrize("family", ["dcgan", "resnet", "began"])
@pytest.mark.parametrize("size", SIZES)
def test_shapes_for_every_size_and_channel_count(family, size):
    torch.manual_seed(0)
    for channels in (1, 3):
        g, d = build(family, size, channels)
        with torch.no_grad():
            images = g(latent())
            out = d(images)
        assert images.shape == (2, channels, size, size)
        assert images.abs().max() <= 1.0  # tanh output
        expected = (2, channels, size, size) if family == "began" else (2,)
        assert out.shape == expected


@pytest.mark.parametrize("family,bad", [("dcgan", 30), ("dcgan", 4), ("dcgan", 100),
                                        ("resnet", 36), ("began", 7), ("began", 34)])
def test_unsupported_sizes_error_and_list_supported(family, bad):
    with pytest.raises(ValueError, match=f"image_size {bad} is not supported.*supported sizes"):
        build(family, bad, 1)


def test_supported_size_list_is_stated():
    with pytest.raises(ValueError) as error:
        DCGANGenerator(Z, 30, 1)
    assert "8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80" in str(error.value)


def test_dcgan_channel_progression_matches_the_paper():
    g = DCGANGenerator(100, 64, 3, width=64)
    convs = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels) for m in convs] == [
        (100, 512), (512, 256), (256, 128), (128, 64), (64, 3)]
    assert convs[0].kernel_size == (4, 4)
    d = DCGANDiscriminator(64, 3, width=64)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.in_channels, m.out_channels) for m in convs] == [
        (3, 64), (64, 128), (128, 256), (256, 512)]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in d.modules()) == 3  # none on the first
    g28 = DCGANGenerator(Z, 28, 1, width=64)
    assert g28.project.kernel_size == (7, 7) and g28.project.out_channels == 128


def test_sngan_parameter_counts_match_the_cifar_configuration():
    # Worked by hand from Miyato et al. (2018), Table 4 (CIFAR-10 ResNet):
    # G: dense 128 -> 4*4*256 (528,384); 3 up-blocks of 2 BN (512 each), 2 conv3x3 256->256
    # (590,080 each) and a 1x1 shortcut (65,792): 1,246,976 each; final BN 512; conv3x3 256 -> 3
    # (6,915).
    g = ResNetGenerator(128, 32, 3)
    assert sum(p.numel() for p in g.parameters()) == 528_384 + 3 * 1_246_976 + 512 + 6_915
    # D: optimised block 3->128 (3,584 + 147,584 + 512), down-block (2 * 147,584 + 16,512),
    # two plain blocks (4 * 147,584), dense 128 -> 1 (129).
    d = ResNetDiscriminator(32, 3)
    assert sum(p.numel() for p in d.parameters()) == 151_680 + 311_680 + 4 * 147_584 + 129


def test_conditional_batch_norm_formula_and_class_dependence():
    torch.manual_seed(0)
    cbn = ConditionalBatchNorm2d(2, 3)
    x = torch.randn(4, 2, 3, 3)
    y = torch.tensor([0, 1, 2, 1])
    assert torch.allclose(cbn(x, y), F.batch_norm(x, None, None, training=True), atol=1e-5)
    with torch.no_grad():
        cbn.gamma.weight.copy_(torch.tensor([[1.0, 1.0], [2.0, 3.0], [0.5, 0.5]]))
        cbn.beta.weight.copy_(torch.tensor([[0.0, 0.0], [1.0, -1.0], [0.0, 0.0]]))
    normed = F.batch_norm(x, None, None, training=True)
    out = cbn(x, y)
    assert torch.allclose(out[1, 0], 2 * normed[1, 0] + 1, atol=1e-5)
    assert torch.allclose(out[3, 1], 3 * normed[3, 1] - 1, atol=1e-5)
    assert torch.allclose(out[2], 0.5 * normed[2], atol=1e-5)


@pytest.mark.parametrize("make", [
    lambda: DCGANGenerator(Z, 16, 1, width=8, num_classes=3),
    lambda: ResNetGenerator(Z, 16, 1, width=8, num_classes=3),
])
def test_conditional_generators_use_the_class(make):
    torch.manual_seed(0)
    g = make()
    cbns = [m for m in g.modules() if isinstance(m, ConditionalBatchNorm2d)]
    assert cbns
    for m in cbns:  # as after training: class-specific gains and biases
        nn.init.normal_(m.gamma.weight, 1.0, 0.3)
        nn.init.normal_(m.beta.weight, 0.0, 0.3)
    g.eval()
    z = latent(1).repeat(2, 1)
    with torch.no_grad():
        out = g(z, torch.tensor([0, 2]))
        same = g(z, torch.tensor([1, 1]))
    assert (out[0] - out[1]).abs().max() > 1e-3
    assert torch.allclose(same[0], same[1])
    with pytest.raises(ValueError, match="conditional"):
        g(z)
    with pytest.raises(ValueError, match="unconditional"):
        DCGANGenerator(Z, 16, 1, width=8)(z, torch.tensor([0, 1]))


def test_projection_logits_by_hand():
    h = torch.tensor([[1.0, 2.0], [3.0, -1.0]])
    embed = nn.Embedding(2, 2)
    linear = nn.Linear(2, 1)
    with torch.no_grad():
        embed.weight.copy_(torch.tensor([[1.0, 0.0], [0.5, 2.0]]))
        linear.weight.copy_(torch.tensor([[1.0, 1.0]]))
        linear.bias.fill_(0.5)
    y = torch.tensor([1, 0])
    # sample 0: (1 + 2 + 0.5) + (0.5 * 1 + 2 * 2) = 8.0; sample 1: (3 - 1 + 0.5) + 3 = 5.5
    assert torch.allclose(projection_logits(h, y, embed, linear), torch.tensor([8.0, 5.5]))


@pytest.mark.parametrize("make", [
    lambda **kw: DCGANDiscriminator(16, 3, width=8, **kw),
    lambda **kw: ResNetDiscriminator(16, 3, width=8, **kw),
])
def test_discriminator_heads(make):
    x = torch.randn(4, 3, 16, 16)
    y = torch.tensor([0, 1, 4, 2])
    projection = make(num_classes=5)
    assert projection(x, y).shape == (4,)
    with pytest.raises(ValueError, match="needs class labels"):
        projection(x)
    adv, classes = make(num_classes=5, head="acgan")(x)
    assert adv.shape == (4,) and classes.shape == (4, 5)
    assert make(num_classes=5, head="classifier")(x).shape == (4, 5)
    with pytest.raises(ValueError, match="takes no class labels"):
        make()(x, y)
    with pytest.raises(ValueError, match="class-aware head"):
        make(num_classes=5, head="plain")
    with pytest.raises(ValueError, match="needs num_classes >= 1"):
        make(head="acgan")
    with pytest.raises(ValueError, match="valid heads: plain, projection, acgan, classifier"):
        make(num_classes=5, head="softmax")


def test_projection_depends_on_the_label():
    torch.manual_seed(0)
    d = DCGANDiscriminator(16, 1, width=8, num_classes=3, norm="none")
    x = torch.randn(1, 1, 16, 16).repeat(3, 1, 1, 1)
    out = d(x, torch.tensor([0, 1, 2]))
    assert len({round(v, 6) for v in out.tolist()}) == 3


def test_pack_samples_layout_and_errors():
    x = torch.arange(6 * 2 * 1 * 1, dtype=torch.float32).reshape(6, 2, 1, 1)
    packed = pack_samples(x, 3)
    assert packed.shape == (2, 6, 1, 1)
    assert packed[1, :, 0, 0].tolist() == [6, 7, 8, 9, 10, 11]  # samples 3, 4, 5 in turn
    with pytest.raises(ValueError, match="multiple of pack"):
        pack_samples(x, 4)


def test_packed_discriminator():
    d = DCGANDiscriminator(16, 3, width=8, pack=2)
    assert d.body[0].in_channels == 6
    assert d(torch.randn(4, 3, 16, 16)).shape == (2,)
    with pytest.raises(ValueError, match="multiple of pack"):
        d(torch.randn(3, 3, 16, 16))
    with pytest.raises(ValueError, match="only supported with the 'plain' head"):
        DCGANDiscriminator(16, 3, width=8, pack=2, num_classes=3, head="acgan")


def test_minibatch_stddev_by_hand():
    x = torch.tensor([[0.0, 1.0], [2.0, 1.0], [4.0, 5.0], [10.0, 5.0]])
    whole = MinibatchStdDev(group_size=None, eps=0.0)(x)
    # population std over the 4 samples: feature 0 (mean 4) -> sqrt(56 / 4), feature 1 -> 2
    expected = (np.sqrt(14.0) + 2.0) / 2
    assert whole.shape == (4, 3)
    assert torch.allclose(whole[:, :2], x)
    assert torch.allclose(whole[:, 2], torch.full((4,), expected, dtype=torch.float32))
    groups = MinibatchStdDev(group_size=2, eps=0.0)(x)
    # group {0, 1}: stds (1, 0) -> 0.5; group {2, 3}: stds (3, 0) -> 1.5
    assert torch.allclose(groups[:, 2], torch.tensor([0.5, 0.5, 1.5, 1.5]))
    maps = MinibatchStdDev(group_size=4)(torch.randn(8, 3, 5, 5))
    assert maps.shape == (8, 4, 5, 5)
    with pytest.raises(ValueError, match="not divisible"):
        MinibatchStdDev(group_size=4)(torch.randn(6, 3))


def test_minibatch_stddev_in_discriminator():
    d = DCGANDiscriminator(16, 1, width=8, minibatch_std=True)
    assert d(torch.randn(4, 1, 16, 16)).shape == (4,)
    assert d.features(torch.randn(4, 1, 16, 16)).shape == (4, (16 + 1) * 4 * 4)


def spectral_normed(model: nn.Module) -> list[bool]:
    kinds = (nn.Conv2d, nn.Linear, nn.Embedding)
    return [parametrize.is_parametrized(m, "weight") for m in model.modules()
            if isinstance(m, kinds)]


def test_spectral_norm_registered_when_asked():
    assert not any(spectral_normed(DCGANDiscriminator(16, 1, width=8)))
    assert all(spectral_normed(DCGANDiscriminator(16, 1, width=8, spectral_norm=True,
                                                  num_classes=3)))
    assert all(spectral_normed(ResNetDiscriminator(16, 1, width=8, num_classes=3)))
    assert not any(spectral_normed(ResNetDiscriminator(16, 1, width=8, spectral_norm=False)))
    assert parametrize.is_parametrized(spectral_norm_if(nn.Linear(3, 2), True), "weight")
    assert not parametrize.is_parametrized(spectral_norm_if(nn.Linear(3, 2), False), "weight")


def test_spectral_norm_bounds_the_largest_singular_value():
    torch.manual_seed(0)
    d = DCGANDiscriminator(16, 1, width=8, spectral_norm=True, norm="none")
    for _ in range(10):  # power iterations run in training-mode forward passes
        d(torch.randn(2, 1, 16, 16))
    d.eval()
    for conv in (m for m in d.modules() if isinstance(m, nn.Conv2d)):
        sigma = torch.linalg.matrix_norm(conv.weight.reshape(conv.out_channels, -1), ord=2)
        assert abs(sigma.item() - 1.0) < 0.05


@pytest.mark.parametrize("norm", ["batch", "none", "layer", "instance"])
def test_discriminator_norms(norm):
    d = DCGANDiscriminator(16, 1, width=8, norm=norm)
    assert d(torch.randn(2, 1, 16, 16)).shape == (2,)


def test_bad_norm_and_bad_input_shape():
    with pytest.raises(ValueError, match="valid norms: batch, none, layer, instance"):
        DCGANDiscriminator(16, 1, norm="spectral")
    with pytest.raises(ValueError, match=r"expects images of shape \(N, 1, 16, 16\)"):
        DCGANDiscriminator(16, 1, width=8)(torch.zeros(2, 3, 16, 16))


def test_latent_shapes():
    g = DCGANGenerator(Z, 16, 1, width=8)
    g.eval()
    z = latent()
    assert torch.allclose(g(z), g(z[:, :, None, None]))
    with pytest.raises(ValueError, match=r"z must have shape \(N, 8\)"):
        g(torch.zeros(2, 5))


def test_features_for_feature_matching():
    assert DCGANDiscriminator(16, 1, width=8).features(torch.zeros(3, 1, 16, 16)).shape == (
        3, 16 * 4 * 4)
    assert ResNetDiscriminator(16, 1, width=8).features(torch.zeros(3, 1, 16, 16)).shape == (3, 8)


def test_began_losses_by_hand():
    real = torch.zeros(1, 1, 2, 2)
    real_recon = torch.tensor([[[[0.1, -0.2], [0.3, -0.4]]]])  # L(x) = 0.25
    fake = torch.ones(1, 1, 2, 2)
    fake_recon = torch.tensor([[[[1.0, 0.8], [1.2, 1.0]]]])  # L(G(z)) = 0.1
    loss_d, loss_g, loss_real, loss_fake = began_losses(real, real_recon, fake, fake_recon, 0.5)
    assert abs(loss_real.item() - 0.25) < 1e-6 and abs(loss_fake.item() - 0.1) < 1e-6
    assert abs(loss_d.item() - (0.25 - 0.5 * 0.1)) < 1e-6
    assert abs(loss_g.item() - 0.1) < 1e-6


def test_began_k_update_and_convergence_by_hand():
    # k + lambda (gamma L(x) - L(G(z))) = 0.5 + 0.001 * (0.5 * 0.2 - 0.05) = 0.50005
    assert abs(began_update_k(0.5, 0.5, 0.2, 0.05) - 0.50005) < 1e-12
    assert abs(began_update_k(0.5, 0.5, 0.2, 0.3, lambda_k=0.1) - 0.48) < 1e-12
    assert began_update_k(0.9999, 1.0, 1.0, 0.0, lambda_k=1.0) == 1.0  # clipped above
    assert began_update_k(0.0001, 1.0, 0.0, 1.0, lambda_k=1.0) == 0.0  # clipped below
    assert abs(began_update_k(torch.tensor(0.5), 0.5, torch.tensor(0.2), 0.05) - 0.50005) < 1e-6
    # M_global = L(x) + |gamma L(x) - L(G(z))| = 0.2 + |0.1 - 0.3| = 0.4
    assert abs(began_convergence(0.2, 0.3, 0.5) - 0.4) < 1e-12


def test_began_discriminator_is_an_autoencoder_with_a_bottleneck():
    d = BEGANDiscriminator(32, 3, width=8, hidden=5)
    assert d.encoder(torch.zeros(2, 3, 32, 32)).shape == (2, 5)
    assert d.decoder.start == 8
    assert BEGANDiscriminator(28, 1, width=8).decoder.start == 14
