"""Shapes and geometry of the image-to-image networks (pix2pix U-Net, PatchGAN, CycleGAN ResNet)."""

import pytest
import torch
from torch import nn

from ganforge.data.paired import grayscale
from ganforge.nets.cyclegan import ResNetTranslator
from ganforge.nets.pix2pix import (
    LumaChromaGenerator,
    PatchDiscriminator,
    UNetGenerator,
    patch_n_layers,
    patch_output_size,
    patch_receptive_field,
)


@pytest.mark.parametrize(
    "size, levels, in_ch, out_ch",
    [(28, 5, 1, 1), (32, 5, 1, 3), (64, 6, 3, 3), (100, 7, 3, 1), (128, 7, 1, 1),
     (256, 8, 3, 3)],
)
def test_unet_shapes_and_depth(size, levels, in_ch, out_ch):
    torch.manual_seed(0)
    g = UNetGenerator(in_ch, out_ch, size, width=2, max_width=8, norm="instance")
    assert g.n_levels == levels  # down to 1x1 from the next power of two
    y = g(torch.randn(2, in_ch, size, size))
    assert y.shape == (2, out_ch, size, size)
    assert y.abs().max() <= 1.0  # tanh output


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_default_networks_match_the_reference_sizes():
    # Published by the authors' PyTorch code (pytorch-CycleGAN-and-pix2pix) when it builds
    # its defaults: pix2pix facades G 54.414 M, D 2.769 M; CycleGAN G 11.378 M, D 2.765 M.
    g = UNetGenerator(3, 3, 256, norm="batch")
    d = PatchDiscriminator(6, norm="batch")
    r = ResNetTranslator(3, 3, n_blocks=9)
    d_cycle = PatchDiscriminator(3, norm="instance")
    assert g.channels == [64, 128, 256, 512, 512, 512, 512, 512]
    assert round(n_params(g) / 1e6, 3) == 54.414
    assert round(n_params(d) / 1e6, 3) == 2.769
    assert round(n_params(r) / 1e6, 3) == 11.378
    assert round(n_params(d_cycle) / 1e6, 3) == 2.765


def test_unet_batch_norm_works_at_batch_size_one():
    g = UNetGenerator(1, 1, 32, width=4, norm="batch").train()
    assert g(torch.randn(1, 1, 32, 32)).shape == (1, 1, 32, 32)


def test_unet_dropout_in_three_innermost_decoder_layers_only_in_train_mode():
    g = UNetGenerator(1, 1, 32, width=4, dropout=0.5)
    assert sum(isinstance(m, nn.Dropout) for m in g.modules()) == 3
    innermost_three = [g.up[k] for k in range(g.n_levels - 3, g.n_levels)]
    assert all(any(isinstance(m, nn.Dropout) for m in u) for u in innermost_three)
    x = torch.randn(2, 1, 32, 32)
    g.train()
    assert not torch.equal(g(x), g(x))
    g.eval()
    assert torch.equal(g(x), g(x))
    no_dropout = UNetGenerator(1, 1, 32, width=2, dropout=0)
    assert not any(isinstance(m, nn.Dropout) for m in no_dropout.modules())


def test_unet_skip_connections_make_output_depend_on_nearby_input_more_than_bottleneck():
    # A U-Net's outermost skip lets an output pixel see its own input pixel through two
    # layers only: the gradient of an output pixel is largest near the same position.
    torch.manual_seed(0)
    g = UNetGenerator(1, 1, 32, width=4, norm="none", dropout=0).eval()
    x = torch.randn(1, 1, 32, 32, requires_grad=True)
    g(x)[0, 0, 16, 16].backward()
    grad = x.grad[0, 0].abs()
    local = grad[14:19, 14:19].mean()
    far = grad[0:5, 0:5].mean()
    assert local > 5 * far


def test_unet_rejects_wrong_input_size():
    g = UNetGenerator(1, 1, 28, width=2)
    with pytest.raises(ValueError, match="expects"):
        g(torch.randn(1, 1, 32, 32))
    with pytest.raises(ValueError, match="norm"):
        UNetGenerator(1, 1, 28, norm="group")


@pytest.mark.parametrize(
    "size, n_layers, out",
    # hand-worked: each 4x4 conv with padding 1 maps s -> (s + 2 - 4) // stride + 1
    [(256, 3, 30), (128, 3, 14), (32, 3, 2), (28, 2, 5), (32, 2, 6), (64, 1, 30)],
)
@pytest.mark.parametrize("channels", [2, 4, 6])
def test_patch_discriminator_returns_a_map_of_logits(size, n_layers, out, channels):
    assert patch_output_size(size, n_layers) == out
    d = PatchDiscriminator(channels, width=4, n_layers=n_layers, norm="instance")
    y = d(torch.randn(2, channels, size, size))
    assert y.shape == (2, 1, out, out)


def test_patch_discriminator_class_head_shares_one_pass_with_the_patches():
    torch.manual_seed(0)
    d = PatchDiscriminator(2, width=4, n_layers=2, norm="batch", num_classes=10)
    x = torch.randn(5, 2, 28, 28)
    patches, classes = d(x, classes=True)
    assert classes.shape == (5, 10) and patches.shape == (5, 1, 5, 5)
    assert torch.equal(patches, d(x))  # the same patch logits as a plain call
    features = d.net[:-1](x)  # the class head reads the pooled features under the last conv
    assert torch.allclose(classes, features.mean((2, 3)) @ d.classifier.weight.T
                          + d.classifier.bias, atol=1e-6)
    with pytest.raises(ValueError, match="no class head"):
        PatchDiscriminator(2, width=4, n_layers=2)(x, classes=True)


