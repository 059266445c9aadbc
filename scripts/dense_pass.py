"""Everything one model computes from the text with its tokenizer and dense weights, in one job
(`jobs.capture: per_model`): token windows of every split the rules read, its sparsification calibration
windows and vocabulary where needed, its evaluation perplexity, and every requested capture: per revision one
model load and one forward pass over the capture windows hooking every requested layer and matrix, then each
matrix's per-neuron statistics from its outputs. Writes the same files, with the same bytes, as the per-file
jobs (token_windows, sparsify_calibration, nc_vocabulary, perplexity, capture, neuron_stats; see
entangle.workflow.captures); outputs needed only for statistics are not kept.
"""

import logging
import tempfile
from itertools import groupby
from pathlib import Path

import numpy as np
import torch
from _runner import as_list, run

from entangle.capture import capture_matrices, check_free_space
from entangle.data.windows import split_calibration, split_windows
from entangle.data.tokenizer import vocabulary as token_strings
from entangle.device import resolve_device
from entangle.evaluation.perplexity import write_perplexity
from entangle.io import save_array, write_json, write_table
from entangle.models.arch import weight as matrix_weight
from entangle.models.load import load_model, load_tokenizer
from entangle.neurons.stats import describe, neuron_table


def main(model: dict, text_dir: str, splits: list, windows: list, calibration_cut: dict | None, units: list,
         max_windows: int | None, evaluation: dict, nll: str, summary: str, method: str, seed: int,
         device: str = "cpu", calibration: str | None = None, vocabulary: str | None = None) -> None:
    """`splits` / `windows`: the token windows to write, paired; `calibration_cut`: {split, n_windows} of the
    calibration windows written to `calibration`, or None; `units`: the capture plan's entries
    (entangle.workflow.captures.CapturePlan.units), revisions in order; `evaluation`: {revision, split,
    max_windows} of the perplexity written to `nll` (per window) and `summary`; `vocabulary`: the token
    strings' JSON (written for the model whose NC token-pair tables are decoded), or None."""
    device = resolve_device(device)
    cut = calibration_cut and {**calibration_cut, "path": calibration}
    tokens = write_token_files(model, text_dir, splits, as_list(windows), cut, vocabulary, seed)
    evaluation = {**evaluation, "nll": nll, "summary": summary}
    groups = {key: list(group) for key, group in groupby(units, key=lambda u: (u["revision"], u["split"]))}
    if evaluation and not any(revision == evaluation["revision"] for revision, _ in groups):
        groups[evaluation["revision"], None] = []
    for (revision, split), group in groups.items():
        net, _ = load_model(model["source"], revision, device=device)
        if evaluation and revision == evaluation["revision"]:
            e = evaluation
            ppl = write_perplexity(net, tokens[e["split"]][:e["max_windows"]], model, revision, e["split"], seed,
                                   e["nll"], e["summary"])
            logging.info("%s@%s: perplexity %.3f on %s", model["name"], revision, ppl, e["split"])
            evaluation = None
        if not group:
            continue
        w = tokens[split][:max_windows]
        check_scratch_space(net, w.numel(), group)
        with tempfile.TemporaryDirectory(prefix="entangle-capture-") as scratch:
            targets, outputs = {}, {}
            for u in group:
                files, key = u["files"], (u["layer"], u["matrix"])
                scratch_out = f"{scratch}/L{u['layer']}.{u['matrix']}.out.npy" if "stats" in files else None
                out = files.get("out") or scratch_out  # statistics need the outputs, kept or not
                if files.get("in") or out:
                    targets[key] = {"in": files.get("in"), "out": out}
                    outputs[key] = out
            shapes = capture_matrices(net, w, targets) if targets else {}
            for u in group:
                files, key = u["files"], (u["layer"], u["matrix"])
                # one row per neuron
                weight = matrix_weight(net, u["layer"], u["matrix"]).detach().float().cpu().numpy()
                if "weight" in files:
                    save_array(files["weight"], weight)
                if "stats" in files:
                    values = np.load(outputs[key])  # one matrix in memory at a time, nothing mapped
                    if outputs[key] != files.get("out"):
                        Path(outputs[key]).unlink()  # scratch: freed matrix by matrix
                    table = neuron_table(values, weight, model=model["name"], revision=revision,
                                         split=split, layer=u["layer"], matrix=u["matrix"], method=method, seed=seed)
                    del values
                    logging.info("%s", describe(table))
                    write_table(table, files["stats"])
                if key in shapes:
                    logging.info("%s@%s L%s.%s: %d tokens, d_in=%d, d_out=%d; wrote %s", model["name"], revision,
                                 u["layer"], u["matrix"], w.numel(), *shapes[key],
                                 ", ".join(Path(p).name for p in files.values()))
        del net


def check_scratch_space(net, tokens: int, group: list) -> None:
    """Stop before the forward pass if $TMPDIR cannot hold the outputs kept only for statistics (float32
    [tokens, d_out] per matrix)."""
    need = sum(tokens * matrix_weight(net, u["layer"], u["matrix"]).shape[0] * 4 for u in group
               if "stats" in u["files"] and not u["files"].get("out"))
    check_free_space(tempfile.gettempdir(), need, "TMPDIR", "the outputs the dense pass reads for per-neuron "
                     "statistics")


def write_token_files(model: dict, text_dir: str, splits: list, windows: list, calibration: dict | None,
                      vocabulary: str | None, seed: int) -> dict:
    """Token windows per split (returned, {split: LongTensor [n, context]}), calibration windows, vocabulary."""
    tok = load_tokenizer(model["source"], model["revision"])
    tokens = {}
    for split, path in zip(splits, windows, strict=True):
        tokens[split] = split_windows(tok, text_dir, split, model["context"])
        save_array(path, tokens[split].numpy().astype(np.int32))
    if calibration:
        w = split_calibration(tok, text_dir, calibration["split"], calibration["n_windows"], model["context"], seed)
        save_array(calibration["path"], w.numpy().astype(np.int32))
    if vocabulary:
        write_json(vocabulary, token_strings(tok))
    logging.info("%s: windows of %s %s%s%s", model["name"], ", ".join(splits),
                 [tuple(t.shape) for t in tokens.values()],
                 "; calibration windows" if calibration else "", "; vocabulary" if vocabulary else "")
    return tokens


if __name__ == "__main__":
    run(main)
