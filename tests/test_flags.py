"""Every flag of `sample` and `eval` against every kind of run: a flag the run would ignore is
refused in one line that names it, and nothing is written; a flag that applies passes the one
check (ganforge.cli_flags). The expected table is written out here, not read from the code."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from ganforge.api import train
from ganforge.cli import build_parser, main
from ganforge.cli_flags import APPLIES, check_flags
from ganforge.config import load_config
from ganforge.run import load_run

SHORT = {"train.steps": 2, "train.log_every": 1, "train.sample_every": 2,
         "train.checkpoint_every": 2, "train.progress": False, "train.sample_count": 4}
SMALL = {"data.batch_size": 8, "model.g_width": 8, "model.d_width": 8}
TINY_ORACLE = {"seq.vocab": 20, "seq.length": 6, "seq.train_size": 64, "seq.test_size": 32,
               "seq.oracle_emb": 8, "seq.oracle_hidden": 8, "seq.emb": 8, "seq.hidden": 8,
               "data.batch_size": 16}
#: one run of each kind: (preset, overrides)
KINDS = {
    "points": ("toy-ring", {}),
    "images": ("digits-dcgan", {**SMALL, "data.clusters": 0, "model.num_classes": 0,
                                "model.head": "plain"}),
    "conditional": ("digits-cgan", SMALL),
    "clusters": ("digits-dcgan", SMALL),  # G draws one of 50 pixel clusters, then the image
    "translation": ("pix2pix-edges", SMALL),
    "vae": ("digits-vae", SMALL),
    "vaegan": ("digits-vaegan", SMALL),
    "text": ("digits-text2image", {**SMALL, "text2image.pretrain_steps": 1}),
    "tokens": ("oracle-mle", TINY_ORACLE),
    "styles": ("yelp-sentiment", {"data.max_len": 8, "data.batch_size": 8, "style.emb": 8,
                                  "style.hidden": 8, "style.d_emb": 8, "style.d_filters": 4,
                                  "style.pretrain": 1, "data.path": "STYLE_CORPUS"}),
}
#: (verb, flag, value) -> the kinds of run that take it
EXPECTED = {
    ("sample", "--class", "1"): {"conditional", "clusters"},
    ("sample", "--interpolate", None): {"points", "images", "conditional", "clusters", "vae",
                                        "vaegan", "text"},
    ("sample", "--input", "FOLDER"): {"translation", "styles"},
    ("sample", "--text", "a thin two"): {"text", "styles"},
    ("sample", "--to", "1"): {"styles"},
    ("sample", "--reconstruct", None): {"vae", "vaegan"},
    ("sample", "--temperature", "0.5"): {"tokens", "styles"},
    ("sample", "--seed", "3"): {"points", "images", "conditional", "clusters", "vae", "vaegan",
                                "text", "tokens", "styles"},
    ("sample", "--top-by-d", "0.5"): {"points", "images", "clusters"},
    ("sample", "--langevin-by-d", "2"): {"points", "images", "clusters"},
    ("eval", "--metrics", "fid"): {"points", "images", "conditional", "clusters", "vae", "vaegan",
                                   "text", "tokens"},
    ("eval", "--seed", "3"): {"points", "images", "conditional", "clusters", "vae", "vaegan",
                              "text", "tokens"},
    ("eval", "--features", "raw"): {"images", "conditional", "clusters", "vae", "vaegan", "text"},
    ("eval", "--iwae-k", "5"): {"vae"},
    ("eval", "--temperature", "0.5"): {"tokens"},
    ("eval", "--top-by-d", "0.5"): {"points", "images", "clusters"},
    ("eval", "--langevin-by-d", "2"): {"points", "images", "clusters"},
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, style_corpus) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("kinds")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kind, (preset, overrides) in KINDS.items():
            overrides = {k: str(style_corpus) if v == "STYLE_CORPUS" else v
                         for k, v in overrides.items()}
            train(load_config(preset, {**SHORT, **overrides}), root / kind)
    return {kind: root / kind for kind in KINDS}


def test_the_expected_table_covers_every_flag_of_the_code():
    assert {(verb, flag) for verb, flag, _ in EXPECTED} == set(APPLIES)


def argv(verb: str, flag: str, value: str | None, run: Path, tmp_path: Path) -> list[str]:
    args = [verb, str(run), flag, *([] if value is None else
                                    [str(tmp_path / "in") if value == "FOLDER" else value])]
    if verb == "eval" and flag == "--iwae-k":
        args += ["--metrics", "iwae_ll"]
    return args


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("verb, flag, value", list(EXPECTED))
def test_a_flag_is_taken_by_the_runs_it_applies_to_and_refused_by_the_others(
        verb, flag, value, kind, runs, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    args = argv(verb, flag, value, runs[kind], tmp_path)
    if kind in EXPECTED[verb, flag, value]:
        parsed = build_parser().parse_args(args)
        check_flags(verb, parsed, load_run(runs[kind]))  # passes the one check
        return
    before = sorted(p.name for p in runs[kind].iterdir())
    capsys.readouterr()
    assert main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"ganforge {verb}: error: {flag} is for "), lines
    assert str(runs[kind]) in lines[0] and "train.family=" in lines[0]
    assert sorted(p.name for p in runs[kind].iterdir()) == before  # nothing written


@pytest.mark.parametrize("args, message", [
    (["sample", "translation", "--input", "IN", "-n", "3"], "-n does not apply to --input"),
    (["eval", "vae", "--metrics", "fid", "--iwae-k", "5"],
     "--iwae-k sets the importance samples of the metric iwae_ll, which --metrics fid does not"),
    (["eval", "vae", "--iwae-k", "5"], "which the default plan does not ask for"),
    (["eval", "vae", "--metrics", "iwae_ll", "--n", "10"], "--n does not apply to --metrics iwae_ll"),
    (["eval", "vae", "--metrics", "elbo,iwae_ll", "--features", "raw"],
     "--features does not apply to --metrics elbo,iwae_ll"),
    (["sample", "images", "--interpolate", "--top-by-d", "0.5"],
     "--interpolate walks between two noise vectors and --top-by-d keeps the best of many"),
    (["sample", "images", "--interpolate", "--langevin-by-d", "2"],
     "--interpolate walks between two noise vectors and --langevin-by-d moves every draw"),
])
def test_flags_that_a_mode_would_ignore_are_refused(args, message, runs, tmp_path, capsys):
    (tmp_path / "IN").mkdir()
    args = [str(runs[a]) if a in runs else str(tmp_path / a) if a == "IN" else a for a in args]
    capsys.readouterr()
    assert main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
