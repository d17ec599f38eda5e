"""torch.distributed set-up from torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK).

    torchrun --nproc_per_node=2 -m ganforge train toy-ring

One process per device: gloo on CPU, NCCL on CUDA. Without torchrun's variables
the run is a single process and nothing here does anything.

Every process starts from the same seed, so the nets start identical and every process
draws the same noise for the global batch and keeps its own rows (`Family.global_randn`);
the data streams shard the global batch the same way. W processes with batch m / W then
compute the gradient of the same loss as one process with batch m: DDP averages the
W per-process gradients of the per-process mean losses. Batch norm breaks this unless
its statistics are synchronised (`train.sync_bn=true`).
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        """Rank 0 logs, draws samples and writes checkpoints."""
        return self.rank == 0


def launched_world() -> int:
    """How many processes torchrun started (1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def setup(device: str) -> tuple[Dist, torch.device]:
    """Join the process group torchrun describes; returns it and this process's device."""
    world = launched_world()
    if world == 1:
        return Dist(), torch.device(device)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda"):
        torch.cuda.set_device(local)
        dev, backend = torch.device("cuda", local), "nccl"
    else:
        dev, backend = torch.device("cpu"), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return Dist(rank, world, local), dev


class _SumOverProcesses(torch.autograd.Function):
    """y = sum_r x_r on every process r; its backward is the same sum of the incoming
    gradients, because every process's loss depends on every x_r through y."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        y = x.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(y)
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(grad)
        return grad


def sum_over_processes(x: torch.Tensor) -> torch.Tensor:
    """Differentiable all-reduce (sum) of `x` over the default process group."""
    return _SumOverProcesses.apply(x)


class GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm over the global batch of all processes; runs on any device and backend.

    In training, with x_r the N_r inputs of process r and n = sum_r N_r (times H, W):
        mu = (1/n) sum_r sum_i x_ri,   sigma^2 = (1/n) sum_r sum_i (x_ri - mu)^2   (two passes)
        y = gamma (x - mu) / sqrt(sigma^2 + eps) + beta,
    the sums taken by differentiable all-reduces, so the backward sums the gradients that
    every process's loss sends to mu and sigma^2 (as torch's CUDA-only SyncBatchNorm does).
    Running statistics use the unbiased n / (n - 1) sigma^2, like nn.BatchNorm. Outside
    training, or on one process, it is plain batch norm.
    """

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"batch norm expects (N, C, ...) inputs, got shape {tuple(x.shape)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        self._check_input_dim(x)
        xf = x.float()  # statistics in float32 also under autocast
        dims = [0] + list(range(2, x.dim()))
        shape = [1, -1] + [1] * (x.dim() - 2)
        local_n = torch.tensor([float(x.numel() // x.shape[1])], device=x.device)
        n = sum_over_processes(local_n).detach()
        mean = sum_over_processes(xf.sum(dims)) / n
        centred = xf - mean.view(shape)
        var = sum_over_processes(centred.pow(2).sum(dims)) / n
        if self.track_running_stats:
            self._update_running_stats(mean.detach(), var.detach(), n)
        y = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(x.dtype)

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, var: torch.Tensor, n: torch.Tensor):
        self.num_batches_tracked.add_(1)
        if self.momentum is None:  # cumulative moving average
            factor = 1.0 / float(self.num_batches_tracked)
        else:
            factor = self.momentum
        unbiased = var * n / (n - 1).clamp_min(1)
        self.running_mean.lerp_(mean.to(self.running_mean.dtype), factor)
        self.running_var.lerp_(unbiased.to(self.running_var.dtype), factor)


def convert_global_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every batch norm inside `module` by a GlobalBatchNorm holding the same
    parameters and buffers (optimisers keep pointing at the right tensors)."""
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(
            module, (GlobalBatchNorm, nn.SyncBatchNorm)):
        new = GlobalBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                              module.track_running_stats)
        for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            setattr(new, name, getattr(module, name))
        new.train(module.training)
        return new
    for name, child in module.named_children():
        setattr(module, name, convert_global_batchnorm(child))
    return module


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel wrapper (or the module itself)."""
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


def wrap(module: nn.Module, info: Dist, device: torch.device, sync_bn: bool = False) -> nn.Module:
    """DistributedDataParallel around `module` when running on several processes.

    `sync_bn`: batch statistics over all processes: torch's SyncBatchNorm on CUDA,
    GlobalBatchNorm elsewhere (torch's runs on GPUs only).
    """
    if not info.enabled:
        return module
    if sync_bn:
        if device.type == "cuda":
            module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
        else:
            module = convert_global_batchnorm(module)
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=ids, **_NO_BUFFER_SYNC)


# Buffers (batch-norm statistics, spectral-norm vectors) are each process's own: DDP must
# not copy rank 0's over them at every forward (torch 2.13 renamed the option).
_NO_BUFFER_SYNC = (
    {"forward_sync_buffers": False}
    if "forward_sync_buffers" in inspect.signature(nn.parallel.DistributedDataParallel).parameters
    else {"broadcast_buffers": False}
)


def global_min(info: Dist, value: int, device: torch.device) -> int:
    """The smallest of every process's `value` (each process's own when alone)."""
    if not info.enabled:
        return value
    t = torch.tensor([value], dtype=torch.int64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return int(t.item())


def any_process(info: Dist, flag: bool, device: torch.device) -> bool:
    """Whether `flag` is true on any process (so that all of them act on it together)."""
    if not info.enabled:
        return flag
    t = torch.tensor([int(flag)], dtype=torch.int64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def barrier(info: Dist) -> None:
    if info.enabled:
        dist.barrier()


def teardown(info: Dist) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
