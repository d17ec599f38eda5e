"""Speed switches: mixed precision, compilation, memory format, data placement.

Each switch is a config key and off by default; benchmarks/README.md says what each buys where.

    train.amp=bf16|fp16    forward passes under autocast; fp16 adds a GradScaler
    train.compile=true     torch.compile the forward (and backward) of every trained net
    train.channels_last    NHWC memory format for the weights of conv nets
    train.reuse_fake=true  the G step reuses the D step's G(z) (the PyTorch DCGAN example's loop)
    train.joint_d_forward  D scores the real and the generated half in one forward pass (one
                           pass over 2m samples, not two over m: the same numbers for a D
                           without batch statistics, so it is refused for batch norm and
                           minibatch std; spectral norm then runs one power iteration per D
                           step instead of two)
    optim.fused=true       one fused Adam kernel per optimiser (see `steps.make_adam`)
    data.on_device=true    the in-memory data set lives on the training device

The loop calls `check_switches`, `channels_last_`, `compile_nets` and `move_data_`; a model
family that supports mixed precision builds a `Precision` and routes its updates through it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import torch
from torch import nn

AMP_MODES = ("none", "bf16", "fp16")
AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def check_amp(mode: str, device: torch.device) -> None:
    if mode not in AMP_MODES:
        raise ValueError(f"unknown train.amp {mode!r}; valid: {', '.join(AMP_MODES)}")
    if mode == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError("train.amp=bf16 needs a GPU with bfloat16 support (Ampere or newer); "
                         "use train.amp=fp16 on this GPU")


class Precision:
    """Autocast and loss scaling for a family's updates.

    none:  float32 throughout.
    bf16:  forward passes under autocast to bfloat16 (float32's 8-bit exponent, so gradients
           need no scaling); weights, optimiser state and the backward's weight gradients stay
           float32.
    fp16:  autocast to float16 and one GradScaler per optimiser: backward of S * loss, the
           gradients divided by S before the step; a step whose gradients hold inf/NaN is
           skipped and S halved, and S doubles after 2000 good steps (the scale is saved with
           the checkpoint).
    """

    def __init__(self, mode: str, device: torch.device):
        check_amp(mode, device)
        self.mode, self.device_type = mode, device.type
        self.dtype = AMP_DTYPES.get(mode)
        self.scalers: dict[str, torch.amp.GradScaler] = {}

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def _scaler(self, name: str) -> torch.amp.GradScaler:
        if name not in self.scalers:
            self.scalers[name] = torch.amp.GradScaler(self.device_type)
        return self.scalers[name]

    def backward(self, name: str, loss: torch.Tensor) -> None:
        """loss.backward(), of the scaled loss when fp16 (`name`: the optimiser it feeds)."""
        if self.mode == "fp16":
            loss = self._scaler(name).scale(loss)
        loss.backward()

    def step(self, name: str, optimizer: torch.optim.Optimizer) -> None:
        """optimizer.step(), unscaling (and skipping on inf/NaN gradients) when fp16."""
        if self.mode != "fp16":
            optimizer.step()
            return
        scaler = self._scaler(name)
        scaler.step(optimizer)
        scaler.update()

    def state(self) -> dict[str, torch.Tensor]:
        """The loss scales and growth counters, as tensors for the checkpoint."""
        out = {}
        for name, scaler in self.scalers.items():
            sd = scaler.state_dict()
            out[f"scaler/{name}"] = torch.tensor([sd["scale"], sd["_growth_tracker"]],
                                                 dtype=torch.float64)
        return out

    def load_state(self, tensors: dict[str, torch.Tensor]) -> None:
        for key, value in tensors.items():
            if key.startswith("scaler/") and self.mode == "fp16":
                scaler = self._scaler(key[len("scaler/"):])
                sd = scaler.state_dict()
                sd.update(scale=float(value[0]), _growth_tracker=int(value[1]))
                scaler.load_state_dict(sd)


def check_switches(cfg, family) -> None:
    """Refuse switches the family or the objective cannot honour, with the reason."""
    t = cfg.train
    check_amp(t.amp, torch.device(cfg.device.split(":")[0]))
    name = cfg.train.family
    if t.amp != "none" and not getattr(family, "supports_amp", False):
        raise ValueError(f"train.amp={t.amp} is implemented for train.family=gan only, not "
                         f"{name}; use train.amp=none")
    for switch in ("reuse_fake", "joint_d_forward"):
        if getattr(t, switch) and not getattr(family, f"supports_{switch}", False):
            raise ValueError(f"train.{switch} is implemented for train.family=gan only, not "
                             f"{name}")


def channels_last_(nets: Iterable[nn.Module]) -> None:
    """Store the 4-D weights of conv nets as NHWC (oneDNN and cuDNN then run NHWC kernels).

    A convolution whose weight is channels-last produces a channels-last output, so the whole
    net runs NHWC without converting its inputs. Checkpoints still hold contiguous tensors.
    """
    for net in nets:
        net.to(memory_format=torch.channels_last)


def compile_nets(nets: Iterable[nn.Module], backend: str = "inductor") -> None:
    """torch.compile each net's forward in place (its class and state_dict keys stay the same).

    The first steps are slow while the graphs compile. AOTAutograd cannot differentiate a
    compiled graph twice, so nets on which a penalty takes a double backward (WGAN-GP, R1)
    must be left out (see `Family.double_backward_nets`).
    """
    for net in nets:
        getattr(net, "module", net).compile(backend=backend)


def move_data_(stream, device: torch.device) -> None:
    """Move an in-memory stream's tensors (and those of the streams it zips) to `device`.

    Batches are then gathered on the device: no host-to-device copy per step. Toy streams
    draw fresh samples on the CPU and are left as they are.
    """
    if device.type == "cpu":
        return
    if hasattr(stream, "tensors"):
        stream.tensors = {k: v.to(device) for k, v in stream.tensors.items()}
    for sub in getattr(stream, "streams", {}).values():
        move_data_(sub, device)
