"""Every setting of a run, in one place.

A run is described by `Config`, a tree of dataclasses. A preset is a YAML file of
overrides of the defaults below (`ganforge/presets/NAME.yaml`); `--set key=value`
applies further overrides with type checking. The fully resolved config is saved
as `RUN/config.yaml`; a resume compares it with the config asked for.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A config, preset or override that cannot be used; the message says what is accepted."""


@dataclass
class DataConfig:
    name: str = "mnist5k"  # toy: gauss1d, mog1d, ring8, grid25, spiral; images: mnist5k, digits,
    #                        faces, folder, mnist, stacked (3 digits as R, G, B); paired: edges,
    #                        denoise, ...; unpaired: strokes
    path: str = ""  # for name=folder / mnist: where the data lives; name=points: a .csv of points
    image_size: int = 28
    channels: int = 1
    batch_size: int = 64  # m in Algorithm 1, per process
    labels: bool = False  # load class labels (conditional and semi-supervised models)
    labelled_per_class: int = 0  # semi-supervised: keep labels of only this many per class (0 = all)
    clusters: int = 0  # label the images with this many k-means clusters (no annotation) for a
    #                    conditional G, which draws clusters in their data shares (0 = off)
    input_draws: int = 1  # paired tasks with a random corruption (denoise, inpaint): each
    #                       training digit appears with this many independent noises or holes
    oracle_path: str = ""  # data.name=oracle: the oracle LSTM's parameters from FILE.npz
    #                        (keys g_embeddings, Wi, Ui, bi, ..., Wo, bo) instead of drawn ones
    prefix: str = "sentiment"  # data.name=text-styles: files PREFIX.train.0/.1 (.dev, .test)
    max_len: int = 15  # data.name=text-styles: sentences cut to this many tokens
    min_count: int = 1  # data.name=text-styles: vocabulary words seen at least this often


@dataclass
class ModelConfig:
    arch: str = "dcgan"  # mlp, dcgan, resnet, began, unet, resnet-translator
    z_dim: int = 100
    g_width: int = 64
    d_width: int = 64
    depth: int = 3  # hidden layers of the MLPs
    activation: str = "relu"  # MLP G activation; D uses leaky_relu
    g_norm: str = "batch"  # none, batch, layer, instance
    d_norm: str = "batch"  # none, batch, layer, instance
    spectral_norm: bool = False  # spectral normalisation of every D layer
    head: str = "plain"  # D head: plain, projection, acgan, classifier (semi-supervised)
    num_classes: int = 0  # > 0 makes G class-conditional
    latent_code: int = 0  # InfoGAN: K categories of a code c ~ U{0..K-1} for G, recovered by D's Q head
    minibatch_std: bool = False
    pack: int = 1  # PacGAN: D sees `pack` samples at once
    dropout: float = 0.5  # U-Net decoder dropout (pix2pix)
    blocks: int = 6  # residual blocks of the CycleGAN generator
    patch_layers: int = 3  # PatchGAN depth (3 -> 70x70 receptive field)
    hidden: int = 64  # BEGAN bottleneck size
    g_output: str = "image"  # translation G: image, or chroma (keep the input's luma, predict Cb/Cr)


@dataclass
class LossConfig:
    name: str = "ns"  # see `ganforge.objectives.OBJECTIVES`
    gp_weight: float = 10.0  # lambda of the WGAN-GP gradient penalty
    r1_weight: float = 0.0  # gamma of the R1 penalty (0 = off)
    clip: float = 0.01  # weight clipping of the Wasserstein critic
    label_smoothing: float = 0.0  # one-sided: real target 1 - s
    label_flip: float = 0.0  # probability of swapping a real and a fake sample for D
    instance_noise: float = 0.0  # initial std of Gaussian noise added to D's inputs
    instance_noise_steps: int = 0  # linear anneal of that std to 0 over this many steps
    top_k: float = 1.0  # top-k training: G's loss on the best top_k * m of its m samples (1 = off)
    top_k_steps: int = 0  # linear anneal of that fraction from 1 over this many steps (0 = steps/2)
    diffaugment: str = ""  # DiffAugment policy for D's inputs: subset of color,translation,cutout
    ada_target: float = 0.0  # ADA: apply that policy with a probability p steered to this r_t (0 = always)
    ada_kimg: float = 100.0  # ADA: thousands of real images for p to go from 0 to 1
    ada_interval: int = 4  # ADA: D steps between two adjustments of p
    aux_weight: float = 1.0  # ACGAN auxiliary classifier weight (InfoGAN: lambda of L_I)
    aux_on_fakes: bool = True  # ACGAN: D's classifier also learns G's samples' labels (the paper)


