"""Differentiable augmentation of D's inputs (DiffAugment; Zhao, Liu, Lin, Zhu & Han 2020).

With few training images D memorises them and its gradients stop teaching G. DiffAugment
shows D only augmented images, T(x) for real x and T(G(z)) for generated ones, in D's step
*and* in G's step, with T differentiable so that G's gradient flows through it:

    L_D = f(D(T(x))) + g(D(T(G(z)))),        L_G = h(D(T(G(z))))

Because G is judged only through T, it is still pushed towards the un-augmented data (T is
applied to both sides), unlike augmenting the real images alone, which teaches G to produce
the augmentations. Policies (any comma-separated subset, applied in this order):

- ``color``: brightness x + U(-0.5, 0.5), saturation (RGB only) mean_c + (x - mean_c) U(0, 2),
  contrast mean + (x - mean) U(0.5, 1.5), per image;
- ``translation``: an integer shift of up to 1/8 of each side, per image, filling with zeros;
- ``cutout``: a square of half the image side set to zero, at a random place per image.

The randomness comes from a torch.Generator the caller owns (the family's `aux_rng`), so runs
are reproducible and resume exactly.

Adaptive augmentation (ADA; Karras, Aittala, Hellsten, Laine, Lehtinen & Aila 2020) applies
each augmentation to each image with a probability p instead of always, and steers p by how
sure D is of the training images: every `interval` D steps,

    r_t = E[sign(D(T(x)))] over the real images of those steps,
    p <- clip(p + sign(r_t - target) * images / (kimg * 1000), 0, 1),

so p rises while D overfits (r_t above the target, 0.6 in the paper) and falls when it does
not; `kimg` thousand images take p from 0 to 1. With p < 1 the clean images keep a share
1 - p, so G is still pushed to the un-augmented data.
"""

from __future__ import annotations

import torch

POLICIES = ("color", "translation", "cutout")
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def parse_policy(policy: str) -> tuple[str, ...]:
    """'translation,cutout' -> ('translation', 'cutout'); '' -> (); unknown names are refused."""
    names = tuple(p.strip() for p in policy.split(",") if p.strip())
    unknown = [p for p in names if p not in POLICIES]
    if unknown:
        raise ValueError(f"loss.diffaugment: unknown policy {', '.join(unknown)}; valid: a "
                         f"comma-separated subset of {', '.join(POLICIES)} (or empty for none)")
    return names


def _uniform(n: int, low: float, high: float, like: torch.Tensor,
             rng: torch.Generator) -> torch.Tensor:
    u = torch.rand(n, 1, 1, 1, generator=rng)
    return (low + (high - low) * u).to(device=like.device, dtype=like.dtype)


