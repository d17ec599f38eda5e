"""Training throughput: ganforge's loop against a plain PyTorch GAN loop, in steps per second.

    python benchmarks/throughput.py                              # the table of benchmarks/README.md
    python benchmarks/throughput.py --configs mlp --variants default,fused_adam --repeats 3
    python benchmarks/throughput.py --threads 1 --json results.json
    python benchmarks/throughput.py --configs mlp --repeats 1 --steps 4 --warmup 1 --memory ''

The reference is the most direct PyTorch GAN loop: the same G and D (built by ganforge.nets from
the same config and seed; the DCGANs unconditional, see UNCONDITIONAL), the same batch of the
same in-memory data, the same Adam, and per iteration one D update (G(z) detached) and one G
update on fresh noise, nothing else.
ganforge runs `ganforge.train.loop.train` with its bookkeeping on: metrics every `log_every`
steps (JSON lines and TensorBoard), the EMA generator, and periodic checkpoints and sample
grids (see PLANS: two of each land inside the timed steps; the progress bar is off).

Timing: every run records the clock at the start of each iteration; its rate is the number of
iterations from `warmup` to the last but one divided by the time they took, so start-up,
compilation and the final checkpoint are left out and the periodic bookkeeping is counted.
All runs share this one process. A repeat runs the reference before, between and after the
ganforge variants (ref, v1, ref, v2, ..., ref; their order rotates from repeat to repeat), and a
variant's ratio ganforge / reference is taken against the two reference runs beside it, so that
the changing load of a shared machine falls on both sides of each ratio. The table gives
medians over repeats (and the range of the ratios), per wall-clock second and per CPU second
of this process. Memory: the peak resident memory of one loop run alone in a fresh process,
above what that process held before it (`--memory`), with the process's peak in brackets.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ganforge.config import load_config
from ganforge.data import build_data
from ganforge.nets import build_gan_nets
from ganforge.train import loop

# digits-dcgan conditions G and D on 50 pixel clusters; the benchmark times the plain DCGAN
# of the paper, which the reference loop (no labels) can run too
UNCONDITIONAL = {"data.clusters": 0, "model.num_classes": 0, "model.head": "plain"}
# config name: (preset, overrides, steps, warmup); bookkeeping periods are in PLANS
CONFIGS = {
    "dcgan28": ("digits-dcgan", UNCONDITIONAL, 41, 10),  # 28x28 MNIST digits, batch 64, widths 64
    "dcgan64": ("digits-dcgan", {**UNCONDITIONAL, "data.image_size": 64}, 21, 5),  # the paper's 64x64
    "mlp": ("toy-ring", {}, 601, 100),  # 2-D ring of 8 Gaussians, MLPs 3 x 128, batch 256
}
# log_every, checkpoint_every (= sample_every): two checkpoints and sample grids fall inside
# the timed iterations of every run
PLANS = {"dcgan28": (10, 20), "dcgan64": (5, 10), "mlp": (50, 250)}

VARIANTS = {
    "default": {},
    "channels_last": {"speed.channels_last": True},
    "fused_adam": {"speed.fused": True},
    "reuse_fake": {"speed.reuse_fake": True},
    "compile": {"speed.compile": True},
    "bf16": {"speed.amp": "bf16"},
    "joint_d": {"speed.joint_d_forward": True},
    "best": {},  # per config: BEST
}
# the best switches measured on the 2-core Intel Xeon with AMX (benchmarks/README.md): bf16
# autocast for the conv nets (1.4-1.5x there; the MLP's small matmuls lose to the casts),
# with the reused fake batch and the fused Adam; channels-last and the joint D pass did not pay
BEST = {"dcgan28": {"speed.amp": "bf16", "speed.reuse_fake": True, "speed.fused": True},
        "mlp": {"speed.reuse_fake": True, "speed.fused": True}}
BEST["dcgan64"] = BEST["dcgan28"]


def variant(name: str, kind: str) -> dict:
    return BEST[name] if kind == "best" else VARIANTS[kind]


def make_config(name: str, device: str, variant: dict | None = None):
    preset, overrides, steps, _ = CONFIGS[name]
    steps = STEPS.get(name, steps)
    log_every, every = PLANS[name]
    return load_config(preset, {
        **overrides, "device": device, "optim.lr_decay": "none", "train.steps": steps,
        "train.log_every": log_every, "train.checkpoint_every": every,
        "train.sample_every": every, "train.progress": False, **(variant or {})})


def clock(device: torch.device) -> tuple[float, float]:
    """(wall-clock seconds, CPU seconds of this process, all its threads)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter(), time.process_time()


