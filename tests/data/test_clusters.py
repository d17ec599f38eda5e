"""data.clusters: k-means cluster labels, G drawing clusters in their data shares, the refusals."""

from __future__ import annotations

import itertools
import json

import pytest
import torch

from ganforge.cli import main
from ganforge.config import load_config
from ganforge.data.clusters import kmeans_fit, kmeans_labels, nearest_centre
from ganforge.data.sets.toys import CLUSTER_FIT_POINTS
from ganforge.data.toy import grid25
from ganforge.families import build_family, load_data
from ganforge.run import build

CLUSTERED = {"data.clusters": 6, "model.num_classes": 6, "model.head": "projection",
             "model.g_width": 8, "model.d_width": 8, "data.batch_size": 8}


def three_blobs() -> tuple[torch.Tensor, torch.Tensor]:
    """60 4x4 'images' in three tight groups of 30, 20 and 10 around far-apart grey levels."""
    g = torch.Generator().manual_seed(0)
    truth = torch.tensor([0] * 30 + [1] * 20 + [2] * 10)
    levels = torch.tensor([-0.8, 0.0, 0.8])
    images = levels[truth].view(-1, 1, 1, 1) + 0.02 * torch.randn(60, 1, 4, 4, generator=g)
    return images, truth


def test_kmeans_finds_well_separated_groups_and_their_shares():
    images, truth = three_blobs()
    labels, shares = kmeans_labels(images, 3, seed=0)
    # the same partition up to renaming the clusters
    mapping = {int(t): int(lab) for t, lab in zip(truth, labels)}
    assert sorted(mapping.values()) == [0, 1, 2]
    assert torch.equal(labels, torch.tensor([mapping[int(t)] for t in truth]))
    expected = torch.zeros(3)
    for t, share in ((0, 0.5), (1, 20 / 60), (2, 10 / 60)):
        expected[mapping[t]] = share
    assert (shares - expected).abs().max().item() < 1e-6
    again, _ = kmeans_labels(images, 3, seed=0)
    assert torch.equal(labels, again)  # every process finds the same clusters


@pytest.mark.parametrize("k", [1, 61])
def test_kmeans_refuses_impossible_cluster_counts(k):
    images, _ = three_blobs()
    with pytest.raises(ValueError, match="between 2 and the number of training images"):
        kmeans_labels(images, k)


def _family(**extra):
    cfg = load_config("digits-cgan", dict(CLUSTERED, **{"data.labels": False}, **extra))
    data = load_data(cfg)
    return data, build_family(cfg, data, torch.device("cpu"))


def test_clustered_digits_stream_cluster_labels_and_g_draws_them_in_their_shares():
    data, family = _family()
    assert data.num_classes == 6 and abs(data.label_prior.sum().item() - 1) < 1e-6
    batch = data.stream.next()
    assert batch["y"].min() >= 0 and batch["y"].max() < 6
    torch.manual_seed(0)
    drawn = family.fake_labels(30000)
    counts = torch.bincount(drawn, minlength=6).float() / 30000
    assert (counts - data.label_prior).abs().max().item() < 0.015
    # the sample grids and evaluation draw clusters the same way, reproducibly
    first = family.fixed_inputs(5000, seed=3)["y"]
    assert torch.equal(first, family.fixed_inputs(5000, seed=3)["y"])
    counts = torch.bincount(first, minlength=6).float() / 5000
    assert (counts - data.label_prior).abs().max().item() < 0.03
    assert family.conditional_g and not family.class_rows


def test_the_checkpoint_keeps_the_cluster_shares():
    _, family = _family()
    state = family.extra_state()
    _, other = _family()
    other.label_prior = torch.full((6,), 1 / 6)
    other.load_extra_state(state)
    assert torch.equal(other.label_prior, family.label_prior)


@pytest.mark.parametrize("overrides, message", [
    ({"data.labels": True}, "set data.labels=false"),
    ({"model.num_classes": 0, "model.head": "plain"}, "set model.num_classes=6"),
    ({"model.num_classes": 10}, r"has 6 clusters \(data.clusters\): set model.num_classes=6"),
])
def test_inconsistent_cluster_settings_are_refused(overrides, message):
    settings = dict(CLUSTERED, **{"data.labels": False})
    settings.update(overrides)
    cfg = load_config("digits-cgan", settings)
    with pytest.raises(ValueError, match=message):
        build(cfg)


def test_global_categorical_slices_one_global_draw():
    """W processes with batch m draw exactly the labels one process with batch W*m would."""
    _, family = _family()
    probs = torch.tensor([0.5, 0.3, 0.2, 0.0, 0.0, 0.0])
    torch.manual_seed(7)
    whole = family.global_categorical(probs, 12)
    family.world = 3
    parts = []
    for rank in range(3):
        family.rank = rank
        torch.manual_seed(7)
        parts.append(family.global_categorical(probs, 4))
    interleaved = torch.tensor(list(itertools.chain(*zip(*[p.tolist() for p in parts]))))
    assert torch.equal(interleaved, whole)
    assert whole.max() <= 2  # clusters with no share are never drawn


