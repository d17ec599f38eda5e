"""`ganforge export`: a run's EMA generator as one file that runs without ganforge.

    onnx         for onnxruntime (or any ONNX runtime), written by torch's dynamo exporter
    torchscript  for torch.jit.load in any PyTorch program, written by torch.jit.trace

A bare graph does not say what its inputs mean, so both files carry the input contract as
JSON under the name CONTRACT_KEY (ONNX: a metadata_props entry; TorchScript: an extra file,
read back with torch.jit.load(path, _extra_files={CONTRACT_KEY: ""})):

    noise GANs   z (N, z_dim) float32 ~ N(0, I); a conditional G also takes y (N,) int64 in
                 [0, K): a class, a k-means cluster (with the clusters' shares of the data,
                 which the run drew y from) or an InfoGAN code
                 -> images (N, C, H, W) float32 in [-1, 1], or toy points (N, d) float32
    translators  image (N, C_in, H, W) float32 in [-1, 1] -> translation (N, C_out, H, W) in
                 [-1, 1]; CycleGAN's G: A -> B, or with direction "ba" its F: B -> A

The batch axis N is dynamic. Before the file replaces anything at `out` it is loaded back and
run on a batch of another size than the one it was exported with, and has to agree with the
PyTorch generator: a graph that froze the batch size, or anything else of the example, is
refused instead of written.

The ONNX half needs the `onnx` extra (onnx and onnxscript for the exporter, onnxruntime for the
check); nothing here imports them, or torch.onnx, until an ONNX export is asked for.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import logging
import math
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ganforge.rundir import RunDir
from ganforge.train.checkpoint import atomic_write

#: format -> the extension its files must have
FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}
#: where the input contract lives in both formats
CONTRACT_KEY = "ganforge.json"
#: the packages an ONNX export imports: the dynamo exporter's and the runtime that checks it
ONNX_PACKAGES = ("onnx", "onnxscript", "onnxruntime")
ONNX_EXTRA_HINT = 'install the onnx extra: pip install -e ".[onnx]"'
#: CycleGAN's directions -> the generator of the family's `ema_names`
DIRECTIONS = {"ab": "G", "ba": "F"}
#: the example batch the graph is exported with, and the other size it must also handle
EXPORT_BATCH, CHECK_BATCH = 2, 3
#: largest |exported - PyTorch| accepted, relative to max(1, max |PyTorch output|)
TOLERANCE = 1e-4


@dataclass
class Exported:
    """A written export: where, which format, its contract, and how far it is from PyTorch."""

    path: Path
    format: str
    contract: dict
    max_abs_diff: float


def check_request(run_dir: Path | str, fmt: str, out: Path | None, direction: str | None,
                  force: bool) -> Path:
    """The output path for exporting `run_dir` as `fmt`, or the error that says what is wrong
    with the request; checked before any model loads, so bad input fails in a moment."""
    from ganforge.config import load_saved_config
    from ganforge.families import FAMILIES

    if fmt not in FORMATS:
        raise ValueError(f"--format {fmt} is unknown; valid: {', '.join(FORMATS)}")
    if direction is not None and direction not in DIRECTIONS:
        raise ValueError(f"--direction {direction} is unknown; valid: {', '.join(DIRECTIONS)}")
    run = RunDir(run_dir).require()
    if not run.has_checkpoint():
        raise FileNotFoundError(f"{run} has no checkpoint yet; train it first")
    if direction is not None:
        family = load_saved_config(run.config).train.family
        if "F" not in getattr(FAMILIES.get(family), "ema_names", {}):
            raise ValueError(f"--direction is for CycleGAN runs, which have two generators; {run} "
                             f"is a {family} run with one")
    suffix = FORMATS[fmt]
    out = Path(out) if out is not None else run.path / f"{DIRECTIONS[direction or 'ab']}{suffix}"
    if out.suffix.lower() != suffix:
        raise ValueError(f"--out {out}: --format {fmt} writes a {suffix} file")
    if out.is_dir():
        raise ValueError(f"--out {out} is a folder; give a file name ending in {suffix}")
    if out.exists() and not force:
        raise FileExistsError(f"--out {out} exists; pass --force to replace it")
    if fmt == "onnx":
        missing = [name for name in ONNX_PACKAGES if importlib.util.find_spec(name) is None]
        if missing:
            raise RuntimeError(f"--format onnx needs {', '.join(missing)}, which is not "
                               f"installed; {ONNX_EXTRA_HINT}")
    return out


def export_run(run_dir: Path | str, fmt: str, out: Path | str | None = None,
               direction: str | None = None, force: bool = False) -> Exported:
    """Write the EMA generator of the run in `run_dir` to `out` as `fmt`; `direction` "ab"
    (the default) or "ba" picks CycleGAN's generator. `out` defaults to RUN/G.onnx or RUN/G.pt
    (RUN/F.* for direction "ba")."""
    from ganforge.run import load_run

    out = check_request(run_dir, fmt, None if out is None else Path(out), direction, force)
    direction = direction or "ab"
    run = load_run(run_dir, device="cpu")
    if run.data.kind == "tokens":
        raise ValueError(f"{run.path} is a token-sequence run (train.family="
                         f"{run.cfg.train.family}): its G draws a sequence token by token, each "
                         "fed back in, a loop export does not write; draw sequences with "
                         "`ganforge sample RUN -n N --out FILE.txt`")
    if run.data.kind == "styles":
        raise ValueError(f"{run.path} is a style-transfer run (train.family="
                         f"{run.cfg.train.family}): its translators decode a sentence word by "
                         "word, each fed back in, a loop export does not write; rewrite text "
                         "with `ganforge sample RUN --input FILE.txt --to 1 --out OUT.txt`, or "
                         "load RUN/checkpoint (safetensors, nets G01_ema and G10_ema) in Python")
    net_name = getattr(run.family, "ema_names", {}).get(DIRECTIONS[direction], "G_ema")
    generator = run.family.nets[net_name].eval()
    if hasattr(run.family, "text_inputs"):  # text2image: the caption encoder goes in front
        generator = CaptionedGenerator(generator, run.family.text.eval())
    contract = describe(run, net_name, direction)
    example = example_inputs(contract, EXPORT_BATCH, seed=0)
    check = example_inputs(contract, CHECK_BATCH, seed=1)
    with torch.no_grad():
        expected = generator(*check)
    prepare, run_file = WRITERS[fmt]
    arch = f"the {run.cfg.model.arch} generator ({type(generator).__name__})"
    save = prepare(generator, example, contract, arch)
    max_abs_diff = math.nan

    def save_and_check(tmp: Path) -> None:
        nonlocal max_abs_diff
        save(tmp)
        max_abs_diff = float((run_file(tmp, contract, check) - expected).abs().max())
        if not max_abs_diff <= TOLERANCE * max(1.0, float(expected.abs().max())):
            raise RuntimeError(f"{arch} exported to {fmt} gives outputs {max_abs_diff:.2g} away "
                               f"from PyTorch's on a batch of {CHECK_BATCH} (exported with "
                               f"{EXPORT_BATCH}): its graph depends on more than the batch; "
                               "nothing was written")

    out.parent.mkdir(parents=True, exist_ok=True)
    if not os.access(out.parent, os.W_OK):  # the exporters' own errors would not name it
        raise PermissionError(f"--out {out}: the folder {out.parent} is not writable")
    try:
        atomic_write(out, save_and_check)
    except OSError as err:
        raise OSError(f"--out {out} could not be written: {err.strerror or err}") from err
    return Exported(out, fmt, contract, max_abs_diff)


class CaptionedGenerator(nn.Module):
    """A text-to-image run's EMA G behind its caption encoder: (z, caption ids) -> images,
    G's conditioning c = mu(h) as `ganforge sample --text` draws it."""

    def __init__(self, generator: nn.Module, text: nn.Module):
        super().__init__()
        self.generator, self.text = generator, text

    def forward(self, z: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        return self.generator(z, self.text(tokens))[0]


# ----------------------------------------------------------------------------- the contract


def describe(run, net_name: str, direction: str) -> dict:
    """The input contract of generator `net_name` of `run`: names, shapes, dtypes and ranges
    of its inputs and output, and where it comes from."""
    family, cfg, data = run.family, run.cfg, run.data
    contract = {"family": family.name, "arch": cfg.model.arch, "description": cfg.description,
                "step": run.step, "generator": net_name}
    if family.translates:
        source, target = (family.in_shape, family.out_shape) if direction == "ab" else \
            (family.out_shape, family.in_shape)
        if "F" in getattr(family, "ema_names", {}):
            contract["direction"] = "A -> B" if direction == "ab" else "B -> A"
        contract["inputs"] = [_image("image", source)]
        contract["output"] = _image("translation", target)
        return contract
    contract["inputs"] = [{"name": "z", "shape": ["N", family.z_dim], "dtype": "float32",
                           "distribution": "standard normal"}]
    if hasattr(family, "text_inputs"):
        from ganforge.data.captions import VOCAB, max_length

        contract["inputs"].append({"name": "tokens", "shape": ["N", max_length()],
                                   "dtype": "int64", "padding": 0, "vocabulary": VOCAB.words,
                                   "caption": "word ids of the vocabulary, in order, 0 after "
                                              "the last word"})
    if family.conditional_g:
        labels = "cluster" if cfg.data.clusters else "code" if cfg.model.latent_code else "class"
        k = family.num_classes
        contract["inputs"].append({"name": "y", "shape": ["N"], "dtype": "int64",
                                   "labels": labels, "num_labels": k, "range": f"[0, {k})"})
        if getattr(family, "label_prior", None) is not None:
            contract["label_prior"] = [round(p, 6) for p in family.label_prior.cpu().tolist()]
    if data.kind == "toy":
        contract["output"] = {"name": "points", "shape": ["N", *data.shape], "dtype": "float32",
                              "range": "unbounded"}
    else:
        contract["output"] = _image("image", data.shape)
    return contract


def _image(name: str, shape) -> dict:
    channels = {1: "grayscale", 3: "RGB"}.get(shape[0], f"{shape[0]} channels")
    return {"name": name, "shape": ["N", *shape], "dtype": "float32", "layout": "NCHW",
            "channels": channels, "range": "[-1, 1]"}


def summary(exported: Exported) -> str:
    """Two lines: what was written, and the inputs and output it takes and gives."""
    c = exported.contract
    what = f"{c['generator']} of a {c['family']} run ({c['arch']}) at step {c['step']}"
    if "direction" in c:
        what += f", {c['direction']}"
    first = (f"wrote {exported.path} ({exported.format}): {what}; agrees with PyTorch to "
             f"{exported.max_abs_diff:.1e}")
    inputs = ", ".join(_tensor_text(spec) for spec in c["inputs"])
    return f"{first}\n{inputs} -> {_tensor_text(c['output'])}"


def _tensor_text(spec: dict) -> str:
    shape = ", ".join(str(d) for d in spec["shape"]) + ("," if len(spec["shape"]) == 1 else "")
    text = f"{spec['name']} ({shape}) {spec['dtype']}"
    if "distribution" in spec:
        return f"{text} {spec['distribution']}"
    if "labels" in spec:
        return f"{text} {spec['labels']} in {spec['range']}"
    if "vocabulary" in spec:
        return f"{text} caption word ids (0 pads)"
    if "layout" in spec:
        return f"{text} {spec['layout']} {spec['channels']} in {spec['range']}"
    return f"{text} {spec['range']}"


def example_inputs(contract: dict, n: int, seed: int) -> tuple[torch.Tensor, ...]:
    """A batch of n inputs that fit the contract, drawn with `seed`."""
    g = torch.Generator().manual_seed(seed)
    tensors = []
    for spec in contract["inputs"]:
        shape = (n, *spec["shape"][1:])
        if spec["name"] == "z":
            tensors.append(torch.randn(shape, generator=g))
        elif spec["name"] == "y":
            tensors.append(torch.randint(spec["num_labels"], shape, generator=g))
        elif spec["name"] == "tokens":  # captions of random words, padded after a random length
            words = torch.randint(1, len(spec["vocabulary"]), shape, generator=g)
            lengths = torch.randint(1, shape[1] + 1, (n, 1), generator=g)
            tensors.append(torch.where(torch.arange(shape[1]) < lengths, words, 0))
        else:
            tensors.append(torch.rand(shape, generator=g) * 2 - 1)
    return tuple(tensors)


# ----------------------------------------------------------------------------- the formats


@contextlib.contextmanager
def _quiet_export() -> Iterator[None]:
    """Keep the exporters' chatter off the terminal: tracer warnings about the nets' shape
    checks (the check on another batch size covers what they warn of), the ONNX registry's
    notes on absent torchvision ops and, when an export fails, torch.export's graph dumps;
    `_cannot_export` says in one line what failed instead."""
    logger = logging.getLogger("torch")
    level = logger.level
    logger.setLevel(logging.ERROR)
    chatter = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(chatter), \
                contextlib.redirect_stderr(chatter), torch.no_grad():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _cannot_export(arch: str, fmt: str, err: BaseException) -> RuntimeError:
    """One line: which generator, and the first line of the innermost cause (the exporters
    wrap the error that names the offending operation in errors of their own)."""
    while err.__cause__ is not None:
        err = err.__cause__
    reason = re.sub(r"\x1b\[[0-9;]*m", "", str(err)).strip().splitlines()
    return RuntimeError(f"{arch} cannot be exported to {fmt}: {type(err).__name__}"
                        + (f": {reason[0]}" if reason else ""))


def _onnx_writer(generator: nn.Module, example: tuple[torch.Tensor, ...], contract: dict,
                 arch: str):
    """Export now (a failure is reported before anything is written); save on call."""
    names = [spec["name"] for spec in contract["inputs"]]
    output = contract["output"]["name"]
    batch_axis = {name: {0: "N"} for name in [*names, output]}
    try:
        with _quiet_export():
            program = torch.onnx.export(generator, example, dynamo=True, verbose=False,
                                        input_names=names, output_names=[output],
                                        dynamic_axes=batch_axis)
    except Exception as err:  # the exporter's errors have no common base class
        raise _cannot_export(arch, "onnx", err) from err
    program.model.metadata_props[CONTRACT_KEY] = json.dumps(contract)
    return lambda path: program.save(str(path))


def _run_onnx(path: Path, contract: dict, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {spec["name"]: x.numpy() for spec, x in zip(contract["inputs"], inputs)}
    return torch.from_numpy(session.run(None, feed)[0])


def _torchscript_writer(generator: nn.Module, example: tuple[torch.Tensor, ...],
                        contract: dict, arch: str):
    """Trace now (a failure is reported before anything is written); save on call."""
    try:
        with _quiet_export():
            traced = torch.jit.trace(generator, example, check_trace=False)
    except Exception as err:  # the tracer's errors have no common base class
        raise _cannot_export(arch, "torchscript", err) from err
    extra = {CONTRACT_KEY: json.dumps(contract)}
    return lambda path: torch.jit.save(traced, str(path), _extra_files=extra)


def _run_torchscript(path: Path, contract: dict,
                     inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    with torch.no_grad():
        return torch.jit.load(str(path))(*inputs)


#: format -> (export now and return the saver, run a saved file on inputs)
WRITERS = {"onnx": (_onnx_writer, _run_onnx), "torchscript": (_torchscript_writer, _run_torchscript)}
