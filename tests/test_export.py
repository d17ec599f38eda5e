"""`ganforge export`: the EMA generator of every family, written as ONNX and as TorchScript,
gives the PyTorch generator's outputs when run by onnxruntime or torch.jit.load alone, for
batch sizes other than the one it was exported with, and carries its input contract; bad
requests are refused in one line with exit status 2 and nothing written."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

from ganforge.config import load_config
from ganforge.export import CONTRACT_KEY, FORMATS, ONNX_PACKAGES, example_inputs, export_run, summary
from ganforge.run import load_run
from ganforge.train.loop import train

TINY = {"train.steps": 2, "train.log_every": 1, "train.sample_every": 2,
        "train.checkpoint_every": 2, "train.progress": False, "model.g_width": 8,
        "model.d_width": 8}
#: one run per family and kind of generator input: preset -> overrides that keep it tiny
RUNS = {
    "toy-ring": {"data.batch_size": 16},
    "digits-dcgan": {"data.batch_size": 8, "data.clusters": 0, "model.num_classes": 0,
                     "model.head": "plain"},  # unconditional: the preset's G takes clusters
    "digits-cgan": {"data.batch_size": 8},
    "digits-began": {"data.batch_size": 8, "model.hidden": 8},
    "pix2pix-edges": {"data.batch_size": 8},
    "cyclegan-strokes": {"data.batch_size": 4, "model.blocks": 1},
}
#: what `ganforge export` says each run's generator takes and gives
CONTRACTS = {
    "toy-ring": "z (N, 2) float32 standard normal -> points (N, 2) float32 unbounded",
    "digits-dcgan": "z (N, 100) float32 standard normal -> "
                    "image (N, 1, 28, 28) float32 NCHW grayscale in [-1, 1]",
    "digits-cgan": "z (N, 100) float32 standard normal, y (N,) int64 class in [0, 10) -> "
                   "image (N, 1, 28, 28) float32 NCHW grayscale in [-1, 1]",
    "digits-began": "z (N, 64) float32 standard normal -> "
                    "image (N, 1, 28, 28) float32 NCHW grayscale in [-1, 1]",
    "pix2pix-edges": "image (N, 1, 28, 28) float32 NCHW grayscale in [-1, 1] -> "
                     "translation (N, 1, 28, 28) float32 NCHW grayscale in [-1, 1]",
    "cyclegan-strokes": "image (N, 1, 28, 28) float32 NCHW grayscale in [-1, 1] -> "
                        "translation (N, 1, 28, 28) float32 NCHW grayscale in [-1, 1]",
}
pytestmark = pytest.mark.filterwarnings(  # torch 2.13 deprecates TorchScript; it still works
    "ignore:`torch.jit.save` is deprecated:DeprecationWarning",
    "ignore:`torch.jit.load` is deprecated:DeprecationWarning")
#: largest |exported - PyTorch| accepted in these tests
TOLERANCE = 1e-5
ONNX_MISSING = [name for name in ONNX_PACKAGES if importlib.util.find_spec(name) is None]
needs_onnx = pytest.mark.skipif(
    bool(ONNX_MISSING), reason=f"{', '.join(ONNX_MISSING)} not installed: the onnx extra "
                               '(pip install -e ".[onnx]", as CI does) runs these')


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """preset -> its tiny run, trained on first use and loaded back."""
    runs = {}

    def get(preset: str):
        if preset not in runs:
            path = tmp_path_factory.mktemp(preset) / "run"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tensorboard chatter
                train(load_config(preset, {**TINY, **RUNS[preset]}), path)
            runs[preset] = load_run(path)
        return runs[preset]

    return get


def run_onnx(path: Path, inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict]:
    """The file's output for `inputs` and its contract, read by onnxruntime alone."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    contract = json.loads(session.get_modelmeta().custom_metadata_map[CONTRACT_KEY])
    names = [i.name for i in session.get_inputs()]
    assert names == [spec["name"] for spec in contract["inputs"]]
    output = session.run(None, {name: x.numpy() for name, x in zip(names, inputs)})[0]
    return torch.from_numpy(output), contract


