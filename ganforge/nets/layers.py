"""Building blocks shared by the image networks.

- ``upsampling_plan``: how an image size factors into a start size and a number of doublings;
- ``ConditionalBatchNorm2d``: batch norm whose gain and bias depend on the class (de Vries et al.
  2017; Miyato & Koyama 2018);
- ``spectral_norm_if``: spectral normalisation W / sigma(W) (Miyato et al. 2018) when asked;
- ``MinibatchStdDev``: the minibatch standard-deviation feature (Karras et al. 2018);
- ``pack_samples``: PacGAN packing (Lin et al. 2018);
- ``projection_logits`` and ``DiscriminatorHead``: the plain, projection, ACGAN and semi-supervised
  heads that sit on a discriminator's feature vector.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

HEADS = ("plain", "projection", "acgan", "classifier")
MAX_IMAGE_SIZE = 256


def upsampling_plan(
    image_size: int,
    min_start: int = 4,
    max_start: int = 7,
    min_doublings: int = 1,
    family: str = "network",
) -> tuple[int, int]:
    """Factor ``image_size = start * 2**doublings`` with ``min_start <= start <= max_start``.

    With ``max_start < 2 * min_start`` the factorisation is unique, e.g. for the DCGAN range 4..7:
    64 = 4 * 2**4, 28 = 7 * 2**2. Raises ValueError listing the supported sizes up to
    ``MAX_IMAGE_SIZE`` when ``image_size`` has no such form.
    """
    if not isinstance(image_size, int) or isinstance(image_size, bool):
        raise ValueError(f"image_size must be an int, got {image_size!r}")
    doublings = 0
    size = image_size
    while size > max_start and size % 2 == 0:
        size //= 2
        doublings += 1
    if min_start <= size <= max_start and doublings >= min_doublings:
        return size, doublings
    supported = supported_sizes(min_start, max_start, min_doublings)
    raise ValueError(
        f"image_size {image_size} is not supported by the {family}: it must be s * 2**k with "
        f"s in {min_start}..{max_start} and k >= {min_doublings}; supported sizes up to "
        f"{MAX_IMAGE_SIZE}: {', '.join(map(str, supported))}"
    )


def supported_sizes(min_start: int = 4, max_start: int = 7, min_doublings: int = 1) -> list[int]:
    """Every size ``s * 2**k`` (s in min_start..max_start, k >= min_doublings) up to 256."""
    sizes = set()
    for start in range(min_start, max_start + 1):
        size = start * 2**min_doublings
        while size <= MAX_IMAGE_SIZE:
            sizes.add(size)
            size *= 2
    return sorted(sizes)


class ConditionalBatchNorm2d(nn.Module):
    """Class-conditional batch norm: ``gamma_y * (x - mu_B) / sqrt(var_B + eps) + beta_y``.

    The normalisation is batch norm without its own affine part; the gain ``gamma_y`` and bias
    ``beta_y`` are rows of two embeddings indexed by the class label y (gamma initialised to 1,
    beta to 0, so an untrained layer equals plain batch norm).
    """

    def __init__(self, num_features: int, num_classes: int):
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"ConditionalBatchNorm2d needs num_classes >= 1, got {num_classes}")
        self.num_features = num_features
        self.num_classes = num_classes
        self.norm = nn.BatchNorm2d(num_features, affine=False)
        self.gamma = nn.Embedding(num_classes, num_features)
        self.beta = nn.Embedding(num_classes, num_features)
        nn.init.ones_(self.gamma.weight)
        nn.init.zeros_(self.beta.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if y is None:
            raise ValueError("ConditionalBatchNorm2d needs class labels y (int64 of shape (N,))")
        gamma = self.gamma(y)[:, :, None, None]
        beta = self.beta(y)[:, :, None, None]
        return gamma * self.norm(x) + beta


def spectral_norm_if(module: nn.Module, enabled: bool) -> nn.Module:
    """Return ``module`` with its weight reparametrised as ``W / sigma(W)`` when ``enabled``.

    sigma(W) is the largest singular value, estimated by one power iteration per forward pass
    (``torch.nn.utils.parametrizations.spectral_norm``). With ``enabled=False`` the module is
    returned unchanged.
    """
    return spectral_norm(module) if enabled else module


SPECTRAL_NORM_TYPES = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)


def apply_spectral_norm_(model: nn.Module) -> nn.Module:
    """Register spectral norm, in place, on every conv, linear and embedding weight of ``model``.

    Call it after initialising the weights: the power iteration starts from the weight it finds.
    """
    for module in list(model.modules()):
        if isinstance(module, SPECTRAL_NORM_TYPES) and not is_spectral_normed(module):
            spectral_norm(module)
    return model


def is_spectral_normed(module: nn.Module) -> bool:
    """True when ``module.weight`` is reparametrised (by spectral norm)."""
    return hasattr(module, "parametrizations") and "weight" in module.parametrizations


class MinibatchStdDev(nn.Module):
    """Append the minibatch standard deviation as one extra channel (or feature).

    For each group of ``group_size`` consecutive samples (the whole batch when ``group_size`` is
    None or larger than the batch) it computes, per feature, the standard deviation over the
    group ``sqrt(mean_g (x - mean_g x)^2 + eps)``, averages it over all features, and appends that
    scalar to every sample of the group: (N, C, H, W) -> (N, C+1, H, W), or (N, F) -> (N, F+1).
    """

    def __init__(self, group_size: int | None = 4, eps: float = 1e-8):
        super().__init__()
        if group_size is not None and group_size < 1:
            raise ValueError(f"group_size must be >= 1 or None, got {group_size}")
        self.group_size = group_size
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        group = n if self.group_size is None else min(self.group_size, n)
        if n % group != 0:
            raise ValueError(
                f"MinibatchStdDev: batch size {n} is not divisible by the group size {group}"
            )
        grouped = x.reshape(n // group, group, *x.shape[1:])
        std = torch.sqrt(grouped.var(dim=1, unbiased=False) + self.eps)  # (n/group, *features)
        stat = std.reshape(n // group, -1).mean(dim=1)  # (n/group,)
        stat = stat.repeat_interleave(group)  # one value per sample, in batch order
        extra_shape = (n, 1, *x.shape[2:])
        extra = stat.reshape(n, *([1] * (x.dim() - 1))).expand(extra_shape)
        return torch.cat([x, extra], dim=1)


def pack_samples(x: torch.Tensor, pack: int) -> torch.Tensor:
    """PacGAN packing: (N, C, ...) -> (N / pack, C * pack, ...).

    Packed input j holds samples j*pack, ..., j*pack + pack - 1 concatenated along channels
    (sample j*pack + i occupies channels i*C .. (i+1)*C - 1). Raises ValueError when N is not
    divisible by ``pack``.
    """
    if pack < 1:
        raise ValueError(f"pack must be >= 1, got {pack}")
    n = x.shape[0]
    if n % pack != 0:
        raise ValueError(f"cannot pack a batch of {n} samples into groups of {pack}: "
                         f"the batch size must be a multiple of pack")
    if pack == 1:
        return x
    rest = x.shape[2:]
    return x.reshape(n // pack, pack * x.shape[1], *rest)


def projection_logits(
    h: torch.Tensor, y: torch.Tensor, embed: nn.Embedding, linear: nn.Linear
) -> torch.Tensor:
    """Projection discriminator (Miyato & Koyama 2018): ``f(x, y) = psi(phi(x)) + y^T V phi(x)``.

    ``h = phi(x)`` has shape (N, F); ``linear`` is psi (F -> 1); ``embed`` holds the class
    vectors V (K rows of length F). Returns logits of shape (N,).
    """
    return linear(h).squeeze(1) + (embed(y) * h).sum(dim=1)


class DiscriminatorHead(nn.Module):
    """The last layer of a discriminator, on a feature vector h of shape (N, F).

    - ``"plain"``: ``psi(h)``, logits (N,); takes no labels.
    - ``"projection"``: ``psi(h) + embed(y) . h`` (see ``projection_logits``), logits (N,).
    - ``"acgan"`` (Odena et al. 2017): a tuple (adversarial logits (N,), class logits (N, K)).
    - ``"classifier"`` (semi-supervised GAN, Salimans et al. 2016): class logits (N, K) only. The
      discriminator is a (K+1)-way classifier whose fake-class logit is fixed at 0, so
      ``D(x) = Z(x) / (Z(x) + 1)`` with ``Z(x) = sum_k exp(l_k(x))`` and the real-vs-fake logit is
      ``logsumexp_k l_k(x)``; the training step derives it.

    ``head=None`` picks "plain" when num_classes == 0 and "projection" otherwise.
    """

    def __init__(self, features: int, num_classes: int = 0, head: str | None = None):
        super().__init__()
        self.head = resolve_head(head, num_classes)
        self.num_classes = num_classes
        if self.head in ("plain", "projection", "acgan"):
            self.linear = nn.Linear(features, 1)
        if self.head == "projection":
            self.embed = nn.Embedding(num_classes, features)
            nn.init.xavier_uniform_(self.embed.weight)
        if self.head in ("acgan", "classifier"):
            self.classes = nn.Linear(features, num_classes)

    def forward(self, h: torch.Tensor, y: torch.Tensor | None = None):
        if self.head == "projection":
            if y is None:
                raise ValueError("the projection head needs class labels y (int64 of shape (N,))")
            return projection_logits(h, y, self.embed, self.linear)
        if y is not None:
            raise ValueError(
                f"the {self.head!r} head takes no class labels; pass y only to a discriminator "
                f"with head='projection'"
            )
        if self.head == "plain":
            return self.linear(h).squeeze(1)
        if self.head == "acgan":
            return self.linear(h).squeeze(1), self.classes(h)
        return self.classes(h)


def resolve_head(head: str | None, num_classes: int) -> str:
    """Check a head name against num_classes; None means plain (K = 0) or projection (K > 0)."""
    if num_classes < 0:
        raise ValueError(f"num_classes must be >= 0, got {num_classes}")
    if head is None:
        return "plain" if num_classes == 0 else "projection"
    if head not in HEADS:
        raise ValueError(f"unknown discriminator head {head!r}; valid heads: {', '.join(HEADS)}")
    if head == "plain" and num_classes > 0:
        raise ValueError(
            f"num_classes={num_classes} needs a class-aware head (projection, acgan or "
            f"classifier), not 'plain'; use num_classes=0 for an unconditional discriminator"
        )
    if head != "plain" and num_classes < 1:
        raise ValueError(f"head {head!r} needs num_classes >= 1, got {num_classes}")
    return head


def check_generator_labels(y: torch.Tensor | None, num_classes: int, n: int) -> None:
    """Raise when labels are missing for a conditional G or given to an unconditional one."""
    if num_classes > 0 and y is None:
        raise ValueError(
            f"this generator is conditional ({num_classes} classes): pass labels y of shape ({n},)"
        )
    if num_classes == 0 and y is not None:
        raise ValueError("this generator is unconditional (num_classes=0): do not pass labels y")
    if y is not None and y.shape != (n,):
        raise ValueError(f"labels y must have shape ({n},), got {tuple(y.shape)}")


def latent_as_vector(z: torch.Tensor, z_dim: int) -> torch.Tensor:
    """Accept z of shape (N, z_dim) or (N, z_dim, 1, 1) and return (N, z_dim)."""
    if z.dim() == 4 and z.shape[2:] == (1, 1):
        z = z.flatten(1)
    if z.dim() != 2 or z.shape[1] != z_dim:
        raise ValueError(f"z must have shape (N, {z_dim}), got {tuple(z.shape)}")
    return z