def test_patch_discriminator_rejects_too_small_images():
    d = PatchDiscriminator(3, width=4, n_layers=3)
    with pytest.raises(ValueError, match="at least"):
        d(torch.randn(1, 3, 8, 8))


@pytest.mark.parametrize("n_layers, expected", [(1, 16), (2, 34), (3, 70)])
def test_patch_receptive_field_arithmetic_and_measurement(n_layers, expected):
    assert patch_receptive_field(n_layers) == expected
    assert patch_n_layers(expected) == n_layers
    # Measured: the input pixels with a non-zero gradient for one central output logit.
    torch.manual_seed(0)
    size = 2 * expected + 16
    d = PatchDiscriminator(1, width=2, n_layers=n_layers, norm="none").double()
    x = torch.randn(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    logits = d(x)
    h, w = logits.shape[-2:]
    logits[0, 0, h // 2, w // 2].backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(1)).flatten()
    cols = torch.nonzero(x.grad[0, 0].abs().sum(0)).flatten()
    assert 0 < rows.min() and rows.max() < size - 1  # not clipped by the border
    assert rows.max() - rows.min() + 1 == expected
    assert cols.max() - cols.min() + 1 == expected


def test_patch_n_layers_rejects_unknown_sizes():
    with pytest.raises(ValueError, match="valid patch sizes: 16, 34, 70"):
        patch_n_layers(64)


@pytest.mark.parametrize(
    "size, n_down, blocks, in_ch, out_ch",
    [(28, 2, 2, 1, 1), (32, 2, 1, 3, 1), (64, 3, 0, 3, 3), (20, 1, 1, 1, 3), (256, 2, 1, 3, 3)],
)
def test_resnet_generator_shapes(size, n_down, blocks, in_ch, out_ch):
    g = ResNetTranslator(in_ch, out_ch, width=2, n_blocks=blocks, n_downsampling=n_down)
    y = g(torch.randn(2, in_ch, size, size))
    assert y.shape == (2, out_ch, size, size)
    assert y.abs().max() <= 1.0


def test_resnet_generator_layout_matches_johnson():
    g = ResNetTranslator(3, 3, width=8, n_blocks=9)
    convs = [m for m in g.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    # c7s1-64, d128, d256, 9 x (2 convs of 256), u128, u64, c7s1-3 (here at width 8, not 64)
    assert [c.out_channels for c in convs] == [8, 16, 32] + [32] * 18 + [16, 8, 3]
    assert [c.kernel_size[0] for c in convs] == [7, 3, 3] + [3] * 18 + [3, 3, 7]
    assert sum(isinstance(m, nn.ReflectionPad2d) for m in g.modules()) == 2 + 18


def test_resnet_generator_size_error_is_clear():
    g = ResNetTranslator(1, 1, width=2, n_blocks=1, n_downsampling=3)
    with pytest.raises(ValueError, match="divisible by 8, got 28x28"):
        g(torch.randn(1, 1, 28, 28))


class _Constant(nn.Module):
    def __init__(self, value: torch.Tensor):
        super().__init__()
        self.value = value

    def forward(self, x):
        return self.value.expand(x.shape[0], -1, -1, -1)


def test_luma_chroma_generator_keeps_the_luma_and_is_the_identity_at_zero_chroma():
    torch.manual_seed(0)
    luma = torch.rand(3, 1, 8, 8) * 1.2 - 0.6
    gray = luma.repeat(1, 3, 1, 1)
    identity = LumaChromaGenerator(_Constant(torch.zeros(1, 2, 8, 8)))
    assert torch.equal(identity(gray), gray)
    assert torch.equal(identity(luma), gray)  # a 1-channel input gives the same RGB
    chroma = (torch.rand(1, 2, 8, 8) - 0.5) * 0.3  # small enough that nothing is clamped
    rgb = LumaChromaGenerator(_Constant(chroma))(gray)
    assert rgb.abs().max() < 1
    # BT.601 luma of the coloured output is the input's luma: only the colour was predicted
    assert (grayscale(rgb) - gray).abs().max() < 1e-5
    # and the chroma is recoverable with the forward transform Cb = (B - Y) / 1.772
    assert ((rgb[:, 2:3] - luma) / 1.772 - chroma[:, :1]).abs().max() < 1e-5
    assert ((rgb[:, 0:1] - luma) / 1.402 - chroma[:, 1:]).abs().max() < 1e-5


def test_luma_chroma_generator_wraps_a_unet_and_clamps_to_the_image_range():
    torch.manual_seed(0)
    g = LumaChromaGenerator(UNetGenerator(3, 2, 16, width=4, max_width=8))
    y = g(torch.rand(2, 3, 16, 16) * 2 - 1)
    assert y.shape == (2, 3, 16, 16) and y.abs().max() <= 1.0
    with pytest.raises(ValueError, match="2 channels"):
        LumaChromaGenerator(UNetGenerator(3, 3, 16, width=4, max_width=8))(torch.zeros(1, 3, 16, 16))