@dataclass
class OptimConfig:
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    lr_decay: str = "none"  # none, linear (to 0 at the end of training)
    decay_start: float = 0.5  # linear decay starts at this fraction of train.steps


@dataclass
class TrainConfig:
    family: str = "gan"  # gan, began, pix2pix, cyclegan, vae, vaegan
    steps: int = 3000  # generator steps (iterations of Algorithm 1)
    d_steps: int = 1  # k: discriminator steps per generator step
    ema: float = 0.999  # decay of the EMA copy of G (0 = no EMA)
    ema_start: int = 0  # copy G into the EMA until this step
    ema_rampup: float = 0.05  # EMA half-life at most this share of the steps so far (0 = off)
    log_every: int = 50
    sample_every: int = 500
    checkpoint_every: int = 500
    keep_checkpoints: int = 2  # the newest checkpoints kept; an unreadable newest falls back
    eval_every: int = 0  # score the EMA generator every this many steps (0 = off)
    eval_metrics: str = ""  # comma-separated metric names; the first picks the best
    #                         checkpoint (default: those of `ganforge eval` for the data)
    eval_samples: int = 1000  # generated samples per tracked evaluation
    eval_features: str = ""  # their feature extractor: inception, digits, raw ("": the data's)
    sample_count: int = 64
    progress: bool = True
    sync_bn: bool = False  # batch statistics over the global batch of all processes (DDP)


@dataclass
class SpeedConfig:
    """Switches that change how fast a run trains, not what it computes (except reuse_fake,
    which reuses the D step's G(z) for the G step); see ganforge/train/speed.py."""

    amp: str = "none"  # mixed precision: none, bf16, fp16 (with a GradScaler; meant for CUDA)
    compile: bool = False  # torch.compile the forward passes of the trained nets
    channels_last: bool = False  # NHWC memory format for conv nets and image batches
    reuse_fake: bool = False  # G step reuses the last D step's G(z) (PyTorch DCGAN example style)
    joint_d_forward: bool = False  # D scores real and fake in one forward pass (D without BN)
    fused: bool = False  # fused Adam kernel (one kernel for all parameters; CPU and CUDA)
    on_device: bool = False  # hold the whole in-memory data set on the training device (CUDA:
    #                          no host-to-device copy per step); a no-op on CPU


@dataclass
class BEGANConfig:
    gamma: float = 0.5  # the equilibrium ratio E[L(G(z))] / E[L(x)] that k_t steers to
    lambda_k: float = 0.001  # the step size of k_t


@dataclass
class Pix2PixConfig:
    l1_weight: float = 100.0  # lambda of lambda * E||y - G(x)||_1


@dataclass
class CycleGANConfig:
    cycle_weight: float = 10.0  # lambda_cyc
    forward_cycle_scale: float = 1.0  # the A -> B -> A cycle's share of lambda_cyc
    identity_weight: float = 0.5  # lambda_id, as a fraction of cycle_weight
    pool_size: int = 50  # history of generated images that D sees


