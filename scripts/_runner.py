"""Glue shared by the rule scripts: call a script's `main()` from Snakemake or by hand.

Under Snakemake's `script:` directive, each parameter of `main` is looked up by name in the rule's
`input`, `output`, `params` and `wildcards` (plus `threads`; a parameter with a default may be absent, e.g. an
output only some of a rule's jobs have); logs go to the rule's `log:` file and a
failure prints one clear line on the console. By hand, the same parameters are command-line flags
(`python scripts/train_model.py --help`); values are parsed as JSON when they parse, else kept as text.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import logging
import os
import resource
import sys
import time
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
    for name in inspect.signature(main).parameters:
        if name == "threads":
            kwargs[name] = sm.threads
            continue
        for group in (sm.input, sm.output, sm.params, sm.wildcards):
            if name in group.keys():
                kwargs[name] = getattr(group, name)
                break
        else:
            if inspect.signature(main).parameters[name].default is inspect.Parameter.empty:
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


TIMING_TAG = "entangle-timing"  # the job's last log line: this tag, then a JSON object (bench_workflow.py)


def _process_start() -> float | None:
    """When this process started, in time.time() seconds (Linux /proc; None elsewhere)."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return time.time() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


def _timing(started_wall: float | None, main_wall: float, main_cpu: float) -> dict:
    """Wall and CPU seconds of the job, and of its start-up: the interpreter, imports, argument passing
    (everything before `main()`) plus model and tokenizer loads inside it (entangle.timing); peak RSS."""
    setup = sys.modules["entangle.timing"].SETUP if "entangle.timing" in sys.modules else {"wall_s": 0, "cpu_s": 0}
    end_wall, end_cpu = time.time(), time.process_time()
    before_wall = main_wall - started_wall if started_wall is not None else None
    out = {"cpu_s": end_cpu, "startup_cpu_s": main_cpu + setup["cpu_s"], "load_wall_s": setup["wall_s"],
           "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if before_wall is not None:
        out.update(wall_s=end_wall - started_wall, startup_wall_s=before_wall + setup["wall_s"])
    return {k: round(v, 3) for k, v in out.items()}


def as_list(value) -> list:
    """A rule's single path or value (None included) or list of them, as a list."""
    return [value] if value is None or isinstance(value, str) else list(value)


def run(main) -> None:
    """Run `main` with arguments from Snakemake (if present in the script's globals) or the command line.

    The job's log ends with its timing (TIMING_TAG + JSON: wall and CPU seconds, start-up share, peak RSS). A
    failure exits with status 1 after one clear line on the console; success exits at once (_exit_without_teardown).
    """
    main_wall, main_cpu = time.time(), time.process_time()
    started_wall = _process_start()
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
            logging.info("%s %s", TIMING_TAG, json.dumps(_timing(started_wall, main_wall, main_cpu)))
        except Exception as exc:
            logging.exception("failed")
            print(f"ERROR ({Path(main.__code__.co_filename).name}): {type(exc).__name__}: {exc}", file=sys.__stderr__)
            if log_path:
                print(f"  full log: {log_path}", file=sys.__stderr__)
            raise SystemExit(1) from None
    if main.__module__ == "__main__":
        _exit_without_teardown()


def _exit_without_teardown() -> None:
    """Exit with status 0 now, skipping the interpreter's teardown.

    Every output is written and closed by the time main() returns (the atomic writers rename complete files,
    the log is closed above). Tearing down the modules torch, transformers and sympy leave behind costs a model
    job about 1.3 CPU-s and an analysis job about 0.5 CPU-s (2-core AMD EPYC): 52 of the 325 CPU-s of `figures`
    at smoke, for nothing. Only when the script runs as a program, never when main() is called in-process.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
