"""Which flags of `sample` and `eval` apply to which runs, checked in one place; the bounds on
the counts a user gives; and the rule that an existing output is replaced only with --force.

A flag that a run would ignore is refused in one line that names the flag, the runs it is
for and what this run is: silently ignoring it would hand back something other than what was
asked for. What each kind of run takes (x: applies; everything else is refused):

    flag               points  images  conditional  text  encoder  translation  tokens  styles
    sample --class                         x
    sample --interpolate  x       x        x          x      x
    sample --input                                                      x                 x
    sample --text                                     x                                   x
    sample --to                                                                           x
    sample --reconstruct                                     x
    sample --temperature                                                            x       x
    sample --seed         x       x        x          x      x                      x       x
    sample --top-by-d     g       g        c
    sample --langevin-by-d g      g        c
    eval --metrics        x       x        x          x      x                      x
    eval --seed           x       x        x          x      x                      x
    eval --features               x        x          x      x
    eval --iwae-k                                            x (vae only, with --metrics iwae_ll)
    eval --temperature                                                              x
    eval --top-by-d       g       g        c
    eval --langevin-by-d  g       g        c

(`conditional`, `text` and `encoder` runs are image runs too; `styles`: style-transfer runs,
which rewrite sentences, ganforge.cli_rewrite; g: runs of train.family=gan only; c: those
whose G draws its own cluster, data.clusters, rather than a class or code asked of it, and
only where D scores each sample alone: no PacGAN packs, no minibatch standard deviation.)
Besides the table: `sample --input` translates every image of a folder (or rewrites every
line of a file), so it takes no -n; `sample --top-by-d` keeps the best of many draws, so it
takes no --interpolate, and neither does `--langevin-by-d`, which moves every draw (nor do the
two go together); `--langevin-step` and `--langevin-weight` set `--langevin-by-d`'s dynamics and
need it; `eval --n` and `--features` do nothing for `--metrics
elbo,iwae_ll` alone (held-out images).
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

from ganforge.langevin import LangevinByD, refuse_with_top_by_d
from ganforge.selection import RANKED_RUNS, check_share, ranks_by_d, unranked_because

#: (verb, flag) -> (the run traits it applies to, any one enough; those runs in words)
APPLIES: dict[tuple[str, str], tuple[frozenset[str], str]] = {
    ("sample", "--class"): (frozenset({"conditional"}), "class-conditional runs "
                            "(model.num_classes > 0, data.clusters > 0 or model.latent_code > 0)"),
    ("sample", "--interpolate"): (frozenset({"noise"}), "runs that draw from noise (gan, began, "
                                  "vae, vaegan, text2image): it walks between two noise vectors"),
    ("sample", "--input"): (frozenset({"translation", "styles"}), "translation runs (pix2pix, "
                            "cyclegan, style-transfer)"),
    ("sample", "--text"): (frozenset({"text", "styles"}), "text-to-image runs (train.family="
                           "text2image) and style-transfer runs"),
    ("sample", "--to"): (frozenset({"styles"}), "style-transfer runs (the style to rewrite into)"),
    ("sample", "--reconstruct"): (frozenset({"encoder"}),
                                  "runs with an encoder (train.family=vae or vaegan)"),
    ("sample", "--temperature"): (frozenset({"tokens", "styles"}),
                                  "token-sequence runs (mle, seqgan, gumbel) and style-transfer "
                                  "runs' sampled rewrites (-n K)"),
    ("sample", "--seed"): (frozenset({"noise", "tokens", "styles"}), "runs that draw noise"),
    ("sample", "--top-by-d"): (frozenset({"ranked"}), RANKED_RUNS),
    ("sample", "--langevin-by-d"): (frozenset({"ranked"}), RANKED_RUNS),
    ("eval", "--iwae-k"): (frozenset({"likelihood"}), "the metric iwae_ll of runs with a "
                           "likelihood (train.family=vae)"),
    ("eval", "--metrics"): (frozenset({"noise", "tokens"}), "runs scored by metric name (a "
                            "translation run is scored on its test pairs: l1, psnr, ssim)"),
    ("eval", "--seed"): (frozenset({"noise", "tokens"}), "runs that draw noise"),
    ("eval", "--features"): (frozenset({"images"}), "runs that draw images from noise: it "
                             "chooses an image feature extractor (toy runs are scored on their "
                             "points, token and translation runs by measures of their own)"),
    ("eval", "--temperature"): (frozenset({"tokens"}), "token-sequence runs (mle, seqgan, gumbel)"),
    ("eval", "--top-by-d"): (frozenset({"ranked"}), RANKED_RUNS),
    ("eval", "--langevin-by-d"): (frozenset({"ranked"}), RANKED_RUNS),
}


#: eval's metrics of a likelihood model on held-out images: they draw no samples
HELD_OUT_METRICS = ("elbo", "iwae_ll")


def run_traits(run) -> frozenset[str]:
    """What a loaded run is, in the words of APPLIES."""
    family = run.family
    if run.data.kind == "tokens":
        return frozenset({"tokens"})
    if run.data.kind == "styles":
        return frozenset({"styles"})
    if family.translates:
        return frozenset({"translation"})
    traits = {"noise", "points" if run.data.kind == "toy" else "images"}
    if family.conditional_g:
        traits.add("conditional")
    if hasattr(family, "text_inputs"):
        traits.add("text")
    if hasattr(family, "reconstruct"):
        traits.add("encoder")
    if getattr(family, "has_likelihood", False):
        traits.add("likelihood")
    if ranks_by_d(run):
        traits.add("ranked")
    return frozenset(traits)


def describe_run(run) -> str:
    """`RUN is ...`: the run as the flags see it."""
    family = f"train.family={run.cfg.train.family}"
    traits = run_traits(run)
    if "tokens" in traits:
        return f"a token-sequence run ({family})"
    if "styles" in traits:
        return (f"a style-transfer run ({family}): it rewrites --text or --input into style "
                "--to, and is scored on its test sentences")
    if "translation" in traits:
        return (f"a translation run ({family}): it translates its test inputs, or a folder with "
                "--input FOLDER")
    if "text" in traits:
        return f"a text-to-image run ({family}): its images follow --text, not a class"
    what = "toy run of points" if "points" in traits else "image run"
    kind = "conditional" if "conditional" in traits else "unconditional"
    return f"{'a' if kind == 'conditional' else 'an'} {kind} {what} ({family})"


def given_flags(verb: str, args) -> list[str]:
    """The flags of APPLIES for `verb` that the command line set (parser defaults are None or
    False, so that a flag left out is told apart from one given its default value)."""
    given = []
    for v, flag in APPLIES:
        if v != verb:
            continue
        value = getattr(args, {"--class": "cls"}.get(flag, flag[2:].replace("-", "_")))
        if value not in (None, False):
            given.append(flag)
    return given


def check_flags(verb: str, args, run) -> None:
    """Refuse, in one line, every flag of `args` that the loaded `run` would ignore."""
    traits = run_traits(run)
    for flag in given_flags(verb, args):
        accepted, runs = APPLIES[verb, flag]
        if not traits & accepted:
            because = unranked_because(run) if flag in ("--top-by-d", "--langevin-by-d") else ""
            raise ValueError(f"{flag} is for {runs}; {run.path} is {describe_run(run)}{because}")
    if verb == "sample" and args.interpolate and args.top_by_d is not None:
        raise ValueError("--interpolate walks between two noise vectors and --top-by-d keeps "
                         "the best of many draws: give one of them")
    if verb == "sample" and args.interpolate and args.langevin_by_d is not None:
        raise ValueError("--interpolate walks between two noise vectors and --langevin-by-d "
                         "moves every draw on its own: give one of them")
    if verb == "sample" and args.input and args.n is not None and "styles" not in traits:
        raise ValueError(f"-n does not apply to --input, which translates every image of "
                         f"{args.input}: leave -n out")
    if verb == "eval":
        names = args.metrics.split(",") if args.metrics else []
        if args.iwae_k is not None and "iwae_ll" not in names:
            raise ValueError(f"--iwae-k sets the importance samples of the metric iwae_ll, which "
                             f"{'--metrics ' + args.metrics if names else 'the default plan'} "
                             "does not ask for: add it (--metrics iwae_ll)")
        if names and set(names) <= set(HELD_OUT_METRICS):
            for flag, value in (("--n", args.n), ("--features", args.features)):
                if value is not None:
                    raise ValueError(f"{flag} does not apply to --metrics {args.metrics}, "
                                     "measured on the held-out images (no samples, no features): "
                                     "leave it out")


def load_checked(verb: str, args):
    """The run of `args.run` for `verb`: the checks that need no run first (--temperature,
    --top-by-d, --langevin-*, --best), then the run loaded, then every flag it would ignore refused."""
    from ganforge.api import load_run
    from ganforge.eval.tokens import check_temperature

    if args.temperature is not None:
        check_temperature(args.temperature)
    if args.top_by_d is not None:
        check_share(args.top_by_d)
    args.langevin = langevin_setting(args)  # what sample and eval hand to the API
    if args.best:
        check_best(args.run)
    run = load_run(args.run, device=args.device, best=args.best)
    check_flags(verb, args, run)
    return run


def langevin_setting(args) -> LangevinByD | None:
    """The LangevinByD of --langevin-by-d STEPS [--langevin-step EPS] [--langevin-weight
    BETA], checked; None without it (and then neither setting may be given)."""
    if args.langevin_by_d is None:
        for flag, value in (("--langevin-step", args.langevin_step),
                            ("--langevin-weight", args.langevin_weight)):
            if value is not None:
                raise ValueError(f"{flag} sets the dynamics of --langevin-by-d STEPS, which was "
                                 f"not given: add it, or leave {flag} out")
        return None
    given = {"step_size": args.langevin_step, "weight": args.langevin_weight}
    setting = LangevinByD(args.langevin_by_d, **{k: v for k, v in given.items() if v is not None})
    setting.check()
    refuse_with_top_by_d(args.top_by_d, setting)
    return setting


# ----------------------------------------------------------------------------- --best


def check_best(run_dir: Path | str) -> None:
    """Before a run loads with --best: say why there is no best checkpoint, if there is none."""
    from ganforge.config import load_saved_config
    from ganforge.rundir import RunDir
    from ganforge.train.checkpoint import read_best, read_state

    run = RunDir(run_dir).require()
    if read_best(run.checkpoint) is not None:
        return
    every = load_saved_config(run.config).train.eval_every
    if every <= 0:
        raise ValueError(f"--best: {run.checkpoint} holds no best checkpoint: the run tracked no "
                         "metric (train.eval_every=0); leave --best out for its last checkpoint")
    step = read_state(run.checkpoint)["step"]
    raise ValueError(f"--best: {run.checkpoint} holds no best checkpoint yet: the run stopped at "
                     f"step {step}, before its first tracked evaluation (train.eval_every="
                     f"{every}); leave --best out for its last checkpoint, or train on")


# ----------------------------------------------------------------------------- outputs


def refuse_existing(out: Path, force: bool, flag: str = "--out") -> None:
    """An existing file at `out` is the user's: replaced only with --force."""
    if out.is_dir() and not str(out).endswith(("/", os.sep)):
        raise ValueError(f"{flag} {out} is a folder; give a file name (or DIR/ for one PNG per "
                         "sample)")
    if out.exists() and not force:
        raise FileExistsError(f"{flag} {out} exists; pass --force to replace it, or choose "
                              "another name")


