"""scripts/_runner.py: a script's main() gets its arguments from the rule; optional ones may be absent."""

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from _runner import _from_snakemake  # noqa: E402


class Group(dict):
    def __getattr__(self, name):
        return self[name]


def _sm(**params):
    return SimpleNamespace(input=Group(a="in.csv"), output=Group(b="out.csv"), params=Group(**params),
                           wildcards=Group(), threads=1)


def main(a: str, b: str, gated_record: dict | None = None, gated_stats: str | None = None) -> None:
    pass


def test_optional_arguments_the_rule_lacks_keep_their_defaults():
    assert _from_snakemake(main, _sm()) == {"a": "in.csv", "b": "out.csv"}
    assert _from_snakemake(main, _sm(gated_record={"name": "llama"}))["gated_record"] == {"name": "llama"}


def test_a_required_argument_the_rule_lacks_is_an_error():
    def needs(a: str, c: str) -> None:
        pass
    with pytest.raises(TypeError, match="no input/output/param/wildcard named 'c'"):
        _from_snakemake(needs, _sm())


SCRIPT = '''
import logging, sys
sys.path.insert(0, {scripts!r})
from _runner import run

def main(out: str, fail: bool = False) -> None:
    logging.info("working")
    print("to the console")
    if fail:
        raise ValueError("bad input")
    with open(out, "w") as f:
        f.write("x" * 100_000)

if __name__ == "__main__":
    run(main)
'''


def test_a_script_exits_at_once_with_its_output_and_log_whole(tmp_path):
    import subprocess

    script = tmp_path / "job.py"
    script.write_text(SCRIPT.format(scripts=str(Path(__file__).resolve().parents[2] / "scripts")))
    out = tmp_path / "out.txt"
    ok = subprocess.run([sys.executable, str(script), "--out", str(out)], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert out.read_text() == "x" * 100_000
    assert "to the console" in ok.stdout and "working" in ok.stderr and "entangle-timing" in ok.stderr
    failed = subprocess.run([sys.executable, str(script), "--out", str(tmp_path / "no.txt"), "--fail", "true"],
                            capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1 and "ERROR (job.py): ValueError: bad input" in failed.stderr
