"""The `ganforge` command. Every verb accepts --help; --json prints one JSON object on stdout."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ganforge.cli_sample import cmd_sample
from ganforge.registry import UnknownNameError
from ganforge.rundir import RunDir, RunInterrupted

EPILOG = "Documentation: README.md. Presets: `ganforge presets`."


def _print_json(obj) -> None:
    print(json.dumps(obj, indent=1, default=float))


def cmd_presets(args) -> int:
    from ganforge.config import preset_descriptions

    for name, text in preset_descriptions().items():
        print(f"{name:22s} {text}")
    return 0


def _default_out(preset: str | None) -> Path:
    stem = Path(preset).stem if preset else "digits-dcgan"
    base, i = Path("runs") / stem, 1
    out = base
    while RunDir(out).is_run():
        i += 1
        out = Path(f"{base}-{i}")
    return out


def cmd_train(args) -> int:
    from ganforge.config import apply_overrides, load_config, load_saved_config, parse_set
    from ganforge.train.loop import train

    overrides = parse_set(args.set or [])
    if args.resume:
        if args.out:
            raise ValueError(f"--out is for a new run; --resume continues {args.resume} in "
                             "place (copy the folder first to branch it)")
        run = RunDir(args.resume)
        if not run.is_run():
            raise FileNotFoundError(f"--resume {run}: no ganforge run there (config.yaml missing)")
        if not args.preset and not run.config.read_text().strip():  # it would read as the defaults
            raise ValueError(f"--resume {run}: {run.config} is empty; restore it (or name the "
                             "run's preset: ganforge train PRESET --resume RUN)")
        # the run's own config, or the preset/file given, plus --set: a changed key is refused
        cfg = load_config(args.preset) if args.preset else load_saved_config(run.config)
        apply_overrides(cfg, overrides, "--set")
        train(cfg, run.path, resume=True, changed_data=args.force)
        print(f"resumed {run} to step {cfg.train.steps}", file=sys.stderr)
        return 0
    if args.force:
        raise ValueError("--force goes with --resume (a run whose data changed); a new run "
                         "never replaces anything: choose a new or empty --out")
    cfg = load_config(args.preset, overrides)
    out = Path(args.out) if args.out else _default_out(args.preset)
    print(f"training {args.preset or 'digits-dcgan'} -> {out}", file=sys.stderr)
    train(cfg, out)
    print(f"done: samples in {RunDir(out).samples}, checkpoint in {RunDir(out).checkpoint}",
          file=sys.stderr)
    return 0


def cmd_eval(args) -> int:
    from ganforge.api import evaluate
    from ganforge.cli_flags import IWAE_BYTES, check_memory, eval_bytes, load_checked

    if args.n is not None and args.n < 2:
        raise ValueError(f"--n must be at least 2 samples, got {args.n}")
    if args.iwae_k is not None and args.iwae_k < 1:
        raise ValueError(f"--iwae-k must be at least 1 importance sample, got {args.iwae_k}")
    run = load_checked("eval", args)  # every flag this run would ignore is refused here
    if args.iwae_k is not None:
        check_memory("--iwae-k", args.iwae_k, IWAE_BYTES,
                     "the importance weights of a held-out image, kept until its bound")
    if args.n is not None:
        check_memory("--n", args.n, eval_bytes(run), "the samples and their features, held whole")
    names = args.metrics.split(",") if args.metrics else None
    result = evaluate(run, names, args.n, args.features, args.seed or 0, args.iwae_k,
                      args.temperature or 1.0, progress=True, top_by_d=args.top_by_d,
                      langevin=args.langevin)
    if args.json:
        _print_json(result)
    else:
        for k, v in result["metrics"].items():
            print(f"{k:12s} {v}")
        for k, v in result.get("held_out", {}).items():  # token runs: the held-out set's own
            print(f"{k:12s} {v}  (held-out data)")
        for line in result.get("samples", []):  # token runs: the first samples as text
            print(f"  {line}")
    from ganforge.train.checkpoint import atomic_write

    text = json.dumps(result, indent=1, default=float)
    try:
        atomic_write(RunDir(args.run).eval, lambda p: p.write_text(text))
    except OSError as err:
        print(f"ganforge eval: warning: the results above were not saved to "
              f"{RunDir(args.run).eval} ({err.strerror or err})", file=sys.stderr)
    return 0


def cmd_fid(args) -> int:
    from ganforge.eval.run import fid_between

    result = fid_between(args.a, args.b, args.features, args.n, args.device)
    if args.json:
        _print_json(result)
    else:
        print(f"fid {result['metrics']['fid']:.4f}  ({result['protocol']})")
    return 0


def cmd_export(args) -> int:
    from ganforge.export import export_run, summary

    exported = export_run(args.run, args.format, args.out, args.direction, args.force)
    if args.json:
        _print_json({"path": str(exported.path), "format": exported.format,
                     "max_abs_diff": exported.max_abs_diff, "contract": exported.contract})
    else:
        print(summary(exported))
    return 0


def cmd_explore(args) -> int:
    if not 0 < args.port < 65536:
        raise ValueError(f"--port {args.port} is out of range: accepted 1 to 65535")
    run_root = None
    if args.run:
        run_root = Path(args.run)
        if run_root.exists() and not run_root.is_dir():
            raise ValueError(f"--run {run_root} is a file; give a folder for saved runs")
    try:
        from ganforge.explore.server import serve
    except ImportError as err:
        raise RuntimeError(f"ganforge explore needs the explore extra ({err.name} is missing): "
                           'pip install -e ".[explore]"') from None
    check_port(args.host, args.port)  # before the --run folder is made: a refusal leaves nothing
    if run_root is not None:
        run_root.mkdir(parents=True, exist_ok=True)
    serve(args.host, args.port, run_root)
    return 0


def check_port(host: str, port: int) -> None:
    """Refuse a --host/--port that this process cannot listen on (in use, or not an address
    of this machine), as the server would bind it (SO_REUSEADDR)."""
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as err:
        raise ValueError(f"--host {host} --port {port}: cannot listen there ({err.strerror or err}); "
                         "choose another --port (or --host)") from None


def cmd_theory(args) -> int:
    import torch

    from ganforge.theory import run_all

    torch.set_num_threads(1)  # tiny 1-D nets: threads only add overhead
    report = run_all(args.out, quick=args.quick, seed=args.seed, progress=True)
    if args.json:
        _print_json(report)
    else:
        for k, v in report.items():
            print(f"{k:28s} {v}")
    return 0


def add_langevin_flags(s: argparse.ArgumentParser) -> None:
    """--langevin-by-d and its two settings (ganforge.langevin), on sample and eval alike."""
    s.add_argument("--langevin-by-d", type=int, metavar="STEPS",
                   help="GAN runs whose G draws its own inputs: move every draw STEPS Langevin "
                   "steps in latent space toward what the run's D finds real, on the energy "
                   "|z|^2 / 2 - beta * logit_D(G(z)) (1 to 10,000; 30 is a start)")
    s.add_argument("--langevin-step", type=float, metavar="EPS",
                   help="with --langevin-by-d: the step size (above 0, at most 1; default 0.02)")
    s.add_argument("--langevin-weight", type=float, metavar="BETA",
                   help="with --langevin-by-d: the weight of D's logit (0 to 1,000; default "
                   "20; 1 takes D's density ratio as it stands)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ganforge", description=__doc__, epilog=EPILOG)
    sub = p.add_subparsers(dest="verb", required=True)

    s = sub.add_parser("presets", help="list presets with one-line descriptions")
    s.set_defaults(func=cmd_presets)

    s = sub.add_parser("train", help="train a preset or YAML config into a run directory")
    s.add_argument("preset", nargs="?", help="preset name or FILE.yaml (default: digits-dcgan)")
    s.add_argument("--out", help="run directory (default: runs/PRESET)")
    s.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a setting, e.g. --set train.steps=500 (repeatable)")
    s.add_argument("--resume", metavar="RUN", help="continue RUN exactly where it stopped")
    s.add_argument("--force", action="store_true", help="with --resume: go on even though a "
                   "data file the run reads changed since it started")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("sample", help="draw samples from a run's EMA generator")
    s.add_argument("run")
    s.add_argument("-n", type=int, help="how many samples (default 64; at most what the output "
                   "can hold: a picture's limits below, the free disk for streamed outputs, the "
                   "free memory for a token run's text)")
    s.add_argument("--seed", type=int, help="seed of the noise (default 0)")
    s.add_argument("--out", help="FILE.png: a grid of at most 10,000 images and 8192 px a side "
                   "(toy runs: a plot of at most 100,000 points); DIR/: one PNG per sample; "
                   "FILE.npz: the samples as float32, array 'samples'; FILE.csv: toy runs' "
                   "points; FILE.txt: token runs' sequences. DIR/, .npz and .csv stream batch by "
                   "batch (default: RUN/sample_seedSEED.png, RUN/sample_classC_seedSEED.png, "
                   "RUN/interpolate_seedSEED.png, RUN/text_seedSEED.png or "
                   "RUN/reconstruct_seedSEED.png; with --input, RUN/translations/). An existing "
                   "file is replaced only with --force, a folder must be new or empty")
    s.add_argument("--force", action="store_true", help="replace an existing --out file")
    s.add_argument("--class", dest="cls", type=int, help="class label (conditional runs)")
    s.add_argument("--interpolate", action="store_true",
                   help="a latent walk of n steps between the noise of --seed and --seed+1")
    s.add_argument("--input", help="translation runs: a folder of images to translate; "
                   "style-transfer runs: a text file, each line rewritten (--to)")
    s.add_argument("--text", help="text-to-image runs: n images of this caption, e.g. "
                   "'a thin two leaning left' (words of the run's vocabulary); style-transfer "
                   "runs: the sentence to rewrite (--to)")
    s.add_argument("--to", type=int, help="style-transfer runs: the style to rewrite into, "
                   "0 or 1")
    s.add_argument("--reconstruct", action="store_true",
                   help="runs with an encoder (vae, vaegan): n held-out images over their "
                   "reconstructions, one picture (--out FILE.png)")
    s.add_argument("--temperature", type=float,
                   help="token-sequence runs (and style-transfer -n K): draw from "
                   "softmax(logits / T); below 1 sharper and less varied (default 1: G as "
                   "trained)")
    s.add_argument("--device", help="cpu or cuda (default: the run's)")
    s.add_argument("--top-by-d", type=float, metavar="Q",
                   help="GAN runs whose G draws its own inputs: keep the share Q (0.01 to 1) "
                   "of draws that the run's D ranks highest, the n best of n / Q (within their "
                   "cluster for data.clusters runs)")
    add_langevin_flags(s)
    s.add_argument("--best", action="store_true",
                   help="the best checkpoint that train.eval_every tracked, not the last")
    s.set_defaults(func=cmd_sample)

    s = sub.add_parser("eval", help="evaluate a run; writes RUN/eval.json")
    s.add_argument("run")
    s.add_argument("--metrics", help="comma-separated metric names (default: by data kind)")
    s.add_argument("--n", type=int, help="number of generated samples")
    s.add_argument("--features", help="feature extractor: inception, digits, raw")
    s.add_argument("--iwae-k", type=int, help="importance samples per held-out image of the "
                   "metric iwae_ll (train.family=vae, with --metrics iwae_ll; default 1000; at "
                   "most what memory holds: 8 bytes each)")
    s.add_argument("--seed", type=int, help="seed of the samples (default 0)")
    s.add_argument("--temperature", type=float,
                   help="token-sequence runs: score G's distribution softmax(logits / T), its "
                   "samples and nll_test alike (default 1)")
    s.add_argument("--device", help="cpu or cuda (default: the run's)")
    s.add_argument("--best", action="store_true",
                   help="the best checkpoint that train.eval_every tracked, not the last")
    s.add_argument("--top-by-d", type=float, metavar="Q",
                   help="GAN runs whose G draws its own inputs: score the share Q (0.01 to 1) "
                   "of draws that the run's D ranks highest, the n best of n / Q (within their "
                   "cluster for data.clusters runs)")
    add_langevin_flags(s)
    s.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    s.set_defaults(func=cmd_eval)

    s = sub.add_parser("fid", help="FID between two image folders, .npz statistics or runs")
    s.add_argument("a")
    s.add_argument("b")
    s.add_argument("--features", default="inception", help="inception (default), digits, raw")
    s.add_argument("--n", type=int, default=5000, help="samples drawn from a run")
    s.add_argument("--device", default="cpu")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_fid)

    s = sub.add_parser("export", help="write a run's EMA generator as ONNX or TorchScript, to "
                                      "run without ganforge")
    s.add_argument("run")
    s.add_argument("--format", default="onnx", help="onnx (default) or torchscript")
    s.add_argument("--out", help="file to write: FILE.onnx, or FILE.pt for torchscript "
                                 "(default: RUN/G.onnx or RUN/G.pt; RUN/F.* with --direction ba)")
    s.add_argument("--direction", help="CycleGAN runs: ab (G: A -> B, the default) or ba (F)")
    s.add_argument("--force", action="store_true", help="replace an existing --out file")
    s.add_argument("--json", action="store_true",
                   help="print the path, format, contract and check as one JSON object")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("explore", help="play the two-player game live in the browser (a local "
                                       "web page; needs the explore extra)")
    s.add_argument("--port", type=int, default=8000, help="port to serve the page on "
                   "(default: 8000)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: "
                   "127.0.0.1, this machine only)")
    s.add_argument("--run", metavar="DIR", help="folder under which 'save as run' writes runs "
                   "(without it, saving is off); nothing is written elsewhere")
    s.set_defaults(func=cmd_explore)

    s = sub.add_parser("theory", help="the paper's optimal-D and JSD results, checked numerically")
    s.add_argument("--out", help="folder for figure1.png")
    s.add_argument("--quick", action="store_true",
                   help="seconds, not minutes: D* from the population objective; no f-GAN/W1 checks")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_theory)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except RunInterrupted as stop:
        print(f"ganforge {args.verb}: {stop}", file=sys.stderr)
        return 128 + stop.signum
    except KeyboardInterrupt:
        print(f"ganforge {args.verb}: interrupted; the last complete checkpoint is kept",
              file=sys.stderr)
        return 130
    except (UnknownNameError, ValueError, OSError, RuntimeError) as err:
        # Our errors say what was wrong and what is accepted; no traceback needed.
        print(f"ganforge {args.verb}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
