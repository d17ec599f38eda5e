"""`ganforge sample` of a style-transfer run: rewrite a sentence (--text) or a file (--input)
into style --to.

    ganforge sample RUN --text "the food was cold ." --to 1          the greedy rewrite
    ganforge sample RUN --text "..." --to 1 -n 5 [--temperature T]   five sampled rewrites
    ganforge sample RUN --input FILE.txt --to 1 [--out OUT.txt]      each line rewritten

Text is split as the corpora are (ganforge.data.text_styles.tokenize). Words the run never saw
become <unk>, reported once; an empty line stays empty; a line of more than data.max_len words
is cut to them, with one warning that counts such lines. A file is read and written in batches
of BATCH lines (a progress bar on stderr); without --out the rewrites go to stdout.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import torch

from ganforge.data.text_styles import UNK, tokenize

BATCH = 256


class Rewriter:
    """Rewrites of lines of text into one style, noting unknown words and cut lines."""

    def __init__(self, run, to: int):
        self.family, self.to = run.family, to
        self.unknown: set[str] = set()
        self.cut = 0

    def encode(self, line: str) -> torch.Tensor:
        words = tokenize(line)
        vocab, max_len = self.family.vocab, self.family.max_len
        if len(words) > max_len:
            self.cut += 1
        ids = vocab.encode(words, max_len)
        self.unknown.update(w for w, i in zip(words[:max_len], ids.tolist()) if i == UNK)
        return ids

    def rewrite(self, lines: list[str], greedy: bool = True, temperature: float = 1.0,
                generator: torch.Generator | None = None) -> list[str]:
        """Each line rewritten into style `to` (an empty line stays empty)."""
        kept = [i for i, line in enumerate(lines) if line.strip()]
        out = [""] * len(lines)
        if kept:
            rows = torch.stack([self.encode(lines[i]) for i in kept])
            rewrites = self.family.rewrite(rows, 1 - self.to, greedy, temperature, generator)
            for i, row in zip(kept, rewrites):
                out[i] = " ".join(self.family.vocab.decode(row))
        return out

    def warn(self) -> None:
        if self.unknown:
            shown = ", ".join(sorted(self.unknown)[:10]) + (", ..." if len(self.unknown) > 10 else "")
            n = len(self.unknown)
            print(f"ganforge: warning: {n} word{'s' if n > 1 else ''} this run never saw "
                  f"{'were' if n > 1 else 'was'} read as <unk>: {shown}", file=sys.stderr)
        if self.cut:
            print(f"ganforge: warning: {self.cut} line(s) had more than data.max_len="
                  f"{self.family.max_len} words and were cut to them", file=sys.stderr)


def check_to(run, to: int | None, flag: str) -> int:
    if to is None:
        raise ValueError(f"{flag} needs --to STYLE: 0 or 1, the style to rewrite into (data "
                         f"{run.cfg.data.prefix}.train.0 / .1)")
    if to not in (0, 1):
        raise ValueError(f"--to {to} is not a style of this run: 0 or 1")
    return to


def sample_rewrites(run, args) -> int:
    """--text or --input of a style-transfer run (see the module docstring)."""
    if args.text is None and args.input is None:
        raise ValueError(f"{args.run} is a style-transfer run: it rewrites sentences; give "
                         "--text \"SENTENCE\" or --input FILE.txt, and --to 0 or 1")
    if args.text is not None and args.input is not None:
        raise ValueError("give --text or --input, not both")
    if args.input is not None:
        return rewrite_file(run, args)
    to = check_to(run, args.to, "--text")
    if "\n" in args.text:
        raise ValueError("--text is one sentence (no newline); rewrite a file with --input")
    if args.out is not None:
        raise ValueError("--out is for --input FILE.txt; --text prints its rewrites")
    if not args.text.strip():
        raise ValueError("--text is empty: give a sentence to rewrite")
    n = 1 if args.n is None else args.n
    rewriter = Rewriter(run, to)
    if n == 1 and args.temperature is None:
        if args.seed is not None:
            raise ValueError("--seed draws sampled rewrites; the one rewrite of --text is greedy: "
                             "add -n K or --temperature T, or leave --seed out")
        lines = rewriter.rewrite([args.text])
    else:  # n draws from the translator (at --temperature), reproducible from --seed
        generator = torch.Generator(device=run.family.device).manual_seed(args.seed or 0)
        lines = rewriter.rewrite([args.text] * n, greedy=False,
                                 temperature=args.temperature or 1.0, generator=generator)
    rewriter.warn()
    print("\n".join(lines))
    return 0


def read_batches(path: Path, batch: int) -> Iterator[list[str]]:
    """The lines of a UTF-8 file in lists of `batch`, refused in one line if not UTF-8."""
    chunk: list[str] = []
    try:
        with path.open(encoding="utf-8") as f:
            for line in f:
                chunk.append(line.rstrip("\n").rstrip("\r"))
                if len(chunk) == batch:
                    yield chunk
                    chunk = []
    except UnicodeDecodeError as err:
        raise ValueError(f"--input {path} is not UTF-8 text ({err.reason}); nothing was "
                         "written") from None
    if chunk:
        yield chunk


def rewrite_file(run, args) -> int:
    """--input FILE: every line rewritten, to --out (written atomically) or stdout."""
    from tqdm import tqdm

    from ganforge.cli_flags import refuse_existing
    from ganforge.train.checkpoint import atomic_write

    to = check_to(run, args.to, "--input")
    path = Path(args.input)
    if not path.is_file():
        raise FileNotFoundError(f"--input {path}: no such file (give a text file, one sentence a "
                                "line)")
    if args.n is not None or args.temperature is not None or args.seed is not None:
        raise ValueError("--input rewrites each line once, greedily: leave -n, --temperature and "
                         "--seed out")
    out = Path(args.out) if args.out else None
    if out is not None:
        if out.resolve() == path.resolve():
            raise ValueError(f"--out {out} is the --input file; write the rewrites elsewhere")
        refuse_existing(out, args.force)
    for _ in read_batches(path, 1 << 16):  # UTF-8 checked before anything is written
        pass
    total = sum(1 for _ in path.open(encoding="utf-8"))
    rewriter = Rewriter(run, to)
    bar = tqdm(total=total, unit="line", desc="rewriting", file=sys.stderr)

    def write(stream) -> None:
        for lines in read_batches(path, BATCH):
            for line in rewriter.rewrite(lines):
                stream.write(line + "\n")
            bar.update(len(lines))

    if out is None:
        write(sys.stdout)
    else:
        atomic_write(out, lambda tmp: _write_to(tmp, write))
    bar.close()
    rewriter.warn()
    if out is not None:
        print(str(out))
    return 0


def _write_to(tmp: Path, write) -> None:
    with tmp.open("w", encoding="utf-8") as stream:
        write(stream)
