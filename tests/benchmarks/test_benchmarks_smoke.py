"""Every benchmark script runs end to end on a tiny budget, so that none rots unnoticed.

Each runs as `python benchmarks/NAME.py` from the repository root, as its docstring says, with
a few steps or images and its output in tmp_path; the checks read what it wrote. None may touch
benchmarks/results or the shipped classifier weights."""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
SHIPPED_WEIGHTS = ROOT / "ganforge" / "metrics" / "weights" / "digits_cnn.safetensors"


def run_benchmark(name: str, *args) -> str:
    """stdout of benchmarks/NAME.py ARGS; its stderr in the failure message. One torch thread
    (as tests/conftest.py) for the scripts without --threads: on 2 shared cores a second
    thread made one run several times slower."""
    proc = subprocess.run([sys.executable, f"benchmarks/{name}.py", *map(str, args)], cwd=ROOT,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc.stdout


def json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def assert_finite(record: dict, keys) -> None:
    for key in keys:
        value = record[key]
        assert isinstance(value, (int, float)) and math.isfinite(value), (key, value)


def assert_share(value) -> None:
    assert 0.0 <= value <= 1.0, value


@pytest.fixture(autouse=True)
def results_untouched():
    """A smoke run must write to tmp_path only: no result file changed or added."""
    def digests():
        return {path: hashlib.sha1(path.read_bytes()).hexdigest()
                for path in [*(p for p in RESULTS.rglob("*") if p.is_file()), SHIPPED_WEIGHTS]}

    before = digests()
    yield
    assert digests() == before


def test_fid_mnist5k_with_digit_features(tmp_path):
    out = tmp_path / "fid.json"
    run_benchmark("fid_mnist5k", "--features", "digits", "--per-class", 20, "--noise", 50,
                  "--cache-dir", tmp_path / "cache", "--out", out)
    result = json.loads(out.read_text())
    metrics = result["metrics"]
    assert_finite(metrics, ["fid_half_vs_half", "fid_mnist5k_vs_noise"])
    assert 0 < metrics["fid_half_vs_half"] < metrics["fid_mnist5k_vs_noise"]
    assert result["protocol"]["num_real"] == 200
    assert result["protocol"]["features"]["name"] == "digits"
    assert list((tmp_path / "cache").rglob("*.npz")), "features are cached for a resumed run"


@pytest.mark.slow
def test_fid_mnist5k_with_inception_features(tmp_path):
    """~30 s: besides 24 images through Inception, four eigendecompositions of 2048-d
    covariances."""
    out = tmp_path / "fid.json"
    run_benchmark("fid_mnist5k", "--features", "inception", "--per-class", 2, "--noise", 4,
                  "--batch-size", 8, "--cache-dir", tmp_path / "cache", "--out", out)
    result = json.loads(out.read_text())
    assert_finite(result["metrics"], ["fid_half_vs_half", "fid_mnist5k_vs_noise"])
    assert result["protocol"]["num_real"] == 20
    assert result["protocol"]["features"]["standard_weights"] is True


def test_fid_speed():
    result = json.loads(run_benchmark("fid_speed", "--dim", 64, "--repeats", 1, "--images", 4,
                                      "--batch-size", 4, "--json"))
    fd = result["frechet_distance"]
    assert_finite(fd, ["ganforge_seconds", "pytorch_fid_seconds", "ganforge_fid", "speedup"])
    assert fd["relative_difference"] < 1e-8  # the two formulas agree
    assert_finite(result["inception"], ["seconds", "images_per_second"])
    assert result["inception"]["images"] == 4
    assert result["inception"]["backend"]


@pytest.mark.slow
def test_inception_speed(tmp_path):
    """~25 s: three Inception backends load, warm up and run 4 digits and 4 noise images; the
    ONNX graph is exported into tmp_path."""
    from ganforge.metrics.inception_onnx import onnxruntime_version

    out = tmp_path / "speed.json"
    stdout = run_benchmark("inception_speed", "--images", 4, "--repeats", 1, "--noise", 4,
                           "--batch-size", 4, "--cache-dir", tmp_path / "cache", "--out", out)
    result = json.loads(out.read_text())
    backends = ["torchscript", "torchscript-channels-last"]
    if onnxruntime_version() is not None:
        backends.append("onnxruntime")
        assert list((tmp_path / "cache" / "inception").glob("*.onnx"))
    assert list(result["backends"]) == backends
    assert result["images"] == 4 and result["machine"]["threads"] == 1
    for name, row in result["backends"].items():
        assert_finite(row, ["images_per_second", "x_torchscript", "fid_even_vs_odd",
                            "fid_digits_vs_noise"])
        assert row["max_relative_feature_difference"] <= 1e-4, name
        assert row["fid_digits_vs_noise_relative_difference"] <= 1e-3, name
        assert f"| {name} |" in stdout


def check_preset_rows(rows: list[dict], presets: list[str]) -> None:
    assert [r["preset"] for r in rows] == presets
    for row in rows:
        assert row["steps"] == 2 and row["samples"] == 100
        assert_finite(row, ["fid", "kid", "confident", "class_kl", "wall_s", "cpu_s"])
        assert_share(row["confident"])
        if row["preset"] == "digits-cgan":
            assert_share(row["class_accuracy"])
        if row["preset"] == "digits-ssgan":
            assert_share(row["ssgan_accuracy"])
            assert_share(row["ssgan_baseline_accuracy"])


def test_image_presets(tmp_path):
    presets = ["digits-cgan"]
    rows = tmp_path / "rows.jsonl"
    stdout = run_benchmark("image_presets", "--presets", *presets, "--steps", 2, "--samples", 100,
                           "--threads", 1, "--out", rows)
    check_preset_rows(json_lines(rows), presets)
    assert "| digits-cgan | 2 |" in stdout


@pytest.mark.slow
def test_image_presets_every_preset(tmp_path):
    """digits-dcgan alone takes ~15 s: its data's k-means runs for training and again for
    scoring."""
    presets = ["digits-dcgan", "digits-wgan-gp", "digits-sngan", "digits-began", "digits-acgan",
               "digits-ssgan"]
    rows = tmp_path / "rows.jsonl"
    run_benchmark("image_presets", "--presets", *presets, "--steps", 2, "--samples", 100,
                  "--threads", 1, "--out", rows)
    check_preset_rows(json_lines(rows), presets)


def test_inpaint_ceiling(tmp_path):
    out = tmp_path / "ceiling.json"
    run_benchmark("inpaint_ceiling", "--epochs", 1, "--threads", 1, "--json", out)
    result = json.loads(out.read_text())
    for key in ("holed_classifier_on_holed_test", "holed_classifier_on_whole_test",
                "bundled_classifier_on_holed_test", "bundled_classifier_on_whole_test"):
        assert_share(result[key])
    assert result["bundled_classifier_on_whole_test"] > 0.95  # the shipped weights: 98.6 %
    assert result["epochs"] == 1


def test_mode_collapse(tmp_path):
    rows_path = tmp_path / "rows.jsonl"
    run_benchmark("mode_collapse", "--data", "ring8", "grid25", "--configs", "ns", "clusters", "real",
                  "--seeds", 1, "--steps", 20, "--out", rows_path)
    rows = json_lines(rows_path)
    assert {(r["data"], r["config"]) for r in rows} == {
        (data, config) for data in ("ring8", "grid25") for config in ("ns", "clusters", "real")}
    for row in rows:
        trained = row["config"] != "real"
        assert row["steps"] == (20 if trained else 0) and row["diverged"] is None
        assert 0 <= row["modes"] <= {"ring8": 8, "grid25": 25}[row["data"]]
        assert_share(row["hq_fraction"])
        if not trained:  # the data's own samples: every mode, HQ near 1 - exp(-9/2) = 98.9 %
            assert row["modes"] == {"ring8": 8, "grid25": 25}[row["data"]]
            assert abs(row["hq_fraction"] - 0.98889) < 0.012
    table = run_benchmark("mode_collapse", "--table", "--out", rows_path)
    assert "| ns |" in table and "| clusters |" in table and "| real |" in table


def check_throughput(result: dict, configs: list[str], variants: list[str]) -> None:
    assert list(result["configs"]) == configs
    for name in configs:
        throughput = result["configs"][name]["throughput"]
        assert list(throughput) == ["reference", *variants]
        for kind, clocks in throughput.items():
            for clock in ("wall", "cpu"):
                assert_finite(clocks[clock], ["median", *(["ratio"] if kind != "reference" else [])])
                assert clocks[clock]["median"] > 0


def test_throughput(tmp_path):
    """The plain reference loop and ganforge's loop both train the unconditional DCGAN."""
    out = tmp_path / "throughput.json"
    stdout = run_benchmark("throughput", "--configs", "mlp,dcgan28", "--variants", "default,best",
                           "--repeats", 1, "--steps", 4, "--warmup", 1, "--memory", "",
                           "--threads", 1, "--json", out)
    check_throughput(json.loads(out.read_text()), ["mlp", "dcgan28"], ["default", "best"])
    assert "| dcgan28 | best |" in stdout


@pytest.mark.slow
def test_throughput_dcgan64_and_memory(tmp_path):
    out = tmp_path / "throughput.json"
    run_benchmark("throughput", "--configs", "dcgan64", "--variants", "default", "--repeats", 1,
                  "--steps", 2, "--warmup", 0, "--memory", "default", "--threads", 1,
                  "--json", out)
    result = json.loads(out.read_text())
    check_throughput(result, ["dcgan64"], ["default"])
    memory = result["configs"]["dcgan64"]["memory"]
    assert list(memory) == ["reference", "default"]
    for probe in memory.values():
        assert_finite(probe, ["peak_rss_mb"])


def test_train_digits_classifier(tmp_path):
    from safetensors import safe_open

    weights = tmp_path / "digits.safetensors"
    report = json.loads(run_benchmark("train_digits_classifier", "--epochs", 1, "--out", weights))
    assert Path(report["weights"]) == weights
    assert 0.5 < report["test_accuracy"] <= 1.0  # one epoch already learns the digits
    with safe_open(weights, "pt") as f:
        assert float(f.metadata()["test_accuracy"]) == pytest.approx(report["test_accuracy"],
                                                                     abs=1e-4)


def check_translation(results: list[dict], tasks: list[str]) -> None:
    assert [r["task"] for r in results] == tasks
    for r in results:
        assert r["steps"] == 2
        scored = [r["metrics"], r["l1_only"]["metrics"]] if "l1_only" in r else [r["metrics"]]
        for metrics in scored:
            assert_finite(metrics, ["l1", "psnr", "ssim", "identity_l1", "identity_psnr"])
        if r["task"] != "colorize":  # the digit tasks: classified by the bundled classifier
            assert_share(r["metrics"]["class_accuracy"])


def test_translation(tmp_path):
    out = tmp_path / "translation.json"
    stdout = run_benchmark("translation", "--tasks", "edges,strokes", "--steps", 2,
                           "--seeds", "3,4", "--threads", 1, "--out", tmp_path / "runs",
                           "--json", out)
    results = json.loads(out.read_text())
    check_translation(results, ["edges", "edges", "strokes", "strokes"])
    assert [r["seed"] for r in results] == [3, 4, 3, 4]
    assert ["l1_only" in r for r in results] == [True, False, True, False]  # first seed only
    assert "| strokes, seed 4 | cyclegan-strokes | 2 |" in stdout
    assert (tmp_path / "runs" / "strokes-seed4" / "checkpoint").is_dir()


@pytest.mark.slow
def test_translation_every_task(tmp_path):
    tasks = ["denoise", "inpaint", "superres", "colorize"]
    out = tmp_path / "translation.json"
    run_benchmark("translation", "--tasks", ",".join(tasks), "--steps", 2, "--threads", 1,
                  "--out", tmp_path / "runs", "--json", out)
    check_translation(json.loads(out.read_text()), tasks)


def test_tracking(tmp_path):
    out, picture = tmp_path / "tracking.json", tmp_path / "curve.png"
    stdout = run_benchmark("tracking", "--preset", "toy-ring", "--steps", 40, "--every", 20,
                           "--metrics", "hq_fraction,modes", "--samples", 200, "--threads", 1,
                           "--out", out, "--plot", picture)
    result = json.loads(out.read_text())
    assert [c["step"] for c in result["curve"]] == [20, 40]
    assert result["metrics"] == ["hq_fraction", "modes"]
    assert 0 < result["scoring_share"] < 1 and result["best"]["step"] in (20, 40)
    assert picture.stat().st_size > 0 and "scoring" in stdout


def test_text_gans(tmp_path):
    rows = tmp_path / "rows.jsonl"
    run_benchmark("text_gans", "--data", "names", "--stages", "mle", "seqgan", "--mle-steps", 3,
                  "--pretrain-d", 2, "--seqgan-steps", 1, "--eval-n", 40,
                  "--set", "seq.hidden=16", "--out", tmp_path / "runs",
                  "--temperatures", 1, 0.5, "--results", rows)
    oracle_row = {"data": "oracle", "family": "mle", "step": 3, "temperature": 0.5,
                  "metrics": {"nll_oracle": 8.0, "nll_test": 9.0}}
    with open(rows, "a") as f:  # the plot draws oracle rows only; a names run has no oracle
        f.write(json.dumps(oracle_row) + "\n")
    picture = tmp_path / "frontier.png"
    run_benchmark("text_gans", "--stages", "--results", rows, "--plot", picture)
    assert picture.stat().st_size > 0
    mle, mle_cold, seqgan, _, _ = json_lines(rows)
    assert (mle["family"], mle["step"], seqgan["family"], seqgan["step"]) == \
        ("mle", 3, "seqgan", 3)
    assert (mle["temperature"], mle_cold["temperature"], mle_cold["family"]) == (1, 0.5, "mle")
    assert mle_cold["protocol"]["temperature"] == 0.5
    assert mle_cold["metrics"]["nll_test"] != mle["metrics"]["nll_test"]
    assert_finite(seqgan["metrics"], ["nll_test", "bleu2", "self_bleu5", "novelty"])
    assert_share(seqgan["held_out"]["bleu4"])
    assert f"seq.init_from={(tmp_path / 'runs' / 'names-mle').resolve()}" in seqgan["settings"]


def test_text2image(tmp_path):
    run = tmp_path / "run"
    tiny = ["model.g_width=8", "model.d_width=8", "model.z_dim=8", "train.steps=2",
            "text2image.pretrain_steps=2", "train.sample_every=2", "train.checkpoint_every=2"]
    run_benchmark("text2image", "--train", run, *(a for s in tiny for a in ("--set", s)),
                  "--tag", "tiny", "--results", tmp_path)
    first = json.loads((tmp_path / "text2image-tiny.json").read_text())
    assert first["step"] == 2 and first["overrides"] == tiny
    for captions in ("seen", "held-out wordings", "held-out combinations"):
        for who in ("G", "real (ceiling)", "G ignoring the text (chance)"):
            for attribute in ("digit", "thickness", "slant", "all"):
                assert_share(first["agreement"][captions][who][attribute])
    assert first["agreement"]["seen"]["real (ceiling)"]["thickness"] == 1.0
    assert_finite(first, ["fid_5000_vs_all", "fid_1000_vs_test", "train_cpu_s"])
    assert_share(first["interpolation"]["monotonic_share"])
    # scoring again with the conditioning noise keeps the training times of the first scoring
    run_benchmark("text2image", "--run", run, "--tag", "tiny", "--results", tmp_path,
                  "--cond-noise", 1)
    again = json.loads((tmp_path / "text2image-tiny.json").read_text())
    assert again["train_cpu_s"] == first["train_cpu_s"] and again["cond_noise"] == 1
    assert again["fid_5000_vs_all"] != first["fid_5000_vs_all"]
    picture = tmp_path / "samples.png"
    run_benchmark("text2image", "--run", run, "--figure", picture)
    assert picture.stat().st_size > 0


def test_style_transfer_scores_every_peer_of_a_tiny_corpus(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("style_transfer",
                                                  ROOT / "benchmarks" / "style_transfer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    words = {0: ["bad", "awful", "slow"], 1: ["good", "great", "quick"]}
    data = tmp_path / "yelp"
    (data / "peers").mkdir(parents=True)
    for s in (0, 1):
        lines = [f"the {w} food ." for w in words[s] for _ in range(6)]  # markers: >= 5 each
        (data / f"sentiment.train.{s}").write_text("\n".join(lines) + "\n")
        tests = [f"the {w} food ." for w in words[s]]
        (data / f"sentiment.test.{s}").write_text("\n".join(tests) + "\n")
        flipped = [f"{t}\tthe {w} food ." for t, w in zip(tests, words[1 - s])]
        (data / f"reference.{s}").write_text("\n".join(flipped) + "\n")
        for name in (*module.PEERS, *module.EXTRA_HUMANS):
            (data / "peers" / f"sentiment.test.{s}.{name}").write_text("\n".join(flipped) + "\n")
    from ganforge.api import train
    from ganforge.config import load_config

    tiny = {"data.max_len": 6, "data.batch_size": 8, "style.emb": 8, "style.hidden": 8,
            "style.d_emb": 8, "style.d_filters": 4, "style.pretrain": 2, "train.steps": 4,
            "train.checkpoint_every": 2, "train.progress": False, "data.path": str(data)}
    train(load_config("yelp-sentiment", tiny), tmp_path / "run")
    run_benchmark("style_transfer", "--data", data, "--results", tmp_path / "peers.json",
                  "--run", f"tiny={tmp_path / 'run'}", "--run", f"tiny@2={tmp_path / 'run'}@2",
                  "--keep", tmp_path / "kept")
    rows = {r["system"]: r["both"] for r in json.loads((tmp_path / "peers.json").read_text())["rows"]}
    assert set(rows) == {"copy the input", "human (Li et al.)", *module.PEERS,
                         "ganforge lexicon (gamma 5)", "tiny", "tiny@2"}
    assert_finite(rows["tiny"], ["acc", "ref_bleu", "self_bleu", "ppl", "g"])
    for s in (0, 1):  # the peers' format: source<TAB>rewrite, a line per test sentence
        kept = (tmp_path / "kept" / f"sentiment.test.{s}.ganforge").read_text().splitlines()
        sources = (data / f"sentiment.test.{s}").read_text().splitlines()
        assert [line.split("\t")[0] for line in kept] == sources
    assert_finite(rows["ganforge lexicon (gamma 5)"], ["acc", "ref_bleu", "self_bleu", "ppl", "g"])
    assert rows["dual_rl"]["acc"] == 100.0 and abs(rows["dual_rl"]["ref_bleu"] - 100.0) < 1e-9
    assert rows["copy the input"]["acc"] == 0.0 and rows["copy the input"]["self_bleu"] == 100.0
