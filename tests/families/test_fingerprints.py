"""Moving code between modules must not change what a run computes: a few steps of one
preset per family end on the weights recorded in fingerprints.json.

The sha256 of the weights is compared only on the machine that recorded it (same torch build,
CPU capability, CPU vendor and model, one thread): only there is bitwise equality guaranteed.
CPUs with the same capability (AVX512) from another vendor or generation round some kernels
differently, and a few steps amplify those last bits; elsewhere each net's sum of |w| must
match to 1e-4 relative, which rounding differences stay far inside and a changed computation
does not.

`python tests/families/test_fingerprints.py` records fingerprints.json (and the machine) from
the code as it stands; do that only when a change of the numbers is intended, and say why in
the commit.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import sys
import tempfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ganforge.api import train
from ganforge.config import load_config
from ganforge.train.checkpoint import atomic_write

REFERENCE = Path(__file__).with_name("fingerprints.json")
SHORT = {"train.steps": 3, "train.log_every": 1, "train.sample_every": 3,
         "train.checkpoint_every": 3, "train.progress": False, "train.sample_count": 4}
#: a small oracle and vocabulary, short sequences and few of them
TINY_ORACLE = {"seq.vocab": 20, "seq.length": 6, "seq.train_size": 64, "seq.test_size": 32,
               "seq.oracle_emb": 8, "seq.oracle_hidden": 8, "seq.emb": 8, "seq.hidden": 8,
               "data.batch_size": 16}
#: one preset per family and head: (preset, overrides that keep it to a few seconds)
RUNS = {
    "toy-ring": {},
    "digits-dcgan": {"data.batch_size": 16, "model.g_width": 8, "model.d_width": 8},
    "digits-cgan": {"data.batch_size": 16, "model.g_width": 8, "model.d_width": 8},
    "digits-began": {"data.batch_size": 16, "model.g_width": 8, "model.d_width": 8},
    "pix2pix-edges": {"data.batch_size": 8, "model.g_width": 8, "model.d_width": 8},
    "cyclegan-strokes": {"data.batch_size": 4, "model.g_width": 8, "model.d_width": 8,
                         "model.blocks": 1},
    "digits-vae": {"data.batch_size": 16, "model.g_width": 8, "model.d_width": 8},
    "digits-vaegan": {"data.batch_size": 16, "model.g_width": 8, "model.d_width": 8},
    "stacked-pacdcgan": {"data.batch_size": 16, "model.g_width": 8, "model.d_width": 8},
    "digits-text2image": {"data.batch_size": 16, "model.g_width": 8, "model.d_width": 8,
                          "text2image.pretrain_steps": 1},
    "oracle-mle": TINY_ORACLE,
    # one step of each phase: the 3 steps reach the adversarial one
    "oracle-seqgan": {**TINY_ORACLE, "seq.pretrain_g": 1, "seq.pretrain_d": 1, "seq.rollouts": 2,
                      "train.d_steps": 2, "seq.d_widths": "2,3", "seq.d_filters": 8},
    "oracle-gumbel": {**TINY_ORACLE, "seq.pretrain_g": 1, "seq.d_widths": "2,3",
                      "seq.d_filters": 8},
}


def cpu_model() -> tuple[str, str]:
    """(model name, vendor) of this CPU: /proc/cpuinfo's first "model name" and "vendor_id"
    on Linux, else what the platform module reports."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return (fields.get("model name") or platform.processor() or platform.machine(),
            fields.get("vendor_id", ""))


def machine() -> dict[str, str]:
    """What bitwise equality depends on besides the code: the kernels torch picks (its build
    and the CPU capability) and how the CPU rounds in them (vendor and model)."""
    model, vendor = cpu_model()
    return {"torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "cpu": model, "cpu_vendor": vendor}


def fingerprint(preset: str, run_dir: Path) -> dict:
    """sha256 over every tensor of the final checkpoint's nets file (names sorted), and each
    net's sum of |w| for machines whose kernels round differently. One thread: a reduction
    split over threads adds in another order."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cfg = load_config(preset, {**SHORT, **RUNS[preset]})
        train(cfg, run_dir)
    finally:
        torch.set_num_threads(threads)
    state = json.loads((run_dir / "checkpoint" / "state.json").read_text())
    tensors = load_file(str(run_dir / "checkpoint" / state["files"]["nets"]))
    digest, abs_sums = hashlib.sha256(), {}
    for key in sorted(tensors):
        value = tensors[key].contiguous().reshape(-1)
        digest.update(key.encode())
        digest.update(value.view(torch.uint8).numpy().tobytes() if value.numel() else b"")
        if value.is_floating_point():
            net = key.split("/")[0]
            abs_sums[net] = abs_sums.get(net, 0.0) + float(value.double().abs().sum())
    return {"sha256": digest.hexdigest(), "abs_sums": abs_sums}


def recorded() -> dict:
    return json.loads(REFERENCE.read_text())


def check(preset: str, run_dir: Path) -> str:
    """Train `preset` and compare it with the record: "sha256" where the machine is the
    recording one, else "abs_sums" (see the module docstring)."""
    reference = recorded()
    got, want = fingerprint(preset, run_dir), reference["runs"][preset]
    assert got["abs_sums"].keys() == want["abs_sums"].keys()
    for net, value in want["abs_sums"].items():
        assert math.isclose(got["abs_sums"][net], value, rel_tol=1e-4), net
    if machine() != reference["machine"]:
        return "abs_sums"
    assert got["sha256"] == want["sha256"]
    return "sha256"


@pytest.mark.parametrize("preset", sorted(RUNS))
def test_short_run_ends_on_the_recorded_weights(preset, tmp_path):
    check(preset, tmp_path / "run")


def test_a_record_from_another_cpu_is_held_to_the_abs_sums_not_the_digest(monkeypatch, tmp_path):
    reference = recorded()
    # what an AMD machine with the same torch and capability records: other last bits
    other = {**reference["machine"], "cpu": "AMD EPYC 9R14 96-Core Processor",
             "cpu_vendor": "AuthenticAMD"}
    runs = {**reference["runs"], "toy-ring": {**reference["runs"]["toy-ring"], "sha256": "0" * 64}}
    monkeypatch.setattr(sys.modules[__name__], "recorded",
                        lambda: {"machine": other, "runs": runs})
    assert check("toy-ring", tmp_path / "run") == "abs_sums"


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        runs = {p: fingerprint(p, Path(tmp) / p) for p in RUNS}
    text = json.dumps({"machine": machine(), "runs": runs}, indent=1) + "\n"
    atomic_write(REFERENCE, lambda path: path.write_text(text))
    print(f"wrote {REFERENCE}", file=sys.stderr)