def assert_nearest(images: torch.Tensor, centres: torch.Tensor, picks: torch.Tensor) -> None:
    """Each pick is a nearest centre in float64 distance: float32 rounding (which differs
    between CPUs) may only choose between centres tied to within 1e-5 of the distance."""
    distances = torch.cdist(images.flatten(1).double(), centres.flatten(1).double()) ** 2
    best = distances.min(1).values
    assert (distances.gather(1, picks[:, None]).squeeze(1) - best <= 1e-5 * best).all()


def test_nearest_centre_is_the_assignment_of_scikit_learn():
    """The stream's labelling rule against KMeans.predict on points it was not fitted on."""
    from sklearn.cluster import KMeans

    g = torch.Generator().manual_seed(1)
    fit_on, unseen = torch.randn(300, 2, 3, 3, generator=g), torch.randn(200, 2, 3, 3, generator=g)
    _, _, centres = kmeans_fit(fit_on, 7, seed=0)
    reference = KMeans(n_clusters=7, n_init=3, random_state=0).fit(
        fit_on.flatten(1).double().numpy())
    expected = torch.as_tensor(reference.predict(unseen.flatten(1).double().numpy()))
    assert_nearest(unseen, centres, expected)  # scikit-learn's centres are ours
    for points in (fit_on, unseen):
        assert_nearest(points, centres, nearest_centre(points, centres))
    assert (nearest_centre(unseen, centres) == expected).float().mean() > 0.99


def _stacked(monkeypatch):
    import ganforge.data.sets.stacked as stacked_set

    monkeypatch.setattr(stacked_set, "CLUSTER_FIT_TRIPLES", 400)  # k-means in a second
    settings = {"data.clusters": 5, "model.num_classes": 5, "model.head": "projection",
                "model.g_width": 8, "model.d_width": 8, "data.batch_size": 16}
    cfg = load_config("stacked-dcgan", settings)
    data = load_data(cfg)
    return cfg, data, build_family(cfg, data, torch.device("cpu"))


def test_clustered_stacked_digits_label_each_fresh_image_with_its_nearest_centre(monkeypatch):
    from ganforge.data.stacked import stacked_images

    cfg, data, family = _stacked(monkeypatch)
    fit_on = stacked_images(400, cfg.seed, "train")[0]
    _, prior, centres = kmeans_fit(fit_on, 5, cfg.seed)
    assert data.num_classes == 5 and torch.equal(data.label_prior, prior)
    assert torch.equal(data.stream.centres, centres)
    batch = data.stream.next()
    assert_nearest(batch["x"], centres, batch["y"])
    # G draws its clusters in the fitted shares
    torch.manual_seed(0)
    counts = torch.bincount(family.fake_labels(30000), minlength=5).float() / 30000
    assert (counts - prior).abs().max().item() < 0.015


def test_clustered_toy_samples_are_labelled_with_their_nearest_centre():
    cfg = load_config("toy-grid", {"data.clusters": 50, "model.num_classes": 50,
                                   "model.head": "projection"})
    data = load_data(cfg)
    grid = grid25()
    fit_on = grid.sample(CLUSTER_FIT_POINTS, torch.Generator().manual_seed(cfg.seed))
    _, prior, centres = kmeans_fit(fit_on, 50, cfg.seed)
    assert data.num_classes == 50 and torch.equal(data.label_prior, prior)
    assert torch.equal(data.stream.centres, centres)
    batch = data.stream.next()
    assert_nearest(batch["x"], centres, batch["y"])
    # the modes are 40 std apart: every cluster lies inside one mode, none between two
    nearest_mode = torch.cdist(centres.double(), grid.centers).min(1).values
    assert (nearest_mode < 3 * grid.std).all()
    family = build_family(cfg, data, torch.device("cpu"))
    torch.manual_seed(0)
    counts = torch.bincount(family.fake_labels(30000), minlength=50).float() / 30000
    assert (counts - prior).abs().max().item() < 0.01


def test_a_ring_conditioned_on_its_clusters_fills_every_mode_without_bridges(tmp_path, capsys):
    """1,500 steps of toy-ring: the clustered G puts 95.8-96.8 % of its samples within 3 std of
    a mode on seeds 0-2 (the unconditional G 49-71 %, mode KL 0.08-0.43), each mode its share."""
    run = tmp_path / "run"
    assert main(["train", "toy-ring", "--out", str(run), "--set", "data.clusters=16",
                 "--set", "model.num_classes=16", "--set", "model.head=projection",
                 "--set", "train.steps=1500", "--set", "train.progress=false"]) == 0
    capsys.readouterr()
    assert main(["eval", str(run), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)["metrics"]
    assert metrics["modes"] == 8 and metrics["hq_fraction"] >= 0.9 and metrics["mode_kl"] < 0.02