# -- the reference: a plain PyTorch loop ---------------------------------------------------
def reference_loop(cfg) -> list[tuple[float, float]]:
    """The plain loop for `cfg`'s nets, data, batch and Adam; the clock at each iteration."""
    device = torch.device(cfg.device)
    torch.manual_seed(cfg.seed)
    data = build_data(cfg)
    G, D = (net.to(device) for net in build_gan_nets(cfg.model, data))
    o = cfg.optim
    opt_g = torch.optim.Adam(G.parameters(), lr=o.lr_g, betas=(o.beta1, o.beta2))
    opt_d = torch.optim.Adam(D.parameters(), lr=o.lr_d, betas=(o.beta1, o.beta2))
    m, z_dim = cfg.data.batch_size, cfg.model.z_dim
    if data.kind == "toy":
        gen = torch.Generator().manual_seed(cfg.seed)
        def real_batch():
            return data.toy.sample(m, gen).float().to(device)
    else:
        images, order = data.stream.tensors["x"].to(device), []
        def real_batch():
            nonlocal order
            if len(order) < m:
                order = torch.randperm(len(images), device=device)
            batch, order = images[order[:m]], order[m:]
            return batch

    ticks = []
    for _ in range(cfg.train.steps):
        ticks.append(clock(device))
        real = real_batch()
        fake = G(torch.randn(m, z_dim, device=device))
        real_out, fake_out = D(real), D(fake.detach())
        loss_d = (F.binary_cross_entropy_with_logits(real_out, torch.ones_like(real_out))
                  + F.binary_cross_entropy_with_logits(fake_out, torch.zeros_like(fake_out)))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        out = D(G(torch.randn(m, z_dim, device=device)))
        loss_g = F.binary_cross_entropy_with_logits(out, torch.ones_like(out))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    return ticks


# -- ganforge: the real training loop with its bookkeeping -------------------------------------
def ganforge_loop(cfg) -> list[tuple[float, float]]:
    """`ganforge.train.loop.train(cfg)` into a scratch run directory; the clock at each
    iteration (taken when the loop asks for its first D step)."""
    device = torch.device(cfg.device)
    ticks: list[tuple[float, float]] = []
    build = loop.build_family

    def timed_family(*args, **kwargs):
        family = build(*args, **kwargs)
        d_step = family.d_step
        def ticking_d_step(*args, **kwargs):  # whatever the loop passes, passed on
            ticks.append(clock(device))
            return d_step(*args, **kwargs)
        family.d_step = ticking_d_step
        return family

    loop.build_family = timed_family
    try:
        with tempfile.TemporaryDirectory() as tmp:
            loop.train(cfg, Path(tmp) / "run")
    finally:
        loop.build_family = build
    return ticks


STEPS: dict[str, int] = {}  # --steps: shorter runs than CONFIGS's (e.g. for slow variants)


def rates(ticks: list[tuple[float, float]], warmup: int) -> tuple[float, float]:
    """Iterations per wall-clock second and per CPU second, from iteration `warmup` to the start
    of the last one. On a shared machine the CPU rate is the steadier: it does not count the
    time this process waits while others run (nor, though, time spent waiting for the disk)."""
    n = len(ticks) - 1 - warmup
    return tuple(n / (ticks[-1][i] - ticks[warmup][i]) for i in (0, 1))


def measure(name: str, variants: list[str], repeats: int, device: str,
            warmup: int | None = None) -> dict:
    """Rates of every loop, `repeats` times. A repeat runs the reference between every two
    variants (ref, v1, ref, v2, ..., ref; the variants' order rotates from repeat to repeat);
    a variant's ratio is its rate over the mean rate of the two reference runs beside it."""
    warmup = CONFIGS[name][3] if warmup is None else warmup
    runs: dict[str, dict[str, list[float]]] = {
        k: {"wall": [], "cpu": []} for k in ["reference"] + variants}
    ratios: dict[str, dict[str, list[float]]] = {k: {"wall": [], "cpu": []} for k in variants}

    def one_run(kind: str, repeat: int) -> tuple[float, float]:
        if kind == "reference":
            ticks = reference_loop(make_config(name, device))
        else:
            ticks = ganforge_loop(make_config(name, device, variant(name, kind)))
        w, c = rates(ticks, warmup)
        runs[kind]["wall"].append(w)
        runs[kind]["cpu"].append(c)
        print(f"  {name} repeat {repeat + 1}/{repeats} {kind:14s} {w:8.3f} steps/s "
              f"{c:8.3f} steps/CPU-s  load {os.getloadavg()[0]:.1f}", file=sys.stderr,
              flush=True)
        return w, c

    for r in range(repeats):
        order = variants[r % len(variants):] + variants[:r % len(variants)]
        before = one_run("reference", r)
        for kind in order:
            mine = one_run(kind, r)
            after = one_run("reference", r)
            for i, clock_name in enumerate(("wall", "cpu")):
                ratios[kind][clock_name].append(mine[i] / ((before[i] + after[i]) / 2))
            before = after

    def summary(kind: str, clock_name: str) -> dict:
        out = {"median": statistics.median(runs[kind][clock_name]),
               "runs": runs[kind][clock_name]}
        if kind != "reference":
            out["ratio"] = statistics.median(ratios[kind][clock_name])
            out["ratios"] = ratios[kind][clock_name]
        return out

    return {kind: {c: summary(kind, c) for c in ("wall", "cpu")} for kind in runs}


