"""`ganforge sample`: a run's samples as a picture, files or text, and its one-picture
variants (--interpolate, --reconstruct, --text)."""

from __future__ import annotations

import sys
from pathlib import Path


def cmd_sample(args) -> int:
    import torch

    from ganforge.api import load_run, sample
    from ganforge.eval.tokens import check_temperature
    from ganforge.sampling import (
        STREAMED_FORMS,
        check_grid,
        check_plot,
        output_form,
        sample_batches,
        write_samples,
    )
    from ganforge.train.checkpoint import atomic_write
    from ganforge.viz import save_image_grid, save_points

    if args.n < 1:
        raise ValueError(f"-n must be at least 1, got {args.n}")
    run = load_run(args.run, device=args.device, best=args.best)
    check_temperature(args.temperature, run)
    if run.data.kind == "tokens":
        return sample_sequences(run, args)
    if args.reconstruct:
        return sample_reconstructions(run, args)
    if args.text is not None:
        return sample_text(run, args)
    if args.input:
        from ganforge.eval.translation import translate_folder

        out = Path(args.out or Path(args.run) / f"sample_seed{args.seed}.png")
        written = translate_folder(run, Path(args.input), out)
        print(f"translated {written} images into {out}", file=sys.stderr)
        return 0
    if args.cls is not None:
        if run.family.translates:
            raise ValueError("--class is for class-conditional GANs; a translation run "
                             "translates its test inputs, or a folder with --input FOLDER")
        if not run.family.conditional_g:
            raise ValueError("--class needs a conditional run: model.num_classes > 0 (a class, "
                             "or with data.clusters a cluster) or model.latent_code > 0 (a code)")
        k = run.family.num_classes
        if not 0 <= args.cls < k:
            what = "clusters" if run.cfg.data.clusters else "codes" if run.cfg.model.latent_code \
                else "classes"
            raise ValueError(f"--class {args.cls} is out of range: this run has {k} {what} "
                             f"(0 to {k - 1})")
    if args.interpolate and run.family.translates:
        raise ValueError("--interpolate walks between two noise vectors; a translation run has "
                         "none (it translates its test inputs, or a folder with --input FOLDER)")
    points = run.data.kind == "toy"
    form, out = output_form(args.out or Path(args.run) / f"sample_seed{args.seed}.png", points)
    if form in STREAMED_FORMS:
        if run.family.translates:
            raise ValueError(f"--out {args.out}: a translation run writes its test translations "
                             "as one grid (--out FILE.png), or translates a folder of yours with "
                             "--input FOLDER --out DIR")
        if args.interpolate:
            raise ValueError(f"--out {args.out}: --interpolate draws one picture, a row of its "
                             "steps (or a plot of them): give --out FILE.png")
        write_samples(form, out, sample_batches(run, args.n, args.seed, args.cls), args.n)
        print(str(out))
        return 0
    # a conditional run without --class: one row per class, as in the training snapshots
    by_class = args.cls is None and run.family.class_rows
    nrow = args.n if args.interpolate else run.family.num_classes if by_class else None
    if points:
        check_plot(args.n)
    else:
        check_grid(args.n, tuple(sample(run, 1, args.seed).shape[1:]), nrow, args.interpolate)
    labels = None if args.cls is None else torch.full((args.n,), args.cls, dtype=torch.long)
    if args.interpolate:
        samples = interpolate(run, args.n, args.seed, labels)
    else:
        samples = sample(run, args.n, args.seed, labels)
    if points:
        atomic_write(out, lambda tmp: save_points(samples, tmp, title=f"{args.n} samples"))
    else:
        atomic_write(out, lambda tmp: save_image_grid(samples, tmp, nrow=nrow))
    print(str(out))
    return 0


def picture_out(args, flag: str, drawn: str, name: str, picture: str) -> Path:
    """Where a one-picture variant of `sample` (`flag` draws `drawn`) writes: --out FILE.png or
    RUN/NAME_seedS.png. --interpolate, --class and --input are refused with it."""
    if args.interpolate or args.cls is not None or args.input:
        raise ValueError(f"{flag} draws {drawn}; it takes none of --interpolate, --class and --input")
    out = Path(args.out or Path(args.run) / f"{name}_seed{args.seed}.png")
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out {args.out}: {flag} draws one picture{picture}: give --out FILE.png")
    return out


def write_picture(out: Path, images, nrow: int | None = None) -> int:
    """The images as one grid PNG at `out` (written atomically); its path on stdout."""
    from ganforge.train.checkpoint import atomic_write
    from ganforge.viz import save_image_grid

    atomic_write(out, lambda tmp: save_image_grid(images, tmp, nrow=nrow))
    print(str(out))
    return 0


def sample_reconstructions(run, args) -> int:
    """--reconstruct: a picture of n held-out images (first row) over their reconstructions."""
    from ganforge.eval.likelihood import reconstructions
    from ganforge.sampling import check_grid

    out = picture_out(args, "--reconstruct", "held-out images over their reconstructions",
                      "reconstruct", " (the images over their reconstructions)")
    grid = reconstructions(run, args.n, args.seed)
    check_grid(len(grid), tuple(grid.shape[1:]), args.n, False)
    return write_picture(out, grid, nrow=args.n)


def sample_text(run, args) -> int:
    """--text: n images of one caption (text-to-image runs), one grid picture."""
    from ganforge.sampling import check_grid

    if not hasattr(run.family, "text_inputs"):
        raise ValueError(f"--text needs a text-to-image run (train.family=text2image); "
                         f"{args.run} is train.family={run.cfg.train.family}")
    out = picture_out(args, "--text", "n images of one caption", "text", "")
    inputs = run.family.text_inputs(args.text, args.n, args.seed)
    check_grid(args.n, tuple(run.data.shape), None, False)
    return write_picture(out, run.family.snapshot(inputs))


def sample_sequences(run, args) -> int:
    """A token-sequence run: n sequences as text on stdout, or one a line in --out FILE.txt."""
    from ganforge.eval.tokens import write_sequences

    if args.interpolate or args.cls is not None or args.input:
        raise ValueError("a token-sequence run draws sequences; it takes none of "
                         "--interpolate, --class and --input")
    written = write_sequences(run, args.n, args.seed, args.out, args.temperature)
    if written is not None:
        print(str(written))
    return 0


def interpolate(run, n: int, seed: int, labels=None):
    """A straight latent walk from z(seed) to z(seed + 1) in n steps."""
    import torch

    ends = [run.family.fixed_inputs(1, s)["z"] for s in (seed, seed + 1)]
    t = torch.linspace(0, 1, n).unsqueeze(1)
    inputs = {"z": (1 - t) * ends[0] + t * ends[1]}
    if run.family.conditional_g:  # the class (or cluster) of z(seed)
        inputs["y"] = labels if labels is not None else \
            run.family.fixed_inputs(1, seed)["y"].expand(n)
    return run.family.snapshot(inputs)
