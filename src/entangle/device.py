"""Where a job computes, and in which precision. GPU-capable rules ask for `cuda` where the scale requests GPUs
(`scales.<scale>.gpu`); `resolve_device` checks that torch sees one. `resolve_dtype` turns a configured
`dtype: auto` into bfloat16 where the hardware computes it natively and float32 elsewhere.

No GPU visible: by default the job runs on CPU and says so (a warning in its log and on the console: at paper
scale that is orders of magnitude slower); with ENTANGLE_REQUIRE_GPU=1 it stops before any work instead.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

REQUIRE_GPU = "ENTANGLE_REQUIRE_GPU"

log = logging.getLogger(__name__)


class DeviceError(RuntimeError):
    """A GPU was requested and required, but torch sees none; the message says why and what to do."""


def _why_no_gpu(torch) -> str:
    build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    return (f"torch {torch.__version__} ({build}) sees no CUDA GPU (torch.cuda.is_available() is False"
            + (f", CUDA_VISIBLE_DEVICES={visible!r}" if visible is not None else "") + ")")


def resolve_device(requested: str | None) -> str:
    """The device to compute on: `requested` if it is there, else "cpu" with a warning (or DeviceError if
    ENTANGLE_REQUIRE_GPU is set). Anything but a cuda device is returned unchanged."""
    requested = requested or "cpu"
    if not requested.startswith("cuda"):
        return requested
    import torch

    if torch.cuda.is_available():
        index = int(requested.partition(":")[2] or 0)
        if index < torch.cuda.device_count():
            return requested
        why = f"torch sees {torch.cuda.device_count()} CUDA GPU(s), no device {index}"
    else:
        why = _why_no_gpu(torch)
    if os.environ.get(REQUIRE_GPU, "").strip() not in ("", "0"):
        raise DeviceError(f"this job needs a GPU (device {requested!r}: the scale's `gpu` > 0) but {why}, and "
                          f"{REQUIRE_GPU} is set. Run it on a GPU node (SLURM: the profile submits --gpus), or "
                          f"unset {REQUIRE_GPU} to run on CPU (far slower), or set the scale's gpu: 0.")
    message = (f"this job asks for a GPU (device {requested!r}: the scale's `gpu` > 0) but {why}: running on CPU, "
               f"orders of magnitude slower at paper scale. Run it on a GPU node, or set {REQUIRE_GPU}=1 to stop "
               "instead of falling back.")
    log.warning(message)
    print(f"WARNING ({Path(sys.argv[0]).name}): {message}", file=sys.__stderr__, flush=True)
    return "cpu"


DTYPES = ("float32", "float16", "bfloat16", "auto")
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")  # x86 instruction sets with native bf16 matrix products


def cpu_bf16_flags(cpuinfo: str = "/proc/cpuinfo") -> list[str]:
    """The native-bf16 flags this CPU reports (Linux /proc/cpuinfo; empty where it cannot be read)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return []
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return [f for f in BF16_CPU_FLAGS if f in flags]


def resolve_dtype(requested: str, device: str = "cpu", cpuinfo: str = "/proc/cpuinfo") -> str:
    """The weights' dtype for forward passes: `requested` unless it is "auto", which gives bfloat16 on a CUDA GPU
    that supports it or a CPU with native bf16 (AMX or AVX512-BF16), and float32 otherwise, logging why. Hessians,
    norms and NLL accumulate in float32 whatever the weights' dtype (entangle.sparsify, entangle.evaluation)."""
    if requested not in DTYPES:
        raise ValueError(f"dtype {requested!r}: use one of {', '.join(DTYPES)}")
    if requested != "auto":
        return requested
    if device.startswith("cuda"):
        import torch

        ok = torch.cuda.is_bf16_supported()
        log.info("dtype auto on %s: %s", device, "bfloat16" if ok else "float32 (this GPU has no bf16)")
        return "bfloat16" if ok else "float32"
    flags = cpu_bf16_flags(cpuinfo)
    if flags:
        log.info("dtype auto: bfloat16 (this CPU computes it natively: %s)", ", ".join(flags))
        return "bfloat16"
    log.info("dtype auto: float32 (this CPU reports none of %s, so bf16 matmuls would be emulated and slower "
             "than float32)", ", ".join(BF16_CPU_FLAGS))
    return "float32"