def color(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    x = x + _uniform(n, -0.5, 0.5, x, rng)
    if x.shape[1] > 1:
        mean = x.mean(dim=1, keepdim=True)
        x = mean + (x - mean) * _uniform(n, 0.0, 2.0, x, rng)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return mean + (x - mean) * _uniform(n, 0.5, 1.5, x, rng)


def translate(x: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Image i moved by shifts[i] = (dy, dx) pixels (down, right), zeros coming in."""
    n, _, h, w = x.shape
    pad_y, pad_x = int(shifts[:, 0].abs().max()), int(shifts[:, 1].abs().max())
    padded = torch.nn.functional.pad(x, (pad_x, pad_x, pad_y, pad_y))
    dy, dx = shifts[:, 0].to(x.device), shifts[:, 1].to(x.device)
    rows = torch.arange(h, device=x.device)[None, :, None] - dy[:, None, None] + pad_y
    cols = torch.arange(w, device=x.device)[None, None, :] - dx[:, None, None] + pad_x
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def translation(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    n, _, h, w = x.shape
    ry, rx = int(h * TRANSLATION_RATIO + 0.5), int(w * TRANSLATION_RATIO + 0.5)
    dy = torch.randint(-ry, ry + 1, (n,), generator=rng)
    dx = torch.randint(-rx, rx + 1, (n,), generator=rng)
    return translate(x, torch.stack([dy, dx], dim=1))


def cutout_mask(n: int, h: int, w: int, rng: torch.Generator) -> torch.Tensor:
    """(n, 1, h, w) of ones with one zero square of side ratio*side per image; its centre is
    uniform over the image, so the square may be cut by the border."""
    sy, sx = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
    cy = torch.randint(0, h + (1 - sy % 2), (n,), generator=rng)
    cx = torch.randint(0, w + (1 - sx % 2), (n,), generator=rng)
    top, left = (cy - sy // 2)[:, None, None], (cx - sx // 2)[:, None, None]
    rows, cols = torch.arange(h)[None, :, None], torch.arange(w)[None, None, :]
    inside = (rows >= top) & (rows < top + sy) & (cols >= left) & (cols < left + sx)
    return (~inside).float()[:, None]


def cutout(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    n, _, h, w = x.shape
    return x * cutout_mask(n, h, w, rng).to(device=x.device, dtype=x.dtype)


AUGMENTATIONS = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x: torch.Tensor, policy: tuple[str, ...], rng: torch.Generator,
                 p: float = 1.0) -> torch.Tensor:
    """T(x): the policy's augmentations in order, independently per image; differentiable.
    With p < 1 (ADA) each augmentation reaches each image with probability p."""
    if x.dim() != 4:
        raise ValueError(f"loss.diffaugment augments images (N, C, H, W), got shape "
                         f"{tuple(x.shape)}; turn it off for 2-D or 1-D data")
    for name in policy:
        augmented = AUGMENTATIONS[name](x, rng)
        if p < 1:  # the augmentation's own draws happen anyway, so the stream is the same
            chosen = torch.rand(x.shape[0], 1, 1, 1, generator=rng) < p
            augmented = torch.where(chosen.to(x.device), augmented, x)
        x = augmented
    return x


def ada_adjust(p: float, sign_mean: float, target: float, images: int, kimg: float) -> float:
    """ADA's step of p: p + sign(r_t - target) * images / (kimg * 1000), clipped to [0, 1]."""
    step = images / (kimg * 1000.0)
    if sign_mean > target:
        p += step
    elif sign_mean < target:
        p -= step
    return min(max(p, 0.0), 1.0)


class AdaptiveAugment:
    """ADA's controller: `observe` D's logits on each step's augmented real images, `step`
    after each D step; every `interval` steps p moves by ada_adjust. `total` sums a float64
    tensor over the processes of a distributed run (identity on one), so r_t and the image
    count are the global ones and every process moves p alike."""

    def __init__(self, target: float, kimg: float, interval: int, total=lambda t: t):
        self.target, self.kimg, self.interval, self.total = target, kimg, interval, total
        self.p, self.sign_mean = 0.0, 0.0  # r_t of the last adjustment, for the logs
        self.measured = 0  # the real images (of all processes) that r_t was measured on
        self.sign_sum, self.images, self.steps = 0.0, 0, 0

    def observe(self, real_logits: torch.Tensor) -> None:
        # a tensor sum, read once per interval: no device sync on every step
        self.sign_sum = self.sign_sum + real_logits.detach().float().sign().sum()
        self.images += real_logits.numel()

    def step(self) -> None:
        self.steps += 1
        if self.steps % self.interval or self.images == 0:
            return
        local = torch.tensor([float(self.sign_sum), float(self.images)], dtype=torch.float64)
        sign_sum, images = self.total(local).tolist()
        self.sign_mean, self.measured = sign_sum / images, int(images)
        self.p = ada_adjust(self.p, self.sign_mean, self.target, self.measured, self.kimg)
        self.sign_sum, self.images = 0.0, 0

    def state(self) -> torch.Tensor:
        return torch.tensor([self.p, self.sign_mean, float(self.sign_sum), self.images,
                             self.steps], dtype=torch.float64)

    def load_state(self, state: torch.Tensor) -> None:
        p, sign_mean, sign_sum, images, steps = state.tolist()
        self.p, self.sign_mean, self.sign_sum = p, sign_mean, sign_sum
        self.images, self.steps = int(images), int(steps)
