"""Glue shared by the rule scripts: call a script's `main()` from Snakemake or by hand.

Under Snakemake's `script:` directive, each parameter of `main` is looked up by name in the rule's
`input`, `output`, `params` and `wildcards` (plus `threads`); logs go to the rule's `log:` file and a
failure prints one clear line on the console. By hand, the same parameters are command-line flags
(`python scripts/train_model.py --help`); values are parsed as JSON when they parse, else kept as text.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import logging
import sys
from pathlib import Path

# Scripts use the checkout's package (src/), installed or not, so a conda env needs only third-party
# packages. Scripts import this module before `entangle`.
# First on sys.path even when it is already on it further down (Snakemake's script preamble appends the
# workflow's search paths, src/ included, after site-packages): an installed `entangle` (e.g. an
# editable install of another checkout) must never shadow this checkout's.
_SRC = Path(__file__).resolve().parents[1] / "src"
sys.path[:] = [str(_SRC)] + [p for p in sys.path if p != str(_SRC)]


def _from_snakemake(main, sm) -> dict:
    kwargs = {}
    for name, p in inspect.signature(main).parameters.items():
        if name == "threads":
            kwargs[name] = sm.threads
            continue
        for group in (sm.input, sm.output, sm.params, sm.wildcards):
            if name in group.keys():
                kwargs[name] = getattr(group, name)
                break
        else:
            if p.default is not inspect.Parameter.empty:  # optional inputs (e.g. a role the scale lacks)
                continue
            raise TypeError(f"rule gives no input/output/param/wildcard named {name!r} for {main.__module__}")
    return kwargs


def _from_cli(main) -> dict:
    parser = argparse.ArgumentParser(description=(sys.modules[main.__module__].__doc__ or "").strip())
    for name, p in inspect.signature(main).parameters.items():
        required = p.default is inspect.Parameter.empty
        parser.add_argument(f"--{name}", required=required, default=None if required else p.default,
                            help="JSON or text" + ("" if required else f" (default: {p.default!r})"))
    args = vars(parser.parse_args())

    def parse(v):
        if not isinstance(v, str):
            return v
        try:
            return json.loads(v)
        except json.JSONDecodeError:
            return v

    return {k: parse(v) for k, v in args.items()}


def run(main) -> None:
    """Run `main` with arguments from Snakemake (if present in the script's globals) or the command line."""
    sm = main.__globals__.get("snakemake")
    kwargs = _from_snakemake(main, sm) if sm is not None else _from_cli(main)
    log_path = sm.log[0] if sm is not None and len(sm.log) else None
    threads = kwargs.get("threads") or (sm.threads if sm is not None else None)
    if threads and "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(threads))
    with contextlib.ExitStack() as stack:
        if log_path:
            Path(log_path).parent.mkdir(parents=True, exist_ok=True)
            log_file = stack.enter_context(open(log_path, "w", buffering=1))
            stack.enter_context(contextlib.redirect_stderr(log_file))
            stack.enter_context(contextlib.redirect_stdout(log_file))
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, force=True,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        try:
            main(**kwargs)
        except Exception as exc:
            logging.exception("failed")
            print(f"ERROR ({Path(main.__code__.co_filename).name}): {type(exc).__name__}: {exc}", file=sys.__stderr__)
            if log_path:
                print(f"  full log: {log_path}", file=sys.__stderr__)
            raise SystemExit(1) from None
