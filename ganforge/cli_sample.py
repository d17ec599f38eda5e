"""`ganforge sample`: a run's samples as a picture, files or text, and its one-picture
variants (--interpolate, --reconstruct, --text); style-transfer runs rewrite text
(ganforge.cli_rewrite)."""

from __future__ import annotations

import sys
from pathlib import Path


def cmd_sample(args) -> int:
    import torch

    from ganforge.api import sample
    from ganforge.cli_flags import check_disk, load_checked, refuse_existing
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

    if args.n is not None and args.n < 1:
        raise ValueError(f"-n must be at least 1, got {args.n}")
    run = load_checked("sample", args)  # every flag this run would ignore is refused here
    if run.data.kind == "styles":
        from ganforge.cli_rewrite import sample_rewrites

        return sample_rewrites(run, args)
    if args.input:
        return sample_translations(run, args)
    args.n = DEFAULT_N if args.n is None else args.n
    args.seed = args.seed or 0
    args.temperature = args.temperature or 1.0
    if run.data.kind == "tokens":
        return sample_sequences(run, args)
    if args.reconstruct:
        return sample_reconstructions(run, args)
    if args.text is not None:
        return sample_text(run, args)
    if args.cls is not None:
        k = run.family.num_classes
        if not 0 <= args.cls < k:
            what = "clusters" if run.cfg.data.clusters else "codes" if run.cfg.model.latent_code \
                else "classes"
            raise ValueError(f"--class {args.cls} is out of range: this run has {k} {what} "
                             f"(0 to {k - 1})")
    points = run.data.kind == "toy"
    form, out = output_form(args.out or default_out(args), points)
    if form in STREAMED_FORMS:
        if run.family.translates:
            raise ValueError(f"--out {args.out}: a translation run writes its test translations "
                             "as one grid (--out FILE.png), or translates a folder of yours with "
                             "--input FOLDER --out DIR")
        if args.interpolate:
            raise ValueError(f"--out {args.out}: --interpolate draws one picture, a row of its "
                             "steps (or a plot of them): give --out FILE.png")
        if form != "folder":
            refuse_existing(out, args.force)
        check_disk("-n", args.n, streamed_bytes(form, run), out, f"the samples as {form}")
        write_samples(form, out, sample_batches(run, args.n, args.seed, args.cls,
                                                top_by_d=args.top_by_d,
                                                langevin=args.langevin), args.n)
        print(str(out))
        return 0
    # a conditional run without --class: one row per class, as in the training snapshots
    by_class = args.cls is None and run.family.class_rows
    nrow = args.n if args.interpolate else run.family.num_classes if by_class else None
    if points:
        check_plot(args.n)
    else:
        check_grid(args.n, tuple(sample(run, 1, args.seed).shape[1:]), nrow, args.interpolate)
    refuse_existing(out, args.force)
    labels = None if args.cls is None else torch.full((args.n,), args.cls, dtype=torch.long)
    if args.interpolate:
        samples = interpolate(run, args.n, args.seed, labels)
    elif args.top_by_d is not None or args.langevin is not None:
        samples = torch.cat(list(sample_batches(run, args.n, args.seed, args.cls,
                                                top_by_d=args.top_by_d, langevin=args.langevin)))
    else:
        samples = sample(run, args.n, args.seed, labels)
    if points:
        atomic_write(out, lambda tmp: save_points(samples, tmp, title=f"{args.n} samples"))
    else:
        atomic_write(out, lambda tmp: save_image_grid(samples, tmp, nrow=nrow))
    print(str(out))
    return 0


#: samples drawn when -n is left out
DEFAULT_N = 64


def default_out(args) -> Path:
    """RUN/NAME.png, a name of its own for each kind of picture, so that one kind never
    stands in the way of another: sample_seedS (a grid), sample_classC_seedS (one class),
    interpolate_seedS (a walk); --text and --reconstruct: see picture_out."""
    if args.interpolate:
        name = f"interpolate_seed{args.seed}"
    elif args.cls is not None:
        name = f"sample_class{args.cls}_seed{args.seed}"
    else:
        name = f"sample_seed{args.seed}"
    return Path(args.run) / f"{name}.png"


