"""Does the picture match the words? The digits-text2image preset, measured.

    python benchmarks/text2image.py --train /tmp/t2i/run          # train the preset, then score
    python benchmarks/text2image.py --run RUN                     # score a finished run
    python benchmarks/text2image.py --train DIR --set text2image.encoder=joint --tag joint
    python benchmarks/text2image.py --train DIR --set seed=1 --tag seed1          # another seed
    python benchmarks/text2image.py --train DIR --set text2image.encoder_arch=gru --tag gru
    python benchmarks/text2image.py --run RUN --cond-noise 1 --tag noise1  # c ~ N(mu, sigma^2)

Agreement with the words, on the captions of the 1,000 test digits (seed 0, one image a
caption, EMA G with c = mu(h)):
  digit       the bundled digits classifier (ganforge/metrics/digits_classifier.py) names the
              digit of the caption
  thickness   the image's thickness class (the same attribute functions and training cut
  slant       points that made the captions) is the caption's; likewise slant
on three caption sets: `seen` (each test digit's first caption, seen wordings), `held-out
wordings` (each test digit in a held-out template), `held-out combinations` (1,000 captions of
the (digit, thickness, slant) triples no training image has, seen wordings). The same figures
for the real test images (their ceiling; for held-out combinations, the test digits that have
one) and for G fed the caption of another test digit (a G that ignores the text: chance).

Besides: digit FID (the classifier's features) of 5,000 samples for the 5 captions of every
test digit against all 5,000 real digits (the protocol of the image presets' table) and of the
1,000 `seen` samples against the 1,000 test digits; D's mean logit on test digits with their
own caption and with the caption of a test digit of another class (and the share of digits
scored higher with their own); thin -> thick interpolation: for 100 noise draws (digit i mod
10, upright), the thickness of G(z, (1 - t) h(thin) + t h(thick)) at t = 0, 1/4, ..., 1 never
decreases and ends higher: the share of draws where it does (and, as a second opinion, the
share by ink area over skeleton length, the estimator the captions used before).
Results go to benchmarks/results/text2image[-TAG].json (--results DIR: DIR/text2image[-TAG].json).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from ganforge.api import load_run, train
from ganforge.config import load_config, parse_set
from ganforge.data.captions import (
    SEEN_TEMPLATES,
    VOCAB,
    describe,
    encode_all,
    held_out_combinations,
    load_captioned_digits,
    plain_caption,
)
from ganforge.metrics.digit_attributes import bin_attributes, measure
from ganforge.metrics.digits_classifier import load_digits_classifier
from ganforge.metrics.features import extract_features
from ganforge.metrics.fid import fid_from_features
from ganforge.train.checkpoint import atomic_write

RESULTS = Path(__file__).parent / "results"


def agreement(images: torch.Tensor, targets: torch.Tensor, classifier, cuts) -> dict:
    """Shares of images whose digit, thickness class, slant class (and all three) are the
    targets (N, 3) of their captions."""
    with torch.no_grad():
        digit = torch.cat([classifier(b).argmax(1) for b in images.split(500)])
    bins = torch.from_numpy(bin_attributes(measure(images), cuts))
    right = torch.stack([digit == targets[:, 0], bins[:, 0] == targets[:, 1],
                         bins[:, 1] == targets[:, 2]], 1)
    shares = right.float().mean(0).tolist()
    return {"digit": shares[0], "thickness": shares[1], "slant": shares[2],
            "all": float(right.all(1).float().mean()), "n": len(images)}


def caption_sets(test, seed: int = 0) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """name -> (tokens (N, L), targets (N, 3): digit, thickness, slant)."""
    own = torch.stack([test.labels, test.bins[:, 0], test.bins[:, 1]], 1)
    held = held_out_combinations()
    rng = np.random.default_rng([seed, 3])
    digits = [i % 10 for i in range(1000)]
    texts = [describe(d, (*held[d], int(rng.integers(2))), int(rng.choice(SEEN_TEMPLATES)), rng)
             for d in digits]
    combos = torch.tensor([(d, *held[d]) for d in digits])
    return {"seen": (test.tokens[:, 0], own), "held-out wordings": (test.held_out_tokens, own),
            "held-out combinations": (encode_all(texts), combos)}


def generate(family, tokens: torch.Tensor, seed: int, cond_noise: float = 0.0) -> torch.Tensor:
    """One image per caption: z from `seed`, and with cond_noise = s > 0 the conditioning
    c = mu(h) + s sigma(h) eps (eps from the same stream) instead of c = mu(h)."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(len(tokens), family.z_dim, generator=g)
    eps = cond_noise * torch.randn(len(tokens), family.t.cond_dim, generator=g)
    with torch.no_grad():
        return torch.cat([family.generate(zb, family.text(tb), eb if cond_noise else None)
                          for zb, tb, eb in zip(z.split(500), tokens.split(500), eps.split(500))])


