"""Multi-process training (DDP over gloo on CPU), launched the way users launch it: torchrun.

One torchrun launch (module fixture) runs several short jobs through `ganforge train` on 2
processes; every process also dumps the weights it ends with. The tests then check that

- the two processes hold bitwise identical weights,
- 2 processes with batch m/2 each end where 1 process with batch m ends (|diff| < 1e-5), for
  MLPs, for WGAN-GP (double backward through DDP), for speed.reuse_fake, for batch-norm
  DCGANs with train.sync_bn=true and for pix2pix with the PatchGAN's class head, while
  without sync_bn the batch-norm run does not match (the test can fail),
- a 2-process run resumes on 1 process and ends where a 1-process run ends.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from ganforge.config import load_config
from ganforge.families import build_family, load_data
from ganforge.train import checkpoint
from ganforge.train.distributed import GlobalBatchNorm, convert_global_batchnorm
from ganforge.train.loop import ResumeError, train

TOL = 1e-5
QUIET = {"train.progress": False, "train.sample_every": 1000, "train.log_every": 2,
         "optim.lr_decay": "none", "train.ema": 0.5}
MLP = {**QUIET, "model.g_width": 16, "model.d_width": 16, "model.depth": 2,
       "train.checkpoint_every": 4, "train.steps": 4}
DCGAN = {**QUIET, "data.name": "digits", "data.image_size": 8, "model.g_width": 8,
         "model.d_width": 8, "model.z_dim": 8, "train.checkpoint_every": 3, "train.steps": 3,
         "optim.lr_g": 1e-3, "optim.lr_d": 1e-3}
GLOBAL_BATCH = {"toy": 64, "digits": 16}

# name: (preset, overrides with the GLOBAL batch size; the 2-process run halves it)
JOBS = {
    "mlp": ("toy-ring", {**MLP, "data.batch_size": GLOBAL_BATCH["toy"]}),
    "wgan_gp": ("toy-ring", {**MLP, "data.batch_size": GLOBAL_BATCH["toy"],
                             "loss.name": "wgan-gp", "train.d_steps": 2}),
    # G's DDP forward in the D step, its backward in the G step
    "reuse_fake": ("toy-ring", {**MLP, "data.batch_size": GLOBAL_BATCH["toy"],
                                "speed.reuse_fake": True}),
    "sync_bn": ("digits-dcgan", {**DCGAN, "data.batch_size": GLOBAL_BATCH["digits"],
                                 "train.sync_bn": True}),
    "local_bn": ("digits-dcgan", {**DCGAN, "data.batch_size": GLOBAL_BATCH["digits"]}),
    # ADA: r_t is the sign mean over both processes' real images, so both move p alike
    "ada": ("digits-dcgan", {**DCGAN, "data.batch_size": GLOBAL_BATCH["digits"],
                             "train.sync_bn": True, "loss.diffaugment": "translation",
                             "loss.ada_target": 0.1, "loss.ada_kimg": 0.016,
                             "loss.ada_interval": 1}),
    # pix2pix with the PatchGAN's class head: D(x, classes=True) through the DDP wrapper
    "pix2pix_class_head": ("pix2pix-edges", {
        **QUIET, "data.batch_size": GLOBAL_BATCH["digits"], "model.g_width": 4,
        "model.d_width": 4, "model.dropout": 0.0, "model.head": "acgan", "model.num_classes": 10,
        "train.sync_bn": True, "train.checkpoint_every": 3, "train.steps": 3,
        "optim.lr_g": 1e-3, "optim.lr_d": 1e-3}),
    # text to image: D scores the real images with the right and the wrong text in one forward
    "text2image": ("digits-text2image", {
        **QUIET, "data.batch_size": GLOBAL_BATCH["digits"], "model.g_width": 4,
        "model.d_width": 4, "model.z_dim": 8, "text2image.pretrain_steps": 2,
        "train.sync_bn": True, "train.checkpoint_every": 3, "train.steps": 3}),
}

WORKER = textwrap.dedent('''
    """One process of a 2-process torchrun: runs every job through the CLI in one process group
    and saves the weights this process ends with."""
    import json, sys
    import torch.distributed as dist
    from safetensors.torch import save_file
    from ganforge.objectives import penalties
    from ganforge.train import loop
    from ganforge.cli import main
    from ganforge.train import distributed
    from ganforge.train.distributed import unwrap

    jobs, out = json.loads(sys.argv[1]), sys.argv[2]
    families = []
    build = loop.build_family
    loop.build_family = lambda *a: families.append(build(*a)) or families[-1]
    teardown = distributed.teardown
    distributed.teardown = lambda info: None  # keep one process group for all the jobs

    # The gradient penalty draws eps per local sample from the shared RNG; for an exact
    # comparison with one process, draw the global batch's eps and keep this process's rows
    # (as Family.global_randn does for z).
    uniform = penalties._per_sample_uniform
    def global_uniform(n, like, generator):
        r, w = dist.get_rank(), dist.get_world_size()
        return uniform(n * w, like, generator)[r::w]

    for name, (preset, overrides) in jobs.items():
        penalties._per_sample_uniform = global_uniform if name == "wgan_gp" else uniform
        args = ["train", preset, "--out", f"{out}/{name}"]
        for key, value in overrides.items():
            args += ["--set", f"{key}={value}"]
        assert main(args) == 0, name
        fam = families[-1]
        weights = {f"{n}/{k}": v.detach().contiguous()
                   for n, net in fam.nets.items() for k, v in unwrap(net).state_dict().items()}
        save_file(weights, f"{out}/{name}-rank{dist.get_rank()}.safetensors")
        if getattr(fam, "ada", None) is not None:
            with open(f"{out}/{name}-ada-rank{dist.get_rank()}.json", "w") as f:
                json.dump({"p": fam.ada.p, "r_t": fam.ada.sign_mean,
                           "measured": fam.ada.measured}, f)
    teardown(loop.distributed.Dist(dist.get_rank(), dist.get_world_size()))
''')


def halve_batch(overrides):
    return {**overrides, "data.batch_size": overrides["data.batch_size"] // 2}


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    script = out / "worker.py"
    script.write_text(WORKER)
    jobs = {name: (preset, halve_batch(over)) for name, (preset, over) in JOBS.items()}
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(script), json.dumps(jobs), str(out)],
        capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out


def final_weights(run):
    state = checkpoint.read_state(run / "checkpoint")
    tensors = load_file(str(run / "checkpoint" / state["files"]["nets"]))
    return {k: v for k, v in tensors.items() if not k.startswith("extra/")}, state["step"]


def initial_weights(cfg):
    """The weights every run of `cfg` starts from (the loop seeds before building the nets)."""
    torch.manual_seed(cfg.seed)
    family = build_family(cfg, load_data(cfg), torch.device("cpu"))
    return {f"{n}/{k}": v for n, net in family.nets.items() for k, v in net.state_dict().items()}


def params_moved(final, initial):
    """The largest change of a float tensor (batch counters left out)."""
    floats = [k for k in final if final[k].is_floating_point()]
    return max_diff({k: final[k] for k in floats}, {k: initial[k] for k in floats})


def max_diff(a, b):
    assert a.keys() == b.keys()
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a)


def one_process(name, tmp_path, **extra):
    preset, over = JOBS[name]
    return final_weights(train(load_config(preset, {**over, **extra}), tmp_path / name))[0]


def test_processes_hold_identical_weights(ddp_runs):
    for name in JOBS:
        rank0 = load_file(str(ddp_runs / f"{name}-rank0.safetensors"))
        rank1 = load_file(str(ddp_runs / f"{name}-rank1.safetensors"))
        for k in rank0:
            if "running_" in k and name == "local_bn":  # per-process statistics differ
                continue
            assert torch.equal(rank0[k], rank1[k]), (name, k)
        # and rank 0's checkpoint holds what rank 0 ended with
        saved, step = final_weights(ddp_runs / name)
        assert step == JOBS[name][1]["train.steps"]
        assert max_diff(saved, rank0) == 0.0


def test_adaptive_augmentation_measures_r_t_on_both_processes_real_images(ddp_runs):
    ranks = [json.loads((ddp_runs / f"ada-ada-rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0] == ranks[1]
    assert ranks[0]["measured"] == GLOBAL_BATCH["digits"]  # 8 on each process, 16 in all


@pytest.mark.parametrize("name", ["mlp", "wgan_gp", "reuse_fake", "sync_bn",
                                  "pix2pix_class_head"])
def test_two_processes_with_half_batches_match_one_process(ddp_runs, tmp_path, name):
    two, _ = final_weights(ddp_runs / name)
    one = one_process(name, tmp_path)
    assert max_diff(two, one) < TOL
    # training moved the weights far beyond the tolerance: the match is not vacuous
    assert params_moved(two, initial_weights(load_config(*JOBS[name]))) > 100 * TOL


def test_batch_norm_without_sync_does_not_match(ddp_runs, tmp_path):
    """Per-process batch statistics change the function: sync_bn is what makes it exact."""
    two, _ = final_weights(ddp_runs / "local_bn")
    assert max_diff(two, one_process("local_bn", tmp_path)) > 100 * TOL


def resume_on_one_process(ddp_runs, tmp_path, name, steps):
    preset, over = JOBS[name]
    run = tmp_path / "resumed"
    shutil.copytree(ddp_runs / name, run)
    # the run's own config holds m/2 per process; alone, one process must take m
    with pytest.raises(ResumeError, match=f"data.batch_size={over['data.batch_size']}"):
        train(load_config(preset, {**halve_batch(over), "train.steps": steps}), run, resume=True)
    train(load_config(preset, {**over, "train.steps": steps}), run, resume=True)
    resumed, step = final_weights(run)
    assert step == steps
    return run, resumed, one_process(name, tmp_path, **{"train.steps": steps})


def test_two_process_run_resumes_on_one_process(ddp_runs, tmp_path):
    run, resumed, straight = resume_on_one_process(ddp_runs, tmp_path, "mlp", 8)
    assert max_diff(resumed, straight) < TOL  # steps 1-4 on 2 processes, 5-8 on 1
    rows = [json.loads(r) for r in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4, 6, 8]
    assert json.loads((run / "processes.json").read_text()) == {
        "processes": 1, "global_batch_size": GLOBAL_BATCH["toy"]}


def test_two_process_image_run_resumes_on_one_process(ddp_runs, tmp_path):
    _, resumed, straight = resume_on_one_process(ddp_runs, tmp_path, "sync_bn", 6)
    assert max_diff(resumed, straight) < TOL


def test_global_batchnorm_alone_is_batchnorm():
    torch.manual_seed(0)
    x = torch.randn(6, 3, 4, 4)
    plain = nn.BatchNorm2d(3)
    nn.init.normal_(plain.weight)
    net = nn.Sequential(nn.Conv2d(3, 3, 1), plain)
    params = list(net.parameters())
    reference = nn.BatchNorm2d(3)
    reference.load_state_dict(plain.state_dict())
    converted = convert_global_batchnorm(net)
    assert isinstance(converted[1], GlobalBatchNorm)
    assert all(a is b for a, b in zip(params, converted.parameters()))  # optimisers still fit
    h = converted[0](x).detach()
    assert torch.allclose(converted[1](h), reference(h), atol=1e-6)
    assert torch.allclose(converted[1].running_var, reference.running_var, atol=1e-6)


def test_a_jointly_trained_sentence_encoder_is_refused_on_several_processes(tmp_path):
    # its gradients would stay in each process: the processes would drift apart
    args = ["train", "digits-text2image", "--out", str(tmp_path / "run")]
    for key, value in {"text2image.encoder": "joint", "model.g_width": 4, "model.d_width": 4,
                       "text2image.pretrain_steps": 1, "train.steps": 1,
                       "train.progress": False}.items():
        args += ["--set", f"{key}={value}"]
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "ganforge", *args], capture_output=True, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert proc.returncode != 0
    refusals = [line for line in proc.stderr.splitlines()
                if line.startswith("ganforge train: error: text2image.encoder=joint")]
    # the first process to refuse ends the launch, so the other may be stopped before it prints
    assert refusals and "use text2image.encoder=frozen" in refusals[0], proc.stderr[-3000:]