@dataclass
class SeqConfig:
    """Token sequences (data.name oracle, names, text) and the families mle, seqgan, gumbel."""

    length: int = 20  # tokens per sequence; text lines are padded with <eos> (id 0) to it
    vocab: int = 5000  # oracle: vocabulary size (a file given by data.oracle_path sets its own)
    oracle_emb: int = 32  # oracle: embedding size
    oracle_hidden: int = 32  # oracle: LSTM hidden size
    oracle_seed: int = 0  # oracle: seed of its N(0, 1) parameters and of its data
    train_size: int = 10000  # oracle: training sequences sampled from it
    test_size: int = 10000  # oracle: held-out sequences sampled from it
    tokens: str = "char"  # text file: char, word (whitespace) or ids (integers < seq.vocab)
    test_share: float = 0.1  # names, text: share of sequences held out
    emb: int = 32  # G: embedding size
    hidden: int = 32  # G: LSTM hidden size
    grad_clip: float = 5.0  # G: clip the gradient norm (0 = off)
    lr_mle: float = 0.01  # seqgan, gumbel: G's learning rate in MLE pre-training (Adam)
    init_from: str = ""  # a finished run (RUN folder) whose G starts this one (e.g. an mle run
    #                      as pre-training; then seq.pretrain_g can be 0)
    init_best: bool = False  # with init_from: its best tracked checkpoint (the MLE G stopped
    #                          early on nll_test), not its last
    d_emb: int = 64  # D: embedding size
    d_widths: str = "2,3,4,5"  # D: filter widths of its CNN
    d_filters: int = 64  # D: filters per width
    d_dropout: float = 0.25  # D: dropout before its last layer
    pretrain_g: int = 2000  # seqgan, gumbel: MLE steps of G before the adversarial phase
    pretrain_d: int = 500  # seqgan: D steps on G's samples before the adversarial phase
    rollouts: int = 16  # seqgan: N Monte Carlo rollouts per prefix
    rollout_rate: float = 0.8  # seqgan: rollout net <- rate * rollout net + (1 - rate) * G
    g_steps: int = 1  # seqgan: policy-gradient updates of G per adversarial step
    tau_start: float = 1.0  # gumbel: Gumbel-softmax temperature at the adversarial start
    tau_end: float = 0.001  # gumbel: ... and at the end (annealed geometrically)


@dataclass
class VAEGANConfig:
    gamma: float = 1e-2  # gamma: G's weight on D-feature reconstruction against fooling D


@dataclass
class Text2ImageConfig:
    """G(z, text) and a matching-aware D(x, text) on data.name=captioned-digits."""

    emb: int = 32  # word embedding size of the sentence encoder
    hidden: int = 64  # its GRU's hidden size (bag: its per-word MLP's)
    text_dim: int = 64  # sentence vector size
    cond_dim: int = 32  # conditioning augmentation: size of c ~ N(mu(h), sigma(h)^2)
    kl_weight: float = 0.05  # lambda of KL(N(mu, sigma^2) || N(0, I)) (summed over c) in G's loss
    interpolate: float = 0.0  # GAN-INT: weight of G's loss on texts between two captions (0: off)
    interpolate_spread: float = 0.0  # GAN-INT's beta ~ U(0.5 - s, 0.5 + s): 0 = Reed et al.'s 0.5
    pretrain_steps: int = 1000  # contrastive image-text steps of the encoder before the GAN
    temperature: float = 0.1  # tau of that contrastive loss
    word_dropout: float = 0.0  # share of a caption's words dropped in those steps (DAN's)
    mode_seeking: float = 0.0  # MSGAN's lambda: G keeps images of two noises apart (0: off)
    encoder: str = "frozen"  # frozen (after pre-training) or joint (then trained with D)
    encoder_arch: str = "gru"  # gru (bidirectional GRU) or bag (attention-weighted bag of words)