def d_scores(family, test) -> dict:
    """D's mean logit on test digits with their own first caption and with that of the next
    test digit of another class."""
    labels = test.labels
    other = torch.tensor([next(j % len(labels) for j in range(i + 1, i + len(labels))
                               if labels[j % len(labels)] != labels[i]) for i in range(len(labels))])
    d = family.D.eval()
    with torch.no_grad():
        h = family.text(test.tokens[:, 0])
        phi = d.features(test.images)
        right, wrong = d.score(phi, h), d.score(phi, h[other])
    return {"real_right_mean": float(right.mean()), "real_wrong_mean": float(wrong.mean()),
            "share_right_above_wrong": float((right > wrong).float().mean())}


def skeleton_thickness(images: torch.Tensor) -> np.ndarray:
    """Ink area over the length of its Zhang-Suen skeleton (ink: x > 0): a second reading of
    thickness beside 2 M / P, one that moves in steps of ~0.1 px."""
    from skimage.morphology import skeletonize

    ink = images[:, 0].numpy() > 0
    return np.array([m.sum() / max(int(skeletonize(m).sum()), 1) if m.any() else 0.0
                     for m in ink])


def rises(values: np.ndarray) -> bool:
    return bool((np.diff(values) >= 0).all() and values[-1] > values[0])


def thin_to_thick(family, digit: int, steps: int) -> torch.Tensor:
    """(steps, text_dim) sentence vectors (1 - t) h(thin) + t h(thick), t = 0 .. 1, of the
    upright `digit`."""
    t = torch.linspace(0, 1, steps)
    with torch.no_grad():
        ends = family.text(torch.stack([VOCAB.encode(plain_caption(digit, k, 1), 11)
                                        for k in (0, 2)]))
    return (1 - t)[:, None] * ends[0] + t[:, None] * ends[1]


def interpolation(family, draws: int = 100, steps: int = 5, cond_noise: float = 0.0) -> dict:
    z = torch.randn(draws, family.z_dim, generator=torch.Generator().manual_seed(1))
    eps = cond_noise * torch.randn(draws, family.t.cond_dim,
                                   generator=torch.Generator().manual_seed(2))
    rising = rising_skeleton = 0
    curves = []
    for i in range(draws):
        h = thin_to_thick(family, i % 10, steps)
        images = family.generate(z[i].expand(steps, -1), h,
                                 eps[i].expand(steps, -1) if cond_noise else None)
        values = measure(images)["thickness"]
        curves.append(values.tolist())
        rising += rises(values)
        rising_skeleton += rises(skeleton_thickness(images))
    return {"monotonic_share": rising / draws, "draws": draws, "steps": steps,
            "mean_curve": np.mean(curves, 0).tolist(),
            "monotonic_share_skeleton": rising_skeleton / draws}


FIGURE_CAPTIONS = (  # (caption, what no training caption has)
    ("a thin two leaning left", ""),
    ("a bold 7, slanted to the right", ""),
    ("the number three in a heavy hand, upright", ""),
    ("leaning right, a light 8", "wording held out"),
    ("a big 5 in a fine hand, tilted left", "wording held out"),
)
FIGURE_WALKS = ((2, 3, "a two, upright"), (7, 4, "a seven, upright"), (0, 5, "a zero, upright"))


