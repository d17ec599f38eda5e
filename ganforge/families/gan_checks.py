"""The settings the GAN family (ganforge/families/gan.py) refuses before any data or net is
built: each check names the keys that clash and what to set instead."""

from __future__ import annotations

from ganforge import objectives
from ganforge.augment import parse_policy
from ganforge.data import data_set_of
from ganforge.nets import ARCHS

CLASS_HEADS = ("projection", "acgan", "classifier")
ADA_OBJECTIVES = ("ns", "minimax", "hinge")  # D's output is a logit with its boundary at 0


def check_gan_config(cfg) -> None:
    """Raise a ValueError naming the keys of the first setting of `cfg` that train.family=gan
    cannot honour (heads without labels, penalties with fp16, clashing speed switches...)."""
    loss, model, objective = cfg.loss, cfg.model, objectives.get_objective(cfg.loss.name)
    if ARCHS.get(model.arch).kind != "gan":
        raise ValueError(f"model.arch={model.arch} builds a translation generator; "
                         f"train.family=gan needs mlp, dcgan or resnet")
    if model.arch == "began":
        raise ValueError("model.arch=began (an auto-encoder D) is trained by "
                         "train.family=began")
    if objective.lipschitz == "clip" and model.spectral_norm:
        raise ValueError("weight clipping (loss.name=wasserstein) and model.spectral_norm "
                         "both constrain D's Lipschitz constant; use one (e.g. "
                         "loss.name=hinge or wgan-gp with spectral norm)")
    if loss.label_smoothing and not objective.accepts_real_target:
        raise ValueError(f"one-sided label smoothing needs real/fake targets; loss.name="
                         f"{objective.name} has none. Use ns, minimax, lsgan or fgan-gan.")
    if loss.label_flip and objective.critic:
        raise ValueError(f"label flipping needs real/fake labels; loss.name="
                         f"{objective.name} trains a Wasserstein critic. Use ns, minimax, "
                         "lsgan or hinge.")
    if parse_policy(loss.diffaugment) and data_set_of(cfg).points:
        raise ValueError(f"loss.diffaugment={loss.diffaugment} augments images; the data "
                         f"({cfg.data.name}) are points: set it to ''")
    if loss.ada_target > 0 and not parse_policy(loss.diffaugment):
        raise ValueError(f"loss.ada_target={loss.ada_target} adapts how often "
                         "loss.diffaugment's augmentations apply: set loss.diffaugment (e.g. "
                         "translation,cutout) or loss.ada_target=0")
    if loss.ada_target > 0 and objective.name not in ADA_OBJECTIVES:
        raise ValueError(f"loss.ada_target reads the sign of D's logit on real images; "
                         f"loss.name={objective.name} has no logit whose 0 is D's boundary: "
                         f"use loss.name={', '.join(ADA_OBJECTIVES[:-1])} or "
                         f"{ADA_OBJECTIVES[-1]}")
    labelled = cfg.data.labels or cfg.data.clusters > 0
    if model.head in CLASS_HEADS and not labelled:
        raise ValueError(f"model.head={model.head} needs class labels: set data.labels=true "
                         f"(or data.clusters=K for k-means cluster labels)")
    if cfg.data.clusters and model.num_classes == 0:
        raise ValueError(f"data.clusters={cfg.data.clusters} labels the images for a G "
                         f"conditioned on the cluster: set model.num_classes="
                         f"{cfg.data.clusters} and model.head=projection (or acgan)")
    if cfg.data.clusters and (cfg.data.labels or cfg.data.labelled_per_class):
        raise ValueError(f"data.clusters={cfg.data.clusters} labels the images with k-means "
                         "clusters instead of their classes: set data.labels=false and "
                         "data.labelled_per_class=0")
    if model.num_classes > 0 and not labelled:
        raise ValueError("model.num_classes > 0 makes G class-conditional, which needs "
                         "labelled data: set data.labels=true (or model.num_classes=0)")
    if model.pack > 1 and model.head != "plain":
        raise ValueError(f"model.pack={model.pack} is only supported with the 'plain' head "
                         f"(D scores packs of samples, not one labelled sample): set "
                         f"model.pack=1 or model.head=plain")
    if model.head == "acgan" and model.num_classes < 1:
        raise ValueError("model.head=acgan trains G to produce the class it is given: set "
                         "model.num_classes (e.g. 10) to make G class-conditional")
    if model.latent_code > 0 and (model.num_classes or model.head != "plain"):
        raise ValueError("model.latent_code (InfoGAN) gives G an unsupervised categorical "
                         "code and D a Q head of its own: use it with model.num_classes=0 "
                         "and model.head=plain")
    if model.latent_code > 0 and model.arch not in ("dcgan", "resnet"):
        raise ValueError(f"model.latent_code (InfoGAN) needs a conditional image G: "
                         f"model.arch=dcgan or resnet, not {model.arch}")
    if cfg.data.labelled_per_class > 0 and model.head != "classifier":
        raise ValueError("data.labelled_per_class (unlabelled examples get label -1) is for "
                         "the semi-supervised D only: set model.head=classifier or "
                         "data.labelled_per_class=0")
    if model.head == "classifier" and objective.name not in ("ns", "minimax"):
        raise ValueError("the semi-supervised classifier D (model.head=classifier) needs "
                         "loss.name=ns or minimax")
    penalised = objective.lipschitz == "penalty" or loss.r1_weight > 0
    if penalised and cfg.speed.amp == "fp16":
        raise ValueError("speed.amp=fp16 with a gradient penalty (wgan-gp, R1) is not "
                         "supported: the input gradients would need loss scaling; use "
                         "speed.amp=bf16")
    if cfg.speed.reuse_fake and cfg.train.d_steps != 1:
        raise ValueError(f"speed.reuse_fake needs train.d_steps=1 (the G step reuses the D "
                         f"step's samples), got d_steps={cfg.train.d_steps}")
    if cfg.speed.joint_d_forward and model.minibatch_std:
        raise ValueError("speed.joint_d_forward would let minibatch std mix real and "
                         "generated samples; set one of them false")