@dataclass
class StyleConfig:
    """train.family=style-transfer: two translators G_01, G_10 with a cycle, trained by RL."""
    emb: int = 128  # translators: word embedding size
    hidden: int = 256  # translators: GRU state size (the encoder's two directions: half each)
    gamma: float = 5.0  # salience of the style markers of the pseudo-parallel lexicon
    marker_count: int = 5  # a marker is in at least this many sentences of its style
    pretrain: int = 1500  # steps of MLE on lexicon pseudo-pairs before the RL phase (0: none)
    reward: str = "rl"  # rl (REINFORCE, self-critical baseline), gumbel (straight-through) or
    #                     none (no adversarial signal: back-translation and pseudo-pairs only)
    cycle: bool = True  # content reward / loss from the other translator: log p_10(x | G_01(x))
    samples: int = 1  # reward=rl: draws per source (1: greedy baseline; k > 1: leave-one-out)
    beta: float = 1.0  # the reward: F_beta of the style and content rewards (> 1 weighs style more)
    back_translation: float = 1.0  # weight of G_10's MLE on (G_01(x) -> x) pairs, and back
    pseudo_mle: float = 0.5  # weight of the lexicon pseudo-pair MLE kept in the RL phase
    d_fake: float = 0.0  # weight of D's third class, "a rewrite" (0: D is a style classifier)
    d_emb: int = 64  # D: embedding size
    d_filters: int = 64  # D: filters per width (widths 2, 3, 4, 5)
    tau: float = 0.5  # reward=gumbel: the Gumbel-softmax temperature
    lr_mle: float = 1e-3  # learning rate of the pre-training phase
    init_from: str = ""  # a style-transfer run (RUN folder) whose nets start this one
    init_step: int = 0  # with init_from: the kept checkpoint of this step (0: its newest)


@dataclass
class Config:
    description: str = "DCGAN on 4,000 bundled MNIST digits (28x28)"
    seed: int = 0
    device: str = "cpu"  # cpu, cuda, cuda:N
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    speed: SpeedConfig = field(default_factory=SpeedConfig)
    began: BEGANConfig = field(default_factory=BEGANConfig)
    pix2pix: Pix2PixConfig = field(default_factory=Pix2PixConfig)
    cyclegan: CycleGANConfig = field(default_factory=CycleGANConfig)
    vaegan: VAEGANConfig = field(default_factory=VAEGANConfig)
    seq: SeqConfig = field(default_factory=SeqConfig)
    text2image: Text2ImageConfig = field(default_factory=Text2ImageConfig)
    style: StyleConfig = field(default_factory=StyleConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


DEFAULT_PRESET = "digits-dcgan"
# Keys that may change when a run is resumed: the budget, where it runs, and switches that
# change the speed but not the numbers.
RESUMABLE_KEYS = ("train.steps", "device", "train.progress", "train.keep_checkpoints",
                  "train.eval_every", "train.eval_metrics", "train.eval_samples",
                  "train.eval_features",
                  "speed.compile", "speed.channels_last", "speed.on_device")
#: keys that moved into the section of the family (or switch set) they belong to; saved
#: configs and config files with the old names still load
RENAMED_KEYS = {
    "loss.began_gamma": "began.gamma", "loss.began_lambda_k": "began.lambda_k",
    "loss.l1_weight": "pix2pix.l1_weight",
    "loss.cycle_weight": "cyclegan.cycle_weight",
    "loss.identity_weight": "cyclegan.identity_weight", "loss.pool_size": "cyclegan.pool_size",
    **{f"train.{k}": f"speed.{k}"
       for k in ("amp", "compile", "channels_last", "reuse_fake", "joint_d_forward")},
    "optim.fused": "speed.fused", "data.on_device": "speed.on_device",
}


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"train": {"steps": 3}} -> {"train.steps": 3}."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


BOOL_WORDS = {"true": True, "yes": True, "on": True, "1": True,
              "false": False, "no": False, "off": False, "0": False}


class Text(str):
    """A --set value as typed: converted by the key's type, so a string-typed key keeps
    '0042' or '1e3' exactly as given."""


def _coerce(key: str, value: Any, kind: type) -> Any:
    """Check `value` against the field's type; ints are accepted where floats are."""
    if isinstance(value, Text):
        return _from_text(key, value, kind)
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif kind is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    raise ConfigError(f"{key} must be {kind.__name__}, got {value!r} ({type(value).__name__})")


def _from_text(key: str, text: str, kind: type) -> Any:
    if kind is str:
        return str(text)
    try:
        if kind is bool:
            return BOOL_WORDS[text.lower()]
        if kind is int:
            return int(text)
        return float(text)
    except (KeyError, ValueError):
        accepted = "true or false" if kind is bool else f"a number ({kind.__name__})"
        raise ConfigError(f"{key} must be {accepted}, got {text!r}") from None


