"""`ganforge explore`'s speed: frames a page receives per second and the training step rate
while it plays, against the step rate of plain `ganforge train toy-ring` (3x128 MLPs on the
ring of 8, batch 256, one torch thread each: the server sets one, the plain run gets
OMP_NUM_THREADS=1).

    python benchmarks/explore_speed.py                       # 5 rounds of ~10 s each
    python benchmarks/explore_speed.py --rounds 1 --seconds 3 --out /tmp/e.json

Each round runs the plain training (a subprocess, the steps/s of its metrics.jsonl rows,
median) and then the explorer (a subprocess serving on 127.0.0.1; a websocket client presses
play and counts the frames it receives for SECONDS; the steps come from the frames'
step counters), alternating so that both see about the same load on a shared machine.
Reported: medians over rounds of fps, explore steps/s, plain steps/s and of each round's
ratio explore / plain. Targets (the
issue's): >= 20 fps while training at >= 80 % of the plain rate.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def plain_rate(steps: int, workdir: Path) -> float:
    """Median steps/s of `ganforge train toy-ring` over its logged windows (first one
    dropped: it holds start-up)."""
    out = workdir / f"plain-{time.time_ns()}"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "ganforge", "train", "toy-ring", "--out", str(out),
                    "--set", f"train.steps={steps}", "--set", "train.progress=false",
                    "--set", "train.log_every=50", "--set", "optim.lr_decay=none"],
                   check=True, env=env, capture_output=True)
    rows = [json.loads(r) for r in (out / "metrics.jsonl").read_text().splitlines() if r]
    rates = [r["steps_per_s"] for r in rows[1:]] or [rows[0]["steps_per_s"]]
    return statistics.median(rates)


def explore_rate(seconds: float) -> dict:
    """fps and steps/s a websocket client sees while the explorer plays ring8 (defaults)."""
    from websockets.sync.client import connect

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "ganforge", "explore", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ws = None
        for _ in range(200):  # the server takes a few seconds to import torch
            try:
                ws = connect(f"ws://127.0.0.1:{port}/ws", max_size=None)
                break
            except OSError:
                time.sleep(0.1)
        if ws is None:
            raise RuntimeError("the explorer did not start")
        with ws:
            while json.loads(ws.recv())["type"] != "frame":  # hello: state, scene, frame
                pass
            ws.send(json.dumps({"type": "play"}))
            frames, first, start = 0, None, None
            while True:
                m = json.loads(ws.recv())
                if m["type"] != "frame":
                    continue
                now = time.perf_counter()
                if first is None:  # count from the first frame of play
                    first, start = m["step"], now
                    continue
                frames += 1
                if now - start >= seconds:
                    break
            elapsed = now - start
            ws.send(json.dumps({"type": "pause"}))
            return {"fps": frames / elapsed, "steps_per_s": (m["step"] - first) / elapsed,
                    "frames": frames, "seconds": elapsed}
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=10.0, help="explorer play per round")
    p.add_argument("--plain-steps", type=int, default=1000, help="plain training per round")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "explore_speed.json"))
    args = p.parse_args(argv)
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):
            plain = plain_rate(args.plain_steps, Path(tmp))
            explore = explore_rate(args.seconds)
            rounds.append({"plain_steps_per_s": plain, **{f"explore_{k}": v
                                                          for k, v in explore.items()},
                           "ratio": explore["steps_per_s"] / plain})
            print(f"round {i + 1}: plain {plain:.1f} steps/s; explore {explore['fps']:.1f} fps, "
                  f"{explore['steps_per_s']:.1f} steps/s", flush=True)
    med = {k: statistics.median(r[k] for r in rounds)
           for k in ("plain_steps_per_s", "explore_fps", "explore_steps_per_s", "ratio")}
    result = {
        "command": "python benchmarks/explore_speed.py " + " ".join(argv or sys.argv[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared with other jobs)",
        "load_average": os.getloadavg(),
        "rounds": rounds,
        "median": med,  # ratio: the median of each round's ratio (neighbours share a load)
        "targets": {"fps": ">= 20", "ratio": ">= 0.8"},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps(result["median"], indent=1))
    return result


if __name__ == "__main__":
    main()
