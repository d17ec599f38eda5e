"""Speed switches: mixed precision, compilation, memory format, data placement.

Each switch is a key of the config's `speed` section and off by default; benchmarks/README.md
says what each buys where.

    speed.amp=bf16|fp16    forward passes under autocast; fp16 adds a GradScaler
    speed.compile=true     torch.compile the forward (and backward) of every trained net
    speed.channels_last    NHWC memory format for the weights of conv nets
    speed.reuse_fake=true  the G step reuses the D step's G(z) (the PyTorch DCGAN example's loop)
    speed.joint_d_forward  D scores the real and the generated half in one forward pass (one
                           pass over 2m samples, not two over m: the same numbers for a D
                           without batch statistics, so it is refused for batch norm and
                           minibatch std; spectral norm then runs one power iteration per D
                           step instead of two)
    speed.fused=true       one fused Adam kernel per optimiser (see `families.base.make_adam`)
    speed.on_device=true   the in-memory data set lives on the training device

The loop calls `check_switches`, `channels_last_`, `compile_nets` and `move_data_`; every
family routes its updates through a `Precision` (float32 unless it lists "amp" among its
`speed_switches`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import torch
from torch import nn

from ganforge.train.distributed import unwrap

AMP_MODES = ("none", "bf16", "fp16")
AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def check_amp(mode: str, device: torch.device) -> None:
    if mode not in AMP_MODES:
        raise ValueError(f"unknown speed.amp {mode!r}; valid: {', '.join(AMP_MODES)}")
    if mode == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError("speed.amp=bf16 needs a GPU with bfloat16 support (Ampere or newer); "
                         "use speed.amp=fp16 on this GPU")


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
    """Refuse switches the family cannot honour, with the reason."""
    s = cfg.speed
    check_amp(s.amp, torch.device(cfg.device.split(":")[0]))
    asked = {"amp": s.amp != "none", "reuse_fake": s.reuse_fake,
             "joint_d_forward": s.joint_d_forward}
    for switch, on in asked.items():
        if on and switch not in family.speed_switches:
            raise ValueError(f"speed.{switch} is not implemented for train.family={family.name}; "
                             f"it honours: {', '.join(sorted(family.speed_switches)) or 'none'}")


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
        unwrap(net).compile(backend=backend)


def move_data_(stream, device: torch.device) -> None:
    """Move an in-memory stream's tensors (and those of the streams it zips) to `device`.

    Batches are then gathered on the device: no host-to-device copy per step. Toy streams
    draw fresh samples on the CPU and are left as they are.
    """
    if device.type != "cpu":
        stream.to_(device)
