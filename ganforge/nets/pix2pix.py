"""pix2pix networks (Isola et al. 2017): a U-Net generator and a PatchGAN discriminator.

Generator G: x -> y, an encoder-decoder whose decoder layer i also receives the encoder
feature map of the same resolution (a skip connection), so low-level structure (edges,
positions) shared by input and output need not pass through the bottleneck:

    encoder  e_1 = Conv(x),  e_k = Norm(Conv(LeakyReLU_0.2(e_{k-1})))      (4x4, stride 2)
    decoder  d_n = Norm(ConvT(ReLU(e_n))),  d_k = Norm(ConvT(ReLU([d_{k+1}, e_k])))
             y   = tanh(ConvT(ReLU([d_2, e_1])))                            (4x4, stride 2)

Dropout (p = 0.5, also at test time in the paper, here only in train mode) follows the three
decoder layers nearest the bottleneck and is the generator's only noise source: pix2pix has
no z. The innermost encoder layer has no norm (its map is 1x1, so instance norm would zero
it and batch norm would see one value per channel at batch size 1).

Discriminator D(x, y): the PatchGAN. It classifies every N x N patch of the concatenated
(input, output) pair as real or fake and returns the map of patch logits (N, 1, h, w), NOT
the (N,) vector other discriminators in ganforge return. Losses on it are averaged over
patches as well as over the batch (every loss in `ganforge.objectives` that takes `.mean()`
of its logits does this unchanged), which is the paper's "average all responses".
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NORMS = ("batch", "instance", "none")

#: the kernel size of every PatchGAN and U-Net convolution
KERNEL = 4


def check_norm(norm: str) -> None:
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; valid norms: {', '.join(NORMS)}")


def make_norm(norm: str, channels: int) -> nn.Module:
    """Batch norm, or instance norm without affine parameters or running statistics."""
    check_norm(norm)
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    return nn.Identity()


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """The pix2pix/CycleGAN initialisation: conv weights ~ N(0, std^2), biases 0, and
    batch-norm scales ~ N(1, std^2), shifts 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


def next_power_of_two(n: int) -> int:
    """The smallest 2^k >= n."""
    return 1 << max(0, (n - 1).bit_length())


