"""Downstream benchmarks (WD-F3 b-d: GSM8K, BBH, SQuAD, TriviaQA, MMLU) through lm-evaluation-harness.

The model object we sparsified (a Hugging Face causal LM, possibly with a sparse FFN state loaded) is
wrapped as `lm_eval.models.huggingface.HFLM(pretrained=model, tokenizer=tokenizer, batch_size=...)` and
evaluated with `lm_eval.simple_evaluate(model=lm, tasks=..., limit=...)`, the tasks' default few-shot
settings, seeds fixed. lm-eval is imported only when called (it is an extra dependency: envs/eval.yaml,
`pip install "lm-eval[hf]==0.4.13"`).

Scores: {task: {metric: value}} with the harness' metric keys ("acc,none", "exact_match,strict-match",
...), standard errors and aliases dropped; a group task (bbh, mmlu) reports its aggregate. One primary
metric per task (`primary_metric`) is what the figure and claim 7 compare.
"""

from __future__ import annotations

import logging
import math

log = logging.getLogger(__name__)

LM_EVAL_VERSION = "0.4.13"
INSTALL = f'pip install "lm-eval[hf]=={LM_EVAL_VERSION}"'
# Primary metric per task: the first base name present, in this order; filters by FILTER_RANK.
METRIC_PREFERENCE = ("exact_match", "acc", "f1", "exact", "em")
FILTER_RANK = {"strict-match": 0, "none": 1}


class DownstreamError(RuntimeError):
    """lm-eval is missing, or its results lack a requested task."""


def _lm_eval():
    """(lm_eval module, HFLM class), or DownstreamError naming the install command."""
    try:
        import lm_eval
        from lm_eval.models.huggingface import HFLM
    except ImportError as exc:
        raise DownstreamError(f"downstream benchmarks need lm-evaluation-harness, which is not installed here "
                              f"({exc}): {INSTALL}, or run with --sdm conda (envs/eval.yaml)") from None
    return lm_eval, HFLM


def evaluate_downstream(model, tokenizer, tasks: list[str], limit: int | None = None, batch_size: int = 8,
                        seed: int = 0, max_length: int | None = None) -> dict[str, dict[str, float]]:
    """Scores of `model` (a loaded HF causal LM, on its device) on lm-eval `tasks`: {task: {metric: value}}.

    limit: examples per task (None = all). max_length: context the harness may use (None: the model's).
    """
    lm_eval, HFLM = _lm_eval()
    kwargs = {"max_length": max_length} if max_length else {}
    lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size, **kwargs)
    log.info("lm-eval %s: tasks %s, limit %s, batch size %d", getattr(lm_eval, "__version__", "?"), tasks, limit,
             batch_size)
    results = lm_eval.simple_evaluate(model=lm, tasks=list(tasks), limit=limit, log_samples=False,
                                      random_seed=seed, numpy_random_seed=seed, torch_random_seed=seed,
                                      fewshot_random_seed=seed)
    if results is None:
        raise DownstreamError("lm_eval.simple_evaluate returned no results (not rank 0 of a distributed run?)")
    return parse_results(results, tasks)


def parse_results(results: dict, tasks: list[str]) -> dict[str, dict[str, float]]:
    """`simple_evaluate`'s dict -> {task: {metric: value}} for the requested tasks (groups' aggregates first)."""
    out = {}
    groups, per_task = results.get("groups") or {}, results.get("results") or {}
    for task in tasks:
        entry = groups.get(task) or per_task.get(task)
        if entry is None:
            present = sorted(set(groups) | set(per_task))
            raise DownstreamError(f"lm-eval results have no task {task!r}; present: {present}")
        metrics = {k: float(v) for k, v in entry.items()
                   if k != "alias" and "_stderr" not in k and isinstance(v, (int, float)) and not isinstance(v, bool)
                   and math.isfinite(float(v))}
        if not metrics:
            raise DownstreamError(f"lm-eval results for task {task!r} have no numeric metric: {entry}")
        out[task] = metrics
    return out


def primary_metric(metrics: dict[str, float]) -> str:
    """The metric a task is compared by: base name by METRIC_PREFERENCE (exact_match, acc, f1, ...), then
    filter strict-match, none, others alphabetically; else the first metric alphabetically."""
    def rank(key: str):
        base, _, filt = key.partition(",")
        b = METRIC_PREFERENCE.index(base) if base in METRIC_PREFERENCE else len(METRIC_PREFERENCE)
        return b, FILTER_RANK.get(filt, len(FILTER_RANK)), key

    if not metrics:
        raise ValueError("no metrics")
    return min(metrics, key=rank)