def run_torchscript(path: Path, inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict]:
    """The file's output for `inputs` and its contract, read by torch.jit.load."""
    extra = {CONTRACT_KEY: ""}
    module = torch.jit.load(str(path), _extra_files=extra)
    with torch.no_grad():
        return module(*inputs), json.loads(extra[CONTRACT_KEY])


RUNNERS = {"onnx": run_onnx, "torchscript": run_torchscript}


def assert_matches_pytorch(path: Path, fmt: str, generator: torch.nn.Module,
                           contract: dict) -> float:
    """The exported file agrees with `generator` on batches of 1 and 5 and carries `contract`;
    returns the largest difference seen."""
    largest = 0.0
    for n in (1, 5):
        inputs = example_inputs(contract, n, seed=10 + n)
        with torch.no_grad():
            want = generator(*inputs)
        got, stored = RUNNERS[fmt](path, inputs)
        assert stored == contract
        assert got.shape == want.shape
        largest = max(largest, float((got - want).abs().max()))
    assert largest <= TOLERANCE
    return largest


@pytest.mark.parametrize("fmt", [pytest.param("onnx", marks=needs_onnx), "torchscript"])
@pytest.mark.parametrize("preset", RUNS)
def test_exported_generator_gives_the_pytorch_outputs(preset, fmt, trained, tmp_path):
    run = trained(preset)
    exported = export_run(run.path, fmt, tmp_path / f"G{FORMATS[fmt]}")
    assert exported.max_abs_diff <= TOLERANCE
    assert_matches_pytorch(exported.path, fmt, run.family.nets["G_ema"], exported.contract)
    assert summary(exported).splitlines()[1] == CONTRACTS[preset]
    assert exported.contract["step"] == 2 and exported.contract["family"] == run.family.name
    assert exported.contract["description"] == run.cfg.description
    assert [p.name for p in tmp_path.iterdir()] == [exported.path.name]  # no temporaries


def test_cyclegan_direction_ba_exports_f(trained, tmp_path):
    run = trained("cyclegan-strokes")
    exported = export_run(run.path, "torchscript", tmp_path / "F.pt", direction="ba")
    assert exported.contract["generator"] == "F_ema"
    assert exported.contract["direction"] == "B -> A"
    assert_matches_pytorch(exported.path, "torchscript", run.family.nets["F_ema"],
                           exported.contract)