class UNetGenerator(nn.Module):
    """G(x) for pix2pix: a U-Net that downsamples `image_size` all the way to 1 x 1.

    The number of stride-2 levels is log2(P), with P = `image_size` rounded up to a power of
    two (8 levels at 256 px, 7 at 128, 6 at 64, 5 at 32 and 28). Sizes that are not powers
    of two (28 px digits, 100 px, ...) are reflection-padded to P before the encoder and the
    output is cropped back to `image_size`, so every size >= 8 works and the bottleneck
    always sees the whole image. Encoder level k has min(width * 2^(k-1), max_width)
    channels (64, 128, 256, 512, 512, ... at the defaults, as in the paper).

    `dropout` (probability) follows the `dropout_layers` decoder layers nearest the
    bottleneck (3 in the paper); 0 disables it. The output passes through tanh.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        image_size: int,
        width: int = 64,
        norm: str = "batch",
        dropout: float = 0.5,
        max_width: int = 512,
        dropout_layers: int = 3,
    ):
        super().__init__()
        check_norm(norm)
        if image_size < 8:
            raise ValueError(f"UNetGenerator needs image_size >= 8, got {image_size}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout is a probability in [0, 1), got {dropout}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.image_size = image_size
        self.padded_size = next_power_of_two(image_size)
        self.n_levels = self.padded_size.bit_length() - 1
        channels = [min(width * 2**k, max_width) for k in range(self.n_levels)]
        self.channels = channels
        bias = norm != "batch"  # batch norm's shift makes a conv bias redundant

        self.down = nn.ModuleList()
        for k in range(self.n_levels):
            innermost = k == self.n_levels - 1
            conv = nn.Conv2d(in_channels if k == 0 else channels[k - 1], channels[k],
                             KERNEL, stride=2, padding=1, bias=bias)
            if k == 0:
                self.down.append(conv)
            else:
                layers = [nn.LeakyReLU(0.2), conv]
                if not innermost:
                    layers.append(make_norm(norm, channels[k]))
                self.down.append(nn.Sequential(*layers))

        # up[k] maps level k+1 resolution back to level k; up[n-1] is the innermost.
        self.up = nn.ModuleList()
        for k in range(self.n_levels):
            innermost = k == self.n_levels - 1
            in_ch = channels[k] if innermost else 2 * channels[k]
            if k == 0:
                self.up.append(nn.Sequential(
                    nn.ReLU(),
                    nn.ConvTranspose2d(in_ch, out_channels, KERNEL, stride=2, padding=1),
                    nn.Tanh(),
                ))
                continue
            layers = [
                nn.ReLU(),
                nn.ConvTranspose2d(in_ch, channels[k - 1], KERNEL, stride=2, padding=1,
                                   bias=bias),
                make_norm(norm, channels[k - 1]),
            ]
            depth_from_bottleneck = self.n_levels - 1 - k  # 0 for the innermost decoder layer
            if dropout > 0 and depth_from_bottleneck < dropout_layers:
                layers.append(nn.Dropout(dropout))
            self.up.append(nn.Sequential(*layers))
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels or x.shape[-2:] != (
            self.image_size, self.image_size
        ):
            raise ValueError(
                f"UNetGenerator expects (N, {self.in_channels}, {self.image_size}, "
                f"{self.image_size}) images, got {tuple(x.shape)}"
            )
        pad = self.padded_size - self.image_size
        before, after = pad // 2, pad - pad // 2
        if pad:
            x = F.pad(x, (before, after, before, after), mode="reflect")
        skips = []
        h = x
        for layer in self.down:
            h = layer(h)
            skips.append(h)
        h = self.up[-1](skips[-1])
        for k in range(self.n_levels - 2, -1, -1):
            h = self.up[k](torch.cat([h, skips[k]], dim=1))
        if pad:
            h = h[..., before:before + self.image_size, before:before + self.image_size]
        return h


#: BT.601 YCbCr -> RGB, for Y, Cb, Cr and R, G, B all scaled to [-1, 1] (the map is linear
#: with no offset once Cb and Cr are centred, so the scaling changes nothing)
YCBCR_TO_RGB = ((1.0, 0.0, 1.402), (1.0, -0.344136, -0.714136), (1.0, 1.772, 0.0))


class LumaChromaGenerator(nn.Module):
    """G(x) for colourisation: keep the input's luma Y, let `net` predict only the chroma.

        (Cb, Cr) = net(x) in [-1, 1]^2,   RGB = clamp(M [Y, Cb, Cr], -1, 1)

    with M the BT.601 YCbCr -> RGB matrix. x is the grayscale image, 1 channel or the luma
    repeated over 3 (the first channel is read as Y). Predicting chroma with the luma fixed is
    how colourisation is usually posed (pix2pix and Zhang et al. predict ab given L): with
    (Cb, Cr) = 0 the output is the input, so G starts at the identity map and can only spend
    its capacity on colour. `net` must map (N, C_in, S, S) to (N, 2, S, S).
    """

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net
        self.register_buffer("ycbcr_to_rgb", torch.tensor(YCBCR_TO_RGB), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        chroma = self.net(x)
        if chroma.shape[1] != 2:
            raise ValueError(f"the chroma network must give 2 channels (Cb, Cr), got "
                             f"{chroma.shape[1]}")
        ycbcr = torch.cat([x[:, :1], chroma], dim=1)
        rgb = torch.einsum("oc,nchw->nohw", self.ycbcr_to_rgb.to(ycbcr.dtype), ycbcr)
        return rgb.clamp(-1.0, 1.0)


def patch_layer_geometry(n_layers: int) -> list[tuple[int, int]]:
    """(kernel, stride) of each PatchGAN convolution, input to output: `n_layers` 4x4
    stride-2 convolutions, then two 4x4 stride-1 ones (the last gives the logit map)."""
    if n_layers < 1:
        raise ValueError(f"a PatchGAN needs n_layers >= 1, got {n_layers}")
    return [(KERNEL, 2)] * n_layers + [(KERNEL, 1), (KERNEL, 1)]


def patch_receptive_field(n_layers: int) -> int:
    """Side of the input patch one output logit sees: r_L = 1, r_{l-1} = (r_l - 1) s_l + k_l,
    walking the layers from the output back to the input (70 for n_layers = 3, 34 for 2,
    16 for 1)."""
    r = 1
    for kernel, stride in reversed(patch_layer_geometry(n_layers)):
        r = (r - 1) * stride + kernel
    return r


def patch_n_layers(receptive_field: int) -> int:
    """The n_layers whose PatchGAN sees `receptive_field` x `receptive_field` patches."""
    valid = {patch_receptive_field(n): n for n in range(1, 7)}
    if receptive_field not in valid:
        sizes = ", ".join(str(r) for r in valid)
        raise ValueError(f"no PatchGAN has a {receptive_field} px receptive field; "
                         f"valid patch sizes: {sizes}")
    return valid[receptive_field]


def patch_output_size(image_size: int, n_layers: int) -> int:
    """Side of the logit map for an `image_size` input: each conv maps s -> (s + 2 - k) // t + 1
    (padding 1, kernel k, stride t)."""
    s = image_size
    for kernel, stride in patch_layer_geometry(n_layers):
        s = (s + 2 - kernel) // stride + 1
    return s


class PatchDiscriminator(nn.Module):
    """D(x, y) for pix2pix and CycleGAN: the PatchGAN, a fully convolutional classifier of
    overlapping patches.

    Layers (C_k = 4x4 conv, k channels, then norm and LeakyReLU 0.2): C_w (no norm), then
    C_{w min(2^l, 8)} for l = 1 .. n_layers - 1 at stride 2, one more at stride 1, and a
    4x4 stride-1 conv to one channel. Each output logit sees a
    `patch_receptive_field(n_layers)` square of the input (70 px at n_layers = 3).

    `in_channels` counts everything stacked on the channel axis: for pix2pix's conditional
    D, the input and output channels of the pair (D sees torch.cat([x, y], 1)); for
    CycleGAN, one domain's channels.

    Returns raw logits of shape (N, 1, h, w), one per patch, with h, w given by
    `patch_output_size`; average losses over the patches (see the module docstring).

    `num_classes` > 0 adds an auxiliary classifier (ACGAN's, on the pair): a linear layer on
    the global average of the features that feed the last conv. `forward(x, classes=True)`
    returns (patch logits, class logits (N, num_classes)) from one pass (a keyword, not a
    second method, so that a DDP wrapper sees the call).
    """

    def __init__(self, in_channels: int, width: int = 64, n_layers: int = 3,
                 norm: str = "batch", num_classes: int = 0):
        super().__init__()
        check_norm(norm)
        self.n_layers = n_layers
        self.receptive_field = patch_receptive_field(n_layers)
        geometry = patch_layer_geometry(n_layers)
        bias = norm != "batch"
        widths = [width * min(2**i, 8) for i in range(n_layers + 1)]
        layers: list[nn.Module] = []
        previous = in_channels
        for i, (kernel, stride) in enumerate(geometry[:-1]):
            layers.append(nn.Conv2d(previous, widths[i], kernel, stride=stride, padding=1,
                                    bias=bias or i == 0))
            if i > 0:
                layers.append(make_norm(norm, widths[i]))
            layers.append(nn.LeakyReLU(0.2))
            previous = widths[i]
        kernel, stride = geometry[-1]
        layers.append(nn.Conv2d(previous, 1, kernel, stride=stride, padding=1))
        self.net = nn.Sequential(*layers)
        self.classifier = nn.Linear(previous, num_classes) if num_classes > 0 else None
        init_weights(self)

    def _check_size(self, x: torch.Tensor) -> None:
        side = min(x.shape[-2:])
        if patch_output_size(side, self.n_layers) < 1:
            smallest = next(s for s in range(1, 4096)
                            if patch_output_size(s, self.n_layers) >= 1)
            raise ValueError(
                f"a PatchGAN with n_layers={self.n_layers} needs images of at least "
                f"{smallest} px, got {tuple(x.shape[-2:])}"
            )

    def forward(self, x: torch.Tensor, classes: bool = False):
        self._check_size(x)
        if not classes:
            return self.net(x)
        if self.classifier is None:
            raise ValueError("this PatchGAN has no class head; build it with num_classes > 0")
        features = self.net[:-1](x)
        return self.net[-1](features), self.classifier(features.mean(dim=(2, 3)))
