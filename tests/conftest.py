import os
import warnings
from pathlib import Path

import pytest
import torch

from ganforge.config import load_config
from ganforge.train.loop import train as train_run


def pytest_xdist_auto_num_workers(config):
    """`-n auto` (pyproject.toml): one worker per core this process may use, capped by a cgroup
    CPU quota, which a container's CPU affinity does not show."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        cores = min(cores, max(1, int(quota) // int(period)))
    except (OSError, ValueError):  # no cgroup v2 file, or "max": no quota
        pass
    return cores or 1


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    # Small tensors: one thread avoids thread hand-off costs that dominate on 2 shared cores.
    torch.set_num_threads(1)
    yield


@pytest.fixture(scope="module")
def image_run(tmp_path_factory) -> Path:
    """digits-dcgan (G draws one of 50 pixel clusters, then the image), 28 x 28 x 1, after
    one step of tiny nets: one per test module."""
    run = tmp_path_factory.mktemp("digits") / "run"
    cfg = load_config("digits-dcgan", {
        "data.batch_size": 8, "model.g_width": 8, "model.d_width": 8, "train.steps": 1,
        "train.log_every": 1, "train.sample_every": 1, "train.checkpoint_every": 1,
        "train.progress": False})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_run(cfg, run)
    return run


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory) -> Path:
    """toy-ring after 1,000 of its 3,000 steps: every mode found, under half the samples on one
    (what D's samplers, --top-by-d and --langevin-by-d, have room to improve)."""
    run = tmp_path_factory.mktemp("ring") / "run"
    cfg = load_config("toy-ring", {"train.steps": 1000, "train.progress": False})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_run(cfg, run)
    return run


#: a two-style corpus whose truth is known: style 0 and style 1 say the same things in the same
#: frames, and differ only in the adjective (ADJECTIVES[0][i] <-> ADJECTIVES[1][i])
NOUNS = ("food", "service", "staff", "pizza", "coffee", "room", "bread", "music")
ADJECTIVES = (("bad", "awful", "rude", "cold"), ("good", "great", "friendly", "warm"))
FRAMES = ("the {} was {} .", "the {} is {} !", "our {} was {} today .")


def style_sentence(frame: int, noun: int, adjective: int, style: int) -> str:
    return FRAMES[frame].format(NOUNS[noun], ADJECTIVES[style][adjective])


def held_out(frame: int, noun: int, adjective: int) -> bool:
    """The test sentences: one adjective per noun in the first frame, never trained on."""
    return frame == 0 and adjective == noun % 4


@pytest.fixture(scope="session")
def style_corpus(tmp_path_factory):
    """A folder in the text-styles layout (sentiment.train/test.0/.1, reference.0/.1)."""
    folder = tmp_path_factory.mktemp("styles")
    combos = [(f, n, a) for f in range(len(FRAMES)) for n in range(len(NOUNS)) for a in range(4)]
    for s in (0, 1):
        train = [style_sentence(*c, s) for c in combos if not held_out(*c)]
        test = [style_sentence(*c, s) for c in combos if held_out(*c)]
        refs = [f"{style_sentence(*c, s)}\t{style_sentence(*c, 1 - s)}" for c in combos
                if held_out(*c)]
        (folder / f"sentiment.train.{s}").write_text("\n".join(train) + "\n")
        (folder / f"sentiment.test.{s}").write_text("\n".join(test) + "\n")
        (folder / f"reference.{s}").write_text("\n".join(refs) + "\n")
    return folder


#: a tiny style-transfer run: 150 steps of pre-training on the lexicon's pseudo-pairs, 30 of RL
TINY_STYLES = {"data.max_len": 8, "data.batch_size": 16, "style.emb": 16, "style.hidden": 32,
               "style.d_emb": 16, "style.d_filters": 8, "style.pretrain": 150,
               "train.steps": 180, "style.lr_mle": 0.01, "train.log_every": 10,
               "train.sample_every": 90, "train.checkpoint_every": 180, "train.progress": False,
               "train.sample_count": 8}


def train_style_run(corpus, out, **overrides):
    """A run of the yelp-sentiment preset at TINY_STYLES (and `overrides`) on `corpus`."""
    import warnings

    from ganforge.api import train
    from ganforge.config import load_config

    cfg = load_config("yelp-sentiment", {**TINY_STYLES, "data.path": str(corpus), **overrides})
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(cfg, out)
    return out


@pytest.fixture(scope="session")
def style_run(style_corpus, tmp_path_factory):
    """The folder of a TINY_STYLES run on style_corpus, scored every 90 steps."""
    return train_style_run(style_corpus, tmp_path_factory.mktemp("style") / "run",
                           **{"train.eval_every": 90})