@pytest.mark.slow
def test_torchscript_file_runs_without_ganforge(trained, tmp_path):
    run = trained("digits-cgan")
    exported = export_run(run.path, "torchscript", tmp_path / "G.pt")
    script = f"""
import json, sys
sys.modules["ganforge"] = None  # any import of ganforge would fail
import torch
extra = {{"{CONTRACT_KEY}": ""}}
generator = torch.jit.load(sys.argv[1], _extra_files=extra)
z_spec, y_spec = json.loads(extra["{CONTRACT_KEY}"])["inputs"]
z = torch.randn(4, z_spec["shape"][1])
y = torch.randint(y_spec["num_labels"], (4,))
images = generator(z, y)
print(list(images.shape), bool(images.abs().max() <= 1))
"""
    result = subprocess.run([sys.executable, "-c", script, str(exported.path)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[4,", "1,", "28,", "28]", "True"]


def test_a_file_that_fails_the_check_is_not_written(trained, tmp_path, monkeypatch):
    import ganforge.export

    monkeypatch.setattr(ganforge.export, "TOLERANCE", -1.0)  # no file can pass
    with pytest.raises(RuntimeError, match="nothing was written"):
        export_run(trained("toy-ring").path, "torchscript", tmp_path / "G.pt")
    assert list(tmp_path.iterdir()) == []


class BranchOnValues(torch.nn.Module):
    """Python control flow on the input's values: torch.export cannot capture it."""

    def forward(self, z):
        return z if z.sum() > 0 else -z


class ScaleByValue(torch.nn.Module):
    """A Python number read off the input: a trace freezes the example's."""

    def forward(self, z):
        return z * float(z.abs().max())


def with_generator(monkeypatch, generator: torch.nn.Module) -> None:
    """Runs loaded by export_run get `generator` as their EMA generator."""
    import ganforge.run

    load = ganforge.run.load_run

    def load_with_generator(path, device=None):
        run = load(path, device)
        run.family.nets["G_ema"] = generator
        return run

    monkeypatch.setattr(ganforge.run, "load_run", load_with_generator)


@needs_onnx
def test_a_generator_onnx_cannot_capture_is_named_in_one_line(trained, tmp_path, monkeypatch,
                                                              capfd):
    run_path = trained("toy-ring").path
    capfd.readouterr()
    with_generator(monkeypatch, BranchOnValues())
    with pytest.raises(RuntimeError) as refused:
        export_run(run_path, "onnx", tmp_path / "G.onnx")
    message = str(refused.value)
    assert message.startswith("the mlp generator (BranchOnValues) cannot be exported to onnx: ")
    assert "data-dependent" in message and "\n" not in message
    assert capfd.readouterr() == ("", "")  # no graph dumps or warnings
    assert list(tmp_path.iterdir()) == []


def test_a_trace_that_froze_a_value_is_refused(trained, tmp_path, monkeypatch):
    run_path = trained("toy-ring").path
    with_generator(monkeypatch, ScaleByValue())
    with pytest.raises(RuntimeError, match="its graph depends on more than the batch"):
        export_run(run_path, "torchscript", tmp_path / "G.pt")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- the command


def ganforge_export(*args: str, block: str | None = None) -> subprocess.CompletedProcess:
    """`python -m ganforge export ARGS`, or with `block` the same command in a Python where
    that module cannot be imported."""
    if block is None:
        command = [sys.executable, "-m", "ganforge", "export", *args]
    else:
        code = (f"import sys; sys.modules[{block!r}] = None; "
                "from ganforge.cli import main; sys.exit(main())")
        command = [sys.executable, "-c", code, "export", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def assert_refused(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    assert result.stderr.startswith("ganforge export: error: ") and message in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--format", "tflite"], "--format tflite is unknown; valid: onnx, torchscript"),
    (["--format", "onnx", "--out", "G.pt"], "--format onnx writes a .onnx file"),
    (["--format", "torchscript", "--out", "G.onnx"], "--format torchscript writes a .pt file"),
    (["--format", "torchscript", "--direction", "ba"], "--direction is for CycleGAN runs"),
])
def test_bad_requests_are_refused_in_one_line(args, message, trained, tmp_path):
    run = trained("toy-ring")
    assert_refused(ganforge_export(str(run.path), *args), message)
    assert not (run.path / "G.pt").exists()


def test_a_folder_that_is_not_a_run_is_refused(tmp_path):
    assert_refused(ganforge_export(str(tmp_path), "--format", "torchscript"),
                   "is not a ganforge run")


def test_missing_onnxruntime_names_the_extra(trained, tmp_path):
    result = ganforge_export(str(trained("toy-ring").path), "--out", str(tmp_path / "G.onnx"),
                             block="onnxruntime")
    assert_refused(result, 'needs onnxruntime, which is not installed; install the onnx extra: '
                           'pip install -e ".[onnx]"')


@pytest.mark.slow
def test_an_existing_file_is_replaced_only_with_force(trained, tmp_path):
    out = tmp_path / "G.pt"
    out.write_text("keep me")
    run = str(trained("toy-ring").path)
    assert_refused(ganforge_export(run, "--format", "torchscript", "--out", str(out)),
                   "exists; pass --force to replace it")
    assert out.read_text() == "keep me"
    result = ganforge_export(run, "--format", "torchscript", "--out", str(out), "--force")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"wrote {out} (torchscript): G_ema")
    assert lines[1] == CONTRACTS["toy-ring"]
    output, contract = run_torchscript(out, (torch.randn(3, 2),))
    assert output.shape == (3, 2) and contract["generator"] == "G_ema"
