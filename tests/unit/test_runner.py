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