# ----------------------------------------------------------------------------- bounds on counts


def available_memory() -> int:
    """Bytes of memory this process may still take (Linux: MemAvailable)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def _size(nbytes: float) -> str:
    units = ("bytes", "KB", "MB", "GB", "TB", "PB", "EB")
    power = min(len(units) - 1, int(math.log(max(nbytes, 1), 1024)))
    return f"{nbytes / 1024 ** power:.3g} {units[power]}"


def check_memory(flag: str, count: int, bytes_each: int, what: str) -> None:
    """Refuse a count whose `bytes_each` per unit (`what` they hold) would take more than half
    of the available memory: a request that would swap for minutes and then fail."""
    budget = available_memory() // 2
    need = count * bytes_each
    if need > budget:
        raise ValueError(f"{flag} {count:,} needs about {_size(need)} of memory ({what}, "
                         f"{_size(bytes_each)} each); half of this machine's available memory "
                         f"is {_size(budget)}: at most {budget // bytes_each:,}")


def check_disk(flag: str, count: int, bytes_each: int, out: Path, what: str) -> None:
    """Refuse a streamed output that cannot fit on the disk that receives it."""
    folder = Path(out).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    need = count * bytes_each
    if need > free:
        raise ValueError(f"{flag} {count:,} needs about {_size(need)} on disk ({what}, "
                         f"{_size(bytes_each)} each); {folder} has {_size(free)} free: at most "
                         f"{free // bytes_each:,}")


def sample_bytes(run) -> int:
    """Bytes one of the run's samples takes in memory as float32 (token runs: the ids, the
    uniforms they are drawn from and their text)."""
    shape = run.data.shape
    if run.data.kind == "tokens":
        return 32 * shape[0] + 200
    return 4 * math.prod(shape)


#: bytes of one importance sample of iwae_ll: its float32 log-weight, and the copy that joins
#: an image's pieces into one tensor for the bound (families/vae.py log_likelihood)
IWAE_BYTES = 8
#: bytes per sample besides the sample itself that eval holds: up to 2,048 float32 Inception
#: features, and a row of the 1,024-row blocks of distances of precision/recall
EVAL_EXTRA_BYTES = 4 * 2048 + 4 * 1024


def eval_bytes(run) -> int:
    """Bytes `ganforge eval` holds per generated sample."""
    if run.data.kind == "tokens":
        return sample_bytes(run)
    return sample_bytes(run) + EVAL_EXTRA_BYTES
