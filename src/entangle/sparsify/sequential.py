"""Sequential (block-by-block) sparsification of a Hugging Face causal LM's feed-forward linears.

As the SparseGPT, Wanda and Sparse Expansion drivers (SparseGPT's `opt_sequential`, Wanda's `prune_*`, Sparse Expansion's `*_sequential`):

1. Calibration windows run through the embeddings once; a pre-hook on block 0 catches the block
   inputs and the keyword arguments the model passes to every block (position embeddings, masks),
   then stops the forward pass (`stream.catch`). Blocks are then called directly, one at a time, with
   those arguments, which works for every family in transformers 5.x.
2. For each block: run all calibration sequences through the *dense* block with hooks on the
   feed-forward linears and accumulate each method's statistics (Wanda's input norms, SparseGPT's
   Hessian, Sparse Expansion's router inputs). Every FFN linear of the block is pruned from these
   dense-within-block statistics; for Sparse Expansion the down-projection router and Hessians
   therefore see the dense up/gate outputs, as in the released code. Llama's gate and up share one
   input and so one set of statistics (and one router).
3. Re-run the *pruned* block to produce the next block's calibration inputs. Sparse Expansion
   routes calibration tokens to their fitted cluster labels while propagating (as Sparse Expansion's "train" mode).

Only the feed-forward linears are pruned (`up`, `gate`, `down` of the architecture adapter);
attention, embeddings, norms and the head stay dense, for Sparse Expansion and for
every baseline, so the comparison is fair. The result is the model itself,
modified in place: pruned weights written back, or, for Sparse Expansion, each FFN linear replaced
by an `ExpandedLinear` (K SparseGPT experts behind a PCA + k-means router, hard top-1). It can be
evaluated with `entangle.evaluation.perplexity.window_nll`, saved with `save_sparse_ffn` and
rebuilt with `load_sparse_ffn`.

For models whose expanded form does not fit in memory (Sparse Expansion stores K copies of every
FFN matrix), pass `eval_windows` to evaluate layer by layer as the reference does (test hidden
states are propagated through each block right after it is pruned) and `release=True` to free each
block once both streams have passed it.

Partial sparsification (WD-F3, WD-F5a): `rows` maps FFN linears to the row indices (neurons) to
prune; only SparseGPT and Sparse Expansion take it. SparseGPT prunes just those rows, each to exactly
floor(s * d_in) weights (`SparseGPT.prune(rows=...)`, per-row comparison groups, OBS update with the
full Hessian); every other row, and every linear absent from `rows`, stays bit-identical. Sparse
Expansion expands only the linears that have rows: each expert prunes those rows with its cluster's
Hessian and keeps every other row dense (the same dense rows in every expert). `dense_block_pass`
(in `stream`) runs windows block by block through the unchanged model, for per-block statistics.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import asdict

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from entangle.models.arch import arch_of, blocks

from .expansion import ExpandedLinear
from .ffn import (ffn_groups, get_weight, load_sparse_ffn, module_path, replace_module, save_sparse_ffn,
                  set_weight, sparse_ffn_state)
from .magnitude import magnitude_prune
from .router import Router
from .settings import (METHODS, SparsifyError, SparsifyResult, SparsifySettings, check_settings,
                       ffn_macs_per_token)
from .sparsegpt import SparseGPT, check_rows
from .stream import Released, Stream, catch, head_nll, propagate
from .wanda import WandaStats, wanda_prune

log = logging.getLogger(__name__)

_CALIBRATED = ("wanda", "sparsegpt", "sparse_expansion")


# --------------------------------------------------------------------------------------------------
# The driver


@torch.no_grad()
def sparsify_model(
    model: nn.Module,
    calibration: Tensor,
    settings: SparsifySettings,
    eval_windows: Tensor | None = None,
    release: bool = False,
    progress: bool = True,
    rows: Mapping | None = None,
) -> SparsifyResult:
    """Sparsify `model`'s FFN linears in place, block by block. calibration: token windows [n, L].

    With `eval_windows` [m, L'], the test stream is propagated alongside and `result.eval_nll` holds
    each window's mean next-token NLL (layer-wise evaluation, as the references); `release=True`
    then frees each block once both streams have passed it (the model can no longer run afterwards).

    `rows` (sparsegpt and sparse_expansion only): {(layer, matrix) or module path: LongTensor [r] of
    row indices}; only these rows are pruned (see the module docstring), linears absent from it (or
    with no rows) stay dense. Each `result.linears` entry then also has `selected_rows`,
    `selected_numel` and `selected_zeros` (over all experts for Sparse Expansion).
    """
    if release and eval_windows is None:
        raise SparsifyError("release=True needs eval_windows (the model cannot be evaluated afterwards)")
    if calibration.dim() != 2:
        raise SparsifyError(f"calibration windows must be [n, L] token ids, got shape {tuple(calibration.shape)}")
    s = settings
    check_settings(model, s, calibration.numel())
    if rows is not None:
        if s.method not in ("sparsegpt", "sparse_expansion"):
            raise SparsifyError(f"rows (partial sparsification) needs method sparsegpt or sparse_expansion, "
                                f"got {s.method!r}")
        rows = _normalize_rows(model, rows)
    result = SparsifyResult(settings={**asdict(s), "sparsity": str(s.sparsity)},
                            calibration_windows=int(calibration.shape[0]), calibration_tokens=int(calibration.numel()))
    t_start = time.perf_counter()
    needs_calibration = s.method in _CALIBRATED
    if s.method == "dense" and eval_windows is None:
        result.seconds = time.perf_counter() - t_start
        return result
    calib = catch(model, calibration, s.batch_size) if needs_calibration else None
    test = catch(model, eval_windows, s.batch_size) if eval_windows is not None else None

    layers = blocks(model)
    for i in tqdm(range(len(layers)), desc=f"{s.method} {s.sparsity}", unit="block", disable=not progress,
                  mininterval=2.0):
        block = layers[i]
        labels: dict[str, list[Tensor]] = {}
        if s.method != "dense":
            stats = _collect(model, block, i, calib, s, _skipped_groups(model, i, rows)) if needs_calibration else None
            labels = _prune_block(model, i, s, stats, result, rows)
        if calib is not None:
            propagate(model, block, calib, labels)
        if test is not None:
            propagate(model, block, test, {})
        if release:
            layers[i] = Released()
            del block
    if test is not None:
        result.eval_nll = head_nll(model, test, eval_windows)
    result.seconds = time.perf_counter() - t_start
    log.info("%s %s: %d FFN linears, FFN sparsity %.4f, %.1f s", s.method, s.sparsity, len(result.linears),
             result.ffn_sparsity, result.seconds)
    return result


def _normalize_rows(model: nn.Module, rows: Mapping) -> dict[str, Tensor]:
    """`rows` keyed by (layer, matrix) or module path -> {module path: int64 [r]} (empty entries dropped)."""
    arch = arch_of(model)
    valid = [module_path(model, i, m) for i in range(len(blocks(model))) for m in arch.matrices]
    out = {}
    for key, idx in rows.items():
        path = key
        if isinstance(key, tuple) and len(key) == 2:
            path = module_path(model, *key) if key[1] in arch.matrices else None
        if path not in valid:
            raise SparsifyError(f"rows: {key!r} is not an FFN linear of this model; use (layer, matrix) with "
                                f"matrix in {list(arch.matrices)} or a module path such as {valid[0]!r}")
        d_out = get_weight(model, model.get_submodule(path)).shape[0]
        try:
            idx = check_rows(torch.as_tensor(idx), d_out)
        except ValueError as err:
            raise SparsifyError(f"rows[{key!r}]: {err}") from None
        if idx.numel():
            out[path] = idx
    return out


def _skipped_groups(model: nn.Module, layer: int, rows: dict[str, Tensor] | None) -> set[str]:
    """Input groups of block `layer` with nothing to prune (no member has rows); empty set without `rows`."""
    if rows is None:
        return set()
    return {g for g, members in ffn_groups(model) if not any(module_path(model, layer, m) in rows for m in members)}


def _collect(model: nn.Module, block: nn.Module, layer: int, calib: Stream, s: SparsifySettings,
             skip: set[str] = frozenset()) -> dict:
    """Dense pass of the block over all calibration batches; per input group (but `skip`), the method's statistics."""
    arch = arch_of(model)
    stats: dict[str, object] = {}
    batch = {"size": 1}
    handles = []
    for group, members in ffn_groups(model):
        if group in skip:
            continue
        leader = block.get_submodule(arch.matrices[members[0]])
        d_in = get_weight(model, leader).shape[1]
        if s.method == "wanda":
            stats[group] = WandaStats(d_in, device=leader.weight.device)
        elif s.method == "sparsegpt":
            stats[group] = SparseGPT(get_weight(model, leader))
        else:
            stats[group] = []  # stored inputs, one [B, L, d_in] tensor per batch

        def hook(_module, args, group=group):
            # [B, L, d_in] whatever the family passes (OPT flattens tokens to [B * L, d_in] before fc1),
            # so statistics count sequences as the references do.
            x = args[0].detach().reshape(batch["size"], -1, args[0].shape[-1])
            acc = stats[group]
            if isinstance(acc, list):
                acc.append(x.clone())
            else:
                acc.add_batch(x)

        handles.append(leader.register_forward_pre_hook(hook))
    try:
        for j in range(len(calib.hidden)):
            batch["size"] = calib.hidden[j].shape[0]
            calib.run(block, j)
    finally:
        for h in handles:
            h.remove()
    return stats


def _prune_block(model: nn.Module, layer: int, s: SparsifySettings, stats: dict | None,
                 result: SparsifyResult, rows: dict[str, Tensor] | None = None) -> dict[str, list[Tensor]]:
    """Prune every FFN linear of block `layer` (only `rows` if given); returns, for Sparse Expansion, fitted
    labels per module path."""
    arch = arch_of(model)
    block = blocks(model)[layer]
    labels: dict[str, list[Tensor]] = {}
    for group, members in ffn_groups(model):
        t0 = time.perf_counter()
        mine = {m: None if rows is None else rows.get(module_path(model, layer, m)) for m in members}
        todo = [m for m in members if rows is None or mine[m] is not None]
        for m in (m for m in members if m not in todo):  # partial sparsification: nothing selected here
            _record(result, layer, m, get_weight(model, block.get_submodule(arch.matrices[m])), 0.0,
                    rows=torch.zeros(0, dtype=torch.long))
        if not todo:
            continue
        if s.method == "sparse_expansion":
            expanded, fitted, empty = _expand_group(model, block, todo, stats[group], s, layer,
                                                    None if rows is None else mine)
            n_comp, d_in = expanded[0].router.components.shape
            result.router_macs += n_comp * d_in + s.num_clusters * n_comp
            for m, module in zip(todo, expanded):
                path = module_path(model, layer, m)
                replace_module(model, path, module)
                labels[path] = fitted
                _record(result, layer, m, module.weight, time.perf_counter() - t0, rows=mine[m],
                        experts=s.num_clusters, empty_clusters=empty)
            continue
        for m in todo:
            module = block.get_submodule(arch.matrices[m])
            w = get_weight(model, module)
            if s.method == "magnitude":
                new = magnitude_prune(w, s.sparsity, s.ties)
            elif s.method == "wanda":
                new = wanda_prune(w, stats[group].scaler_row, s.sparsity, s.ties)
            else:
                gpt = _shared_sparsegpt(w, stats[group])
                new = gpt.prune(s.sparsity, blocksize=s.blocksize, percdamp=s.percdamp, rows=mine[m], ties=s.ties)
            set_weight(model, module, new)
            _record(result, layer, m, new, time.perf_counter() - t0, rows=mine[m])
    return labels


def _shared_sparsegpt(weight: Tensor, acc: SparseGPT) -> SparseGPT:
    """A SparseGPT for `weight` with the Hessian accumulated for its input group (prune() copies H)."""
    if acc.weight is weight or (acc.weight.shape == weight.shape and acc.weight.data_ptr() == weight.data_ptr()):
        return acc
    gpt = SparseGPT(weight)
    gpt.H, gpt.nsamples = acc.H, acc.nsamples
    return gpt


def _expand_group(model: nn.Module, block: nn.Module, members: list[str], inputs: list[Tensor],
                  s: SparsifySettings, layer: int, rows: dict[str, Tensor] | None = None,
                  ) -> tuple[list[ExpandedLinear], list[Tensor], int]:
    """Router on all calibration tokens of this input, per-cluster Hessians, K SparseGPT experts per linear.

    Per-cluster Hessians are accumulated batch by batch with n_sequences = the batch's sequences, as the
    reference's second calibration pass (nsamples counts every sequence, whatever its cluster share).
    With `rows` ({member: LongTensor}), each expert prunes only its member's rows; the others stay dense.
    Returns the expanded modules, the fitted labels per batch and the number of empty clusters.
    """
    arch = arch_of(model)
    d_in = inputs[0].shape[-1]
    tokens = torch.cat([x.reshape(-1, d_in) for x in inputs])
    router = Router.fit(tokens, s.num_clusters, s.pca_factor, n_init=s.n_init, seed=s.seed)
    del tokens
    fitted = [router.predict(x) for x in inputs]  # [B, L] per batch
    counts = torch.bincount(torch.cat([f.reshape(-1) for f in fitted]), minlength=s.num_clusters)
    leader = get_weight(model, block.get_submodule(arch.matrices[members[0]]))
    gpts = [SparseGPT(leader) for _ in range(s.num_clusters)]
    for x, lab in zip(inputs, fitted):
        flat, lab = x.reshape(-1, d_in), lab.reshape(-1)
        for c, gpt in enumerate(gpts):
            gpt.add_batch(flat[lab == c], n_sequences=x.shape[0])
    empty = [c for c in range(s.num_clusters) if counts[c] == 0]
    if empty:
        log.warning("Sparse Expansion: block %d %s router: clusters %s have no calibration tokens; their experts "
                    "are plain SparseGPT with the Hessian of all tokens", layer, "/".join(members), empty)
        total = SparseGPT(leader)
        total.H, total.nsamples = sum(g.H for g in gpts), gpts[0].nsamples
        for c in empty:
            gpts[c] = total
    log.info("Sparse Expansion: block %d %s: K=%d, %d PCA components, cluster sizes %s", layer, "/".join(members),
             s.num_clusters, router.components.shape[0], counts.tolist())
    modules = []
    for m in members:
        lin = block.get_submodule(arch.matrices[m])
        w = get_weight(model, lin)
        experts = [_shared_sparsegpt(w, g).prune(s.sparsity, blocksize=s.blocksize, percdamp=s.percdamp,
                                                  rows=None if rows is None else rows[m], ties=s.ties)
                   for g in gpts]
        d_out = w.shape[0]
        module = ExpandedLinear(d_in, d_out, s.num_clusters, router.components.shape[0], bias=lin.bias is not None,
                                device=w.device, dtype=w.dtype)
        module.router.load_state_dict(router.state_dict())
        module.weight.copy_(torch.stack(experts))
        if lin.bias is not None:
            module.bias.copy_(lin.bias.detach().expand(s.num_clusters, -1))
        modules.append(module)
    return modules, fitted, len(empty)


def _record(result: SparsifyResult, layer: int, matrix: str, weight: Tensor, seconds: float,
            rows: Tensor | None = None, **extra) -> None:
    """One `result.linears` row; with `rows` (partial sparsification), also the selected rows' zeros.

    Experts [K, d_out, d_in] also get the lowest and highest sparsity of one expert (`expert_sparsity_min/max`).
    """
    numel = weight.numel()
    zeros = int((weight == 0).sum())
    if weight.dim() == 3:
        per_expert = (weight == 0).flatten(1).float().mean(1)
        extra = {"expert_sparsity_min": float(per_expert.min()), "expert_sparsity_max": float(per_expert.max()),
                 **extra}
    if rows is not None:  # weight [d_out, d_in] or experts [K, d_out, d_in]
        sub = weight[..., rows.to(weight.device), :]
        extra = {"selected_rows": int(rows.numel()), "selected_numel": sub.numel(),
                 "selected_zeros": int((sub == 0).sum()), **extra}
    result.linears.append({"layer": layer, "matrix": matrix, "shape": list(weight.shape), "numel": numel,
                           "zeros": zeros, "sparsity": zeros / numel, "seconds": seconds, **extra})


__all__ = [
    "METHODS",
    "SparsifyError",
    "SparsifyResult",
    "SparsifySettings",
    "check_settings",
    "ffn_groups",
    "ffn_macs_per_token",
    "load_sparse_ffn",
    "sparse_ffn_state",
    "save_sparse_ffn",
    "sparsify_model",
]
