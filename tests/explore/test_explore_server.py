"""The explorer's ASGI app through starlette's test client: the page and its assets, every
control over the websocket, play and pause, bad messages, saving; and the `explore` verb's
refusals through the real command."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")  # starlette's TestClient
from starlette.testclient import TestClient  # noqa: E402

from ganforge.cli import main  # noqa: E402
from ganforge.explore.controls import CONTROLS  # noqa: E402
from ganforge.explore.server import STATIC, create_app  # noqa: E402
from ganforge.explore.session import decode_arrays  # noqa: E402
from ganforge.objectives import OBJECTIVES  # noqa: E402

SMALL = {"width": 16, "depth": 1, "batch_size": 64}


def strict(text: str) -> dict:
    """JSON as a browser parses it: NaN and Infinity are no JSON."""
    def refuse(name):
        raise ValueError(f"{name} in a message")

    return json.loads(text, parse_constant=refuse)


def receive_until(ws, kind: str, limit: int = 50) -> dict:
    """The next message of type `kind`, skipping others (but no error unless asked for)."""
    for _ in range(limit):
        message = strict(ws.receive_text())
        if message["type"] == kind:
            return message
        assert message["type"] != "error", message
    raise AssertionError(f"no {kind} message in {limit}")


@pytest.fixture
def client(tmp_path):
    app = create_app(tmp_path / "runs", fps=50.0, measure_every=0.05)
    with TestClient(app) as c:
        yield c


def test_the_page_and_its_assets_come_from_the_package(client):
    page = client.get("/")
    assert page.status_code == 200 and "<canvas" in page.text
    assets = [a for a in re.findall(r'(?:src|href)="([^"]+)"', page.text) if a != "data:,"]
    assert assets and all(a.startswith("/static/") for a in assets)  # no favicon request
    for asset in assets:
        assert client.get(asset).status_code == 200
    for path in STATIC.iterdir():  # nothing is fetched from the network
        assert not re.search(r"https?://", path.read_text()), path


def test_hello_then_every_control_over_the_websocket(client):
    with client.websocket_connect("/ws") as ws:
        state = receive_until(ws, "state")
        assert set(state["controls"]) == set(CONTROLS)
        assert receive_until(ws, "scene")["dim"] == 2
        frame = receive_until(ws, "frame")
        assert len(decode_arrays(frame)["heat"]) == 32 * 32
        ws.send_text(json.dumps({"type": "set", "values": SMALL}))
        assert receive_until(ws, "state")["settings"]["width"] == 16
        for name, control in CONTROLS.items():
            if control.kind == "choice":
                value = "mog1d" if name == "data" else "lsgan"
            elif control.kind == "bool":
                value = True
            elif control.kind == "int":
                value = int(control.low) + 1
            else:
                value = round((control.low + control.high) / 2, 3)
            critic = {"spectral_norm": False, "label_smoothing": 0.0, "label_flip": 0.0}
            extra = {"loss": "wgan-gp", **critic} if name == "gp_weight" else \
                {"loss": "wasserstein", **critic} if name == "clip" else {}
            ws.send_text(json.dumps({"type": "set", "values": {**extra, name: value}}))
            assert receive_until(ws, "state")["settings"][name] == value


def test_play_pause_steps_slow_motion_and_reset(client):
    with client.websocket_connect("/ws") as ws:
        receive_until(ws, "frame")
        ws.send_text(json.dumps({"type": "set", "values": SMALL}))
        receive_until(ws, "frame")  # the rebuilt game's first picture
        ws.send_text(json.dumps({"type": "play"}))
        assert receive_until(ws, "state")["playing"] is True
        steps = [receive_until(ws, "frame")["step"] for _ in range(5)]
        assert steps == sorted(steps) and steps[-1] > steps[0]
        ws.send_text(json.dumps({"type": "slow", "on": True}))
        receive_until(ws, "state")
        slow = [receive_until(ws, "frame")["step"] for _ in range(3)]
        assert slow[2] - slow[1] == 1  # one iteration per frame
        ws.send_text(json.dumps({"type": "pause"}))
        paused = receive_until(ws, "state")
        assert paused["playing"] is False and paused["slow"] is True
        ws.send_text(json.dumps({"type": "step_d"}))
        d_frame = receive_until(ws, "frame")
        ws.send_text(json.dumps({"type": "step_g"}))
        g_frame = receive_until(ws, "frame")
        assert g_frame["step"] == d_frame["step"] + 1
        assert g_frame["d_updates"] == d_frame["d_updates"]
        ws.send_text(json.dumps({"type": "reset"}))
        assert receive_until(ws, "frame")["step"] == 0


def test_bad_messages_get_a_visible_error_and_the_server_goes_on(client):
    with client.websocket_connect("/ws") as ws:
        receive_until(ws, "frame")
        for bad in ("{not json", json.dumps([1, 2]), json.dumps({"type": 3}),
                    json.dumps({"type": "set", "values": {"lr_d": -1}}),
                    json.dumps({"type": "set", "values": {"depth": 1e9}}),
                    json.dumps({"type": "set", "values": {"loss": "gan9000"}}),
                    json.dumps({"type": "draw", "points": [[0, 0]] * 2}),
                    json.dumps({"type": "save", "name": "../../outside"}),
                    "x" * (2 << 20)):
            ws.send_text(bad)
            reply = strict(ws.receive_text())
            assert reply["type"] == "error" and reply["message"], bad[:40]
        ws.send_bytes(b"\x00\x01")
        assert strict(ws.receive_text())["type"] == "error"
        ws.send_text(json.dumps({"type": "step"}))
        assert receive_until(ws, "frame")["step"] == 1  # still playing its game


def ganforge(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganforge", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_a_saved_run_resumes_with_the_real_command_then_samples_and_evaluates(client, tmp_path,
                                                                              capsys):
    with client.websocket_connect("/ws") as ws:
        receive_until(ws, "frame")
        ws.send_text(json.dumps({"type": "set", "values": {**SMALL, "data": "grid25"}}))
        receive_until(ws, "frame")
        for _ in range(3):
            ws.send_text(json.dumps({"type": "step"}))
            receive_until(ws, "frame")
        ws.send_text(json.dumps({"type": "save", "name": "first"}))
        saved = receive_until(ws, "saved")
        run = tmp_path / "runs" / "first"
        assert Path(saved["path"]) == run.resolve() and saved["step"] == 3
        ws.send_text(json.dumps({"type": "save", "name": "first"}))  # no overwriting
        assert "already holds a run" in receive_until(ws, "error")["message"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]
    resumed = ganforge("train", "--resume", run, "--set", "train.steps=5")
    assert resumed.returncode == 0, resumed.stderr
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    assert state["step"] == 5
    # sample and eval through the CLI's own entry point (a process costs seconds)
    out = tmp_path / "points.csv"
    assert main(["sample", str(run), "-n", "50", "--out", str(out)]) == 0
    assert len(out.read_text().strip().splitlines()) >= 50
    capsys.readouterr()
    assert main(["eval", str(run), "--n", "500", "--json"]) == 0
    assert "modes" in json.loads(capsys.readouterr().out)["metrics"]


def test_every_objective_over_the_websocket(client):
    with client.websocket_connect("/ws") as ws:
        receive_until(ws, "frame")
        ws.send_text(json.dumps({"type": "set", "values": SMALL}))
        receive_until(ws, "frame")
        for name in OBJECTIVES:
            ws.send_text(json.dumps({"type": "set", "values": {"loss": name}}))
            assert receive_until(ws, "state")["settings"]["loss"] == name
            receive_until(ws, "frame")
            ws.send_text(json.dumps({"type": "step"}))
            frame = receive_until(ws, "frame")
            assert frame["step"] == 1, name
            assert all(math.isfinite(frame[k]) for k in ("loss_d", "loss_g")), name
            assert np.isfinite(decode_arrays(frame)["heat"]).all(), name


def refusal(*args) -> str:
    proc = subprocess.run([sys.executable, "-m", "ganforge", "explore", *args],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganforge explore: error: "), proc.stderr
    return lines[0]


def test_the_explore_verb_refuses_bad_options(tmp_path, capsys):
    assert "--port 70000" in refusal("--port", "70000")
    (tmp_path / "file").write_text("x")  # the same path in-process (a command costs seconds)
    assert main(["explore", "--run", str(tmp_path / "file")]) == 2
    assert "is a file; give a folder" in capsys.readouterr().err


def test_a_diverging_game_pauses_with_an_error(client):
    with client.websocket_connect("/ws") as ws:
        receive_until(ws, "frame")
        # KL's f-GAN with learning rates of 0.1: D's exp(v - 1) overflows within ~200 steps
        ws.send_text(json.dumps({"type": "set", "values": {**SMALL, "loss": "fgan-kl",
                                                           "lr_d": 0.1, "lr_g": 0.1}}))
        receive_until(ws, "frame")
        ws.send_text(json.dumps({"type": "play"}))
        receive_until(ws, "state")
        error = receive_until(ws, "error", limit=2000)
        assert "diverged" in error["message"]
        assert receive_until(ws, "state")["playing"] is False
        ws.send_text(json.dumps({"type": "reset"}))
        assert receive_until(ws, "frame")["step"] == 0
