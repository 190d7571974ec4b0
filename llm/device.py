"""Which device and dtype a torch model runs on: CUDA, then Apple MPS, then the CPU."""

from __future__ import annotations

from usererrors import InvalidValue, Todo

DEVICES = ("auto", "cuda", "mps", "cpu")


def detect_devices() -> list[str]:
    """The devices torch can use here, best first; the CPU always."""
    import torch

    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append("mps")
    return [*found, "cpu"]


def choose_device(requested: str = "auto") -> str:
    """Resolve ``auto`` to the best device; refuse one that is not available."""
    available = detect_devices()
    if requested == "auto":
        return available[0]
    if requested not in available:
        raise InvalidValue(
            f"device '{requested}' is not available here (found: {', '.join(available)})",
            Todo("choose one of those (--device)", "choose one of those in Settings (Model)"),
        )
    return requested


def choose_dtype(device: str):
    """bf16 on CUDA cards that support it, else fp16 on GPUs; fp32 on the CPU."""
    import torch

    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32
