"""Which torch devices this machine has, and turning a user's choice into one."""

from __future__ import annotations

import torch

from densevis.errors import DenseVisError


def available_devices() -> list[str]:
    """Devices present here, best first: cuda:N..., mps, cpu."""
    devices = []
    if torch.cuda.is_available():
        devices += [f"cuda:{index}" for index in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    devices.append("cpu")
    return devices


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """'auto' (cuda, then mps, then cpu), 'cpu', 'cuda', 'cuda:N' or 'mps' -> a present device."""
    if isinstance(device, torch.device):
        device = str(device)
    choice = (device or "auto").strip().lower()
    present = available_devices()
    if choice == "auto":
        return torch.device(present[0])
    if choice == "cuda":
        choice = "cuda:0"
    if choice not in present:
        known = ("auto", "cpu", "cuda", "mps")
        if choice.split(":")[0] not in known or (choice.startswith("cuda:") and
                                                 not choice[5:].isdigit()):
            raise DenseVisError(
                f"unknown device {device!r}; use one of auto, cpu, cuda, cuda:N, mps "
                f"(available here: {', '.join(present)})"
            )
        raise DenseVisError(
            f"device {device!r} is not available on this machine; available: {', '.join(present)}"
        )
    return torch.device(choice)
