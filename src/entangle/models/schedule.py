"""Checkpoint schedule of a training run, Pythia-style: step 0, then log-spaced, then regular.

Pythia saves step0, 1, 2, 4, ..., 512, then every 1000 steps up to 143000. Torch-free so the
workflow can list revisions while it builds the DAG.
"""


def checkpoint_steps(steps: int, log_until: int, every: int) -> list[int]:
    """Steps at which a run of `steps` optimizer steps saves a checkpoint.

    0, 1, 2, 4, ... (powers of two up to `log_until`), every multiple of `every`, and `steps` itself.
    """
    if steps < 1 or every < 1:
        raise ValueError(f"steps and every must be >= 1, got steps={steps}, every={every}")
    saved = {0, steps}
    power = 1
    while power <= min(log_until, steps):
        saved.add(power)
        power *= 2
    saved.update(range(every, steps + 1, every))
    return sorted(saved)


def revision_name(step: int) -> str:
    """Revision label of a checkpoint, as on the hub: 'step1000'."""
    return f"step{step}"