# -- peak memory: one loop alone in a fresh process ----------------------------------------------
def _status_mb(key: str) -> float:
    text = Path("/proc/self/status").read_text()
    return int(text.split(f"{key}:")[1].split()[0]) / 1024  # kB


def memory_probe(name: str, kind: str, device: str) -> None:
    """Peak resident memory of one loop (data, nets, optimisers, activations, bookkeeping)
    above the process before it, and the peak itself. Linux: the peak is reset before the
    loop (/proc/self/clear_refs); elsewhere it is the whole process's (ru_maxrss)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to now
        before = _status_mb("VmRSS")
    except OSError:
        before = None
    if kind == "reference":
        reference_loop(make_config(name, device))
    elif kind != "idle":  # idle: torch and ganforge imported, nothing run
        ganforge_loop(make_config(name, device, variant(name, kind)))
    if before is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux/BSD: kB
        print(json.dumps({"peak_rss_mb": peak, "loop_mb": None}))
    else:
        peak = _status_mb("VmHWM")
        print(json.dumps({"peak_rss_mb": peak, "loop_mb": peak - before}))


def measure_memory(name: str, kinds: list[str], device: str, threads: int | None) -> dict:
    out = {}
    for kind in ["reference"] + kinds:
        cmd = [sys.executable, __file__, "--memory-probe", name, kind, "--device", device]
        if threads:
            cmd += ["--threads", str(threads)]
        if name in STEPS:
            cmd += ["--steps", str(STEPS[name])]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        out[kind] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "load_average": os.getloadavg()}


def table(results: dict) -> str:
    lines = ["| config | loop | steps/s | x reference | steps/CPU-s | x reference | "
             "loop's peak MB (process) |", "|---|---|---|---|---|---|---|"]
    for name, res in results["configs"].items():
        mem = res.get("memory", {})
        for kind, r in res["throughput"].items():
            cells = []
            for clock_name in ("wall", "cpu"):
                c = r[clock_name]
                ratio = "1" if kind == "reference" else (
                    f"{c['ratio']:.2f} ({min(c['ratios']):.2f}-{max(c['ratios']):.2f})")
                cells += [f"{c['median']:.3f}", ratio]
            peak = ""
            if kind in mem:
                loop_mb = mem[kind]["loop_mb"]
                peak = f"{mem[kind]['peak_rss_mb']:.0f}" if loop_mb is None else \
                    f"{loop_mb:.0f} ({mem[kind]['peak_rss_mb']:.0f})"
            lines.append(f"| {name} | {kind} | {' | '.join(cells)} | {peak} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--configs", default="dcgan28,dcgan64,mlp", help=f"of {', '.join(CONFIGS)}")
    p.add_argument("--variants", default="default,channels_last,fused_adam,reuse_fake,compile,best",
                   help=f"ganforge variants, of {', '.join(VARIANTS)}")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, help="torch.set_num_threads for every loop")
    p.add_argument("--steps", type=int, help="iterations per run (default: per config)")
    p.add_argument("--warmup", type=int, help="untimed first iterations (default: per config)")
    p.add_argument("--memory", default="default,best",
                   help="variants whose peak memory to measure ('' for none)")
    p.add_argument("--json", help="also write the results to this file")
    p.add_argument("--memory-probe", nargs=2, metavar=("CONFIG", "LOOP"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_probe:
        if args.steps:
            STEPS[args.memory_probe[0]] = args.steps
        memory_probe(*args.memory_probe, args.device)
        return 0
    variants = [v for v in args.variants.split(",") if v]
    for v in variants:
        if v not in VARIANTS:
            raise ValueError(f"unknown variant {v!r}; valid: {', '.join(VARIANTS)}")
    results = {"machine": machine(), "repeats": args.repeats, "configs": {}}
    for name in args.configs.split(","):
        if name not in CONFIGS:
            raise ValueError(f"unknown config {name!r}; valid: {', '.join(CONFIGS)}")
        if args.steps:
            STEPS[name] = args.steps
        res = {"throughput": measure(name, variants, args.repeats, args.device, args.warmup)}
        mem = [v for v in args.memory.split(",") if v]
        if mem:
            res["memory"] = measure_memory(name, mem, args.device, args.threads)
        results["configs"][name] = res
    results["machine"]["load_average_end"] = os.getloadavg()
    print(table(results))
    print(f"\n{json.dumps(results['machine'])}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
