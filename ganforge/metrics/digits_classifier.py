"""A small CNN that classifies 28x28 digits: the `digits` feature extractor and the Inception
Score / stacked-MNIST classifier of ganforge.

Architecture (input (N, 1, 28, 28) in [-1, 1]):

    conv3x3(1->32)  ReLU  maxpool2    28 -> 14
    conv3x3(32->64) ReLU  maxpool2    14 -> 7
    conv3x3(64->128) ReLU maxpool2     7 -> 3
    flatten (1152)  linear(1152->128) ReLU      <- 128-d features (penultimate layer)
    dropout(0.3)    linear(128->10)             <- logits; softmax gives p(y|x)

It is trained on the bundled MNIST digits (`load_image_set("mnist5k", split="train")`: 400 per
class, the fixed per-class split of ganforge.data.images) with light augmentation (random
shifts of up to 2 pixels, rotations up to 10 degrees, scaling 0.9-1.1), and evaluated on the
held-out 100 per class. The shipped weights live in `weights/digits_cnn.safetensors`; the
script `benchmarks/train_digits_classifier.py` rebuilds them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

WEIGHTS_PATH = Path(__file__).parent / "weights" / "digits_cnn.safetensors"
NUM_CLASSES = 10
FEATURE_DIM = 128
IMAGE_SIZE = 28


class DigitsCNN(nn.Module):
    """The classifier of the module docstring; `features` is the 128-d penultimate layer."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.conv3 = nn.Conv2d(64, 128, 3, padding=1)
        self.fc = nn.Linear(128 * 3 * 3, FEATURE_DIM)
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(FEATURE_DIM, NUM_CLASSES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 28, 28) in [-1, 1] -> (N, 128) penultimate activations (after ReLU)."""
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.max_pool2d(F.relu(self.conv3(x)), 2)
        return F.relu(self.fc(x.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (N, 10)."""
        return self.head(self.dropout(self.features(x)))


def load_digits_classifier(path: str | Path | None = None, device: str | torch.device = "cpu") -> DigitsCNN:
    """The DigitsCNN in eval mode with weights from `path` (default: the shipped file)."""
    from safetensors.torch import load_file

    path = Path(path) if path is not None else WEIGHTS_PATH
    if not path.is_file():
        raise FileNotFoundError(
            f"no digits classifier weights at {path}; rebuild them with "
            f"`python benchmarks/train_digits_classifier.py`"
        )
    model = DigitsCNN()
    model.load_state_dict(load_file(str(path)))
    return model.to(device).eval()


def save_digits_classifier(model: DigitsCNN, path: str | Path, metadata: dict[str, str]) -> Path:
    """Write the weights (float32 safetensors) with string metadata (accuracy, recipe)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata=metadata)
    return path


def random_affine(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Light augmentation: shift <= 2 px, rotate <= 10 degrees, scale 0.9-1.1; background -1."""
    n = images.shape[0]
    device = images.device

    def uniform(low: float, high: float) -> torch.Tensor:
        return (torch.rand(n, generator=generator) * (high - low) + low).to(device)

    angle = uniform(-10.0, 10.0) * math.pi / 180.0
    scale = uniform(0.9, 1.1)
    shift = uniform(-2.0, 2.0), uniform(-2.0, 2.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [
            torch.stack([cos, -sin, shift[0] * 2.0 / images.shape[-1]], dim=1),
            torch.stack([sin, cos, shift[1] * 2.0 / images.shape[-2]], dim=1),
        ],
        dim=1,
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    # grid_sample pads with zeros; shift to [0, 2] so that the padding is background (-1)
    return F.grid_sample(images + 1.0, grid, align_corners=False) - 1.0


@torch.no_grad()
def accuracy(model: DigitsCNN, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 500) -> float:
    """Share of images whose arg-max class equals the label."""
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size].to(device)
        predicted = model(batch).argmax(dim=1).cpu()
        correct += int((predicted == labels[start : start + batch_size]).sum())
    return correct / len(images)


def train_digits_classifier(
    epochs: int = 30,
    batch_size: int = 64,
    learning_rate: float = 2e-3,
    seed: int = 0,
    device: str | torch.device = "cpu",
    log=print,
    corrupt: Callable[[torch.Tensor, int], torch.Tensor] | None = None,
) -> tuple[DigitsCNN, dict[str, float]]:
    """Train DigitsCNN on mnist5k "train" (Adam, cosine learning-rate decay, augmentation).

    Returns the model (eval mode) and {"train_accuracy", "test_accuracy", "seconds"}, the
    test accuracy on the held-out mnist5k "test" split (100 digits per class).
    `corrupt(batch, step)`, if given, is applied to every augmented training batch: a
    classifier of corrupted digits (benchmarks/inpaint_ceiling.py); the accuracies are then
    on clean digits.
    """
    from ganforge.data.images import load_image_set

    train_set = load_image_set("mnist5k", split="train")
    test_set = load_image_set("mnist5k", split="test")
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = DigitsCNN().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    steps_per_epoch = math.ceil(len(train_set) / batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * steps_per_epoch)
    images, labels = train_set.images, train_set.labels
    start_time = time.time()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(images), generator=generator)
        total_loss = 0.0
        for step in range(steps_per_epoch):
            index = order[step * batch_size : (step + 1) * batch_size]
            batch = random_affine(images[index], generator)
            if corrupt is not None:
                batch = corrupt(batch, epoch * steps_per_epoch + step)
            batch = batch.to(device)
            loss = F.cross_entropy(model(batch), labels[index].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss += float(loss.detach()) * len(index)
        if log is not None and (epoch + 1) % 5 == 0:
            test_acc = accuracy(model, test_set.images, test_set.labels)
            log(
                f"epoch {epoch + 1}/{epochs}: loss {total_loss / len(images):.4f}, "
                f"test accuracy {test_acc:.4f}"
            )
    model.eval()
    report = {
        "train_accuracy": accuracy(model, images, labels),
        "test_accuracy": accuracy(model, test_set.images, test_set.labels),
        "seconds": time.time() - start_time,
    }
    return model, report