def _field_types(obj: Any) -> dict[str, type]:
    hints = {"int": int, "float": float, "bool": bool, "str": str}
    return {f.name: hints.get(str(f.type), f.type) for f in dataclasses.fields(obj)}


def apply_overrides(cfg: Config, overrides: dict[str, Any], source: str = "override",
                    renamed: bool = False) -> Config:
    """Apply {"train.steps": 10, ...} or a nested dict to `cfg` in place, checking names and
    types. `renamed`: keys of RENAMED_KEYS (configs saved before they moved) take their new
    place; otherwise such a key is refused with its new name."""
    for key, value in flatten(overrides).items():
        if key in RENAMED_KEYS:
            if not renamed:
                raise ConfigError(f"{key} in {source} is now {RENAMED_KEYS[key]}; use that name")
            key = RENAMED_KEYS[key]
        *path, leaf = key.split(".")
        node: Any = cfg
        walked = []
        for part in path:
            sections = [f.name for f in dataclasses.fields(node) if dataclasses.is_dataclass(
                getattr(node, f.name))]
            if part not in sections:
                where = ".".join(walked) or "the top level"
                raise ConfigError(
                    f"unknown config section {'.'.join(walked + [part])!r} in {source}; "
                    f"sections at {where}: {', '.join(sections)}"
                )
            node = getattr(node, part)
            walked.append(part)
        types = _field_types(node)
        settable = [n for n, t in types.items() if t in (int, float, bool, str)]
        if leaf not in settable:
            prefix = ".".join(walked) + "." if walked else ""
            raise ConfigError(
                f"unknown config key {key!r} in {source}; valid keys: "
                + ", ".join(prefix + n for n in settable)
            )
        setattr(node, leaf, _coerce(key, value, types[leaf]))
    return cfg


def parse_set(pairs: list[str]) -> dict[str, Any]:
    """['train.steps=100', 'loss.name=hinge'] -> {'train.steps': Text('100'), ...}: the text as
    typed, converted by each key's own type when applied."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set takes KEY=VALUE (e.g. train.steps=100), got {pair!r}")
        out[key.strip()] = Text(text.strip())
    return out


def preset_names() -> list[str]:
    folder = resources.files("ganforge") / "presets"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def preset_descriptions() -> dict[str, str]:
    return {name: load_config(name).description for name in preset_names()}


def _read_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        tree = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{source} is not valid YAML: {err}") from err
    if not isinstance(tree, dict):
        raise ConfigError(f"{source} must hold a mapping of settings, got {type(tree).__name__}")
    return tree


def load_config(preset: str | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Defaults, then a preset name or YAML file, then overrides."""
    cfg = Config()
    name = preset or DEFAULT_PRESET
    if name.endswith((".yaml", ".yml")) or Path(name).is_file():
        path = Path(name)
        if not path.is_file():
            raise ConfigError(f"config file {name} does not exist")
        apply_overrides(cfg, _read_yaml(path.read_text(), str(path)), str(path), renamed=True)
    else:
        if name not in preset_names():
            raise ConfigError(
                f"unknown preset {name!r}; valid presets: {', '.join(preset_names())} "
                "(or give a path to a .yaml file)"
            )
        text = (resources.files("ganforge") / "presets" / f"{name}.yaml").read_text()
        apply_overrides(cfg, _read_yaml(text, f"preset {name}"), f"preset {name}")
    if overrides:
        apply_overrides(cfg, overrides, "--set")
    return cfg


def config_from_dict(tree: dict[str, Any]) -> Config:
    return apply_overrides(Config(), tree, "saved config", renamed=True)


def save_config(cfg: Config, path: Path) -> None:
    path.write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))


def load_saved_config(path: Path) -> Config:
    return config_from_dict(_read_yaml(path.read_text(), str(path)))


def config_diff(a: Config, b: Config, ignore: tuple[str, ...] = ()) -> list[str]:
    """Keys whose values differ, as 'key: old -> new'."""
    fa, fb = flatten(a.to_dict()), flatten(b.to_dict())
    return [f"{k}: {fa[k]!r} -> {fb[k]!r}" for k in fa if k not in ignore and fa[k] != fb[k]]
