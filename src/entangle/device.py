"""Where a job computes. GPU-capable rules ask for `cuda` where the scale requests GPUs (`scales.<scale>.gpu`);
`resolve_device` checks that torch sees one.

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