def figure(family, path: Path, per_row: int = 8) -> None:
    """Rows of samples for FIGURE_CAPTIONS and a held-out combination, then thin -> thick
    walks of the sentence vector (FIGURE_WALKS: digit, noise seed), each image's 2 M / P above."""
    from ganforge.viz import _figure

    held = held_out_combinations()
    captions = [*FIGURE_CAPTIONS, (plain_caption(4, *held[4]), "combination held out")]
    z = torch.randn(per_row, family.z_dim, generator=torch.Generator().manual_seed(2))
    rows = [family.snapshot({"z": z, "tokens": VOCAB.encode(text).expand(per_row, -1)})
            for text, _ in captions]
    texts = [f"{text} ({note})" if note else text for text, note in captions]
    walks = []
    for d, seed, _ in FIGURE_WALKS:
        zw = torch.randn(1, family.z_dim, generator=torch.Generator().manual_seed(seed))
        walks.append(family.generate(zw.expand(5, -1), thin_to_thick(family, d, 5)))
    plt = _figure()
    fig = plt.figure(figsize=(per_row * 0.8 + 3.2, (len(rows) + 3) * 0.85), dpi=100)
    grid = fig.add_gridspec(len(rows) + 3, per_row + 4, left=0.01, right=0.99, top=0.97,
                            bottom=0.01, wspace=0.08, hspace=0.35)
    for r, (text, images) in enumerate(zip(texts, rows)):
        label = fig.add_subplot(grid[r, :4])
        label.text(1, 0.5, text, ha="right", va="center", fontsize=8)
        label.axis("off")
        for c in range(per_row):
            ax = fig.add_subplot(grid[r, 4 + c])
            ax.imshow(images[c, 0], cmap="gray", vmin=-1, vmax=1)
            ax.axis("off")
    for r, images in enumerate(walks):
        row = len(rows) + r
        label = fig.add_subplot(grid[row, :4])
        label.text(1, 0.5, f"thin -> thick walk, {FIGURE_WALKS[r][2]}", ha="right",
                   va="center", fontsize=8)
        label.axis("off")
        for c, value in enumerate(measure(images)["thickness"]):
            ax = fig.add_subplot(grid[row, 4 + c])
            ax.imshow(images[c, 0], cmap="gray", vmin=-1, vmax=1)
            ax.set_title(f"{value:.2f} px", fontsize=7, pad=2)
            ax.axis("off")
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)


def fid(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(fid_from_features(extract_features("digits", a), extract_features("digits", b)))


def score(run_dir: Path, cond_noise: float = 0.0) -> dict:
    run = load_run(run_dir)
    family, classifier = run.family, load_digits_classifier()
    test = load_captioned_digits("test")
    cuts = test.cuts
    out: dict = {"run": str(run_dir), "step": run.step, "agreement": {}}
    held = held_out_combinations()
    has_held = torch.tensor([held[int(y)] == (int(b[0]), int(b[1]))
                             for y, b in zip(test.labels, test.bins)])
    for name, (tokens, targets) in caption_sets(test).items():
        images = generate(family, tokens, 0, cond_noise)
        shuffled = torch.randperm(len(tokens), generator=torch.Generator().manual_seed(5))
        ignoring = generate(family, tokens[shuffled], 0, cond_noise)
        if name == "held-out combinations":
            real = agreement(test.images[has_held], torch.stack(
                [test.labels, test.bins[:, 0], test.bins[:, 1]], 1)[has_held], classifier, cuts)
        else:
            real = agreement(test.images, targets, classifier, cuts)
        out["agreement"][name] = {"G": agreement(images, targets, classifier, cuts),
                                  "real (ceiling)": real,
                                  "G ignoring the text (chance)": agreement(ignoring, targets,
                                                                            classifier, cuts)}
        if name == "seen":
            out["fid_1000_vs_test"] = fid(images, test.images)
    every = test.tokens.reshape(-1, test.tokens.shape[-1])
    from ganforge.data.images import load_image_set

    all_real = load_image_set("mnist5k", "all", 28, 1).images
    out["fid_5000_vs_all"] = fid(generate(family, every, 0, cond_noise), all_real)
    out["d_scores"] = d_scores(family, test)
    out["interpolation"] = interpolation(family, cond_noise=cond_noise)
    out["cond_noise"] = cond_noise
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--run", help="score this finished run")
    p.add_argument("--train", help="train the preset into this folder first, timed")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--tag", default="")
    p.add_argument("--results", type=Path, default=RESULTS, help="folder of the result files")
    p.add_argument("--cond-noise", type=float, default=0.0, metavar="S",
                   help="sample c = mu(h) + S sigma(h) eps (StackGAN's sampling at S = 1) instead "
                        "of c = mu(h)")
    p.add_argument("--figure", metavar="FILE.png",
                   help="only draw samples for a few captions and thin -> thick walks of --run")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.figure:
        figure(load_run(args.run).family, Path(args.figure))
        return
    name = "text2image" + (f"-{args.tag}" if args.tag else "") + ".json"
    result: dict = {}
    path = args.results / name
    if args.run and path.exists():  # scoring again keeps the run's training times
        before = json.loads(path.read_text())
        if before.get("run") == args.run:
            result = {k: before[k] for k in ("train_wall_s", "train_cpu_s", "overrides")
                      if k in before}
    if args.train:
        cfg = load_config("digits-text2image", {**parse_set(args.set), "train.progress": False})
        start, cpu = time.perf_counter(), time.process_time()
        train(cfg, Path(args.train))
        result["train_wall_s"] = time.perf_counter() - start
        result["train_cpu_s"] = time.process_time() - cpu
        result["overrides"] = args.set
    run_dir = Path(args.train or args.run)
    result.update(score(run_dir, args.cond_noise))
    result["threads"] = args.threads
    args.results.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(result, indent=1)))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
