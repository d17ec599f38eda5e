"""torch.distributed set-up from torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK).

    torchrun --nproc_per_node=2 -m ganforge train toy-ring

One process per device: gloo on CPU, NCCL on CUDA. Without torchrun's variables
the run is a single process and nothing here does anything.
"""

from __future__ import annotations

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


def setup(device: str) -> tuple[Dist, torch.device]:
    """Join the process group torchrun describes; returns it and this process's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
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


def wrap(module: nn.Module, info: Dist, device: torch.device, sync_bn: bool = False) -> nn.Module:
    """DistributedDataParallel around `module` when running on several processes."""
    if not info.enabled:
        return module
    if sync_bn:
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=ids, broadcast_buffers=False)


def barrier(info: Dist) -> None:
    if info.enabled:
        dist.barrier()


def teardown(info: Dist) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
