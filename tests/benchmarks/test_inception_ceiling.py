"""benchmarks/inception_ceiling.py: multiply-adds counted on a graph worked out by hand, and the
script end to end on that graph with a small GEMM."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from inception_ceiling import multiply_adds  # noqa: E402


def constant(name: str, shape: list[int]):
    return helper.make_tensor(name, TensorProto.FLOAT, shape,
                              np.ones(shape, dtype=np.float32).tobytes(), raw=True)


def hand_counted_graph() -> onnx.ModelProto:
    """images (batch, 3, 5, 5) -> 3x3 conv to 4 channels, padding 1 -> 1x1 conv in 2 groups ->
    flatten -> Gemm to 10 with a transposed weight. Multiply-adds of one image:
    4*5*5 outputs x 3*3*3 = 2700; 4*5*5 x 2 (inputs per group) = 200; 10 x 100 = 1000."""
    nodes = [
        helper.make_node("Conv", ["images", "w1"], ["a"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["a", "w2"], ["b"], kernel_shape=[1, 1], group=2),
        helper.make_node("Flatten", ["b"], ["c"]),
        helper.make_node("Gemm", ["c", "w3"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(
        nodes, "hand",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, 5, 5])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        [constant("w1", [4, 3, 3, 3]), constant("w2", [4, 2, 1, 1]), constant("w3", [10, 100])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_multiply_adds_match_the_hand_count():
    assert multiply_adds(hand_counted_graph()) == 2700 + 200 + 1000


def test_script_reports_the_ceiling_and_each_backends_share(tmp_path):
    graph = tmp_path / "hand.onnx"
    onnx.save(hand_counted_graph(), str(graph))
    speed = tmp_path / "speed.json"
    speed.write_text(json.dumps({"backends": {"torchscript": {"images_per_second": 1e5},
                                              "onnxruntime": {"images_per_second": 2.5e5}}}))
    out = tmp_path / "ceiling.json"
    proc = subprocess.run(
        [sys.executable, "benchmarks/inception_ceiling.py", "--onnx", str(graph), "--size", "128",
         "--repeats", "2", "--threads", "1", "--speed", str(speed), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    flop_per_image = 2 * 3900
    assert result["multiply_adds_per_image"] == 3900
    gemm = result["gemm_gflops"]
    assert set(gemm) == {"torch", "onnxruntime"} and min(gemm.values()) > 0
    ceiling = max(gemm.values()) * 1e9
    assert abs(result["ceiling_images_per_second"] - ceiling / flop_per_image) <= 1e-9 * ceiling
    rows = result["backends"]
    assert abs(rows["onnxruntime"]["gflops"] - 2.5e5 * flop_per_image / 1e9) <= 1e-9
    assert abs(rows["onnxruntime"]["share_of_ceiling"] - 2.5e5 * flop_per_image / ceiling) <= 1e-12
    assert abs(rows["3x torchscript"]["share_of_ceiling"]
               - 3 * rows["torchscript"]["share_of_ceiling"]) <= 1e-12
