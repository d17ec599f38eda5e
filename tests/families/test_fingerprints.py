"""Moving code between modules must not change what a run computes: a few steps of one
preset per family end on the weights recorded in fingerprints.json (bitwise with the same
torch build and CPU kernels, else each net's sum of |w| to 1e-4 relative).

`python tests/families/test_fingerprints.py` records fingerprints.json from the code as it
stands; do that only when a change of the numbers is intended, and say why in the commit.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import tempfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ganforge.api import train
from ganforge.config import load_config

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


def machine() -> dict[str, str]:
    """What bitwise equality depends on besides the code: the kernels torch picks."""
    return {"torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability()}


def fingerprint(preset: str, run_dir: Path) -> dict:
    """sha256 over every tensor of the final checkpoint's nets file (names sorted), and each
    net's sum of |w| for machines whose kernels round differently."""
    torch.set_num_threads(1)
    cfg = load_config(preset, {**SHORT, **RUNS[preset]})
    train(cfg, run_dir)
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


@pytest.mark.parametrize("preset", sorted(RUNS))
def test_short_run_ends_on_the_recorded_weights(preset, tmp_path):
    reference = recorded()
    got, want = fingerprint(preset, tmp_path / "run"), reference["runs"][preset]
    if machine() == reference["machine"]:
        assert got["sha256"] == want["sha256"]
    assert got["abs_sums"].keys() == want["abs_sums"].keys()
    for net, value in want["abs_sums"].items():
        assert math.isclose(got["abs_sums"][net], value, rel_tol=1e-4), net


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        runs = {p: fingerprint(p, Path(tmp) / p) for p in RUNS}
    REFERENCE.write_text(json.dumps({"machine": machine(), "runs": runs}, indent=1) + "\n")
    print(f"wrote {REFERENCE}", file=sys.stderr)
