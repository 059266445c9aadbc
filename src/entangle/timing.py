"""Where a job's time goes: time spent loading models and tokenizers counts as start-up, like imports.

`@startup` marks a loader; scripts/_runner.py adds SETUP to the time before `main()` ran and logs the
job's timing (benchmarks/bench_workflow.py sums it over a run). Standard library only.
"""

from __future__ import annotations

import functools
import time

SETUP = {"wall_s": 0.0, "cpu_s": 0.0}  # totals of the outermost @startup calls in this process
_depth = 0


def startup(fn):
    """Count the wall and CPU seconds of calls to `fn` (not nested ones twice) in SETUP."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        global _depth
        wall, cpu = time.perf_counter(), time.process_time()
        _depth += 1
        try:
            return fn(*args, **kwargs)
        finally:
            _depth -= 1
            if _depth == 0:
                SETUP["wall_s"] += time.perf_counter() - wall
                SETUP["cpu_s"] += time.process_time() - cpu

    return wrapper