def streamed_bytes(form: str, run) -> int:
    """About how many bytes a sample takes on disk in a streamed form (a PNG: at most its
    pixels and headers; CSV: 16 characters a coordinate)."""
    from ganforge.cli_flags import sample_bytes

    if form == "csv":
        return 16 * run.data.shape[0]
    if form == "folder":
        return sample_bytes(run) // 4 + 100
    return sample_bytes(run)


def sample_translations(run, args) -> int:
    """--input FOLDER: every image of it translated into --out DIR (default RUN/translations/),
    a new or empty folder unless --force (then same-named PNGs are replaced)."""
    from ganforge.eval.translation import translate_folder

    out = Path(args.out or Path(args.run) / "translations")
    if out.is_dir() and any(out.iterdir()) and not args.force:
        raise FileExistsError(f"--out {out}: the folder is not empty; translations go into a new or "
                              "empty folder (pass --force to write into it, replacing PNGs of "
                              "the same names)")
    written = translate_folder(run, Path(args.input), out)
    print(f"translated {written} images into {out}", file=sys.stderr)
    return 0


def picture_out(args, flag: str, drawn: str, name: str, picture: str) -> Path:
    """Where a one-picture variant of `sample` (`flag` draws `drawn`) writes: --out FILE.png or
    RUN/NAME_seedS.png, not yet there unless --force. --interpolate, --class and --input are
    refused with it."""
    from ganforge.cli_flags import refuse_existing

    if args.interpolate or args.cls is not None or args.input:
        raise ValueError(f"{flag} draws {drawn}; it takes none of --interpolate, --class and --input")
    out = Path(args.out or Path(args.run) / f"{name}_seed{args.seed}.png")
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out {args.out}: {flag} draws one picture{picture}: give --out FILE.png")
    refuse_existing(out, args.force)
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
    """--text: n images of one caption (text-to-image runs): one grid picture (--out FILE.png,
    default RUN/text_seedS.png), or streamed like any run's samples (--out FILE.npz or DIR/)."""
    from ganforge.cli_flags import check_disk, refuse_existing
    from ganforge.sampling import STREAMED_FORMS, check_grid, output_form, write_samples

    if args.interpolate or args.cls is not None:
        raise ValueError("--text draws n images of one caption; it takes neither --interpolate "
                         "nor --class")
    tokens = run.family.text_inputs(args.text, 1, args.seed)["tokens"]  # the caption, checked
    form, out = output_form(args.out or Path(args.run) / f"text_seed{args.seed}.png", False)
    if form in STREAMED_FORMS:
        if form != "folder":
            refuse_existing(out, args.force)
        check_disk("-n", args.n, streamed_bytes(form, run), out, f"the samples as {form}")
        write_samples(form, out, text_batches(run, tokens, args.n, args.seed), args.n)
        print(str(out))
        return 0
    check_grid(args.n, tuple(run.data.shape), None, False)
    refuse_existing(out, args.force)
    return write_picture(out, run.family.snapshot(run.family.text_inputs(args.text, args.n,
                                                                         args.seed)))


def text_batches(run, tokens, n: int, seed: int):
    """The images of --text drawn batch by batch: the same noise as text_inputs(text, n, seed)
    (see batch_sizes), so the same images as the picture."""
    import torch

    from ganforge.families.base import batch_sizes
    from ganforge.sampling import SAMPLE_BATCH

    noise = torch.Generator().manual_seed(seed)
    for size in batch_sizes(n, SAMPLE_BATCH):
        z = torch.randn(size, run.family.z_dim, generator=noise)
        yield run.family.snapshot({"z": z, "tokens": tokens.expand(size, -1)})


def sample_sequences(run, args) -> int:
    """A token-sequence run: n sequences as text on stdout, or one a line in --out FILE.txt."""
    from ganforge.cli_flags import check_memory, refuse_existing, sample_bytes
    from ganforge.eval.tokens import write_sequences

    if args.out is not None:
        if Path(args.out).suffix.lower() != ".txt":
            raise ValueError(f"--out {args.out}: a token-sequence run writes text, one sequence "
                             "a line; give --out FILE.txt")
        refuse_existing(Path(args.out), args.force)
    check_memory("-n", args.n, sample_bytes(run), "the sequences and their text, held whole")
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
